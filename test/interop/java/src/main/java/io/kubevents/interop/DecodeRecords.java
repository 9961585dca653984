package io.kubevents.interop;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;

import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DecoderFactory;

/**
 * An independent decoder for kubevents records, on Apache Avro's Java library: what a Flink job, a
 * Kafka Connect converter or a Spark job does, with nothing from kubevents but the .avsc files.
 *
 *   java -cp classes:lib/* io.kubevents.interop.DecodeRecords SCHEMAS_DIR REGISTRY_DIR INPUT
 *
 * SCHEMAS_DIR: the published schemas (schemas/<Kind>.avsc), the reader schemas.
 * REGISTRY_DIR: <id>.avsc per Schema Registry id (writer schemas of the confluent encoding).
 * INPUT: one record per line, tab-separated: ENCODING KIND FINGERPRINT_HEADER BASE64_VALUE, where
 *   ENCODING is "confluent" (magic byte 0, 4-byte big-endian id, Avro binary) or "avro-binary"
 *   (plain Avro binary; FINGERPRINT_HEADER is the kubevents.schema.fingerprint header).
 *
 * Prints one line per record: the schema id or "-", a tab, and the record as JSON (GenericData's
 * rendering; timestamp-millis fields are read as plain longs). Fails (exit 1) on any mismatch: wrong
 * magic byte, unknown id, a fingerprint header that is not the SHA-256 Parsing Canonical Form
 * fingerprint of the reader schema, or bytes left over after the record.
 */
public final class DecodeRecords {
  private DecodeRecords() {}

  public static void main(String[] args) throws Exception {
    if (args.length != 3) {
      System.err.println("usage: DecodeRecords SCHEMAS_DIR REGISTRY_DIR INPUT");
      System.exit(2);
    }
    Path schemasDir = Path.of(args[0]);
    Path registryDir = Path.of(args[1]);
    Map<String, Schema> readers = new HashMap<>();
    Map<Integer, Schema> writersById = new HashMap<>();
    PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
    int line = 0;
    try (BufferedReader in = Files.newBufferedReader(Path.of(args[2]), StandardCharsets.UTF_8)) {
      for (String text; (text = in.readLine()) != null; ) {
        line++;
        if (text.isBlank()) continue;
        String[] parts = text.split("\t", -1);
        if (parts.length != 4) throw new IllegalArgumentException("line " + line + ": expected 4 tab-separated fields");
        String encoding = parts[0];
        String kind = parts[1];
        byte[] value = Base64.getDecoder().decode(parts[3]);
        Schema reader = readers.computeIfAbsent(kind, k -> parse(schemasDir.resolve(k + ".avsc")));
        String readerFingerprint = HexFormat.of().formatHex(SchemaNormalization.parsingFingerprint("SHA-256", reader));
        Schema writer;
        byte[] body;
        String id = "-";
        if (encoding.equals("confluent")) {
          if (value.length < 5 || value[0] != 0) throw new IllegalArgumentException("line " + line + ": not in Confluent wire format");
          int schemaId = ByteBuffer.wrap(value, 1, 4).getInt();
          id = Integer.toString(schemaId);
          writer = writersById.computeIfAbsent(schemaId, i -> parse(registryDir.resolve(i + ".avsc")));
          body = Arrays.copyOfRange(value, 5, value.length);
        } else if (encoding.equals("avro-binary")) {
          if (!parts[2].equals(readerFingerprint)) {
            throw new IllegalArgumentException("line " + line + ": fingerprint header " + parts[2]
                + " is not the SHA-256 Parsing Canonical Form fingerprint of " + kind + ".avsc (" + readerFingerprint + ")");
          }
          writer = reader;
          body = value;
        } else {
          throw new IllegalArgumentException("line " + line + ": unknown encoding " + encoding);
        }
        GenericDatumReader<GenericRecord> datumReader = new GenericDatumReader<>(writer, reader);
        BinaryDecoder decoder = DecoderFactory.get().binaryDecoder(body, null);
        GenericRecord record = datumReader.read(null, decoder);
        if (!decoder.isEnd()) throw new IllegalArgumentException("line " + line + ": trailing bytes after the record");
        out.println(id + "\t" + record);
      }
    }
  }

  private static Schema parse(Path file) {
    try {
      return new Schema.Parser().parse(Files.readString(file, StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read schema " + file + ": " + e.getMessage(), e);
    }
  }
}
