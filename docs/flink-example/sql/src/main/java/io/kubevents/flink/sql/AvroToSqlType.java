package io.kubevents.flink.sql;

import java.nio.file.Files;
import java.nio.file.Path;

import org.apache.flink.formats.avro.typeutils.AvroSchemaConverter;

/**
 * Prints the Flink SQL row type that Flink's own AvroSchemaConverter derives from each .avsc given
 * (legacy timestamp mapping, the format's default), one line per file. The columns of a table read
 * with {@code 'avro-confluent.schema'} must mirror it; scripts/flink-ddl.mjs generates them, and
 * the integration test compares the two.
 *
 * <pre>
 * java -cp 'classes:lib/*' io.kubevents.flink.sql.AvroToSqlType schemas/KubeEvent.avsc ...
 * </pre>
 */
public final class AvroToSqlType {
  private AvroToSqlType() {}

  public static void main(String[] files) throws Exception {
    if (files.length == 0) throw new IllegalArgumentException("usage: AvroToSqlType FILE.avsc...");
    for (String file : files) {
      System.out.println(AvroSchemaConverter.convertToDataType(Files.readString(Path.of(file))));
    }
  }
}
