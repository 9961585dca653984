/**
 * Helpers for the tests that run `kubevents run --source kube` as a child process on the real stack
 * (test/env: kube-apiserver + Kafka): test/integration/kube-to-kafka.test.ts,
 * leader-failover.test.ts and kube-pipelines-reload.test.ts.
 *
 * - KubeRunHarness: one per test file; owns the transpiled CLI, a work directory, the children, the
 *   test consumers and the namespaces it created, and cleans them all up (`cleanup()` in afterAll);
 * - JobProcess: the CLI as a child process, its JSON log lines (stderr) and stdout lines;
 * - TopicReader: a test consumer reading topics from the beginning while the job runs;
 * - Events through the events.k8s.io/v1 API with their idempotency keys and resourceVersions.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventsV1Api, PatchStrategy, V1MicroTime, setHeaderOptions, type EventsV1Event, type KubeConfig } from '@kubernetes/client-node';
import { expect } from 'vitest';
import { HEADERS, RecordDecoder } from '../../../src/avro/encodings.js';
import { createKafka, ensureTopics, headersToStrings, type Consumer, type Kafka } from '../../../src/kafka/client.js';
import type { KubeEvent } from '../../../src/model/kube-event.js';
import { createNamespace, deleteNamespace, kubeConfigFor, uniqueName, waitFor } from '../../env/scenarios.js';
import type { KafkaEnv, KubeEnv } from '../../env/types.js';
import { transpileTree } from '../../support/transpile.js';

const decoder = new RecordDecoder();

// ---------------------------------------------------------------------------------------------
// the job as a child process

export interface LogLine {
  level: number;
  /** pino: epoch ms */
  time: number;
  msg: string;
  [key: string]: unknown;
}

/** A log line's message, or a test on the whole line. */
export type LogMatch = string | ((line: LogLine) => boolean);

export class JobProcess {
  readonly proc: ChildProcess;
  readonly logs: LogLine[] = [];
  readonly stdoutLines: string[] = [];
  readonly stderrText: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(cli: string, args: string[], env: Record<string, string>) {
    this.proc = spawn(process.execPath, [cli, 'run', '--source', 'kube', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      // metrics on a free loopback port: the default 0.0.0.0:9090 would collide between two children
      env: { ...process.env, KUBEVENTS_METRICS_ADDRESS: '127.0.0.1', KUBEVENTS_METRICS_PORT: '0', ...env },
    });
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

  /** The first log line that matches, from index `after` on (`logs.length` before an action: a line it caused). */
  log(match: LogMatch, after = 0): LogLine | undefined {
    const test = typeof match === 'string' ? (l: LogLine) => l.msg === match : match;
    return this.logs.slice(after).find(test);
  }

  /** Waits for `log(match, after)`; fails at once when the job exits. `what` names a predicate in the failure. */
  async waitForLog(match: LogMatch, timeoutMs = 60_000, options: { after?: number; what?: string } = {}): Promise<LogLine> {
    const what = options.what ?? (typeof match === 'string' ? `the job to log "${match}"` : 'the job to log a matching line');
    return waitFor(
      () => {
        if (!this.running) throw new Error(`the job exited before ${what}:\n${this.tail()}`);
        return this.log(match, options.after);
      },
      timeoutMs,
      what,
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

/** SIGTERM and the exit code / time it took. */
export async function terminate(job: JobProcess): Promise<{ code: number | null; ms: number }> {
  const started = Date.now();
  job.kill('SIGTERM');
  const exit = await job.exited;
  return { code: exit.code, ms: Date.now() - started };
}

// ---------------------------------------------------------------------------------------------
// topics

export interface Topics {
  events: string;
  alerts: string;
  incidents: string;
  gaps: string;
  deadLetters: string;
  checkpoints: string;
}

/** The kind topics and the checkpoint topic, plus `extra` (name -> suffix: `{all: 'team-all'}` -> `PREFIX-ID.team-all`). */
export function uniqueTopics<E extends string = never>(prefix = 'k2k', extra = {} as Record<E, string>): Topics & Record<E, string> {
  const base = `${prefix}-${randomUUID().slice(0, 8)}`;
  const more = Object.fromEntries(Object.entries<string>(extra).map(([name, suffix]) => [name, `${base}.${suffix}`])) as Record<E, string>;
  return {
    events: `${base}.events`,
    alerts: `${base}.alerts`,
    incidents: `${base}.incidents`,
    gaps: `${base}.gaps`,
    deadLetters: `${base}.deadletter`,
    checkpoints: `${base}.checkpoints`,
    ...more,
  };
}

export function topicEnv(t: Topics): Record<string, string> {
  return {
    KUBEVENTS_TOPIC_EVENTS: t.events,
    KUBEVENTS_TOPIC_ALERTS: t.alerts,
    KUBEVENTS_TOPIC_INCIDENTS: t.incidents,
    KUBEVENTS_TOPIC_GAPS: t.gaps,
    KUBEVENTS_TOPIC_DEAD_LETTERS: t.deadLetters,
    KUBEVENTS_CHECKPOINT_TOPIC: t.checkpoints,
  };
}

// ---------------------------------------------------------------------------------------------
// reading the topics while the job runs

export interface Consumed {
  topic: string;
  partition: number;
  offset: string;
  /** the record timestamp (epoch ms): the broker's append time on a LogAppendTime topic */
  timestamp: number;
  key: string;
  headers: Record<string, string>;
  value: Buffer;
}

export class TopicReader {
  readonly records: Consumed[] = [];
  private readonly next = new Map<string, bigint>();
  private constructor(
    private readonly kafka: Kafka,
    private readonly consumer: Consumer,
    readonly topics: string[],
  ) {}

  static async start(kafka: Kafka, topics: string[]): Promise<TopicReader> {
    const consumer = kafka.consumer({ groupId: `k2k-reader-${randomUUID()}`, allowAutoTopicCreation: false });
    const reader = new TopicReader(kafka, consumer, topics);
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic, partition, message }) => {
        reader.records.push({
          topic,
          partition,
          offset: message.offset,
          timestamp: Number(message.timestamp),
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
    const admin = this.kafka.admin();
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

export interface Decoded {
  record: Consumed;
  event: KubeEvent;
}

/** idempotencyKey -> the records carrying it (header; the decoded value is checked to agree). */
export async function byIdempotencyKey(records: Consumed[]): Promise<Map<string, Decoded[]>> {
  const out = new Map<string, Decoded[]>();
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

/**
 * Replays after a restart or a failover: every key carried by more than one record has
 * byte-identical copies (value, headers, record key) of an occurrence after `resumeFrom` (the
 * checkpoint the replay started from). Returns the number of extra copies.
 */
export function expectDuplicatesOnlyAfter(byKey: Map<string, Decoded[]>, resumeFrom: bigint): number {
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
    expect(BigInt(a!.event.resourceVersion), `${key} duplicated but at or before the checkpoint ${resumeFrom}`).toBeGreaterThan(resumeFrom);
  }
  return duplicates;
}

export function keysIn(records: Consumed[]): Set<string> {
  return new Set(records.map((r) => r.headers[HEADERS.idempotencyKey] as string));
}

/** The checkpoints on the checkpoint topic (not the operator state records, keyed `<cluster>/<pipeline>/state`). */
export function checkpointsIn(reader: TopicReader, topic: string): { key: string; resourceVersion: string; timestamp: number }[] {
  return reader
    .of(topic)
    .filter((r) => !r.key.endsWith('/state'))
    .map((r) => ({
      key: r.key,
      resourceVersion: (JSON.parse(r.value.toString('utf8')) as { resourceVersion: string }).resourceVersion,
      timestamp: r.timestamp,
    }));
}

// ---------------------------------------------------------------------------------------------
// Events through the events.k8s.io/v1 API

const REPORTER = 'kubevents.test/kube-to-kafka';
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export interface Created {
  name: string;
  uid: string;
  /** idempotencyKey -> resourceVersion of that occurrence */
  occurrences: Map<string, string>;
}

/** Runs `task(i)` for i in [0, n) with at most `concurrency` at a time. */
export async function inParallel(n: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, concurrency) }, async () => {
      while (next < n) await task(next++);
    }),
  );
}

export function expectedKeys(created: Created[]): Map<string, string> {
  const all = new Map<string, string>();
  for (const c of created) for (const [k, rv] of c.occurrences) all.set(k, rv);
  return all;
}

/** The highest resourceVersion of a list. */
export function maxRv(rvs: Iterable<string>): bigint {
  return [...rvs].map(BigInt).reduce((a, b) => (a > b ? a : b));
}

// ---------------------------------------------------------------------------------------------
// the harness

export class KubeRunHarness {
  readonly kc: KubeConfig;
  readonly kafka: Kafka;
  private readonly eventsApi: EventsV1Api;
  private cliPath: string | undefined;
  private dir: string | undefined;
  private readonly children: JobProcess[] = [];
  private readonly readers: TopicReader[] = [];
  private readonly namespaces: string[] = [];

  constructor(
    readonly kubeEnv: KubeEnv,
    readonly kafkaEnv: KafkaEnv,
    private readonly name: string,
  ) {
    this.kc = kubeConfigFor(kubeEnv);
    this.eventsApi = this.kc.makeApiClient(EventsV1Api);
    this.kafka = createKafka({ brokers: kafkaEnv.brokers, clientId: `${name}-test` });
  }

  /** Transpiles the CLI and makes the work directory (beforeAll). */
  setup(): void {
    this.cliPath = transpileTree('src/cli/main.ts');
    this.dir = mkdtempSync(join(tmpdir(), `kv-${this.name}-`));
  }

  /** Kills the children, closes the readers, deletes the namespaces and the work directory (afterAll). */
  async cleanup(): Promise<void> {
    for (const c of this.children) c.kill('SIGKILL');
    await Promise.allSettled(this.children.map((c) => c.exited));
    await Promise.allSettled(this.readers.map((r) => r.close()));
    await Promise.allSettled(this.namespaces.map((ns) => deleteNamespace(this.kc, ns)));
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }

  get cli(): string {
    if (!this.cliPath) throw new Error('KubeRunHarness: setup() first');
    return this.cliPath;
  }

  get workDir(): string {
    if (!this.dir) throw new Error('KubeRunHarness: setup() first');
    return this.dir;
  }

  /** `kubevents run --source kube ARGS` with `env` added to this process's environment. */
  spawn(args: string[], env: Record<string, string> = {}): JobProcess {
    const job = new JobProcess(this.cli, args, env);
    this.children.push(job);
    return job;
  }

  /** The job on `ns` (comma-separated for several), to Kafka (avro-binary) when `topics` is given. */
  startJob(
    ns: string,
    topics: Topics | null,
    options: { extra?: string[]; cluster?: string; shutdownTimeoutS?: number; env?: Record<string, string> } = {},
  ): JobProcess {
    const { extra = [], cluster = 'k2k', shutdownTimeoutS = 10, env = {} } = options;
    const args = [
      '--kubeconfig',
      this.kubeEnv.kubeconfigPath,
      '--namespace',
      ns,
      '--cluster',
      cluster,
      '--shutdown-timeout',
      String(shutdownTimeoutS),
      ...extra,
    ];
    if (topics) args.push('--kafka-brokers', this.kafkaEnv.brokers.join(','), '--encoding', 'avro-binary');
    return this.spawn(args, { ...(topics ? topicEnv(topics) : {}), ...env });
  }

  async newNamespace(prefix: string): Promise<string> {
    const ns = uniqueName(prefix);
    await createNamespace(this.kc, ns);
    this.namespaces.push(ns);
    return ns;
  }

  /**
   * The kind topics and `extra` (`partitions`, default 3) and the checkpoint topic (compacted, 1
   * partition), with `config` added to every one.
   */
  async createTopics(t: Topics, config: Record<string, string> = {}, options: { partitions?: number; extra?: string[] } = {}): Promise<void> {
    const { partitions = 3, extra = [] } = options;
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      await ensureTopics(admin, [
        ...[t.events, t.alerts, t.incidents, t.gaps, t.deadLetters, ...extra].map((topic) => ({ topic, partitions, replicationFactor: 1, config })),
        { topic: t.checkpoints, partitions: 1, replicationFactor: 1, config: { ...config, 'cleanup.policy': 'compact' } },
      ]);
    } finally {
      await admin.disconnect();
    }
  }

  async readTopics(topics: string[]): Promise<TopicReader> {
    const reader = await TopicReader.start(this.kafka, topics);
    this.readers.push(reader);
    return reader;
  }

  /**
   * An Event (type Normal unless `type`) regarding the Pod `regarding` (with `regardingUid`: an
   * existing one; with `kind: 'Node'` the Node `regarding`), with `eventTime` now unless given (its
   * event time in kubevents).
   */
  async createEvent(
    ns: string,
    name: string,
    reason: string,
    regarding: string,
    options: { regardingUid?: string; type?: 'Normal' | 'Warning'; eventTime?: Date; kind?: 'Pod' | 'Node' } = {},
  ): Promise<Created> {
    const { regardingUid, type = 'Normal', eventTime, kind = 'Pod' } = options;
    const event: EventsV1Event = await this.eventsApi.createNamespacedEvent({
      namespace: ns,
      body: {
        metadata: { name },
        eventTime: eventTime ? new V1MicroTime(eventTime.getTime()) : new V1MicroTime(),
        reportingController: REPORTER,
        reportingInstance: 'kube-to-kafka-test',
        action: 'Testing',
        reason,
        type,
        note: `test event ${name}`,
        regarding:
          kind === 'Node'
            ? // the API wants an Event's regarding namespace to be its own (a real Node's Events live in default)
              { apiVersion: 'v1', kind: 'Node', namespace: ns, name: regarding }
            : { apiVersion: 'v1', kind: 'Pod', namespace: ns, name: regarding, ...(regardingUid ? { uid: regardingUid } : {}) },
      },
    });
    const uid = event.metadata!.uid!;
    return { name, uid, occurrences: new Map([[`${uid}/1`, event.metadata!.resourceVersion!]]) };
  }

  /** A series bump: the same Event updated in place with count `count` (observed `at`, default now), a new occurrence. */
  async bumpEvent(ns: string, created: Created, count: number, at?: Date): Promise<void> {
    const lastObservedTime = at ? new V1MicroTime(at.getTime()) : new V1MicroTime();
    const event: EventsV1Event = await this.eventsApi.patchNamespacedEvent(
      { namespace: ns, name: created.name, body: { series: { count, lastObservedTime } } },
      mergePatch,
    );
    created.occurrences.set(`${created.uid}/${count}`, event.metadata!.resourceVersion!);
  }
}
