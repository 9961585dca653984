/**
 * `kubevents run --source kube` end to end on the real stack (test/env): a real kube-apiserver
 * (+ etcd, scheduler, controllers, kwok) and a real Kafka broker. The job runs as a child process,
 * exactly as deployed (`node main.js run --source kube --kafka-brokers ...`; the CLI transpiled
 * with test/support/transpile.ts, so no build is needed).
 *
 * Events are created directly through the events.k8s.io/v1 API (unique reasons, exact counts; a
 * series bump is a further occurrence), regarding Pods that do not exist, so their enrichment is
 * null and a replayed record is byte-identical to the first. A test consumer reads the topics
 * (events and the checkpoint topic) while the job runs.
 *
 * 1. exactly once in a clean run: every occurrence once by idempotencyKey, plus a real scheduler
 *    FailedScheduling event, enriched from the object caches;
 * 2. kill -9 during a burst, restart: no occurrence lost; duplicates only after the checkpoint the
 *    restart resumed from, with the same key and byte-identical value;
 * 3. SIGTERM: exit 0 within --shutdown-timeout, checkpoints (a file; one per namespace) saved at
 *    or after the last event; a restart resumes from them and re-publishes nothing;
 * 4. without brokers: Avro container files under --out and a file checkpoint;
 * 5. settings: bad options exit 2 before anything starts, missing topics exit 1 with what to do,
 *    --create-topics and the confluent encoding (against test/support/fake-schema-registry.ts: no
 *    registry server on the test machines; it only hands out schema ids).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventsV1Api, PatchStrategy, V1MicroTime, setHeaderOptions, type EventsV1Event } from '@kubernetes/client-node';
import avro from 'avsc';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { HEADERS, RecordDecoder } from '../../src/avro/encodings.js';
import { ConfluentSchemaRegistry } from '../../src/avro/registry.js';
import { createKafka, ensureTopics, headersToStrings, type Consumer, type Kafka } from '../../src/kafka/client.js';
import type { KubeEvent } from '../../src/model/kube-event.js';
import { createNamespace, createUnschedulablePod, deleteNamespace, kubeConfigFor, uniqueName, waitFor } from '../env/scenarios.js';
import { startFakeSchemaRegistry } from '../support/fake-schema-registry.js';
import { transpileTree } from '../support/transpile.js';

const kubeEnv = inject('kubeEnv');
const kafkaEnv = inject('kafkaEnv');
const kc = kubeConfigFor(kubeEnv);
const eventsApi = kc.makeApiClient(EventsV1Api);
const kafka: Kafka = createKafka({ brokers: kafkaEnv.brokers, clientId: 'kube-to-kafka-test' });
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const decoder = new RecordDecoder();
const SHUTDOWN_TIMEOUT_S = 10;

let cli: string;
let workDir: string;
const children: JobProcess[] = [];
const consumers: TopicReader[] = [];
const namespaces: string[] = [];

beforeAll(() => {
  cli = transpileTree('src/cli/main.ts');
  workDir = mkdtempSync(join(tmpdir(), 'kv-kube-to-kafka-'));
});

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await Promise.allSettled(consumers.map((c) => c.close()));
  await Promise.allSettled(namespaces.map((ns) => deleteNamespace(kc, ns)));
  rmSync(workDir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// the job as a child process

interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

class JobProcess {
  readonly proc: ChildProcess;
  readonly logs: LogLine[] = [];
  readonly stdoutLines: string[] = [];
  readonly stderrText: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(args: string[], env: Record<string, string>) {
    this.proc = spawn(process.execPath, [cli, 'run', '--source', 'kube', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      // metrics on a free loopback port: the default 0.0.0.0:9090 would collide between two children
      env: { ...process.env, KUBEVENTS_METRICS_ADDRESS: '127.0.0.1', KUBEVENTS_METRICS_PORT: '0', ...env },
    });
    children.push(this);
    this.exited = new Promise((resolve) => this.proc.once('exit', (code, signal) => resolve({ code, signal })));
    lines(this.proc.stdout!, (line) => this.stdoutLines.push(line));
    lines(this.proc.stderr!, (line) => {
      this.stderrText.push(line);
      try {
        this.logs.push(JSON.parse(line) as LogLine);
      } catch {
        // not a log line
      }
    });
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  kill(signal: NodeJS.Signals): void {
    if (this.running) this.proc.kill(signal);
  }

  log(msg: string): LogLine | undefined {
    return this.logs.find((l) => l.msg === msg);
  }

  async waitForLog(msg: string, timeoutMs = 60_000): Promise<LogLine> {
    return waitFor(
      () => {
        if (!this.running) throw new Error(`the job exited before logging "${msg}":\n${this.tail()}`);
        return this.log(msg);
      },
      timeoutMs,
      `the job to log "${msg}"`,
      50,
    ).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}\n${this.tail()}`);
    });
  }

  tail(n = 30): string {
    return this.stderrText.slice(-n).join('\n');
  }
}

function lines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let buffer = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffer += chunk;
    let i: number;
    while ((i = buffer.indexOf('\n')) >= 0) {
      onLine(buffer.slice(0, i));
      buffer = buffer.slice(i + 1);
    }
  });
}

interface Topics {
  events: string;
  alerts: string;
  incidents: string;
  gaps: string;
  deadLetters: string;
  checkpoints: string;
}

function uniqueTopics(): Topics {
  const id = randomUUID().slice(0, 8);
  return {
    events: `k2k-${id}.events`,
    alerts: `k2k-${id}.alerts`,
    incidents: `k2k-${id}.incidents`,
    gaps: `k2k-${id}.gaps`,
    deadLetters: `k2k-${id}.deadletter`,
    checkpoints: `k2k-${id}.checkpoints`,
  };
}

async function createTopics(t: Topics): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, [
      ...[t.events, t.alerts, t.incidents, t.gaps, t.deadLetters].map((topic) => ({ topic, partitions: 3, replicationFactor: 1 })),
      { topic: t.checkpoints, partitions: 1, replicationFactor: 1, config: { 'cleanup.policy': 'compact' } },
    ]);
  } finally {
    await admin.disconnect();
  }
}

function topicEnv(t: Topics): Record<string, string> {
  return {
    KUBEVENTS_TOPIC_EVENTS: t.events,
    KUBEVENTS_TOPIC_ALERTS: t.alerts,
    KUBEVENTS_TOPIC_INCIDENTS: t.incidents,
    KUBEVENTS_TOPIC_GAPS: t.gaps,
    KUBEVENTS_TOPIC_DEAD_LETTERS: t.deadLetters,
    KUBEVENTS_CHECKPOINT_TOPIC: t.checkpoints,
  };
}

function startJob(ns: string, topics: Topics | null, extra: string[] = [], cluster = 'k2k'): JobProcess {
  const args = ['--kubeconfig', kubeEnv.kubeconfigPath, '--namespace', ns, '--cluster', cluster, '--shutdown-timeout', String(SHUTDOWN_TIMEOUT_S), ...extra];
  if (topics) args.push('--kafka-brokers', kafkaEnv.brokers.join(','), '--encoding', 'avro-binary');
  return new JobProcess(args, topics ? topicEnv(topics) : {});
}

// ---------------------------------------------------------------------------------------------
// reading the topics while the job runs

interface Consumed {
  topic: string;
  partition: number;
  offset: string;
  key: string;
  headers: Record<string, string>;
  value: Buffer;
}

class TopicReader {
  readonly records: Consumed[] = [];
  private readonly next = new Map<string, bigint>();
  private constructor(
    private readonly consumer: Consumer,
    readonly topics: string[],
  ) {}

  static async start(topics: string[]): Promise<TopicReader> {
    const consumer = kafka.consumer({ groupId: `k2k-reader-${randomUUID()}`, allowAutoTopicCreation: false });
    const reader = new TopicReader(consumer, topics);
    consumers.push(reader);
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic, partition, message }) => {
        reader.records.push({
          topic,
          partition,
          offset: message.offset,
          key: message.key?.toString('utf8') ?? '',
          headers: headersToStrings(message.headers),
          value: message.value ?? Buffer.alloc(0),
        });
        reader.next.set(`${topic}/${partition}`, BigInt(message.offset) + 1n);
      },
    });
    return reader;
  }

  of(topic: string): Consumed[] {
    return this.records.filter((r) => r.topic === topic);
  }

  /** Waits until everything on the topics now (the high watermarks) has been read. */
  async catchUp(timeoutMs = 30_000): Promise<void> {
    const admin = kafka.admin();
    await admin.connect();
    const ends = new Map<string, bigint>();
    try {
      for (const topic of this.topics) {
        for (const o of await admin.fetchTopicOffsets(topic)) if (BigInt(o.high) > BigInt(o.low)) ends.set(`${topic}/${o.partition}`, BigInt(o.high));
      }
    } finally {
      await admin.disconnect();
    }
    await waitFor(() => [...ends].every(([tp, end]) => (this.next.get(tp) ?? 0n) >= end), timeoutMs, 'the test consumer to catch up');
  }

  async close(): Promise<void> {
    await this.consumer.disconnect();
  }
}

/** idempotencyKey -> the records carrying it (header; the decoded value is checked to agree). */
async function byIdempotencyKey(records: Consumed[]): Promise<Map<string, { record: Consumed; event: KubeEvent }[]>> {
  const out = new Map<string, { record: Consumed; event: KubeEvent }[]>();
  for (const record of records) {
    const decoded = await decoder.decode<KubeEvent>(record.value, record.headers);
    expect(decoded.kind).toBe('KubeEvent');
    const key = record.headers[HEADERS.idempotencyKey] as string;
    expect(decoded.value.idempotencyKey).toBe(key);
    let list = out.get(key);
    if (!list) out.set(key, (list = []));
    list.push({ record, event: decoded.value });
  }
  return out;
}

function keysIn(records: Consumed[]): Set<string> {
  return new Set(records.map((r) => r.headers[HEADERS.idempotencyKey] as string));
}

function checkpointsIn(reader: TopicReader, topic: string): { key: string; resourceVersion: string }[] {
  return reader.of(topic).map((r) => ({ key: r.key, resourceVersion: (JSON.parse(r.value.toString('utf8')) as { resourceVersion: string }).resourceVersion }));
}

// ---------------------------------------------------------------------------------------------
// Events through the events.k8s.io/v1 API

const REPORTER = 'kubevents.test/kube-to-kafka';

interface Created {
  name: string;
  uid: string;
  /** idempotencyKey -> resourceVersion of that occurrence */
  occurrences: Map<string, string>;
}

async function createEvent(ns: string, name: string, reason: string, regarding: string, regardingUid?: string): Promise<Created> {
  const event: EventsV1Event = await eventsApi.createNamespacedEvent({
    namespace: ns,
    body: {
      metadata: { name },
      eventTime: new V1MicroTime(),
      reportingController: REPORTER,
      reportingInstance: 'kube-to-kafka-test',
      action: 'Testing',
      reason,
      type: 'Normal',
      note: `test event ${name}`,
      regarding: { apiVersion: 'v1', kind: 'Pod', namespace: ns, name: regarding, ...(regardingUid ? { uid: regardingUid } : {}) },
    },
  });
  const uid = event.metadata!.uid!;
  return { name, uid, occurrences: new Map([[`${uid}/1`, event.metadata!.resourceVersion!]]) };
}

/** A series bump: the same Event updated in place with count `count`, a new occurrence. */
async function bumpEvent(ns: string, created: Created, count: number): Promise<void> {
  const event: EventsV1Event = await eventsApi.patchNamespacedEvent(
    { namespace: ns, name: created.name, body: { series: { count, lastObservedTime: new V1MicroTime() } } },
    mergePatch,
  );
  created.occurrences.set(`${created.uid}/${count}`, event.metadata!.resourceVersion!);
}

/** Runs `task(i)` for i in [0, n) with at most `concurrency` at a time. */
async function inParallel(n: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, concurrency) }, async () => {
      while (next < n) await task(next++);
    }),
  );
}

function expectedKeys(created: Created[]): Map<string, string> {
  const all = new Map<string, string>();
  for (const c of created) for (const [k, rv] of c.occurrences) all.set(k, rv);
  return all;
}

async function newNamespace(prefix: string): Promise<string> {
  const ns = uniqueName(prefix);
  await createNamespace(kc, ns);
  namespaces.push(ns);
  return ns;
}

/** SIGTERM and the exit code / time it took. */
async function terminate(job: JobProcess): Promise<{ code: number | null; ms: number }> {
  const started = Date.now();
  job.kill('SIGTERM');
  const exit = await job.exited;
  return { code: exit.code, ms: Date.now() - started };
}

// ---------------------------------------------------------------------------------------------

describe('kubevents run --source kube, to Kafka', () => {
  it('publishes every Event occurrence exactly once, enriched from the caches (clean run)', async () => {
    const ns = await newNamespace('k2k-once');
    const topics = uniqueTopics();
    await createTopics(topics);
    const reader = await TopicReader.start([topics.events, topics.gaps, topics.deadLetters, topics.checkpoints]);
    const job = startJob(ns, topics);
    await job.waitForLog('kube job running');

    const reason = `Once${randomUUID().slice(0, 6)}`;
    const created: Created[] = [];
    await inParallel(60, 8, async (i) => {
      created.push(await createEvent(ns, `once-${i}`, reason, `ghost-${i % 13}`));
    });
    // series bumps: MODIFIED with a higher count is a new occurrence
    await inParallel(20, 8, async (i) => bumpEvent(ns, created[i]!, 2));
    await inParallel(10, 8, async (i) => bumpEvent(ns, created[i]!, 3));
    // and a real scheduler event
    const pod = `k2k-unschedulable-${randomUUID().slice(0, 6)}`;
    const podUid = (await createUnschedulablePod(kc, ns, pod)).metadata!.uid!;

    const expected = expectedKeys(created);
    expect(expected.size).toBe(90);
    await waitFor(
      () => {
        const seen = keysIn(reader.of(topics.events));
        return [...expected.keys()].every((k) => seen.has(k));
      },
      60_000,
      'all 90 occurrences on the events topic',
    );
    const scheduling = await waitFor(
      async () => {
        const all = await byIdempotencyKey(reader.of(topics.events));
        return [...all.values()].map((l) => l[0]!.event).find((e) => e.reason === 'FailedScheduling' && e.regarding.name === pod);
      },
      60_000,
      `a FailedScheduling event for ${pod}`,
    );
    expect(scheduling.classification?.category).toBe('Scheduling');
    expect(scheduling.cluster).toBe('k2k');
    // enrichment from the Pod cache (the scheduler's first event may race the Pod's arrival in the
    // cache, so an Event created now, about the cached Pod, is the deterministic check)
    const about = await createEvent(ns, 'about-the-pod', reason, pod, podUid);
    const enriched = await waitFor(
      async () => (await byIdempotencyKey(reader.of(topics.events))).get(`${about.uid}/1`)?.[0]?.event,
      60_000,
      'the Event about the Pod on the events topic',
    );
    expect(enriched.enrichment?.podPhase).toBe('Pending');
    expect(enriched.enrichment?.workload).toMatchObject({ kind: 'Pod', name: pod, uid: podUid });

    const { code, ms } = await terminate(job);
    expect(code, job.tail()).toBe(0);
    expect(ms).toBeLessThan(SHUTDOWN_TIMEOUT_S * 1000);
    await reader.catchUp();

    // exactly once: every created occurrence once, and no key at all twice in a clean run
    const byKey = await byIdempotencyKey(reader.of(topics.events));
    for (const key of expected.keys()) expect(byKey.get(key)?.length, key).toBe(1);
    const duplicated = [...byKey].filter(([, l]) => l.length > 1).map(([k]) => k);
    expect(duplicated).toEqual([]);
    // the records are what was created
    const sample = byKey.get(`${created[0]!.uid}/3`)![0]!;
    expect(sample.event).toMatchObject({ reason, namespace: ns, count: 3, change: 'MODIFIED', sourceApi: 'events.k8s.io/v1', enrichment: null });
    expect(sample.record.key).toBe(`k2k/Pod/${ns}/${sample.event.regarding.name}`);
    expect(reader.of(topics.gaps)).toEqual([]);
    expect(reader.of(topics.deadLetters)).toEqual([]);
    // checkpoints were saved on the topic, the last one at or after the last occurrence
    const saved = checkpointsIn(reader, topics.checkpoints);
    expect(saved.length).toBeGreaterThan(0);
    expect(saved.at(-1)!.key).toBe(`k2k/default/events@${ns}`);
    const lastRv = [...expected.values()].map(BigInt).reduce((a, b) => (a > b ? a : b));
    expect(BigInt(saved.at(-1)!.resourceVersion)).toBeGreaterThanOrEqual(lastRv);
  });

  it('kill -9 during a burst, restart: nothing lost, duplicates only after the checkpoint and byte-identical', async () => {
    const ns = await newNamespace('k2k-kill');
    const topics = uniqueTopics();
    await createTopics(topics);
    const reader = await TopicReader.start([topics.events, topics.checkpoints]);
    const first = startJob(ns, topics);
    await first.waitForLog('kube job running');

    const N = 400;
    const reason = `Burst${randomUUID().slice(0, 6)}`;
    const created: Created[] = [];
    let firstBurstRv: bigint | undefined;
    const burst = inParallel(N, 8, async (i) => {
      const c = await createEvent(ns, `burst-${i}`, reason, `ghost-${i % 29}`);
      firstBurstRv ??= BigInt([...c.occurrences.values()][0]!);
      created.push(c);
      if (i % 10 === 0 && i > 0) await bumpEvent(ns, c, 2);
    });
    burst.catch(() => undefined);

    // kill once the job has published part of the burst and checkpointed into it
    await waitFor(
      () => {
        const published = reader.of(topics.events).length;
        const checkpoint = checkpointsIn(reader, topics.checkpoints).at(-1);
        return published >= N / 4 && firstBurstRv !== undefined && checkpoint !== undefined && BigInt(checkpoint.resourceVersion) >= firstBurstRv;
      },
      60_000,
      'the job to publish and checkpoint part of the burst',
      20,
    );
    first.kill('SIGKILL');
    const killed = await first.exited;
    expect(killed.signal).toBe('SIGKILL');
    const publishedBeforeKill = reader.of(topics.events).length;

    // restart while the burst goes on
    const second = startJob(ns, topics);
    const resumed = await second.waitForLog('resuming from checkpoint');
    const resumeFrom = BigInt(resumed['resourceVersion'] as string);
    expect(resumeFrom).toBeGreaterThanOrEqual(firstBurstRv!);
    await burst;

    const expected = expectedKeys(created);
    expect(expected.size).toBe(N + Math.floor((N - 1) / 10));
    await waitFor(
      () => {
        const seen = keysIn(reader.of(topics.events));
        return [...expected.keys()].every((k) => seen.has(k));
      },
      90_000,
      `all ${expected.size} occurrences on the events topic`,
    );
    const { code } = await terminate(second);
    expect(code, second.tail()).toBe(0);
    await reader.catchUp();

    const byKey = await byIdempotencyKey(reader.of(topics.events));
    // no loss
    const missing = [...expected.keys()].filter((k) => !byKey.has(k));
    expect(missing).toEqual([]);
    // duplicates: the same key, byte-identical value and headers, and only after the checkpoint
    let duplicates = 0;
    for (const [key, list] of byKey) {
      if (list.length === 1) continue;
      duplicates += list.length - 1;
      const [a, ...rest] = list;
      for (const b of rest) {
        expect(b.record.value.equals(a!.record.value), `${key}: values differ`).toBe(true);
        expect(b.record.headers, key).toEqual(a!.record.headers);
        expect(b.record.key).toBe(a!.record.key);
      }
      expect(BigInt(a!.event.resourceVersion), `${key} duplicated but at or before the checkpoint`).toBeGreaterThan(resumeFrom);
    }
    process.stderr.write(
      `[kube-to-kafka] kill -9 after ${publishedBeforeKill} records; resumed from ${resumeFrom}; ${byKey.size} keys, ${duplicates} duplicate record(s)\n`,
    );
    expect(duplicates).toBeLessThan(expected.size);
  });

  it('SIGTERM: exit 0 within --shutdown-timeout with the checkpoints saved (one per namespace); a restart re-publishes nothing', async () => {
    const [ns1, ns2] = [await newNamespace('k2k-term'), await newNamespace('k2k-term2')];
    const both = `${ns1},${ns2}`; // two namespaces: two watches, two checkpoints
    const topics = uniqueTopics();
    await createTopics(topics);
    const checkpointFile = join(workDir, `${ns1}.json`);
    const reader = await TopicReader.start([topics.events]);
    const job = startJob(both, topics, ['--checkpoint-file', checkpointFile]);
    await job.waitForLog('kube job running');

    const reason = `Term${randomUUID().slice(0, 6)}`;
    const created: Record<string, Created[]> = { [ns1]: [], [ns2]: [] };
    await inParallel(40, 6, async (i) => {
      const ns = i % 2 === 0 ? ns1 : ns2;
      created[ns]!.push(await createEvent(ns, `term-${i}`, reason, `ghost-${i % 7}`));
    });
    const expected = expectedKeys([...created[ns1]!, ...created[ns2]!]);
    await waitFor(() => {
      const seen = keysIn(reader.of(topics.events));
      return [...expected.keys()].every((k) => seen.has(k));
    }, 60_000, 'all occurrences on the events topic');

    const { code, ms } = await terminate(job);
    expect(code, job.tail()).toBe(0);
    expect(ms).toBeLessThan(SHUTDOWN_TIMEOUT_S * 1000);
    expect(job.log('shut down cleanly')).toBeDefined();

    const file = JSON.parse(readFileSync(checkpointFile, 'utf8')) as { checkpoints: Record<string, { resourceVersion: string }> };
    for (const ns of [ns1, ns2]) {
      const saved = file.checkpoints[`k2k/default/events@${ns}`];
      expect(saved, ns).toBeDefined();
      const lastRv = [...expectedKeys(created[ns]!).values()].map(BigInt).reduce((a, b) => (a > b ? a : b));
      expect(BigInt(saved!.resourceVersion)).toBeGreaterThanOrEqual(lastRv);
    }

    // restart: resumes from exactly those checkpoints; only new occurrences are published
    const again = startJob(both, topics, ['--checkpoint-file', checkpointFile]);
    await again.waitForLog('kube job running');
    const resumed = Object.fromEntries(again.logs.filter((l) => l.msg === 'resuming from checkpoint').map((l) => [l['checkpoint'], l['resourceVersion']]));
    expect(resumed).toEqual(Object.fromEntries(Object.entries(file.checkpoints).map(([k, v]) => [k, v.resourceVersion])));
    const more = await createEvent(ns2, 'term-after-restart', reason, 'ghost-x');
    await waitFor(() => keysIn(reader.of(topics.events)).has(`${more.uid}/1`), 60_000, 'the new occurrence on the events topic');
    const second = await terminate(again);
    expect(second.code, again.tail()).toBe(0);
    await reader.catchUp();
    const byKey = await byIdempotencyKey(reader.of(topics.events));
    expect([...byKey].filter(([, l]) => l.length > 1).map(([k]) => k)).toEqual([]);
    expect(byKey.size).toBeGreaterThanOrEqual(expected.size + 1);
  });

  it('without --kafka-brokers: Avro container files under --out and a file checkpoint', async () => {
    const ns = await newNamespace('k2k-files');
    const out = join(workDir, ns);
    const job = startJob(ns, null, ['--out', out, '--print-events']);
    await job.waitForLog('kube job running');
    const reason = `Files${randomUUID().slice(0, 6)}`;
    const created: Created[] = [];
    await inParallel(12, 6, async (i) => {
      created.push(await createEvent(ns, `files-${i}`, reason, `ghost-${i % 3}`));
    });
    const expected = expectedKeys(created);
    // --print-events: the job has processed them once they are on stdout
    await waitFor(
      () => {
        const printed = new Set(job.stdoutLines.map((l) => (JSON.parse(l) as KubeEvent).idempotencyKey));
        return [...expected.keys()].every((k) => printed.has(k));
      },
      60_000,
      'the events printed on stdout',
    );
    const { code } = await terminate(job);
    expect(code, job.tail()).toBe(0);

    const files = readdirSync(out).filter((f) => f.startsWith('k8s.events.') && f.endsWith('.avro'));
    expect(files.length).toBeGreaterThan(0);
    const keys: string[] = [];
    for (const f of files) {
      await new Promise<void>((resolve, reject) => {
        avro
          .createFileDecoder(join(out, f))
          .on('data', (e: KubeEvent) => keys.push(e.idempotencyKey))
          .on('end', resolve)
          .on('error', reject);
      });
    }
    for (const key of expected.keys()) expect(keys.filter((k) => k === key), key).toHaveLength(1);
    const checkpointPath = join(out, 'checkpoints.json');
    expect(existsSync(checkpointPath)).toBe(true);
    const file = JSON.parse(readFileSync(checkpointPath, 'utf8')) as { checkpoints: Record<string, { resourceVersion: string }> };
    const lastRv = [...expected.values()].map(BigInt).reduce((a, b) => (a > b ? a : b));
    expect(BigInt(file.checkpoints[`k2k/default/events@${ns}`]!.resourceVersion)).toBeGreaterThanOrEqual(lastRv);
  });
});

describe('kubevents run --source kube: settings', () => {
  async function exitOf(job: JobProcess): Promise<{ code: number | null; stderr: string }> {
    const exit = await job.exited;
    return { code: exit.code, stderr: job.stderrText.join('\n') };
  }

  it('refuses bad options with exit 2 before starting anything', async () => {
    const ns = 'default';
    const bad = await exitOf(new JobProcess(['--kubeconfig', kubeEnv.kubeconfigPath, '--namespace', ns, '--kafka-brokers', 'not-a-broker', '--encoding', 'avro-binary'], {}));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--kafka-brokers: kafka\.brokers\[0\]: must be host:port/);

    const noRegistry = await exitOf(new JobProcess(['--kubeconfig', kubeEnv.kubeconfigPath, '--kafka-brokers', kafkaEnv.brokers.join(',')], {}));
    expect(noRegistry.code).toBe(2);
    expect(noRegistry.stderr).toMatch(/--schema-registry URL, or --encoding avro-binary/);

    const noKubeconfig = await exitOf(new JobProcess(['--kubeconfig', join(workDir, 'missing-kubeconfig'), '--kafka-brokers', kafkaEnv.brokers.join(','), '--encoding', 'avro-binary'], {}));
    expect(noKubeconfig.code).toBe(2);
    expect(noKubeconfig.stderr).toMatch(/cannot load kubeconfig/);

    const timeout = await exitOf(new JobProcess(['--kubeconfig', kubeEnv.kubeconfigPath, '--shutdown-timeout', '0'], {}));
    expect(timeout.code).toBe(2);
    expect(timeout.stderr).toMatch(/--shutdown-timeout/);
  });

  it('missing topics: exit 1 naming them; --create-topics creates them; confluent encoding with a registry', async () => {
    const ns = await newNamespace('k2k-conf');
    const topics = uniqueTopics();
    const missing = await exitOf(startJob(ns, topics));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(topics.events);
    expect(missing.stderr).toContain('--create-topics');

    const registry = await startFakeSchemaRegistry();
    try {
      const job = new JobProcess(
        [
          '--kubeconfig', kubeEnv.kubeconfigPath, '--namespace', ns, '--cluster', 'k2k',
          '--kafka-brokers', kafkaEnv.brokers.join(','), '--encoding', 'confluent', '--schema-registry', registry.url, '--create-topics',
        ],
        topicEnv(topics),
      );
      await job.waitForLog('kube job running');
      const reader = await TopicReader.start([topics.events]);
      const created = await createEvent(ns, 'confluent-1', 'Confluent', 'ghost');
      const record = await waitFor(
        () => reader.of(topics.events).find((r) => r.headers[HEADERS.idempotencyKey] === `${created.uid}/1`),
        60_000,
        'the confluent-encoded record',
      );
      expect(record.headers[HEADERS.encoding]).toBe('confluent');
      expect(record.headers[HEADERS.subject]).toBe(`${topics.events}-value`);
      expect(record.value[0]).toBe(0); // magic byte
      const decoded = await new RecordDecoder({ registry: new ConfluentSchemaRegistry({ url: registry.url }) }).decode<KubeEvent>(record.value, record.headers);
      expect(decoded.value).toMatchObject({ reason: 'Confluent', namespace: ns, idempotencyKey: `${created.uid}/1` });
      const { code } = await terminate(job);
      expect(code, job.tail()).toBe(0);
    } finally {
      await registry.close();
    }
  });
});
