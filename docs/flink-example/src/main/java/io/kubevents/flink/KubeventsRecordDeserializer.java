package io.kubevents.flink;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;

import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.generic.GenericRecord;
import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.formats.avro.AvroDeserializationSchema;
import org.apache.flink.formats.avro.typeutils.GenericRecordAvroTypeInfo;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;

/**
 * Reads the value of a kubevents record as an Avro {@link GenericRecord}, in either encoding:
 *
 * <ul>
 *   <li>{@code confluent}: magic byte 0, a 4-byte schema id, then the Avro binary. The 5-byte frame
 *       is checked and skipped; the body is read with the given .avsc.
 *   <li>{@code avro-binary}: the plain Avro binary, read with the given .avsc.
 * </ul>
 *
 * <p>Both are decoded by Flink's {@link AvroDeserializationSchema#forGeneric(Schema)}, with the .avsc
 * as the writer schema. Avro binary carries no type information, so a value read with the wrong
 * encoding or schema is misread, not refused. kubevents' headers (set in both encodings) guard
 * against that: a {@code kubevents.encoding} other than the one the job reads, or a
 * {@code kubevents.schema.fingerprint} (SHA-256 of the writer schema's Parsing Canonical Form)
 * other than the .avsc's, fails the job with what to do. Records without those headers (other
 * producers) are read as they are.
 */
public final class KubeventsRecordDeserializer implements KafkaRecordDeserializationSchema<GenericRecord> {
  private static final long serialVersionUID = 1L;

  /** The two value encodings kubevents writes. */
  public enum Encoding {
    CONFLUENT,
    AVRO_BINARY;

    public static Encoding parse(String text) {
      switch (text) {
        case "confluent":
          return CONFLUENT;
        case "avro-binary":
          return AVRO_BINARY;
        default:
          throw new IllegalArgumentException("unknown encoding '" + text + "': confluent or avro-binary");
      }
    }
  }

  static final String ENCODING_HEADER = "kubevents.encoding";
  static final String FINGERPRINT_HEADER = "kubevents.schema.fingerprint";

  private final String schemaText;
  private final Encoding encoding;
  private transient AvroDeserializationSchema<GenericRecord> avro;
  private transient String fingerprint;

  public KubeventsRecordDeserializer(String schemaText, Encoding encoding) {
    this.schemaText = schemaText;
    this.encoding = encoding;
  }

  @Override
  public void open(DeserializationSchema.InitializationContext context) throws Exception {
    Schema schema = new Schema.Parser().parse(schemaText);
    avro = AvroDeserializationSchema.forGeneric(schema);
    avro.open(context);
    fingerprint = HexFormat.of().formatHex(SchemaNormalization.parsingFingerprint("SHA-256", schema));
  }

  @Override
  public void deserialize(ConsumerRecord<byte[], byte[]> record, Collector<GenericRecord> out) throws IOException {
    byte[] value = record.value();
    if (value == null) return; // a tombstone: nothing to read
    Header declared = record.headers().lastHeader(ENCODING_HEADER);
    if (declared != null) {
      String written = new String(declared.value(), StandardCharsets.UTF_8);
      String reading = encoding == Encoding.CONFLUENT ? "confluent" : "avro-binary";
      if (!written.equals(reading)) {
        throw new IOException(String.format("%s-%d@%d was written in the %s encoding, but this job reads %s: run it with --encoding %s",
            record.topic(), record.partition(), record.offset(), written, reading, written));
      }
    }
    Header header = record.headers().lastHeader(FINGERPRINT_HEADER);
    if (header != null) {
      String writer = new String(header.value(), StandardCharsets.UTF_8);
      if (!writer.equals(fingerprint)) {
        throw new IOException(String.format(
            "%s-%d@%d was written with schema fingerprint %s, but this job reads with %s: "
                + "give it the .avsc of that version (schemas/history/) or resolve the writer schema by id",
            record.topic(), record.partition(), record.offset(), writer, fingerprint));
      }
    }
    byte[] body = value;
    if (encoding == Encoding.CONFLUENT) {
      if (value.length < 5 || value[0] != 0) {
        throw new IOException(String.format(
            "%s-%d@%d is not in the Confluent wire format (%d bytes, first byte %s): is the topic avro-binary?",
            record.topic(), record.partition(), record.offset(), value.length,
            value.length == 0 ? "none" : Integer.toString(value[0] & 0xff)));
      }
      body = Arrays.copyOfRange(value, 5, value.length);
    }
    out.collect(avro.deserialize(body));
  }

  @Override
  public TypeInformation<GenericRecord> getProducedType() {
    return new GenericRecordAvroTypeInfo(new Schema.Parser().parse(schemaText));
  }
}
