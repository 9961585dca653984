package io.kubevents.flink;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

import org.apache.avro.generic.GenericRecord;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.api.common.functions.ReduceFunction;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.KafkaSourceBuilder;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.streaming.api.functions.windowing.ProcessWindowFunction;
import org.apache.flink.streaming.api.windowing.assigners.TumblingEventTimeWindows;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * A Flink DataStream job over kubevents' events topic: counts KubeEvent records per reason (or per
 * namespace) in tumbling event-time windows, event time being the record's {@code lastTimestamp}.
 *
 * <pre>
 * java -cp 'classes:lib/*' io.kubevents.flink.EventCounts \
 *   --bootstrap-servers kafka:9092 --topic k8s.events --encoding confluent \
 *   --schema schemas/KubeEvent.avsc [--key reason|namespace] [--window 60s] \
 *   [--out-of-orderness 5s] [--group-id kubevents-flink-example] [--bounded]
 * </pre>
 *
 * Each closed window prints one JSON line on stdout:
 * {@code {"windowStart":1700000040000,"windowEnd":1700000100000,"key":"BackOff","count":6}}; a record
 * that arrives after the watermark passed its window (later than --out-of-orderness) is not
 * counted and prints {@code {"late":true,"timestamp":1700000001000,"key":"BackOff"}} instead.
 * With {@code --bounded} the job reads the topic up to the offsets it finds at start and stops
 * (every window then closes, and the process exits 0); without it, it runs until cancelled.
 */
public final class EventCounts {
  private EventCounts() {}

  public static void main(String[] argv) throws Exception {
    Map<String, String> args = parseArgs(argv);
    String bootstrap = required(args, "bootstrap-servers");
    String topic = required(args, "topic");
    KubeventsRecordDeserializer.Encoding encoding = KubeventsRecordDeserializer.Encoding.parse(args.getOrDefault("encoding", "confluent"));
    String schemaText = Files.readString(Path.of(required(args, "schema")));
    String key = args.getOrDefault("key", "reason");
    if (!key.equals("reason") && !key.equals("namespace")) throw new IllegalArgumentException("--key: reason or namespace, not '" + key + "'");
    Duration window = parseDuration(args.getOrDefault("window", "60s"), "--window");
    Duration outOfOrderness = parseDuration(args.getOrDefault("out-of-orderness", "5s"), "--out-of-orderness");
    boolean bounded = args.containsKey("bounded");

    KafkaSourceBuilder<GenericRecord> source = KafkaSource.<GenericRecord>builder()
        .setBootstrapServers(bootstrap)
        .setTopics(topic)
        .setGroupId(args.getOrDefault("group-id", "kubevents-flink-example"))
        .setStartingOffsets(OffsetsInitializer.earliest())
        .setDeserializer(new KubeventsRecordDeserializer(schemaText, encoding));
    if (bounded) source.setBounded(OffsetsInitializer.latest());

    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    WatermarkStrategy<GenericRecord> watermarks = WatermarkStrategy.<GenericRecord>forBoundedOutOfOrderness(outOfOrderness)
        .withTimestampAssigner((record, kafkaTimestamp) -> ((Number) record.get("lastTimestamp")).longValue())
        // a partition without new events must not hold back the windows of the others
        .withIdleness(Duration.ofMinutes(1));
    DataStream<GenericRecord> events = env.fromSource(source.build(), watermarks, "kubevents " + topic);

    OutputTag<Tuple2<String, Long>> lateTag = new OutputTag<>("late", Types.TUPLE(Types.STRING, Types.LONG));
    SingleOutputStreamOperator<String> counts = events
        .map(new KeyAndOne(key))
        .returns(Types.TUPLE(Types.STRING, Types.LONG))
        .keyBy(t -> t.f0, Types.STRING)
        .window(TumblingEventTimeWindows.of(window))
        .sideOutputLateData(lateTag)
        .reduce(new Sum(), new ToJson(), Types.STRING);
    // records older than the watermark when they arrive are not counted: say so, one line each
    DataStream<String> late = counts.getSideOutput(lateTag)
        .process(new LateToJson())
        .returns(Types.STRING);

    // one printing subtask: plain lines, no "subtask>" prefixes
    counts.union(late).print().setParallelism(1);
    env.execute("kubevents event counts (" + topic + ")");
  }

  /** (key, 1) for each record; a null namespace (cluster-scoped event) counts under "". */
  static final class KeyAndOne implements MapFunction<GenericRecord, Tuple2<String, Long>> {
    private static final long serialVersionUID = 1L;
    private final String field;

    KeyAndOne(String field) {
      this.field = field;
    }

    @Override
    public Tuple2<String, Long> map(GenericRecord record) {
      Object value = record.get(field);
      return Tuple2.of(value == null ? "" : value.toString(), 1L);
    }
  }

  static final class Sum implements ReduceFunction<Tuple2<String, Long>> {
    private static final long serialVersionUID = 1L;

    @Override
    public Tuple2<String, Long> reduce(Tuple2<String, Long> a, Tuple2<String, Long> b) {
      return Tuple2.of(a.f0, a.f1 + b.f1);
    }
  }

  static final class ToJson extends ProcessWindowFunction<Tuple2<String, Long>, String, String, TimeWindow> {
    private static final long serialVersionUID = 1L;

    @Override
    public void process(String key, Context context, Iterable<Tuple2<String, Long>> sums, Collector<String> out) {
      for (Tuple2<String, Long> sum : sums) {
        out.collect(String.format("{\"windowStart\":%d,\"windowEnd\":%d,\"key\":%s,\"count\":%d}",
            context.window().getStart(), context.window().getEnd(), jsonString(key), sum.f1));
      }
    }
  }

  static final class LateToJson extends ProcessFunction<Tuple2<String, Long>, String> {
    private static final long serialVersionUID = 1L;

    @Override
    public void processElement(Tuple2<String, Long> value, Context context, Collector<String> out) {
      out.collect(String.format("{\"late\":true,\"timestamp\":%d,\"key\":%s}", context.timestamp(), jsonString(value.f0)));
    }
  }

  static String jsonString(String s) {
    StringBuilder b = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      if (c == '"' || c == '\\') b.append('\\').append(c);
      else if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
      else b.append(c);
    }
    return b.append('"').toString();
  }

  /** --name value pairs and bare --flags (value "true"). */
  static Map<String, String> parseArgs(String[] argv) {
    Map<String, String> args = new LinkedHashMap<>();
    for (int i = 0; i < argv.length; i++) {
      if (!argv[i].startsWith("--")) throw new IllegalArgumentException("unexpected argument '" + argv[i] + "'");
      String name = argv[i].substring(2);
      if (i + 1 < argv.length && !argv[i + 1].startsWith("--")) args.put(name, argv[++i]);
      else args.put(name, "true");
    }
    return args;
  }

  static String required(Map<String, String> args, String name) {
    String value = args.get(name);
    if (value == null || value.equals("true")) throw new IllegalArgumentException("--" + name + " is required");
    return value;
  }

  /** 60s, 5m, 1h or 500ms. */
  static Duration parseDuration(String text, String what) {
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d+)(ms|s|m|h)").matcher(text);
    if (!m.matches()) throw new IllegalArgumentException(what + ": a duration like 500ms, 60s, 5m or 1h, not '" + text + "'");
    long n = Long.parseLong(m.group(1));
    switch (m.group(2)) {
      case "ms":
        return Duration.ofMillis(n);
      case "s":
        return Duration.ofSeconds(n);
      case "m":
        return Duration.ofMinutes(n);
      default:
        return Duration.ofHours(n);
    }
  }
}
