/**
 * End-to-end latency on the real control plane: Events created in kube-apiserver at a steady rate
 * (by a separate load process, bench/kube-load.ts), watched by the project's Kubernetes source
 * (createKubeSource: shared watches, the Event source, the object caches), processed, published by
 * the project's Kafka sink; latency = Kafka acknowledgement time - the Event's eventTime (set, with
 * microseconds, by the client just before its POST).
 *
 *   node dist/bench/e2e.js --kubeconfig FILE --brokers HOST:PORT [--rate 500] [--seconds 60]
 *        [--warmup-seconds 5] [--concurrency 64] [--result-file FILE]
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { filter, firstValueFrom, type Subscription } from 'rxjs';
import type { KubeEvent } from '../src/model/kube-event.js';
import type { PositionTracker, SourcePosition } from '../src/model/position.js';
import { silentLogger } from '../src/core/logger.js';
import { createKubeSource } from '../src/sources/kube-source.js';
import { kubeEventRecord } from '../src/model/out-record.js';
import { connectKafkaSink } from '../src/sinks/kafka-publisher.js';
import { calibrate, clusterArgs, intArg, loadAverage, mb, parseArgs, peakRss, percentile, progress, round2, RssSampler, sleep, writeResult } from './lib.js';
import { deleteNamespace, ensureNamespace, type CreateStats } from './kube-load.js';
import { processItems } from './processing.js';

const args = parseArgs(process.argv.slice(2));
const { kubeconfig, brokers } = clusterArgs(args);
const rate = intArg(args, 'rate', 500);
const seconds = intArg(args, 'seconds', 60);
const warmupSeconds = Number(args.get('warmup-seconds') ?? 5);
const concurrency = intArg(args, 'concurrency', 64);

const loadStart = loadAverage();
const calibrationCpuMs = calibrate();
const kc = new KubeConfig();
kc.loadFromFile(kubeconfig);
const namespace = `bench-e2e-${randomUUID().slice(0, 8)}`;
await ensureNamespace(kc, namespace);

// ---- the Kafka sink (production batching: its defaults)
const suffix = randomUUID().slice(0, 8);
const connected = await connectKafkaSink(
  {
    kafka: { brokers, clientId: 'kubevents-bench-e2e' },
    cluster: 'bench',
    encoding: 'avro-binary',
    topics: {
      KubeEvent: `bench.e2e.events.${suffix}`,
      Alert: `bench.e2e.alerts.${suffix}`,
      Incident: `bench.e2e.incidents.${suffix}`,
      Gap: `bench.e2e.gaps.${suffix}`,
      DeadLetter: `bench.e2e.deadletter.${suffix}`,
    },
    createTopics: { partitions: 6, replicationFactor: 1 },
  },
  { registry: new Registry() },
);
const sink = connected.sink;

// ---- acks: a position per record; the sink acks it when Kafka acknowledged the record
const eventTimes = new Map<number, number>();
const watchedAt = new Map<number, number>();
const latencies: number[] = [];
const watchLatencies: number[] = [];
const ownLatencies: number[] = [];
let acked = 0;
let seq = 0;
const measureFrom = { time: Infinity };
const tracker: PositionTracker = {
  retain() {},
  ack(p: SourcePosition) {
    const now = performance.timeOrigin + performance.now();
    const t = eventTimes.get(p.seq);
    const w = watchedAt.get(p.seq);
    eventTimes.delete(p.seq);
    watchedAt.delete(p.seq);
    acked++;
    if (t !== undefined && t >= measureFrom.time) {
      latencies.push(now - t);
      if (w !== undefined) {
        watchLatencies.push(w - t);
        ownLatencies.push(now - w);
      }
    }
  },
};

// ---- the source and the processing
const source = createKubeSource({ kubeConfig: kc, cluster: 'bench', namespaces: [namespace], cacheKinds: ['Pod', 'Node'], logger: silentLogger });
const processing = processItems(source.events.items$, source.objects);
let writeErrors = 0;
const subscriptions: Subscription[] = [];
subscriptions.push(
  processing.events$.subscribe((e: KubeEvent) => {
    if (e.eventTime === null || !e.reason.length) return;
    const position: SourcePosition = { tracker, seq: ++seq, resourceVersion: e.resourceVersion };
    eventTimes.set(position.seq, e.eventTime);
    watchedAt.set(position.seq, performance.timeOrigin + performance.now());
    sink.write(kubeEventRecord(e, [position])).catch(() => writeErrors++);
  }),
  processing.alerts$.subscribe(() => undefined),
);
const caches = source.connectCaches();
const synced = firstValueFrom(source.events.items$.pipe(filter((i) => i.type === 'SYNCED')));
subscriptions.push(source.events.items$.subscribe());
await synced;
await source.objects.whenSynced();
progress(`e2e: watching ${namespace}; creating ${rate}/s for ${seconds}s (warm-up ${warmupSeconds}s excluded)`);

// ---- the load, in its own process
const count = rate * seconds;
const dir = mkdtempSync(join(tmpdir(), 'kubevents-bench-'));
const resultFile = join(dir, 'load.json');
const rss = new RssSampler(100).start();
const cpu0 = process.cpuUsage();
const loadStartedAt = Date.now();
measureFrom.time = loadStartedAt + warmupSeconds * 1000;
const here = dirname(fileURLToPath(import.meta.url));
await new Promise<void>((resolve, reject) => {
  const child = spawn(
    process.execPath,
    [
      join(here, 'kube-load.js'),
      '--kubeconfig',
      kubeconfig,
      '--namespace',
      namespace,
      '--count',
      String(count),
      '--rate',
      String(rate),
      '--concurrency',
      String(concurrency),
      '--prefix',
      'e2e',
      '--result-file',
      resultFile,
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  child.on('error', reject);
  child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`kube-load exited with ${code}`))));
});
const load = JSON.parse(readFileSync(resultFile, 'utf8')) as CreateStats;
rmSync(dir, { recursive: true, force: true });
// everything created should arrive and be acknowledged
const deadline = Date.now() + 60_000;
while (acked < load.created && Date.now() < deadline) await sleep(100);
const cpu = process.cpuUsage(cpu0);
rss.stop();

for (const s of subscriptions) s.unsubscribe();
caches.unsubscribe();
await connected.close(10_000);
await deleteNamespace(kc, namespace);

latencies.sort((a, b) => a - b);
watchLatencies.sort((a, b) => a - b);
ownLatencies.sort((a, b) => a - b);
const result = {
  bench: 'e2e',
  rateTarget: rate,
  seconds,
  warmupSeconds,
  load,
  receivedAndAcked: acked,
  measured: latencies.length,
  writeErrors,
  latencyMs: {
    p50: round2(percentile(latencies, 50)),
    p90: round2(percentile(latencies, 90)),
    p99: round2(percentile(latencies, 99)),
    max: round2(latencies.at(-1) ?? NaN),
  },
  /** eventTime -> the Event source delivered it (create request + apiserver + watch) */
  watchLatencyMs: {
    p50: round2(percentile(watchLatencies, 50)),
    p99: round2(percentile(watchLatencies, 99)),
  },
  /** delivered by the source -> Kafka acknowledgement: kubevents' own share (processing, sink batching, produce, acks=all) */
  pipelineLatencyMs: {
    p50: round2(percentile(ownLatencies, 50)),
    p99: round2(percentile(ownLatencies, 99)),
  },
  cpuMs: Math.round((cpu.user + cpu.system) / 1000),
  memoryMB: { peakRss: mb(Math.max(peakRss(), rss.max)) },
  calibrationCpuMs,
  loadavgStart: loadStart,
  loadavgEnd: loadAverage(),
};
writeResult(args, result);
process.exit(0);
