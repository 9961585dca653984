/**
 * The peer benchmark: kubevents next to kubernetes-event-exporter (KEE, resmoio, v1.7), both on the
 * same test control plane and the same broker, each in its own process, measured from the outside
 * (/proc) and by reading back what each published to its topic. Per tool, alternated (round r
 * starts with kubevents when r is even, with KEE when it is odd):
 *
 * 1. backlog drain: `--events` Events (events.k8s.io/v1, regarding real Pods) are created before the
 *    exporter starts; time from its start until every one of them was read back from its topic;
 *    its CPU seconds (utime+stime, /proc/PID/stat) then, per 1,000 Events; its peak RSS (VmHWM);
 * 2. count bumps (same process, now live): `series` (count 2) patched on `--bumps` of those Events;
 *    how many bump records it publishes;
 * 3. kill -9: a fresh backlog, the exporter started, SIGKILLed once half of the Events were read
 *    back, started again (kubevents: the same checkpoint file); Events never published (losses)
 *    and Events published more than once (duplicates; for kubevents whether the duplicate carries
 *    the same idempotency key as the first); then, live, `--live-events` Events created at
 *    `--live-rate` a second and the exporter killed -9 halfway through them and started again: the
 *    same counts, and how many backlog records it published again.
 *
 * Also: the apiserver's own create rate for each backlog and the load average before/after each
 * part. The Events of each part are deleted before the next one, so each exporter lists the same
 * backlog (plus the few Events the control plane makes by itself).
 *
 *   node dist/bench/peer.js --kubeconfig FILE --brokers HOST:PORT [--events 20000] [--bumps 2000]
 *        [--rounds 1] [--pods 200] [--concurrency 48] [--live-events 2000] [--live-rate 100]
 *        [--quiet-seconds 15] [--drain-timeout-seconds 900] [--kee-bin PATH] [--heap-mb 307]
 *        [--tools kubevents,kee] [--parts drain,kill] [--kee-omit-lookup]
 *        [--result-file FILE]
 *
 * KEE's binary: --kee-bin, else $KUBEVENTS_BENCH_KEE_BIN, else the one bench/peer-build.sh leaves
 * in ~/.cache/kubevents/bench/kee/v1.7/.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createKafka } from '../src/kafka/client.js';
import { HEADERS } from '../src/avro/encodings.js';
import { deleteNamespace, ensureNamespace, microTimeNow } from './kube-load.js';
import { KubeConfig } from '@kubernetes/client-node';
import { connectKubeApi } from './kube-api.js';
import { calibrate, clusterArgs, intArg, loadAverage, parseArgs, progress, round2, sleep, writeResult } from './lib.js';
import { MeasuredProcess as Exporter, kubeventsConfig, spawnKubevents } from './kubevents-proc.js';

const args = parseArgs(process.argv.slice(2));
const { kubeconfig, brokers } = clusterArgs(args);
const backlog = intArg(args, 'events', 20_000);
const bumps = Math.min(intArg(args, 'bumps', 2_000), backlog);
const rounds = intArg(args, 'rounds', 1);
const podCount = intArg(args, 'pods', 200);
const concurrency = intArg(args, 'concurrency', 48);
const heapMb = Number(args.get('heap-mb') ?? 307);
/** How long a drain may take before the part is reported as not finished. */
const drainTimeoutMs = intArg(args, 'drain-timeout-seconds', 900) * 1000;
/** After the bumps (and after a restart), the records that come in this long after the last one are still counted. */
const quietMs = intArg(args, 'quiet-seconds', 15) * 1000;
/** The live part of the kill test: Events created at this rate, the exporter killed halfway through. */
const liveEvents = intArg(args, 'live-events', 2_000);
const liveRate = intArg(args, 'live-rate', 100);

/** Which exporters run (both by default; one alone for a what-if such as --kee-omit-lookup). */
const tools = (args.get('tools') ?? 'kubevents,kee').split(',').map((t) => t.trim());
for (const t of tools) if (t !== 'kubevents' && t !== 'kee') throw new Error(`--tools: unknown exporter '${t}' (kubevents, kee)`);
/** What-if: KEE without its per-Event lookup of the regarding object (its `omitLookup`). */
const keeOmitLookup = args.has('kee-omit-lookup');
/** drain: parts 1 and 2; kill: part 3 */
const parts = (args.get('parts') ?? 'drain,kill').split(',').map((p) => p.trim());

const KEE_TAG = 'v1.7';
const keeBin = tools.includes('kee') ? resolveKeeBinary() : '';

function resolveKeeBinary(): string {
  const given = args.get('kee-bin') ?? process.env['KUBEVENTS_BENCH_KEE_BIN'];
  if (given) {
    if (!existsSync(given)) throw new Error(`--kee-bin / KUBEVENTS_BENCH_KEE_BIN: ${given} does not exist`);
    return given;
  }
  const cached = join(process.env['KUBEVENTS_BENCH_CACHE'] ?? join(homedir(), '.cache', 'kubevents', 'bench'), 'kee', KEE_TAG, 'kubernetes-event-exporter');
  if (existsSync(cached)) return cached;
  throw new Error(
    `no kubernetes-event-exporter binary: run \`bash bench/peer-build.sh\` (builds ${KEE_TAG} into ${dirname(cached)}), or pass --kee-bin PATH / set KUBEVENTS_BENCH_KEE_BIN`,
  );
}

const run = randomUUID().slice(0, 8);
const workDir = join(tmpdir(), `kubevents-peer-${run}`);
mkdirSync(workDir, { recursive: true });
const namespace = `bench-peer-${run}`;
const loadStart = loadAverage();
const calibrationCpuMs = calibrate();

const kc = new KubeConfig();
kc.loadFromFile(kubeconfig);
const api = await connectKubeApi(kc, concurrency);
const request = api.request;

/** Runs `make(i)` for i in [0, count) with `concurrency` requests at a time, at most `perSec` a second when given. */
async function forEachConcurrently(
  count: number,
  make: (i: number) => Promise<boolean>,
  perSec: number | null = null,
): Promise<{ ok: number; failed: number; perSec: number; ms: number }> {
  let next = 0;
  let ok = 0;
  let failed = 0;
  const t0 = performance.now();
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= count) return;
      if (perSec !== null) {
        const wait = t0 + (i * 1000) / perSec - performance.now();
        if (wait > 1) await sleep(wait);
      }
      if (await make(i).catch(() => false)) ok++;
      else failed++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, () => worker()));
  const ms = performance.now() - t0;
  return { ok, failed, perSec: Math.round(ok / (ms / 1000)), ms: Math.round(ms) };
}

// ---- the regarding Pods: real objects, so that both exporters' lookups find them. A scheduling
// gate keeps the scheduler from trying them (its FailedScheduling Events would add to the backlog).
await ensureNamespace(kc, namespace);
const podUids: string[] = [];
const pods = await forEachConcurrently(podCount, async (i) => {
  const r = await request('POST', `/api/v1/namespaces/${namespace}/pods`, {
    metadata: { name: `peer-pod-${i}`, labels: { app: `app-${i % 20}`, team: `team-${i % 5}` } },
    spec: { schedulingGates: [{ name: 'kubevents.bench/hold' }], containers: [{ name: 'app', image: 'registry.example.com/app:1.0' }] },
  });
  if (r.status === 201) podUids[i] = r.json.metadata.uid as string;
  return r.status === 201;
});
if (pods.failed) throw new Error(`${pods.failed} of ${podCount} Pods were not created`);

async function deleteBacklog(): Promise<void> {
  await request('DELETE', `/apis/events.k8s.io/v1/namespaces/${namespace}/events`);
  for (let i = 0; i < 300; i++) {
    const r = await request('GET', `/apis/events.k8s.io/v1/namespaces/${namespace}/events?limit=1`);
    if (r.status === 200 && (r.json.items as unknown[]).length === 0) return;
    await sleep(200);
  }
  throw new Error(`Events in ${namespace} not deleted after 60 s`);
}

interface Backlog {
  uids: string[];
  names: string[];
  createsPerSec: number;
  createMs: number;
  failed: number;
}

/** `count` Events (10 % Warnings), each regarding one of the Pods, at `perSec` or as fast as `concurrency` allows. */
async function createEvents(prefix: string, count: number, perSec: number | null = null): Promise<Backlog> {
  const uids: string[] = [];
  const names: string[] = [];
  const r = await forEachConcurrently(
    count,
    async (i) => {
      const pod = i % podCount;
      const warning = i % 10 === 0;
      const res = await request('POST', `/apis/events.k8s.io/v1/namespaces/${namespace}/events`, {
        metadata: { name: `${prefix}-${i}` },
        eventTime: microTimeNow().text,
        reportingController: 'kubevents.io/bench-peer',
        reportingInstance: 'bench-peer-1',
        action: warning ? 'Backoff' : 'Started',
        reason: warning ? 'BackOff' : 'Started',
        type: warning ? 'Warning' : 'Normal',
        note: warning ? `Back-off restarting failed container app in pod peer-pod-${pod}` : 'Started container app',
        regarding: { kind: 'Pod', apiVersion: 'v1', namespace, name: `peer-pod-${pod}`, uid: podUids[pod], fieldPath: 'spec.containers{app}' },
      });
      if (res.status !== 201) return false;
      uids[i] = res.json.metadata.uid as string;
      names[i] = res.json.metadata.name as string;
      return true;
    },
    perSec,
  );
  return { uids: uids.filter(Boolean), names: names.filter(Boolean), createsPerSec: r.perSec, createMs: r.ms, failed: r.failed };
}

// ---- reading back what an exporter published
type Tool = 'kubevents' | 'kee';

/**
 * Per record: the Event's uid and its occurrence count. kubevents: from its idempotency-key header
 * (`uid/count`); KEE: from its JSON (the core/v1 Event: metadata.uid, count or series.count).
 */
interface Published {
  uid: string;
  count: number;
  /** the record's own idempotency key (kubevents only) */
  idempotencyKey: string | null;
}

function parseRecord(tool: Tool, value: Buffer | null, headers: Record<string, string>): Published | null {
  if (tool === 'kubevents') {
    const key = headers[HEADERS.idempotencyKey];
    if (!key) return null;
    const slash = key.lastIndexOf('/');
    return { uid: key.slice(0, slash), count: Number(key.slice(slash + 1)), idempotencyKey: key };
  }
  if (!value) return null;
  const e = JSON.parse(value.toString('utf8')) as { metadata?: { uid?: string }; count?: number; series?: { count?: number } };
  if (!e.metadata?.uid) return null;
  return { uid: e.metadata.uid, count: e.series?.count ?? e.count ?? 1, idempotencyKey: null };
}

class Reader {
  records = 0;
  lastRecordAt = 0;
  /** uid -> read-back time of its first record */
  readonly firstSeen = new Map<string, number>();
  /** uid -> every record's count, in arrival order */
  readonly countsByUid = new Map<string, number[]>();
  /** idempotency keys seen (kubevents) */
  readonly keys = new Map<string, number>();
  private consumer: ReturnType<ReturnType<typeof createKafka>['consumer']> | null = null;
  constructor(
    readonly tool: Tool,
    readonly topic: string,
  ) {}

  async start(): Promise<void> {
    const kafka = createKafka({ brokers, clientId: `kubevents-bench-peer-reader` });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: this.topic, numPartitions: 6, replicationFactor: 1 }] });
    await admin.disconnect();
    this.consumer = kafka.consumer({ groupId: `bench-peer-${randomUUID()}`, maxWaitTimeInMs: 50 });
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [this.topic], fromBeginning: true });
    await this.consumer.run({
      eachMessage: async ({ message }) => {
        const now = performance.now();
        const h: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) if (v !== undefined) h[k] = String(v);
        const p = parseRecord(this.tool, message.value, h);
        this.records++;
        this.lastRecordAt = now;
        if (!p) return;
        if (!this.firstSeen.has(p.uid)) this.firstSeen.set(p.uid, now);
        const counts = this.countsByUid.get(p.uid);
        if (counts) counts.push(p.count);
        else this.countsByUid.set(p.uid, [p.count]);
        if (p.idempotencyKey) this.keys.set(p.idempotencyKey, (this.keys.get(p.idempotencyKey) ?? 0) + 1);
      },
    });
  }

  seenOf(uids: readonly string[]): number {
    let n = 0;
    for (const u of uids) if (this.firstSeen.has(u)) n++;
    return n;
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }
}

// ---- the exporters
/** KEE's config: everything to one Kafka receiver (JSON, its default layout). */
function keeConfig(topic: string): string {
  return [
    'logLevel: info',
    'logFormat: json',
    // the backlog is minutes old when KEE lists it; its default (5 s) would drop all of it
    'maxEventAgeSeconds: 3600',
    // its README's advice against client-side throttling (the defaults are 5 QPS, burst 10)
    'kubeQPS: 100',
    'kubeBurst: 500',
    ...(keeOmitLookup ? ['omitLookup: true'] : []),
    'route:',
    '  routes:',
    '    - match:',
    '        - receiver: kafka',
    'receivers:',
    '  - name: kafka',
    '    kafka:',
    '      clientId: kee-bench',
    `      topic: ${topic}`,
    `      brokers: [${brokers.map((b) => JSON.stringify(b)).join(', ')}]`,
    // the same compression as kubevents' sink
    '      compressionCodec: gzip',
    '',
  ].join('\n');
}

function kubeventsRunConfig(topic: string, id: string): string {
  return kubeventsConfig(brokers, {
    events: topic,
    alerts: `peer.alerts.${id}`,
    incidents: `peer.incidents.${id}`,
    gaps: `peer.gaps.${id}`,
    deadLetters: `peer.deadletter.${id}`,
  });
}

function startExporter(tool: Tool, topic: string, id: string, logName: string): Exporter {
  const log = openSync(join(workDir, `${logName}.log`), 'a');
  if (tool === 'kee') {
    const conf = join(workDir, `kee-${id}.yaml`);
    writeFileSync(conf, keeConfig(topic));
    return new Exporter(
      spawn(keeBin, ['-conf', conf, '-metrics-address', '127.0.0.1:0'], {
        stdio: ['ignore', log, log],
        env: { ...process.env, KUBECONFIG: kubeconfig },
      }),
    );
  }
  const conf = join(workDir, `kubevents-${id}.yaml`);
  writeFileSync(conf, kubeventsRunConfig(topic, id));
  return new Exporter(
    spawnKubevents({
      kubeconfig: kubeconfig!,
      configFile: conf,
      checkpointFile: join(workDir, `kubevents-${id}.checkpoint.json`),
      cluster: 'peer',
      heapMb,
      stdio: ['ignore', log, log],
    }),
  );
}

async function waitFor(done: () => boolean, timeoutMs: number, exporter?: Exporter): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() > deadline) return false;
    if (exporter && exporter.proc.exitCode !== null) return done();
    await sleep(50);
  }
  return true;
}

/** Waits until no record came for `ms` (at least `ms` from now). */
async function waitQuiet(reader: Reader, ms = quietMs): Promise<void> {
  const from = performance.now();
  while (performance.now() - Math.max(from, reader.lastRecordAt) < ms) await sleep(200);
}

// ---- the parts
async function drainAndBumps(tool: Tool, round: number): Promise<Record<string, unknown>> {
  const id = `${tool}-r${round}-drain-${run}`;
  await deleteBacklog();
  const loadBefore = loadAverage();
  const created = await createEvents(`${tool}-r${round}-b`, backlog);
  progress(`peer ${tool} round ${round}: backlog of ${created.uids.length} Events created at ${created.createsPerSec}/s`);
  const reader = new Reader(tool, `peer.${id}`);
  await reader.start();
  const t0 = performance.now();
  const exporter = startExporter(tool, reader.topic, id, id);
  const drained = await waitFor(() => reader.seenOf(created.uids) === created.uids.length, drainTimeoutMs, exporter);
  const readBackTimes = created.uids.map((u) => reader.firstSeen.get(u) ?? NaN);
  const drainMs = Math.max(...readBackTimes) - t0;
  const firstRecordMs = Math.min(...readBackTimes.filter(Number.isFinite)) - t0;
  const atDrain = exporter.sample();
  const loadAfterDrain = loadAverage();
  const recordsAtDrain = reader.records;
  progress(
    `peer ${tool} round ${round}: ${drained ? `drained in ${(drainMs / 1000).toFixed(1)} s` : `NOT drained: ${reader.seenOf(created.uids)} of ${created.uids.length}`}, ${atDrain?.cpuS} CPU-s, peak RSS ${atDrain?.hwmMB} MB`,
  );

  // count bumps: the first `bumps` Events get a series (count 2), as a recorder does on a repeat
  const bumped = created.uids.slice(0, bumps);
  const bumpedNames = created.names.slice(0, bumps);
  const loadBeforeBumps = loadAverage();
  const cpuBeforeBumps = exporter.sample()?.cpuS ?? NaN;
  const patches = await forEachConcurrently(bumpedNames.length, async (i) => {
    const now = microTimeNow().text;
    const r = await request('PATCH', `/apis/events.k8s.io/v1/namespaces/${namespace}/events/${bumpedNames[i]}`, {
      series: { count: 2, lastObservedTime: now },
    });
    return r.status === 200;
  });
  const bumpRecords = (): number => bumped.filter((u) => (reader.countsByUid.get(u) ?? []).some((c) => c >= 2)).length;
  await waitFor(() => bumpRecords() === bumped.length, 120_000, exporter);
  await waitQuiet(reader);
  const afterBumps = await exporter.stop('SIGTERM');
  await reader.stop();
  const bumpRecordCount = bumped.reduce((n, u) => n + (reader.countsByUid.get(u) ?? []).filter((c) => c >= 2).length, 0);
  progress(`peer ${tool} round ${round}: ${patches.ok} Events bumped, ${bumpRecordCount} bump records published`);
  return {
    backlog: { created: created.uids.length, failed: created.failed, apiserverCreatesPerSec: created.createsPerSec, createMs: created.createMs },
    drain: {
      drained,
      readBack: reader.seenOf(created.uids),
      ms: Number.isFinite(drainMs) ? Math.round(drainMs) : null,
      firstRecordMs: Number.isFinite(firstRecordMs) ? Math.round(firstRecordMs) : null,
      eventsPerSec: drained ? Math.round(created.uids.length / (drainMs / 1000)) : null,
      cpuS: atDrain?.cpuS ?? null,
      cpuSPer1000Events: atDrain ? round2((atDrain.cpuS / created.uids.length) * 1000) : null,
      eventsPerCpuSecond: atDrain && atDrain.cpuS > 0 ? Math.round(created.uids.length / atDrain.cpuS) : null,
      peakRssMB: atDrain?.hwmMB ?? null,
      recordsOnTopic: recordsAtDrain,
      loadavgBefore: loadBefore,
      loadavgAfter: loadAfterDrain,
    },
    bumps: {
      patched: patches.ok,
      patchFailed: patches.failed,
      apiserverPatchesPerSec: patches.perSec,
      eventsWithABumpRecord: bumpRecords(),
      bumpRecords: bumpRecordCount,
      cpuS: afterBumps ? round2(afterBumps.cpuS - cpuBeforeBumps) : null,
      peakRssMB: afterBumps?.hwmMB ?? null,
      loadavgBefore: loadBeforeBumps,
      loadavgAfter: loadAverage(),
    },
  };
}

/** Records of `uids` published more than once: none of these Events was bumped, so each repeat is the same occurrence. */
function duplicatesOf(tool: Tool, reader: Reader, uids: readonly string[]): { records: number; events: number; sameIdempotencyKey: number | null } {
  let records = 0;
  let events = 0;
  for (const u of uids) {
    const n = reader.countsByUid.get(u)?.length ?? 0;
    if (n > 1) {
      events++;
      records += n - 1;
    }
  }
  if (tool !== 'kubevents') return { records, events, sameIdempotencyKey: null };
  const uidSet = new Set(uids);
  let sameKey = 0;
  for (const [key, n] of reader.keys) if (n > 1 && uidSet.has(key.slice(0, key.lastIndexOf('/')))) sameKey += n - 1;
  return { records, events, sameIdempotencyKey: sameKey };
}

function recordsOf(reader: Reader, uids: readonly string[]): number {
  let n = 0;
  for (const u of uids) n += reader.countsByUid.get(u)?.length ?? 0;
  return n;
}

/**
 * kill -9 twice: (a) mid-drain of a fresh backlog, once half of it was read back; (b) once live,
 * in the middle of `--live-events` Events created at `--live-rate` a second after the backlog was
 * published. Each time the same exporter is started again (kubevents: the same checkpoint file).
 */
async function killAndRestart(tool: Tool, round: number): Promise<Record<string, unknown>> {
  const id = `${tool}-r${round}-kill-${run}`;
  await deleteBacklog();
  const loadBefore = loadAverage();
  const created = await createEvents(`${tool}-r${round}-k`, backlog);
  const reader = new Reader(tool, `peer.${id}`);
  await reader.start();
  const first = startExporter(tool, reader.topic, id, `${id}-1`);
  const half = Math.floor(created.uids.length / 2);
  await waitFor(() => reader.seenOf(created.uids) >= half, drainTimeoutMs, first);
  const beforeKill = await first.stop('SIGKILL');
  const readBackAtKill = reader.seenOf(created.uids);
  // what reached Kafka before the kill: the reader catches up with what was acknowledged
  await waitQuiet(reader, 3_000);
  const publishedBeforeKill = reader.seenOf(created.uids);
  progress(`peer ${tool} round ${round}: kill -9 mid-drain, ${publishedBeforeKill} of ${created.uids.length} published before`);
  const loadAfterKill = loadAverage();
  const t0 = performance.now();
  const second = startExporter(tool, reader.topic, id, `${id}-2`);
  const complete = await waitFor(() => reader.seenOf(created.uids) === created.uids.length, drainTimeoutMs, second);
  const completeMs = performance.now() - t0;
  await waitQuiet(reader);
  const midDrain = {
    publishedBeforeKill,
    readBackAtKill,
    killedAfterCpuS: beforeKill?.cpuS ?? null,
    restartComplete: complete,
    restartMsToComplete: complete ? Math.round(completeMs) : null,
    losses: created.uids.length - reader.seenOf(created.uids),
    duplicates: duplicatesOf(tool, reader, created.uids),
    loadavgBefore: loadBefore,
    loadavgAfter: loadAverage(),
  };
  progress(
    `peer ${tool} round ${round}: mid-drain kill: ${midDrain.losses} lost, ${midDrain.duplicates.records} duplicate records (${midDrain.duplicates.events} Events)`,
  );

  // (b) live: Events created at a steady rate, the exporter killed halfway through them
  const loadBeforeLive = loadAverage();
  const backlogRecordsBefore = recordsOf(reader, created.uids);
  const creating = createEvents(`${tool}-r${round}-l`, liveEvents, liveRate);
  await sleep((liveEvents / liveRate / 2) * 1000);
  await second.stop('SIGKILL');
  const third = startExporter(tool, reader.topic, id, `${id}-3`);
  const live = await creating;
  const liveComplete = await waitFor(() => reader.seenOf(live.uids) === live.uids.length, drainTimeoutMs, third);
  await waitQuiet(reader);
  const afterAll = await third.stop('SIGTERM');
  await reader.stop();
  const whileLive = {
    created: live.uids.length,
    rate: liveRate,
    apiserverCreatesPerSec: live.createsPerSec,
    complete: liveComplete,
    losses: live.uids.length - reader.seenOf(live.uids),
    duplicates: duplicatesOf(tool, reader, live.uids),
    backlogRecordsPublishedAgain: recordsOf(reader, created.uids) - backlogRecordsBefore,
    cpuSOfTheLastProcess: afterAll?.cpuS ?? null,
    loadavgBefore: loadBeforeLive,
    loadavgAfter: loadAverage(),
  };
  progress(
    `peer ${tool} round ${round}: live kill: ${whileLive.losses} lost, ${whileLive.duplicates.records} duplicates, ${whileLive.backlogRecordsPublishedAgain} backlog records published again`,
  );
  return {
    backlog: { created: created.uids.length, failed: created.failed, apiserverCreatesPerSec: created.createsPerSec },
    midDrain,
    whileLive,
    recordsOnTopic: reader.records,
    loadavgAfterKill: loadAfterKill,
  };
}

const rows: Array<Record<string, unknown>> = [];
for (let round = 0; round < rounds; round++) {
  const order = (round % 2 === 0 ? (['kubevents', 'kee'] as const) : (['kee', 'kubevents'] as const)).filter((t) => tools.includes(t));
  for (const tool of order) {
    const drainPart = parts.includes('drain') ? await drainAndBumps(tool, round) : null;
    const killPart = parts.includes('kill') ? await killAndRestart(tool, round) : null;
    rows.push({ tool, round, ...drainPart, kill: killPart });
  }
}
await deleteBacklog();
await deleteNamespace(kc, namespace);
api.close();

const keeInfoFile = join(dirname(keeBin), 'BUILD-INFO');
writeResult(args, {
  bench: 'peer',
  events: backlog,
  bumps,
  liveEvents,
  liveRate,
  rounds,
  pods: podCount,
  kubevents: { heapMb: heapMb > 0 ? heapMb : null, encoding: 'avro-binary', checkpoint: 'file, default interval (1 s)' },
  tools,
  kee: {
    omitLookup: keeOmitLookup,
    binary: keeBin,
    tag: KEE_TAG,
    build: existsSync(keeInfoFile) ? readFileSync(keeInfoFile, 'utf8').trim().split('\n') : null,
    config: keeConfig('<topic>'),
  },
  runs: rows,
  workDir,
  calibrationCpuMs,
  loadavgStart: loadStart,
  loadavgEnd: loadAverage(),
});
process.exit(0);
