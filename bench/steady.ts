/**
 * The steady-load benchmark (issue #18: "peak RSS <= 150 MB at a steady 500 Events/s on a small
 * cluster"): the real CLI (`kubevents run --source kube`, the default pipelines, the Kafka sink,
 * a file checkpoint) in its own process on a small cluster (`--nodes` kwok Nodes, `--pods` Pods
 * bound to them), measured from the outside while Events are created at a steady `--rate`:
 *
 * - /proc every `--sample-ms` (250): RSS, peak RSS (VmHWM), CPU seconds (utime+stime);
 * - the child's own process.memoryUsage() every second (heapUsed, heapTotal, external,
 *   arrayBuffers, V8's spaces), written by the preload bench/mem-log.ts (`--import`), and V8's heap
 *   size limit;
 * - Events: `--rate` a second for `--seconds` (default 500/s for 120 s), each with a microsecond
 *   eventTime taken just before its POST, 25 % Warnings (BackOff, Unhealthy, FailedScheduling)
 *   and Normal ones (Scheduled, Pulling, Pulled, Created, Started, Killing) on the cluster's Pods,
 *   plus 1 % on its Nodes (NodeNotReady / NodeReady), so that enrichment, classification, the
 *   rate, spike and correlate stages and the alerts all run;
 * - the events topic read back: creation -> read back lag (an upper bound of creation -> Kafka
 *   ack), and every created Event's record present (none lost); alerts and incidents by name.
 *
 * The first `--warmup-seconds` (15) of the load are left out of the steady-state numbers. One run
 * per `--variants` entry (`|`-separated; default `none|153`: Node's default heap limit, and the
 * --max-old-space-size deploy/entrypoint.sh gives a 256 MiB container limit); an entry is a heap
 * size in MiB (or `none`), then optionally more node flags (`--max-semi-space-size=2`) and
 * environment variables (`MALLOC_ARENA_MAX=2`), space-separated. Each run is a fresh process with
 * fresh topics and checkpoint; the Events of one run (in the Pods' namespace and in `default`) are
 * deleted before the next (and those of an earlier invocation before the first), so each lists
 * the same few. The child's stderr (its log) and stdout (console sinks; V8's lines with
 * `--trace-gc`) are kept in the work directory.
 *
 *   node dist/bench/steady.js --kubeconfig FILE --brokers HOST:PORT [--rate 500] [--seconds 120]
 *        [--warmup-seconds 15] [--variants 'none|153'] [--nodes 4] [--pods 200] [--concurrency 64]
 *        [--sample-ms 250] [--drain-timeout-seconds 60] [--result-file FILE]
 */
import { randomUUID } from 'node:crypto';
import { closeSync, createWriteStream, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { createKafka, headersToStrings } from '../src/kafka/client.js';
import { HEADERS, RecordDecoder } from '../src/avro/encodings.js';
import { connectKubeApi } from './kube-api.js';
import { createEvents, type CreateStats } from './kube-load.js';
import { ClusterLayout, ensureCluster, forEachItem } from './kube-objects.js';
import { MEM_LOG, MeasuredProcess, kubeventsConfig, spawnKubevents, type ProcStats } from './kubevents-proc.js';
import { calibrate, clusterArgs, intArg, loadAverage, parseArgs, percentile, progress, round2, sleep, writeResult } from './lib.js';

const args = parseArgs(process.argv.slice(2));
const { kubeconfig, brokers } = clusterArgs(args);
const rate = intArg(args, 'rate', 500);
const seconds = intArg(args, 'seconds', 120);
const warmupSeconds = Math.min(intArg(args, 'warmup-seconds', 15), seconds - 1);
const nodes = intArg(args, 'nodes', 4);
const pods = intArg(args, 'pods', 200);
const concurrency = intArg(args, 'concurrency', 64);
const sampleMs = intArg(args, 'sample-ms', 250);
const drainTimeoutMs = intArg(args, 'drain-timeout-seconds', 60) * 1000;
interface Variant {
  /** --max-old-space-size; null: Node's default */
  heapMb: number | null;
  nodeFlags: string[];
  env: Record<string, string>;
  name: string;
}
const variants: Variant[] = (args.get('variants') ?? args.get('heaps')?.replaceAll(',', '|') ?? 'none|153').split('|').map((spec) => {
  const [heap, ...rest] = spec.trim().split(/\s+/);
  const heapMb = heap === 'none' || heap === '0' ? null : Number(heap);
  if (heapMb !== null && !(heapMb > 0)) throw new Error(`--variants: '${spec}' does not start with a heap size in MiB or 'none'`);
  const nodeFlags = rest.filter((r) => r.startsWith('--'));
  const env = Object.fromEntries(rest.filter((r) => !r.startsWith('--')).map((r) => [r.slice(0, r.indexOf('=')), r.slice(r.indexOf('=') + 1)]));
  return { heapMb, nodeFlags, env, name: [heapMb === null ? 'heap=default' : `heap=${heapMb}`, ...rest].join(' ') };
});

const run = randomUUID().slice(0, 8);
const workDir = join(tmpdir(), `kubevents-steady-${run}`);
mkdirSync(workDir, { recursive: true });
const loadStart = loadAverage();
const calibrationCpuMs = calibrate();
const kc = new KubeConfig();
kc.loadFromFile(kubeconfig);
const api = await connectKubeApi(kc, concurrency);

// ---- the small cluster: Nodes and Pods (one namespace: an Event's namespace must be its Pod's)
const layout = new ClusterLayout('steady', nodes, pods, 1);
const namespace = layout.podNamespace(0);
const ensured = await ensureCluster(kc, api, layout, 32);
const podUids = new Map<string, string>();
await forEachItem(api, `/api/v1/namespaces/${namespace}/pods?labelSelector=${encodeURIComponent(layout.label)}`, (p) =>
  podUids.set(p.metadata.name, p.metadata.uid),
);
const nodeUids = new Map<string, string>();
await forEachItem(api, `/api/v1/nodes?labelSelector=${encodeURIComponent(layout.label)}`, (n) => nodeUids.set(n.metadata.name, n.metadata.uid));
progress(`steady: ${nodeUids.size} Nodes, ${podUids.size} Pods in ${namespace}`);

/** 20 Pod Events in a row: 5 Warnings (BackOff x2, Unhealthy x2, FailedScheduling), 15 Normal. */
const POD_MIX: ReadonlyArray<{ type: 'Normal' | 'Warning'; reason: string; action: string; controller: string; note: string }> = [
  { type: 'Normal', reason: 'Scheduled', action: 'Binding', controller: 'default-scheduler', note: 'Successfully assigned {ns}/{pod} to {node}' },
  { type: 'Normal', reason: 'Pulling', action: 'Pulling', controller: 'kubelet', note: 'Pulling image "registry.example.com/app:1.0"' },
  { type: 'Warning', reason: 'BackOff', action: 'Backoff', controller: 'kubelet', note: 'Back-off restarting failed container app in pod {pod}_{ns}' },
  { type: 'Normal', reason: 'Pulled', action: 'Pulled', controller: 'kubelet', note: 'Successfully pulled image "registry.example.com/app:1.0" in 1.2s' },
  { type: 'Normal', reason: 'Created', action: 'Created', controller: 'kubelet', note: 'Created container app' },
  {
    type: 'Warning',
    reason: 'Unhealthy',
    action: 'ProbeWarning',
    controller: 'kubelet',
    note: 'Readiness probe failed: HTTP probe failed with statuscode: 503',
  },
  { type: 'Normal', reason: 'Started', action: 'Started', controller: 'kubelet', note: 'Started container app' },
  { type: 'Normal', reason: 'Pulling', action: 'Pulling', controller: 'kubelet', note: 'Pulling image "registry.example.com/sidecar:2.3"' },
  {
    type: 'Normal',
    reason: 'Pulled',
    action: 'Pulled',
    controller: 'kubelet',
    note: 'Container image "registry.example.com/sidecar:2.3" already present on machine',
  },
  {
    type: 'Warning',
    reason: 'FailedScheduling',
    action: 'Scheduling',
    controller: 'default-scheduler',
    note: '0/{nodes} nodes are available: {nodes} Insufficient memory. preemption: 0/{nodes} nodes are available: {nodes} No preemption victims found for incoming pod.',
  },
  { type: 'Normal', reason: 'Created', action: 'Created', controller: 'kubelet', note: 'Created container sidecar' },
  { type: 'Normal', reason: 'Started', action: 'Started', controller: 'kubelet', note: 'Started container sidecar' },
  { type: 'Warning', reason: 'BackOff', action: 'Backoff', controller: 'kubelet', note: 'Back-off restarting failed container app in pod {pod}_{ns}' },
  { type: 'Normal', reason: 'Killing', action: 'Killing', controller: 'kubelet', note: 'Stopping container app' },
  {
    type: 'Normal',
    reason: 'Pulled',
    action: 'Pulled',
    controller: 'kubelet',
    note: 'Container image "registry.example.com/app:1.0" already present on machine',
  },
  { type: 'Normal', reason: 'Created', action: 'Created', controller: 'kubelet', note: 'Created container app' },
  {
    type: 'Warning',
    reason: 'Unhealthy',
    action: 'ProbeWarning',
    controller: 'kubelet',
    note: 'Liveness probe failed: Get "http://10.244.0.7:8080/healthz": context deadline exceeded',
  },
  { type: 'Normal', reason: 'Started', action: 'Started', controller: 'kubelet', note: 'Started container app' },
  { type: 'Normal', reason: 'Scheduled', action: 'Binding', controller: 'default-scheduler', note: 'Successfully assigned {ns}/{pod} to {node}' },
  { type: 'Normal', reason: 'Killing', action: 'Killing', controller: 'kubelet', note: 'Stopping container sidecar' },
];

/** Event i: one in 100 on a Node (NodeNotReady, then NodeReady 50 later, in namespace default), the rest on Pod (i*7 mod pods) by POD_MIX. */
function eventOf(i: number, eventTime: string): Record<string, unknown> {
  if (i % 100 === 49 || i % 100 === 99) {
    const node = layout.nodeName(Math.floor(i / 100) % nodes);
    const ready = i % 100 === 99;
    return {
      metadata: { namespace: 'default' },
      eventTime,
      reportingController: 'node-controller',
      reportingInstance: 'kube-controller-manager',
      action: 'NodeStatusChange',
      reason: ready ? 'NodeReady' : 'NodeNotReady',
      type: ready ? 'Normal' : 'Warning',
      note: `Node ${node} status is now: ${ready ? 'NodeReady' : 'NodeNotReady'}`,
      regarding: { kind: 'Node', apiVersion: 'v1', name: node, uid: nodeUids.get(node) },
    };
  }
  const p = (i * 7) % pods;
  const pod = layout.podName(p);
  const m = POD_MIX[i % POD_MIX.length]!;
  const node = layout.nodeOfPod(p);
  return {
    eventTime,
    reportingController: m.controller,
    reportingInstance: m.controller === 'kubelet' ? node : 'default-scheduler-1',
    action: m.action,
    reason: m.reason,
    type: m.type,
    note: m.note.replaceAll('{pod}', pod).replaceAll('{ns}', namespace).replaceAll('{node}', node).replaceAll('{nodes}', String(nodes)),
    regarding: {
      kind: 'Pod',
      apiVersion: 'v1',
      namespace,
      name: pod,
      uid: podUids.get(pod),
      ...(m.controller === 'kubelet' ? { fieldPath: 'spec.containers{app}' } : {}),
    },
  };
}

/** Deletes every Event of `ns` (a collection DELETE of 60,000 Events takes the apiserver ~100 s here, longer than a request may: repeated until none is left). */
async function deleteEvents(ns: string): Promise<void> {
  const deadline = Date.now() + 600_000;
  while (Date.now() < deadline) {
    await api.request('DELETE', `/apis/events.k8s.io/v1/namespaces/${ns}/events`).catch(() => undefined);
    const r = await api.request('GET', `/apis/events.k8s.io/v1/namespaces/${ns}/events?limit=1`);
    if (r.status === 200 && (r.json.items as unknown[]).length === 0) return;
    await sleep(1_000);
  }
  throw new Error(`Events in ${ns} not deleted after 600 s`);
}

function stats(xs: number[]): { p50: number; p95: number; p99: number; max: number; n: number } {
  const s = [...xs].sort((a, b) => a - b);
  return { p50: round2(percentile(s, 50)), p95: round2(percentile(s, 95)), p99: round2(percentile(s, 99)), max: round2(s.at(-1) ?? NaN), n: s.length };
}

interface Sample extends ProcStats {
  /** ms since the epoch */
  at: number;
}

async function oneRun(variant: Variant, index: number): Promise<Record<string, unknown>> {
  const { heapMb } = variant;
  const id = `${run}-${index}-${heapMb ?? 'default'}`;
  await deleteEvents(namespace);
  await deleteEvents('default');
  const topics = {
    events: `steady.events.${id}`,
    alerts: `steady.alerts.${id}`,
    incidents: `steady.incidents.${id}`,
    gaps: `steady.gaps.${id}`,
    deadLetters: `steady.deadletter.${id}`,
  };
  const kafka = createKafka({ brokers, clientId: 'kubevents-bench-steady' });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [topics.events, topics.alerts, topics.incidents].map((topic) => ({ topic, numPartitions: 6, replicationFactor: 1 })) });
  await admin.disconnect();

  // ---- read back: receive time per idempotency key; alerts and incidents by name
  const received = new Map<string, number>();
  const byName = new Map<string, number>();
  let records = 0;
  const decoder = new RecordDecoder();
  const consumer = kafka.consumer({ groupId: `bench-steady-${id}`, maxWaitTimeInMs: 50 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topics.events, topics.alerts, topics.incidents], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ topic, message }) => {
      const now = Date.now();
      const h = headersToStrings(message.headers);
      if (topic === topics.events) {
        records++;
        const key = h[HEADERS.idempotencyKey];
        if (key && !received.has(key)) received.set(key, now);
      } else if (message.value) {
        const d = await decoder.decode<Record<string, unknown>>(message.value, h);
        const v = d.value as { labels?: Record<string, string>; correlation?: string; status?: string };
        const name =
          topic === topics.alerts ? `alert ${v.labels?.['alertname'] ?? '?'} ${v.status ?? ''}` : `incident ${v.correlation ?? '?'} ${v.status ?? ''}`;
        byName.set(name, (byName.get(name) ?? 0) + 1);
      }
    },
  });

  // ---- kubevents
  const configFile = join(workDir, `kubevents-${id}.yaml`);
  writeFileSync(configFile, kubeventsConfig(brokers, topics));
  const memLog = join(workDir, `mem-${id}.jsonl`);
  const log = createWriteStream(join(workDir, `kubevents-${id}.log`));
  // stdout: the console sinks' lines, and V8's with --trace-gc
  const stdout = openSync(join(workDir, `kubevents-${id}.stdout`), 'w');
  const samples: Sample[] = [];
  const procStart = Date.now();
  const child = new MeasuredProcess(
    spawnKubevents({
      kubeconfig: kubeconfig!,
      configFile,
      checkpointFile: join(workDir, `kubevents-${id}.checkpoint.json`),
      cluster: 'steady',
      heapMb,
      nodeFlags: [...variant.nodeFlags, '--import', MEM_LOG],
      env: { ...variant.env, KUBEVENTS_BENCH_MEM_LOG: memLog },
      stdio: ['ignore', stdout, 'pipe'],
    }),
    sampleMs,
    (s) => samples.push({ at: Date.now(), ...s }),
  );
  let syncedAt: number | null = null;
  let exited: { code: number | null; signal: string | null; atMs: number } | null = null;
  child.proc.once('exit', (code, signal) => (exited = { code, signal, atMs: Date.now() - procStart }));
  child.proc.stderr!.setEncoding('utf8');
  child.proc.stderr!.on('data', (chunk: string) => {
    log.write(chunk);
    if (syncedAt === null && chunk.includes('live job running')) syncedAt = Date.now();
  });
  const deadline = Date.now() + 120_000;
  while (syncedAt === null && child.proc.exitCode === null && Date.now() < deadline) await sleep(50);
  if (syncedAt === null) throw new Error(`kubevents did not start (log: ${join(workDir, `kubevents-${id}.log`)})`);
  await sleep(3_000);
  const atSync = child.sample();
  progress(`steady ${variant.name}: synced in ${syncedAt - procStart} ms, RSS ${atSync?.rssMB} MB (peak ${atSync?.hwmMB} MB)`);

  // ---- the load
  const loadavgBefore = loadAverage();
  const eventTimes = new Map<string, number>();
  const loadStartedAt = Date.now();
  const cpuAtLoadStart = child.sample()?.cpuS ?? NaN;
  const load: CreateStats = await createEvents({
    kc,
    namespace,
    count: rate * seconds,
    rate,
    concurrency,
    prefix: `steady-${id}`,
    event: eventOf,
    onCreated: (_i, created, eventTimeMs) => eventTimes.set(`${created.metadata.uid}/1`, eventTimeMs),
  });
  const loadEndedAt = Date.now();
  /** a fresh sample, or null once the child has exited (MeasuredProcess.sample() keeps the last one) */
  const live = (): ProcStats | null => (exited === null ? child.sample() : null);
  const atLoadEnd = live();
  const loadavgAtLoadEnd = loadAverage();
  progress(
    `steady ${variant.name}: ${load.created} created at ${load.achievedPerSec}/s (${load.failed} failed), RSS ${atLoadEnd?.rssMB} MB (peak ${atLoadEnd?.hwmMB} MB)`,
  );

  const drainDeadline = Date.now() + drainTimeoutMs;
  const allIn = (): boolean => {
    for (const k of eventTimes.keys()) if (!received.has(k)) return false;
    return true;
  };
  while (!allIn() && Date.now() < drainDeadline) await sleep(200);
  const drainedAt = Date.now();
  await sleep(2_000);
  const atEnd = live();
  const loadavgAfter = loadAverage();
  const exitedDuringRun = exited as typeof exited;
  await child.stop('SIGTERM');
  log.end();
  closeSync(stdout);
  await consumer.disconnect();

  // ---- the numbers
  const steadyFrom = loadStartedAt + warmupSeconds * 1000;
  const steadySamples = samples.filter((s) => s.at >= steadyFrom && s.at <= loadEndedAt);
  const lags: number[] = [];
  const steadyLags: number[] = [];
  let lost = 0;
  for (const [k, t] of eventTimes) {
    const r = received.get(k);
    if (r === undefined) {
      lost++;
      continue;
    }
    lags.push(r - t);
    if (t >= steadyFrom) steadyLags.push(r - t);
  }
  const cpuAt = (at: number): number => samples.find((s) => s.at >= at)?.cpuS ?? NaN;
  const steadyCpuS = cpuAt(loadEndedAt) - cpuAt(steadyFrom);
  const mem = existsSync(memLog)
    ? readFileSync(memLog, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, any>)
    : [];
  const heapSizeLimit = mem.find((m) => m['heapSizeLimit'] !== undefined)?.['heapSizeLimit'] as number | undefined;
  const memSteady = mem.filter((m) => m['rss'] !== undefined && m['at'] >= steadyFrom && m['at'] <= loadEndedAt);
  const memAll = mem.filter((m) => m['rss'] !== undefined);
  const MB = (b: number): number => round2(b / 1024 / 1024);
  const memStats = (rows: Array<Record<string, any>>, pick: (m: Record<string, any>) => number) => stats(rows.map((m) => MB(pick(m))));
  const memoryUsageMB = (rows: Array<Record<string, any>>) => ({
    rss: memStats(rows, (m) => m['rss']),
    heapTotal: memStats(rows, (m) => m['heapTotal']),
    heapUsed: memStats(rows, (m) => m['heapUsed']),
    external: memStats(rows, (m) => m['external']),
    arrayBuffers: memStats(rows, (m) => m['arrayBuffers']),
    oldSpaceSize: memStats(rows, (m) => m['spaces']?.['old_space']?.size ?? NaN),
    newSpaceSize: memStats(rows, (m) => m['spaces']?.['new_space']?.size ?? NaN),
    largeObjectSpaceSize: memStats(rows, (m) => m['spaces']?.['large_object_space']?.size ?? NaN),
  });
  // the child's memoryUsage() at its peak RSS sample
  const peakMem = memAll.reduce<Record<string, any> | null>((best, m) => (best === null || m['rss'] > best['rss'] ? m : best), null);

  const result = {
    variant: variant.name,
    heapMb,
    nodeFlags: variant.nodeFlags,
    env: variant.env,
    heapSizeLimitMB: heapSizeLimit ? MB(heapSizeLimit) : null,
    syncMs: (syncedAt as number) - procStart,
    /** the child's exit before the end of the run (a crash: see its log), or null */
    exitedDuringRun,
    atSync,
    load: { ...load, steadyFromMs: warmupSeconds * 1000 },
    rssMB: {
      peakVmHWM: Math.max(atEnd?.hwmMB ?? 0, ...samples.map((s) => s.hwmMB)),
      peakVmHWMAtSync: atSync?.hwmMB ?? null,
      peakVmHWMAtLoadEnd: atLoadEnd?.hwmMB ?? null,
      steady: stats(steadySamples.map((s) => s.rssMB)),
      atLoadEnd: atLoadEnd?.rssMB ?? null,
      atEnd: atEnd?.rssMB ?? null,
    },
    cpu: {
      totalS: atEnd?.cpuS ?? null,
      loadAndDrainS: round2((atEnd?.cpuS ?? NaN) - cpuAtLoadStart),
      sPer1000Events: round2((((atEnd?.cpuS ?? NaN) - cpuAtLoadStart) / load.created) * 1000),
      steadyCoresUsed: round2(steadyCpuS / ((loadEndedAt - steadyFrom) / 1000)),
      steadySPer1000Events: round2((steadyCpuS / (((loadEndedAt - steadyFrom) / 1000) * load.achievedPerSec)) * 1000),
    },
    lagMs: { all: stats(lags), steady: stats(steadyLags) },
    readBack: { created: eventTimes.size, received: eventTimes.size - lost, lost, recordsOnEventsTopic: records, drainedAfterLoadMs: drainedAt - loadEndedAt },
    alertsAndIncidents: Object.fromEntries(byName),
    memoryUsageMB: { steady: memoryUsageMB(memSteady), all: memoryUsageMB(memAll) },
    memoryUsageAtPeakRssMB: peakMem
      ? {
          at: peakMem['at'] - procStart,
          rss: MB(peakMem['rss']),
          heapTotal: MB(peakMem['heapTotal']),
          heapUsed: MB(peakMem['heapUsed']),
          external: MB(peakMem['external']),
          arrayBuffers: MB(peakMem['arrayBuffers']),
        }
      : null,
    loadavgBefore,
    loadavgAtLoadEnd,
    loadavgAfter,
    samples: samples.map((s) => [s.at - procStart, s.rssMB, s.hwmMB, s.cpuS]),
    samplesColumns: ['ms since start', 'rssMB', 'hwmMB', 'cpuS'],
    loadStartedAtMs: loadStartedAt - procStart,
    loadEndedAtMs: loadEndedAt - procStart,
    log: join(workDir, `kubevents-${id}.log`),
    stdout: join(workDir, `kubevents-${id}.stdout`),
    memLog,
  };
  if (exitedDuringRun) progress(`steady ${variant.name}: kubevents EXITED during the run: ${JSON.stringify(exitedDuringRun)} (log: ${result.log})`);
  progress(
    `steady ${variant.name}: peak RSS ${result.rssMB.peakVmHWM} MB, steady RSS p50 ${result.rssMB.steady.p50} p95 ${result.rssMB.steady.p95} MB, end ${result.rssMB.atEnd} MB; ${result.cpu.sPer1000Events} CPU-s/1000; lag p50 ${result.lagMs.steady.p50} p99 ${result.lagMs.steady.p99} ms; lost ${lost}`,
  );
  return result;
}

const runs: Array<Record<string, unknown>> = [];
for (let i = 0; i < variants.length; i++) runs.push(await oneRun(variants[i]!, i));
// the Events are left (a collection DELETE of many takes minutes): the next run deletes them first
api.close();

writeResult(args, {
  bench: 'steady',
  rate,
  seconds,
  warmupSeconds,
  nodes,
  pods,
  cluster: ensured,
  variants: variants.map((v) => v.name),
  eventMix: { podEvents: POD_MIX.map((m) => `${m.type} ${m.reason}`), nodeEventsPer100: 2 },
  runs,
  workDir,
  calibrationCpuMs,
  loadavgStart: loadStart,
  loadavgEnd: loadAverage(),
});
process.exit(0);
