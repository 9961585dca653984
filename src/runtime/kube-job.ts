/**
 * The production job behind `kubevents run --source kube`: a live cluster's Events, through the
 * pipelines (pipelines/*.yaml, default pipelines/default.yaml; reload() swaps them between two
 * Events), to Kafka (or, without a broker, to Avro container files), with checkpoints after
 * acknowledgement and a graceful shutdown.
 *
 *   Event watch (one per scope) --items--> positions --> pipelines --> records --> sink
 *     (resume from the checkpoint)            |                                      | ack
 *                                             +---- CheckpointTracker <--------------+
 *                                                        | committed (periodic save)
 *                                                        v
 *                                                 CheckpointStore (compacted topic or file)
 *
 * Positions. Every item of the Event source (occurrence, dead letter, SYNCED, GAP) opens a source
 * position in its scope's CheckpointTracker, in emission order. While the item goes through the
 * synchronous part of the processing, every record written to the sink (its KubeEvent record, a
 * dead letter, a gap, and any alert or incident the item triggers at once) carries that position;
 * the sink retains it until Kafka acknowledged the record (acks=all). The checkpoint advances to
 * the highest position P such that every position <= P is closed and every record derived from it
 * was acknowledged; it is saved every `checkpointIntervalMs` and once more at shutdown.
 * - A watch event's position is its resourceVersion. Items from a (re)list are not in
 *   resourceVersion order, so their positions carry the previous resume point, and the SYNCED
 *   marker that ends the list carries the list's resourceVersion; a GAP marker likewise carries the
 *   previous resume point (the SYNCED after it is the new one).
 * - On start the saved resourceVersion is passed as `resumeFrom` to the Event source: the watch
 *   continues right after it; when it is older than the API's history the source relists and
 *   publishes a Gap record (loss that cannot be avoided is reported, not hidden).
 * - Several `namespaces` are several watches whose resourceVersions interleave, so each namespace
 *   has its own tracker and checkpoint (key resource `events@<namespace>`); all namespaces share one
 *   (`events`).
 *
 * Guarantees and limits (see also docs/kafka.md "Delivery guarantees"):
 * - At least once for KubeEvent, Gap and DeadLetter records: a crash (kill -9, OOM) re-publishes the
 *   records after the last saved checkpoint, with the same idempotencyKey. Their values are
 *   byte-identical except for `enrichment`, which is taken from the object caches when the record is
 *   (re)built: if the regarding object changed in between (a restart count, a phase), the replayed
 *   record shows its newer state. Upsert on idempotencyKey.
 * - Alerts and incidents are derived by windowed stages (rate, group, correlate) that hold events
 *   and may emit later, from a timer or a later event. An alert emitted while an event is being
 *   handled carries that event's position (so the checkpoint waits for it); one emitted later
 *   carries none, so the checkpoint may already be past the events it summarizes. The window state
 *   itself is in memory only: after a restart the windows are rebuilt from the events replayed
 *   after the checkpoint, i.e. only partially (typically under a second of events), so an alert
 *   whose threshold was almost reached before a crash can fire late or not at all, and one that
 *   was about to be resolved or repeated is resolved/repeated only when new events drive it. The
 *   events topic is the durable, complete history; consumers that need exact alerting across
 *   restarts re-derive it from there (e.g. in Flink).
 * - Backpressure. A watch cannot be paused, but it can be stopped and resumed: when the sink's
 *   bounded buffer is full (`writable$` false) the Event watches are unsubscribed, and resumed from
 *   the last resourceVersion they emitted once the buffer has drained to half. Items already
 *   received wait in the sink's bounded waiting room. A write the sink refuses anyway (waiting room
 *   full, sink closed) fails the job loudly (`done` rejects; the CLI exits 1); the refused record's
 *   position was retained and never acked, so the saved checkpoint stays before it and a restart
 *   replays it. A pause longer than the API's history (etcd compaction, 5 min by default) ends in a
 *   Gap record on resume.
 * - The watch does not surface bookmarks, so a scope without Events does not move its checkpoint:
 *   after a restart that follows a long quiet period, the checkpoint may be older than the API's
 *   history, and a (possibly empty) Gap record is published.
 * - Records go to the topic their pipeline sink names (`OutRecord.topic`), dead letters and gaps to
 *   their kind's topic. Without Kafka, records go to Avro container files rolled every
 *   `rollIntervalMs` (`<out>/<topic>.<segment start>.avro`, one file per topic and segment); a segment's positions are acked once its files are
 *   closed and fsync'd, so the checkpoint follows the files. After a crash the unfinished segment
 *   may be truncated; its records are written again into a new segment.
 */
import { closeSync, fsyncSync, openSync } from 'node:fs';
import { BehaviorSubject, distinctUntilChanged, Subject, Subscription, type Observable } from 'rxjs';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
import { loadSchema } from '../avro/schemas.js';
import { createKafka, type KafkaClientConfig } from '../kafka/client.js';
import type { Alert } from '../model/alert.js';
import type { Incident } from '../model/incident.js';
import type { KubeEvent } from '../model/kube-event.js';
import { deadLetterOf, gapRecordOf, type DeadLetterRecord } from '../model/records.js';
import type { PipelineOutput } from '../pipeline/compile.js';
import { allSinks } from '../pipeline/graph.js';
import { defaultPipelinePaths, loadPipelines, type LoadedPipeline, type LoadResult } from '../pipeline/load.js';
import { formatOutputLine, runPipelines, toOutRecord, watchScope, type RoutedOutput } from '../pipeline/run-pipelines.js';
import type { PipelineRuntime, ReloadResult } from '../pipeline/runtime.js';
import type { RecordKind } from '../avro/schemas.js';
import { AvroFileSink, type AvroFileSummary } from '../sinks/avro-file-sink.js';
import {
  connectKafkaSink,
  createMissingTopics,
  deadLetterRecord,
  DEFAULT_TOPICS,
  gapRecord,
  kubeEventRecord,
  SinkClosedError,
  SinkOverflowError,
  type CloseResult,
  type KafkaSinkConfig,
  type OutRecord,
  type SinkTopics,
  type TopicRoute,
} from '../sinks/kafka-sink.js';
import { createEventSource, type DeadLetter, type EventSourceItem } from '../sources/event-source.js';
import { createKubeSource, type KubeSource } from '../sources/kube-source.js';
import type { CachedKind, ObjectLookup } from '../sources/object-lookup.js';
import type { ResumePoint, WatchTimingsInput } from '../sources/watch-resource.js';
import { Checkpointer, type SourcePosition } from './checkpoint.js';
import { KafkaCheckpointStore, DEFAULT_CHECKPOINT_TOPIC } from './checkpoint-kafka.js';
import { checkpointKeyString, FileCheckpointStore, type Checkpoint, type CheckpointKey, type CheckpointStore } from './checkpoint-store.js';
import { silentLogger, type Logger } from '../core/logger.js';
import { countSourceMarkers } from '../core/metrics.js';
import { gracefulShutdown, type ShutdownReport } from './shutdown.js';

export const DEFAULT_PIPELINE = 'default';
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000;
export const DEFAULT_FILE_ROLL_INTERVAL_MS = 30_000;

export interface KubeJobKubeOptions {
  /** An already built KubeConfig (then kubeconfig/context/inCluster are ignored). */
  kubeConfig?: KubeConfig;
  kubeconfig?: string | null;
  context?: string | null;
  inCluster?: boolean;
  /** Namespaces to watch; null or empty: all. */
  namespaces?: readonly string[] | null;
  eventApi?: 'auto' | 'core/v1' | 'events.k8s.io/v1';
  cacheKinds?: readonly CachedKind[];
  timings?: WatchTimingsInput;
}

export type KubeJobOutput =
  | {
      type: 'kafka';
      /** The Kafka sink (cluster and pipeline come from the job). */
      sink: Omit<KafkaSinkConfig, 'cluster' | 'pipeline'>;
      /** Verify at start that the topics exist (default true); `sink.createTopics` creates them instead. */
      checkTopics?: boolean;
      /** Directory for the pipelines' `file` sinks (Avro container files, segments as in files mode; default "out"). */
      outDir?: string;
      /** Roll interval of those files (default 30 s). */
      rollIntervalMs?: number;
    }
  | {
      type: 'files';
      /** Directory of the Avro container files. */
      outDir: string;
      /** How often a segment of files is closed and its records checkpointed (default 30 s). */
      rollIntervalMs?: number;
      topics?: Partial<SinkTopics>;
    };

export type KubeJobCheckpointStore =
  | { type: 'kafka'; kafka: KafkaClientConfig; topic?: string }
  | { type: 'file'; path: string }
  /** a store built by the caller (tests) */
  | { type: 'custom'; store: CheckpointStore };

export interface KubeJobOptions {
  /** Cluster name stamped on every record and part of the checkpoint key. */
  cluster: string;
  /** Pipeline name: the `kubevents.pipeline` header and part of the checkpoint key (default "default"). */
  pipeline?: string;
  kube: KubeJobKubeOptions;
  output: KubeJobOutput;
  checkpoint: KubeJobCheckpointStore;
  /** Minimum time between two checkpoint saves, ms (default 1000). */
  checkpointIntervalMs?: number;
  /** stop(): stop the watches, flush the sink and save the checkpoints within this time (default 10 s). */
  shutdownTimeoutMs?: number;
  /** How long to wait for the object caches before starting the Event watch (default 60 s; then enrichment may be partial at first). */
  cacheSyncTimeoutMs?: number;
  logger?: Logger;
  /** prom-client registry for the sink, checkpoint and source metrics (default: the sink's default, none for checkpoints). */
  registry?: Registry;
  /**
   * The pipelines to run (loaded and valid, see loadPipelinesForRun); default: the bundled
   * pipelines/default.yaml. Their `kafka` sinks publish to their topics (files without Kafka), a
   * topic named like a kind's default topic (`k8s.events`, `k8s.alerts`, `k8s.incidents`) being
   * the configured topic of that kind; the Event watch covers `watchScope(pipelines)` within
   * `kube.namespaces`.
   */
  pipelines?: readonly LoadedPipeline[];
  /** Re-reads the pipeline files for reload() (SIGHUP); default: the bundled default again when `pipelines` is not given. */
  loadPipelines?: () => Promise<LoadResult>;
  /** Called for every event record the pipelines publish (once per event, e.g. --print-events). */
  onEvent?: (event: KubeEvent) => void;
  /** Called for every alert / incident record the pipelines emit (once per record, whatever its sinks). */
  onAlert?: (alert: Alert) => void;
  onIncident?: (incident: Incident) => void;
  /** The pipelines' `console` sinks: one readable line per record (default: logged at info). */
  onConsole?: (line: string, output: PipelineOutput) => void;
  /** The pipelines' `stdout` sinks (default: process.stdout). */
  onStdout?: (line: string) => void;
}

export interface KubeJob {
  /**
   * Resolves once the job was stopped with stop() and shut down (cleanly or not: see stop()'s
   * report); rejects when the job failed (start-up, the watch failed for good, the sink refused a
   * record, the processing threw), after a shutdown that saved what was acknowledged.
   */
  done: Promise<void>;
  /**
   * Graceful shutdown: stops the watches, flushes the sink and saves the checkpoints within
   * `shutdownTimeoutMs`. Idempotent (the first call's options apply). The report says whether
   * everything was flushed and saved. `saveCheckpoints: false` stops the checkpoint saves at once
   * and skips the last one (a replica that lost its Lease: the checkpoints are the new leader's).
   */
  stop(options?: { saveCheckpoints?: boolean }): Promise<ShutdownReport>;
  /**
   * For /readyz: ok once the start-up finished (sink connected, object caches synced or their
   * wait timed out, Event watches started) and while the job is neither stopping nor failed.
   */
  readiness(): { ok: boolean; detail: string };
  /**
   * Re-reads the pipeline files (SIGHUP): an invalid set is refused (errors logged with
   * file:line:col, the running pipelines go on); a valid one takes over between two events, without
   * touching the watch or the checkpoints. Rejects while the job is not running yet.
   */
  reload(): Promise<ReloadResult>;
}

// ---------------------------------------------------------------------------------------------
// sinks the job writes to

/** What the job needs from a sink: KafkaSink semantics (positions retained on write, acked on delivery). */
interface JobSink {
  write(record: OutRecord): Promise<void>;
  /** false while writes have to wait for room (the input should pause). */
  readonly writable$: Observable<boolean>;
  /** true when a paused input may resume (the buffer drained well below its cap). */
  drained(): boolean;
  close(deadlineMs: number): Promise<CloseResult>;
  /**
   * Kafka only: makes topics a reload names for the first time usable before it takes over (checks
   * they exist or creates them, registers their subjects); rejects with what is missing.
   */
  prepareRoutes?(routes: readonly TopicRoute[]): Promise<void>;
}

const DEFAULT_MAX_BUFFERED_RECORDS = 10_000;
const DEFAULT_MAX_BUFFERED_BYTES = 64 * 1024 * 1024;

async function connectKafkaJobSink(
  output: Extract<KubeJobOutput, { type: 'kafka' }>,
  cluster: string,
  pipeline: string,
  logger: Logger,
  registry: Registry | undefined,
  initialRoutes: readonly TopicRoute[],
): Promise<JobSink> {
  let routes = initialRoutes;
  const maxRecords = output.sink.maxBufferedRecords ?? DEFAULT_MAX_BUFFERED_RECORDS;
  const maxBytes = output.sink.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
  const topics = { ...DEFAULT_TOPICS, ...output.sink.topics };
  if (output.checkTopics !== false && !output.sink.createTopics) {
    await checkTopicsExist(output.sink.kafka, [...Object.values(topics), ...routes.map((r) => r.topic)], logger);
  }
  const connected = await connectKafkaSink(
    { ...output.sink, cluster, pipeline, maxBufferedRecords: maxRecords, maxBufferedBytes: maxBytes, routes },
    { logger: logger.child({ component: 'kafka-sink' }), ...(registry ? { registry } : {}) },
  );
  const sink = connected.sink;
  logger.info({ brokers: output.sink.kafka.brokers, encoding: output.sink.encoding, topics: sink.topics, pipelineTopics: [...new Set(routes.map((r) => r.topic))] }, 'publishing to Kafka');
  return {
    write: (record) => sink.write(record),
    writable$: sink.writable$,
    drained: () => {
      const b = sink.buffered;
      return b.waiting === 0 && b.records <= maxRecords / 2 && b.bytes <= maxBytes / 2;
    },
    close: (deadlineMs) => connected.close(deadlineMs),
    prepareRoutes: async (more) => {
      const known = new Set([...Object.values(topics), ...routes.map((r) => r.topic)]);
      const fresh = more.filter((r) => !known.has(r.topic));
      if (fresh.length === 0) return;
      const names = [...new Set(fresh.map((r) => r.topic))];
      if (output.sink.createTopics) {
        await createMissingTopics(createKafka(output.sink.kafka, logger.child({ component: 'kafkajs' })), names, output.sink.createTopics, logger);
      } else if (output.checkTopics !== false) {
        await checkTopicsExist(output.sink.kafka, names, logger);
      }
      await sink.prepare([], fresh);
      routes = [...routes, ...fresh];
    },
  };
}

/** Fails with the missing topics' names: the producer never creates topics on its own. */
async function checkTopicsExist(kafka: KafkaClientConfig, topics: readonly string[], logger: Logger): Promise<void> {
  const admin = createKafka(kafka, logger.child({ component: 'kafkajs' })).admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = [...new Set(topics)].filter((t) => !existing.has(t));
    if (missing.length > 0) {
      throw new Error(
        `Kafka topic${missing.length === 1 ? '' : 's'} ${missing.join(', ')} missing on ${kafka.brokers.join(',')}: create ${missing.length === 1 ? 'it' : 'them'} (one record schema per topic, see docs/kafka.md) or run with --create-topics`,
      );
    }
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

interface Segment {
  id: string;
  sink: AvroFileSink;
  /** one entry per retained position (per record) */
  positions: SourcePosition[];
  /** the segment's writes, in order */
  chain: Promise<void>;
  records: number;
  /** a write failed: the segment's positions are never acked (a restart replays its records) */
  failed: boolean;
}

/**
 * Avro container files as a JobSink: records go to the current segment
 * (`<dir>/<topic>.<segment start>.avro`, one AvroFileSink per segment); every `rollIntervalMs` the
 * segment is closed, its files fsync'd, and only then its records' positions acked. A new segment
 * starts with the next write, so each run (and each restart) writes new files and never truncates
 * an older one.
 */
class FileSegmentSink implements JobSink {
  private segment: Segment | null = null;
  private rolling: Promise<void> = Promise.resolve();
  private pending = 0;
  private closed = false;
  private readonly writable = new BehaviorSubject<boolean>(true);
  private readonly timer: NodeJS.Timeout;
  private readonly topics: SinkTopics;
  readonly files: AvroFileSummary[] = [];

  constructor(
    private readonly dir: string,
    private readonly options: {
      rollIntervalMs: number;
      topics?: Partial<SinkTopics>;
      cluster: string;
      pipeline: string;
      maxPending?: number;
      logger: Logger;
      onError: (error: Error) => void;
    },
  ) {
    this.topics = { ...DEFAULT_TOPICS, ...options.topics };
    this.timer = setInterval(() => {
      this.roll().catch((error: unknown) => options.onError(asError(error)));
    }, options.rollIntervalMs);
    this.timer.unref();
  }

  get writable$(): Observable<boolean> {
    return this.writable.pipe(distinctUntilChanged());
  }

  private get maxPending(): number {
    return this.options.maxPending ?? DEFAULT_MAX_BUFFERED_RECORDS;
  }

  drained(): boolean {
    return this.pending <= this.maxPending / 2;
  }

  write(record: OutRecord): Promise<void> {
    // retained first on every path, like KafkaSink: a refused record keeps the checkpoint before it
    for (const p of record.positions ?? []) p.tracker.retain(p);
    if (this.closed) return Promise.reject(new SinkClosedError('file sink is closed'));
    if (this.pending >= this.maxPending * 2) {
      return Promise.reject(new SinkOverflowError(`file sink: ${this.pending} writes pending; the disk does not keep up`));
    }
    const segment = (this.segment ??= this.newSegment());
    for (const p of record.positions ?? []) segment.positions.push(p);
    segment.records += 1;
    this.pending += 1;
    if (this.pending >= this.maxPending) this.writable.next(false);
    const run = segment.chain.then(() => this.writeNow(segment, record));
    segment.chain = run.catch(() => {
      segment.failed = true;
    });
    return run.finally(() => {
      this.pending -= 1;
      if (this.pending < this.maxPending && !this.closed) this.writable.next(true);
    });
  }

  private newSegment(): Segment {
    const id = new Date().toISOString().replace(/:/g, '-');
    return { id, sink: new AvroFileSink(this.dir), positions: [], chain: Promise.resolve(), records: 0, failed: false };
  }

  private async writeNow(segment: Segment, record: OutRecord): Promise<void> {
    const schema = loadSchema(record.kind);
    if (schema.type.isValid(record.value)) {
      await segment.sink.write(`${record.topic ?? this.topics[record.kind]}.${segment.id}`, schema, record.value);
      return;
    }
    const paths: string[] = [];
    schema.type.isValid(record.value, { errorHook: (path) => paths.push(path.join('.')) });
    const dead = deadLetterOf({
      reason: 'SchemaMismatch',
      source: `${record.kind} ${record.key}`,
      payload: record.value,
      error: `does not match ${record.kind}: invalid field(s) ${paths.join(', ')}`,
      stage: 'file-sink',
      pipeline: this.options.pipeline,
      cluster: this.options.cluster,
    });
    this.options.logger.warn({ kind: record.kind, key: record.key, fields: paths }, 'record does not match its schema: written as a dead letter');
    await segment.sink.write(`${this.topics.DeadLetter}.${segment.id}`, loadSchema('DeadLetter'), dead);
  }

  /** Closes the current segment (if any), fsyncs its files, then acks its records' positions. */
  roll(): Promise<void> {
    const segment = this.segment;
    if (!segment) return this.rolling;
    this.segment = null;
    const run = this.rolling.then(async () => {
      await segment.chain;
      const files = await segment.sink.close();
      for (const f of files) fsyncFile(f.path);
      this.files.push(...files);
      if (segment.failed) throw new Error(`file segment ${segment.id} had failed writes: its records are not checkpointed and are written again after a restart`);
      for (const p of segment.positions) p.tracker.ack(p);
      if (files.length > 0) this.options.logger.debug({ segment: segment.id, records: segment.records, files: files.map((f) => f.path) }, 'file segment closed');
    });
    this.rolling = run.catch(() => undefined);
    return run;
  }

  async close(deadlineMs: number): Promise<CloseResult> {
    this.closed = true;
    clearInterval(this.timer);
    this.writable.next(false);
    const abandoned = this.segment?.records ?? 0;
    let timer: NodeJS.Timeout | undefined;
    const flushed = await Promise.race([
      this.roll().then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), deadlineMs);
      }),
    ]).finally(() => clearTimeout(timer));
    this.writable.complete();
    return flushed ? { flushed: true, abandoned: 0 } : { flushed: false, abandoned };
  }
}

function fsyncFile(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

// ---------------------------------------------------------------------------------------------
// checkpoint store wrapper

/**
 * Positions of list items before the first SYNCED carry no resourceVersion (''): such a commit
 * is not a resume point and is never saved. Saves are logged at debug level.
 */
class ResumePointStore implements CheckpointStore {
  constructor(
    private readonly inner: CheckpointStore,
    private readonly logger: Logger,
  ) {}

  load(key: CheckpointKey): Promise<Checkpoint | null> {
    return this.inner.load(key);
  }

  async save(checkpoint: Checkpoint): Promise<void> {
    if (!checkpoint.resourceVersion) return;
    await this.inner.save(checkpoint);
    this.logger.debug({ checkpoint: checkpointKeyString(checkpoint), resourceVersion: checkpoint.resourceVersion }, 'checkpoint saved');
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

// ---------------------------------------------------------------------------------------------
// one Event watch scope

interface FeedDeps {
  kubeSource: KubeSource;
  cluster: string;
  eventApi: 'auto' | 'core/v1' | 'events.k8s.io/v1';
  logger: Logger;
  registry: Registry | undefined;
  fieldSelector?: string | undefined;
  labelSelector?: string | undefined;
  onItem: (feed: EventFeed, item: EventSourceItem, position: SourcePosition) => void;
  onError: (error: Error) => void;
}

/**
 * The Event watch of one scope (all namespaces, or one namespace) with its checkpointer. Can be
 * paused (the watch is unsubscribed) and resumed from the last resume point it emitted.
 */
class EventFeed {
  private subscription: Subscription | null = null;
  private resume: ResumePoint | null;

  constructor(
    readonly namespace: string | null,
    readonly checkpointer: Checkpointer,
    resumeFrom: ResumePoint | null,
    private readonly deps: FeedDeps,
  ) {
    this.resume = resumeFrom;
  }

  get resource(): string {
    return this.checkpointer.key.resource;
  }

  get resumePoint(): ResumePoint | null {
    return this.resume;
  }

  get running(): boolean {
    return this.subscription !== null;
  }

  start(): void {
    if (this.subscription) return;
    const events = createEventSource(this.deps.kubeSource.registry, {
      cluster: this.deps.cluster,
      namespaces: this.namespace === null ? null : [this.namespace],
      api: this.deps.eventApi,
      ...(this.deps.fieldSelector ? { fieldSelector: this.deps.fieldSelector } : {}),
      ...(this.deps.labelSelector ? { labelSelector: this.deps.labelSelector } : {}),
      resumeFrom: this.resume,
      logger: this.deps.logger,
    });
    const subscription = new Subscription();
    this.subscription = subscription;
    subscription.add(
      events.items$.pipe(countSourceMarkers(this.resource, this.deps.registry)).subscribe({
        next: (item) => this.handle(item),
        error: (error: unknown) => {
          if (this.subscription === subscription) this.deps.onError(new Error(`Event watch (${this.resource}) failed for good: ${asError(error).message}`, { cause: error }));
        },
        complete: () => {
          if (this.subscription === subscription) this.deps.onError(new Error(`Event watch (${this.resource}) ended unexpectedly`));
        },
      }),
    );
  }

  pause(): void {
    const subscription = this.subscription;
    this.subscription = null;
    subscription?.unsubscribe();
  }

  private handle(item: EventSourceItem): void {
    const tracker = this.checkpointer.tracker;
    const previous = this.resume?.resourceVersion ?? '';
    let rv: string;
    if (item.type === 'SYNCED') rv = item.resourceVersion;
    else if (item.type === 'GAP') rv = previous;
    else rv = item.checkpoint ?? previous;
    const position = tracker.open(rv);
    try {
      this.deps.onItem(this, item, position);
    } catch (error) {
      // never checkpoint past an item that could not be handled: a restart replays it
      tracker.retain(position);
      this.deps.onError(new Error(`handling an Event item (${this.resource} at ${rv || 'list'}) failed: ${asError(error).message}`, { cause: error }));
    } finally {
      tracker.close(position);
    }
    if (item.type === 'SYNCED') this.resume = { resourceVersion: item.resourceVersion, time: Date.now() };
    else if ((item.type === 'EVENT' || item.type === 'DEAD_LETTER') && item.checkpoint) this.resume = { resourceVersion: item.checkpoint, time: Date.now() };
  }
}

// ---------------------------------------------------------------------------------------------
// records

function deadLetterFromSource(d: DeadLetter, cluster: string, pipeline: string, resource: string, positions: readonly SourcePosition[]): OutRecord<DeadLetterRecord> {
  const meta = (d.raw as { metadata?: { namespace?: unknown; name?: unknown; uid?: unknown } } | null)?.metadata;
  const ns = typeof meta?.namespace === 'string' ? meta.namespace : '';
  const name = typeof meta?.name === 'string' ? meta.name : '';
  const letter = deadLetterOf({
    reason: d.reason,
    source: `${resource} ${ns ? `${ns}/` : ''}${name || '?'}@${d.resourceVersion}`,
    payload: d.raw,
    error: d.reason,
    stage: 'normalize',
    pipeline,
    cluster,
    time: d.detectedAt,
  });
  return deadLetterRecord(letter, `${cluster}/Event/${ns}/${name}`, `${cluster}/events/${ns}/${name}@${d.resourceVersion}`, positions);
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

function scopeResource(namespace: string | null): string {
  return namespace === null ? 'events' : `events@${namespace}`;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise, new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)))]).finally(() => clearTimeout(timer));
}

/** A pipeline topic (or file name) named like a kind's default topic means that kind's configured topic. */
function topicFor(kind: RecordKind, named: string, kindTopics: SinkTopics): string {
  return DEFAULT_TOPICS[kind] === named ? kindTopics[kind] : named;
}

/** The Kafka topics the pipelines' kafka sinks name (with their record kind), for the checks and registrations at start. */
export function pipelineRoutes(pipelines: readonly LoadedPipeline[], hasKafka: boolean, kindTopics: SinkTopics): TopicRoute[] {
  if (!hasKafka) return [];
  const routes = new Map<string, TopicRoute>();
  for (const p of pipelines) {
    for (const { sink } of allSinks(p.graph)) {
      if (sink.target.type !== 'kafka' || !AVRO_KINDS.has(sink.recordKind)) continue;
      const kind = sink.recordKind as RecordKind;
      const topic = topicFor(kind, sink.target.topic, kindTopics);
      routes.set(`${kind}\u0000${topic}`, { kind, topic });
    }
  }
  return [...routes.values()];
}

const AVRO_KINDS = new Set<string>(['KubeEvent', 'Alert', 'Incident']);

/**
 * The namespaces to watch: --namespace (`requested`) and what the pipelines need (`needed`, null:
 * all). Both given: their intersection (the pipelines filter their own namespaces anyway); an empty
 * intersection keeps --namespace and says so.
 */
export function combineNamespaces(requested: readonly string[] | null | undefined, needed: readonly string[] | null, logger?: Logger): string[] {
  const cli = [...new Set((requested ?? []).filter((n) => n && n !== '*' && n !== 'all'))].sort();
  if (!needed || needed.length === 0) return cli;
  if (cli.length === 0) return [...new Set(needed)].sort();
  const both = cli.filter((n) => needed.includes(n));
  if (both.length === 0) {
    logger?.warn({ namespaces: cli, pipelineNamespaces: needed }, 'the pipelines only read namespaces outside --namespace: their sources will see no events');
    return cli;
  }
  return both;
}

// ---------------------------------------------------------------------------------------------
// the job

export function runKubeJob(options: KubeJobOptions): KubeJob {
  const logger = (options.logger ?? silentLogger).child({ component: 'kube-job' });
  const cluster = options.cluster;
  const pipeline = options.pipeline ?? DEFAULT_PIPELINE;
  const shutdownTimeoutMs = options.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS;

  let stopping = false;
  let started: { cachesSynced: boolean } | null = null;
  let shutdown: Promise<ShutdownReport> | undefined;
  let resolveDone!: () => void;
  let rejectDone!: (error: Error) => void;
  const done = new Promise<void>((resolve, reject) => {
    resolveDone = resolve;
    rejectDone = reject;
  });
  done.catch(() => undefined); // the caller handles it; never an unhandled rejection

  // what exists so far (start-up may be cut short by stop() or a failure)
  let store: CheckpointStore | undefined;
  let sink: JobSink | undefined;
  let files: FileSegmentSink | undefined;
  // the pipelines' `file` sinks when publishing to Kafka (created on their first record)
  let sideFiles: FileSegmentSink | undefined;
  let runtime: PipelineRuntime | null = null;
  const feeds: EventFeed[] = [];
  const running = new Subscription();
  let pausePoll: NodeJS.Timeout | undefined;
  let paused = false;
  // the processing's input, and the position of the item being handled: records written meanwhile derive from it
  const input = new Subject<KubeEvent>();
  let current: SourcePosition | null = null;
  const abortStartup = new AbortController();

  const stopInput = (): void => {
    for (const feed of feeds) feed.pause();
    if (pausePoll) clearInterval(pausePoll);
    running.unsubscribe();
  };

  const runShutdown = (why: 'stop' | 'failure', error?: Error, saveCheckpoints = true): Promise<ShutdownReport> => {
    if (shutdown) return shutdown;
    stopping = true;
    if (!saveCheckpoints) {
      for (const f of feeds) f.checkpointer.abandon();
      logger.info('not saving checkpoints from now on: the records still flushed are replayed by whoever resumes');
    }
    // at once: an item handled after this point could be skipped by a closing sink, and the
    // checkpoint must not pass what was received but not written
    stopInput();
    abortStartup.abort();
    shutdown = (async () => {
      // a start-up in progress notices `stopping` at its next step
      await withTimeout(startup.catch(() => undefined), Math.min(5_000, shutdownTimeoutMs / 2));
      // also the feeds a start-up in progress added meanwhile
      if (!saveCheckpoints) for (const f of feeds) f.checkpointer.abandon();
      const currentSink = sink;
      const sideSink = sideFiles;
      const report = await gracefulShutdown(
        {
          stopSources: stopInput,
          sinks: [currentSink, sideSink].filter((s): s is JobSink => s !== undefined).map((s) => ({ close: (ms: number) => s.close(ms) })),
          checkpointers: feeds.map((f) => f.checkpointer),
          stores: store ? [store] : [],
        },
        { deadlineMs: shutdownTimeoutMs, logger },
      );
      const written = [...(files?.files ?? []), ...(sideSink?.files ?? [])];
      if (written.length > 0) logger.info({ files: written.map((f) => `${f.path} (${f.records} records)`) }, 'Avro files written');
      if (why === 'failure') rejectDone(error ?? new Error('kube job failed'));
      else resolveDone();
      return report;
    })();
    return shutdown;
  };

  const fail = (error: Error): void => {
    // failing while an item is being handled (the processing threw): hold its position, so the
    // checkpoint saved on the way out stays before it and a restart replays it
    if (current) {
      current.tracker.retain(current);
      current = null;
    }
    if (stopping) {
      logger.debug({ err: error }, 'error while stopping (ignored)');
      return;
    }
    logger.error({ err: error }, 'kube job failed: shutting down; records not acknowledged are replayed from the checkpoint on the next start');
    void runShutdown('failure', error);
  };

  const write = (record: OutRecord, target: JobSink | undefined = sink): void => {
    if (!target) {
      for (const p of record.positions ?? []) p.tracker.retain(p); // never acked: the checkpoint stays before it
      fail(new Error(`no sink for a ${record.kind} record`));
      return;
    }
    target.write(record).catch((error: unknown) => {
      const e = asError(error);
      if (e instanceof SinkOverflowError) fail(new Error(`the sink refused a ${record.kind} record (${record.idempotencyKey}): ${e.message}`, { cause: e }));
      else fail(e);
    });
  };

  const startup = (async () => {
    // --- the pipelines, and the Event watch scope they need
    const defaults = options.pipelines ? null : defaultPipelinePaths();
    const load = options.loadPipelines ?? (defaults ? () => loadPipelines(defaults) : undefined);
    let pipelines: readonly LoadedPipeline[];
    if (options.pipelines) pipelines = options.pipelines;
    else {
      const result = await loadPipelines(defaults ?? []);
      if (!result.ok) throw new Error(`the bundled default pipeline is invalid: ${result.diagnostics.map((d) => `${d.file}:${d.line}:${d.column}: ${d.message}`).join('; ')}`);
      pipelines = result.pipelines;
    }
    if (stopping) return;
    const scope = watchScope(pipelines);
    const namespaces = combineNamespaces(options.kube.namespaces, scope.namespaces, logger);
    const kindTopics: SinkTopics = { ...DEFAULT_TOPICS, ...(options.output.type === 'kafka' ? options.output.sink.topics : options.output.topics) };
    const routes = pipelineRoutes(pipelines, options.output.type === 'kafka', kindTopics);
    // a reload that names a topic for the first time: refused unless that topic is usable
    const reloadLoad = load ? () => load().then((result) => prepareReload(result, kindTopics)) : undefined;

    // --- the cluster
    const kubeSource = createKubeSource({
      ...(options.kube.kubeConfig ? { kubeConfig: options.kube.kubeConfig } : {}),
      kubeconfig: options.kube.kubeconfig ?? null,
      context: options.kube.context ?? null,
      inCluster: options.kube.inCluster ?? false,
      cluster,
      // the caches' scope; the job runs its own Event watches (one per scope, below)
      namespaces: namespaces.length > 0 ? namespaces : null,
      cacheKinds: options.kube.cacheKinds,
      timings: options.kube.timings,
      logger: options.logger ?? silentLogger,
    });
    const scopes: (string | null)[] = namespaces.length === 0 ? [null] : namespaces;

    // --- checkpoints
    const inner: CheckpointStore =
      options.checkpoint.type === 'kafka'
        ? new KafkaCheckpointStore({
            kafka: createKafka(options.checkpoint.kafka, (options.logger ?? silentLogger).child({ component: 'kafkajs' })),
            topic: options.checkpoint.topic ?? DEFAULT_CHECKPOINT_TOPIC,
            logger,
          })
        : options.checkpoint.type === 'file'
          ? new FileCheckpointStore(options.checkpoint.path)
          : options.checkpoint.store;
    store = new ResumePointStore(inner, logger);
    logger.info(
      options.checkpoint.type === 'kafka'
        ? { store: 'kafka', topic: options.checkpoint.topic ?? DEFAULT_CHECKPOINT_TOPIC }
        : options.checkpoint.type === 'file'
          ? { store: 'file', path: options.checkpoint.path }
          : { store: 'custom' },
      'checkpoint store',
    );
    const deps: FeedDeps = {
      kubeSource,
      cluster,
      eventApi: options.kube.eventApi ?? 'auto',
      logger: options.logger ?? silentLogger,
      registry: options.registry,
      fieldSelector: scope.fieldSelector,
      labelSelector: scope.labelSelector,
      onItem: (feed, item, position) => handleItem(feed, item, position),
      onError: fail,
    };
    for (const namespace of scopes) {
      const key: CheckpointKey = { cluster, pipeline, resource: scopeResource(namespace) };
      const checkpointer = new Checkpointer({ store, key, intervalMs: options.checkpointIntervalMs ?? 1000, logger, ...(options.registry ? { registry: options.registry } : {}) });
      const saved = await store.load(key);
      await checkpointer.load();
      const resumeFrom: ResumePoint | null = saved ? { resourceVersion: saved.resourceVersion, time: saved.updatedAt } : null;
      feeds.push(new EventFeed(namespace, checkpointer, resumeFrom, deps));
      if (stopping) return;
    }

    // --- the sink
    if (options.output.type === 'kafka') {
      const connected = await connectKafkaJobSink(options.output, cluster, pipeline, options.logger ?? silentLogger, options.registry, routes);
      if (stopping) {
        // stopped meanwhile: nothing was written yet, just disconnect
        await connected.close(1_000);
        return;
      }
      sink = connected;
    } else {
      const fileSink = new FileSegmentSink(options.output.outDir, {
        rollIntervalMs: options.output.rollIntervalMs ?? DEFAULT_FILE_ROLL_INTERVAL_MS,
        topics: options.output.topics,
        cluster,
        pipeline,
        logger,
        onError: fail,
      });
      sink = fileSink;
      files = fileSink;
      logger.info({ dir: options.output.outDir }, 'no Kafka brokers: writing Avro container files');
    }
    if (stopping) return;

    // --- the processing: called in exactly one place
    running.add(wireProcessing(kubeSource.objects, pipelines, reloadLoad, kindTopics));

    // --- backpressure: pause the watches while the sink is full
    const target = sink;
    running.add(
      target.writable$.subscribe((writable) => {
        if (!writable && !stopping && !paused) pauseInput(target);
      }),
    );

    // --- object caches for enrichment, then the Event watches
    running.add(kubeSource.connectCaches());
    const synced = await withTimeout(
      kubeSource.objects.whenSynced(undefined, abortStartup.signal).catch(() => 'aborted' as const),
      options.cacheSyncTimeoutMs ?? 60_000,
    );
    if (synced === 'timeout') logger.warn('object caches not synced in time: starting anyway (early events may lack enrichment)');
    if (stopping) return;
    for (const feed of feeds) {
      feed.start();
      feed.checkpointer.start();
    }
    started = { cachesSynced: synced !== 'timeout' };
    logger.info({ scopes: feeds.map((f) => f.resource), cluster, pipeline, pipelines: pipelines.map((p) => p.name) }, 'kube job running');
  })();
  startup.catch((error: unknown) => fail(asError(error)));

  /**
   * The pipelines on the events handed to `input`, every output written where its sink says. An
   * output emitted while an item is handled carries that item's position (`current`): Kafka and
   * file records retain it until they are acknowledged / fsync'd; stdout and console lines are
   * written at once. Outputs emitted later (timers, a reload flushing a retired pipeline) carry none.
   */
  function wireProcessing(lookup: ObjectLookup, pipelines: readonly LoadedPipeline[], load: (() => Promise<LoadResult>) | undefined, kindTopics: SinkTopics): Subscription {
    const base = options.logger ?? silentLogger;
    const pipes = runPipelines(
      {
        mode: 'live',
        events$: input.asObservable(),
        lookup,
        pipelines,
        ...(load ? { load } : {}),
        logger: base,
        ...(options.registry ? { registry: options.registry } : {}),
      },
      options.output.type === 'kafka',
    );
    runtime = pipes.runtime;
    // one record may go to several sinks: the callbacks see it once
    const notified = new WeakSet<object>();
    const notify = (o: RoutedOutput): void => {
      const record = o.record as object;
      if (typeof record !== 'object' || record === null || notified.has(record)) return;
      notified.add(record);
      if (o.kind === 'KubeEvent') options.onEvent?.(o.record as KubeEvent);
      else if (o.kind === 'Alert') options.onAlert?.(o.record as Alert);
      else if (o.kind === 'Incident') options.onIncident?.(o.record as Incident);
    };
    const stdout = options.onStdout ?? ((line: string) => void process.stdout.write(`${line}\n`));
    const stdoutIsTerminal = Boolean(process.stdout.isTTY);
    const consoleLine = options.onConsole ?? ((line: string, o: PipelineOutput) => base.info({ pipeline: o.pipeline, kind: o.kind }, line));
    const route = (o: RoutedOutput): void => {
      const r = o.route;
      const positions = current ? [current] : undefined;
      if (r.type === 'kafka' || r.type === 'file') {
        const named = r.type === 'kafka' ? r.topic : r.name;
        const record: OutRecord = { ...toOutRecord(o), topic: topicFor(o.kind as RecordKind, named, kindTopics), positions };
        if (r.type === 'file' && options.output.type === 'kafka') write(record, fileSinkForKafkaMode());
        else write(record);
      } else if (r.type === 'stdout') {
        const human = r.format === 'line' || (r.format === 'auto' && stdoutIsTerminal);
        stdout(human ? formatOutputLine(o) : JSON.stringify(o.record));
      } else {
        consoleLine(formatOutputLine(o), o);
      }
      notify(o);
    };
    return pipes.outputs$.subscribe({
      next: (o) => {
        try {
          route(o);
        } catch (error) {
          fail(new Error(`pipeline ${o.pipeline}: writing a ${o.kind} record to ${o.routeId} failed: ${asError(error).message}`, { cause: error }));
        }
      },
      error: (error: unknown) => fail(new Error(`processing failed: ${asError(error).message}`, { cause: error })),
    });
  }

  /** A valid reload whose new Kafka topics cannot be used (missing, registry refuses) is turned into a refused one. */
  async function prepareReload(result: LoadResult, kindTopics: SinkTopics): Promise<LoadResult> {
    const prepare = sink?.prepareRoutes;
    if (!result.ok || !prepare) return result;
    const wanted = pipelineRoutes(result.pipelines, true, kindTopics);
    try {
      await prepare(wanted);
      return result;
    } catch (error) {
      // point at the (first) pipeline naming a topic the error is about
      const message = asError(error).message;
      const names = (p: LoadedPipeline) => pipelineRoutes([p], true, kindTopics).some((r) => message.includes(r.topic));
      const at = result.pipelines.find(names) ?? result.pipelines[0];
      return {
        ...result,
        ok: false,
        diagnostics: [
          ...result.diagnostics,
          { file: at?.file ?? '?', line: at?.line ?? 1, column: 1, severity: 'error', message: `pipeline ${at?.name ?? '?'}: ${asError(error).message}`, hint: 'create the topic, or run with --create-topics' },
        ],
      };
    }
  }

  function fileSinkForKafkaMode(): FileSegmentSink {
    if (sideFiles) return sideFiles;
    const output = options.output as Extract<KubeJobOutput, { type: 'kafka' }>;
    const dir = output.outDir ?? 'out';
    sideFiles = new FileSegmentSink(dir, {
      rollIntervalMs: output.rollIntervalMs ?? DEFAULT_FILE_ROLL_INTERVAL_MS,
      cluster,
      pipeline,
      logger,
      onError: fail,
    });
    logger.info({ dir }, 'pipeline file sinks: writing Avro container files');
    return sideFiles;
  }

  function handleItem(feed: EventFeed, item: EventSourceItem, position: SourcePosition): void {
    switch (item.type) {
      case 'EVENT':
        current = position;
        try {
          input.next(item.event);
        } finally {
          current = null;
        }
        return;
      case 'DEAD_LETTER':
        logger.warn({ reason: item.deadLetter.reason, resourceVersion: item.deadLetter.resourceVersion }, 'malformed Event: published as a dead letter');
        write(deadLetterFromSource(item.deadLetter, cluster, pipeline, feed.resource, [position]));
        return;
      case 'GAP':
        logger.warn(
          { resource: item.resource, from: item.fromResourceVersion, to: item.toResourceVersion, cause: item.cause, reason: item.reason },
          'Events may have been missed (the API history did not reach back far enough): publishing a Gap record',
        );
        write(gapRecord(gapRecordOf(item, cluster), [position]));
        return;
      case 'SYNCED':
        logger.debug({ resourceVersion: item.resourceVersion }, 'Event list synced');
        return;
    }
  }

  function pauseInput(target: JobSink): void {
    paused = true;
    for (const feed of feeds) feed.pause();
    logger.warn('sink buffer full: Event watch paused; it resumes from where it stopped once the sink has drained');
    pausePoll = setInterval(() => {
      if (stopping || !target.drained()) return;
      clearInterval(pausePoll);
      pausePoll = undefined;
      paused = false;
      logger.info({ resumeFrom: Object.fromEntries(feeds.map((f) => [f.resource, f.resumePoint?.resourceVersion ?? null])) }, 'sink drained: resuming the Event watch');
      for (const feed of feeds) feed.start();
    }, 200);
    pausePoll.unref();
  }

  return {
    done,
    stop: (stopOptions) => runShutdown('stop', undefined, stopOptions?.saveCheckpoints ?? true),
    reload: () => (runtime ? runtime.reload() : Promise.reject(new Error('the job is not running yet: nothing to reload'))),
    readiness: () => {
      if (stopping) return { ok: false, detail: 'stopping' };
      if (!started) return { ok: false, detail: 'starting (connecting the sink, syncing the object caches)' };
      return { ok: true, detail: `running (${options.output.type === 'kafka' ? 'Kafka sink connected' : 'writing files'}; object caches ${started.cachesSynced ? 'synced' : 'not synced in time'})` };
    },
  };
}
