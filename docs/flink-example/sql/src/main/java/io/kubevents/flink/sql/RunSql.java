package io.kubevents.flink.sql;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.apache.flink.table.api.EnvironmentSettings;
import org.apache.flink.table.api.ResultKind;
import org.apache.flink.table.api.TableEnvironment;
import org.apache.flink.table.api.TableResult;
import org.apache.flink.types.Row;
import org.apache.flink.util.CloseableIterator;

/**
 * Runs a Flink SQL file in a local MiniCluster (what the SQL client does on a cluster), for trying
 * the kubevents SQL recipe without a Flink distribution:
 *
 * <pre>
 * java -cp 'classes:lib/*' io.kubevents.flink.sql.RunSql [--batch] FILE.sql
 * </pre>
 *
 * Statements are separated by a ';' at the end of a line; '--' comment lines are skipped. DDL runs
 * as it is; the rows of each query are printed on stdout, one JSON array per row, prefixed with
 * the query's number and the row kind: {@code [1,"+I",["uid-1","ADDED",1700000000000]]}. Times
 * (TIMESTAMP(3) read as UTC, TIMESTAMP_LTZ) print as epoch milliseconds, ROWs as arrays, MAPs as
 * objects. With --batch the file runs in batch mode (bounded sources only, final results).
 */
public final class RunSql {
  private RunSql() {}

  public static void main(String[] argv) throws Exception {
    boolean batch = false;
    String file = null;
    for (String a : argv) {
      if (a.equals("--batch")) batch = true;
      else if (file == null && !a.startsWith("--")) file = a;
      else throw new IllegalArgumentException("usage: RunSql [--batch] FILE.sql (unexpected '" + a + "')");
    }
    if (file == null) throw new IllegalArgumentException("usage: RunSql [--batch] FILE.sql");
    TableEnvironment tables = TableEnvironment.create(
        batch ? EnvironmentSettings.inBatchMode() : EnvironmentSettings.inStreamingMode());
    int query = 0;
    for (String statement : statements(Files.readString(Path.of(file)))) {
      TableResult result = tables.executeSql(statement);
      if (result.getResultKind() != ResultKind.SUCCESS_WITH_CONTENT) continue;
      query++;
      try (CloseableIterator<Row> rows = result.collect()) {
        while (rows.hasNext()) {
          Row row = rows.next();
          System.out.println("[" + query + "," + json(row.getKind().shortString()) + "," + json(row) + "]");
        }
      }
    }
  }

  static List<String> statements(String text) {
    List<String> out = new ArrayList<>();
    StringBuilder current = new StringBuilder();
    for (String line : text.split("\n", -1)) {
      if (line.strip().startsWith("--")) continue;
      current.append(line).append('\n');
      if (line.strip().endsWith(";")) {
        String s = current.toString().strip();
        out.add(s.substring(0, s.length() - 1));
        current.setLength(0);
      }
    }
    if (!current.toString().isBlank()) out.add(current.toString().strip());
    return out;
  }

  static String json(Object v) {
    if (v == null) return "null";
    if (v instanceof Row) {
      Row row = (Row) v;
      List<String> fields = new ArrayList<>();
      for (int i = 0; i < row.getArity(); i++) fields.add(json(row.getField(i)));
      return "[" + String.join(",", fields) + "]";
    }
    if (v instanceof LocalDateTime) return Long.toString(((LocalDateTime) v).toInstant(ZoneOffset.UTC).toEpochMilli());
    if (v instanceof Instant) return Long.toString(((Instant) v).toEpochMilli());
    if (v instanceof Number || v instanceof Boolean) return v.toString();
    if (v instanceof Map) {
      List<String> entries = new ArrayList<>();
      for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) entries.add(json(String.valueOf(e.getKey())) + ":" + json(e.getValue()));
      entries.sort(null);
      return "{" + String.join(",", entries) + "}";
    }
    if (v instanceof Object[]) {
      List<String> items = new ArrayList<>();
      for (Object o : (Object[]) v) items.add(json(o));
      return "[" + String.join(",", items) + "]";
    }
    StringBuilder b = new StringBuilder("\"");
    for (char c : v.toString().toCharArray()) {
      if (c == '"' || c == '\\') b.append('\\').append(c);
      else if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
      else b.append(c);
    }
    return b.append('"').toString();
  }
}
