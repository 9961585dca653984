/**
 * Throughput into the real broker: records through the project's Kafka sink (connectKafkaSink,
 * production batching: its defaults, acks=all), counted when Kafka acknowledged them.
 *
 *   node dist/bench/kafka.js --brokers HOST:PORT [--events 300000] [--objects 10000]
 *        [--mode pipeline|sink] [--partitions 6] [--result-file FILE]
 *
 * --mode pipeline: generated watch events -> the benchmark processing -> sink (what a deployment
 *   does; bounded by the processing's own cost on this core).
 * --mode sink: already processed KubeEvents (20,000 distinct, cycled) written to the sink: the
 *   sink + kafkajs + broker alone.
 *
 * --mode producer: a what-if below the sink: the same Avro values, pre-encoded, sent with the
 *   project's kafkajs producer (src/kafka/client.ts) in sequential batches of --batch-records,
 *   with the sink's headers or (--headers none) without: what kafkajs itself costs per record.
 *
 * What-ifs (default: the sink's production defaults): --batch-records N, --linger-ms N,
 * --in-flight N (maxInFlightBatches), --compression none|gzip|lz4 (default lz4, the sink's default).
 */
import { randomUUID } from 'node:crypto';
import { Subject } from 'rxjs';
import { Registry } from 'prom-client';
import type { Alert } from '../src/model/alert.js';
import type { KubeEvent } from '../src/model/kube-event.js';
import type { WatchEvent } from '../src/model/watch-event.js';
import { kubeEventRecord, type OutRecord } from '../src/model/out-record.js';
import { connectKafkaSink } from '../src/sinks/kafka-publisher.js';
import { ACKS_ALL, compressionType, createKafka, createProducer, type Message } from '../src/kafka/client.js';
import { toAvroBinary } from '../src/avro/encodings.js';
import { loadSchema } from '../src/avro/schemas.js';
import { objectKey } from '../src/model/kube-event.js';
import { buildWorld, EventStream } from './generator.js';
import { calibrate, intArg, loadAverage, mb, parseArgs, peakRss, progress, RssSampler, writeResult } from './lib.js';
import { benchProcessing, sinkHeaders, warmCache } from './processing.js';

const args = parseArgs(process.argv.slice(2));
const brokers = (args.get('brokers') ?? '').split(',').filter(Boolean);
if (brokers.length === 0) throw new Error('--brokers HOST:PORT is required');
const events = intArg(args, 'events', 300_000);
const objects = intArg(args, 'objects', 10_000);
const partitions = intArg(args, 'partitions', 6);
const mode = args.get('mode') ?? 'pipeline';
if (mode !== 'pipeline' && mode !== 'sink' && mode !== 'producer') throw new Error(`--mode must be pipeline, sink or producer, got ${mode}`);
/** producer mode: the sink's 7 headers per record, or none */
const headersMode = args.get('headers') ?? 'sink';
const compression = args.get('compression') ?? 'lz4';
if (compression !== 'gzip' && compression !== 'none' && compression !== 'lz4') throw new Error(`--compression must be gzip, lz4 or none, got ${compression}`);
const settings = {
  acks: 'all',
  maxRecords: intArg(args, 'batch-records', 500),
  maxBytes: '900 KiB',
  lingerMs: Number(args.get('linger-ms') ?? 20),
  maxInFlightBatches: intArg(args, 'in-flight', 1),
  compression,
  encoding: 'avro-binary',
};
const overridden = ['batch-records', 'linger-ms', 'in-flight', 'compression'].some((k) => args.has(k));

const loadStart = loadAverage();
const calibrationCpuMs = calibrate();
const world = buildWorld({ objects });
const cache = warmCache(world.objects);
world.objects.length = 0;

const suffix = randomUUID().slice(0, 8);
const topics = {
  KubeEvent: `bench.events.${suffix}`,
  Alert: `bench.alerts.${suffix}`,
  Incident: `bench.incidents.${suffix}`,
  Gap: `bench.gaps.${suffix}`,
  DeadLetter: `bench.deadletter.${suffix}`,
};
const connected = await connectKafkaSink(
  {
    kafka: { brokers, clientId: 'kubevents-bench' },
    cluster: 'bench',
    encoding: 'avro-binary',
    topics,
    createTopics: { partitions, replicationFactor: 1 },
    ...(overridden
      ? {
          batch: { maxRecords: settings.maxRecords, lingerMs: settings.lingerMs },
          maxInFlightBatches: settings.maxInFlightBatches,
          compression: settings.compression as 'gzip' | 'lz4' | 'none',
        }
      : {}),
  },
  { registry: new Registry() },
);
const sink = connected.sink;

let writeErrors = 0;
let firstWriteError: string | null = null;
const onWriteError = (error: unknown) => {
  writeErrors++;
  firstWriteError ??= String((error as Error)?.message ?? error);
};
const alertRecord = (a: Alert): OutRecord<Alert> => ({ kind: 'Alert', value: a, key: a.alertId, idempotencyKey: a.idempotencyKey, timestamp: a.updatedAt });

const rss = new RssSampler(100).start();
const CHUNK = 500;
let written = 0;
let t0 = 0;
let cpu0 = process.cpuUsage();
let counters: unknown = null;
let producerAcked = 0;

if (mode === 'pipeline') {
  const stream = new EventStream(world, { events });
  const input = new Subject<WatchEvent<unknown>>();
  const processing = benchProcessing(input, cache);
  counters = processing.counters;
  processing.events$.subscribe((e: KubeEvent) => {
    written++;
    sink.write(kubeEventRecord(e)).catch(onWriteError);
  });
  processing.alerts$.subscribe((a) => {
    written++;
    sink.write(alertRecord(a)).catch(onWriteError);
  });
  progress(`kafka pipeline: ${events.toLocaleString('en')} events -> ${brokers.join(',')} (${partitions} partitions, acks=all)`);
  t0 = performance.now();
  cpu0 = process.cpuUsage();
  for (let i = 0; i < events; i += CHUNK) {
    for (let j = i; j < Math.min(events, i + CHUNK); j++) input.next(stream.next()!);
    if (!sink.hasRoom) await sink.whenWritable();
    else await new Promise<void>((r) => setImmediate(r)); // let acks and timers run
  }
  input.complete();
} else if (mode === 'producer') {
  const stream = new EventStream(world, { events: 20_000 });
  const input = new Subject<WatchEvent<unknown>>();
  const processing = benchProcessing(input, cache);
  const schema = loadSchema('KubeEvent');
  const messages: Message[] = [];
  processing.events$.subscribe((e) => {
    const headers = headersMode === 'none' ? {} : sinkHeaders(schema, e);
    messages.push({ key: objectKey(e), value: toAvroBinary(schema, e), headers, timestamp: String(e.lastTimestamp) });
  });
  for (let i = 0; i < 20_000; i++) input.next(stream.next()!);
  input.complete();
  const producer = createProducer(createKafka({ brokers, clientId: 'kubevents-bench-producer' }));
  await producer.connect();
  progress(`kafka producer: ${events.toLocaleString('en')} pre-encoded records, headers ${headersMode}, batches of ${settings.maxRecords}`);
  t0 = performance.now();
  cpu0 = process.cpuUsage();
  for (let i = 0; i < events; i += settings.maxRecords) {
    const batch: Message[] = [];
    for (let j = i; j < Math.min(events, i + settings.maxRecords); j++) batch.push(messages[j % messages.length]!);
    await producer.sendBatch({
      topicMessages: [{ topic: topics.KubeEvent, messages: batch }],
      acks: ACKS_ALL,
      compression: compressionType(settings.compression as 'gzip' | 'lz4' | 'none'),
    });
    written += batch.length;
    producerAcked += batch.length;
  }
  await producer.disconnect();
} else {
  // pre-processed records, cycled
  const stream = new EventStream(world, { events: 20_000 });
  const input = new Subject<WatchEvent<unknown>>();
  const processing = benchProcessing(input, cache);
  const prepared: KubeEvent[] = [];
  processing.events$.subscribe((e) => prepared.push(e));
  for (let i = 0; i < 20_000; i++) input.next(stream.next()!);
  input.complete();
  progress(
    `kafka sink: ${events.toLocaleString('en')} processed records (${prepared.length} distinct) -> ${brokers.join(',')} (${partitions} partitions, acks=all)`,
  );
  t0 = performance.now();
  cpu0 = process.cpuUsage();
  for (let i = 0; i < events; i += CHUNK) {
    for (let j = i; j < Math.min(events, i + CHUNK); j++) {
      written++;
      sink.write(kubeEventRecord(prepared[j % prepared.length]!)).catch(onWriteError);
    }
    if (!sink.hasRoom) await sink.whenWritable();
    else await new Promise<void>((r) => setImmediate(r));
  }
}
await sink.flush();
const wallMs = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
rss.stop();
const closed = await connected.close(10_000);

const result = {
  bench: 'kafka',
  mode,
  events,
  brokers,
  partitions,
  settings,
  whatIf: overridden,
  counters,
  recordsWritten: written,
  headers: mode === 'producer' ? headersMode : 'sink',
  recordsAcked: sink.delivered + producerAcked,
  writeErrors,
  firstWriteError,
  closed,
  wallMs: Math.round(wallMs),
  cpuMs: Math.round((cpu.user + cpu.system) / 1000),
  recordsPerSec: Math.round((sink.delivered + producerAcked) / (wallMs / 1000)),
  eventsPerSec: Math.round(events / (wallMs / 1000)),
  memoryMB: { peakRss: mb(Math.max(peakRss(), rss.max)) },
  calibrationCpuMs,
  loadavgStart: loadStart,
  loadavgEnd: loadAverage(),
};
writeResult(args, result);
process.exit(0);
