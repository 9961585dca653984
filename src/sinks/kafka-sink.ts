/**
 * The Kafka sink: Avro records (one schema per topic) keyed by object, batched, acks=all, retried
 * until delivered, with a bounded buffer that pushes back on the pipeline.
 *
 * Delivery: at-least-once. A record is acknowledged (and its source positions acked, so checkpoints
 * may pass it) only after the broker acknowledged it with acks=all. A failed batch is retried with
 * backoff for as long as the sink is open (the buffer fills, writes wait: backpressure); a batch may
 * then be written twice, so every record carries an idempotency key (header and field) to upsert on.
 * Records of one key are never in flight in two batches at once, so per-key order holds even with
 * several batches in flight and retries.
 *
 * Memory: at most `maxBufferedRecords` / `maxBufferedBytes` accepted and unacknowledged records,
 * plus at most `maxWaitingWrites` writes waiting for room; a write beyond that is rejected
 * (SinkOverflowError) - loud, never a silent drop, and the checkpoint never passes it.
 */
import { BehaviorSubject, distinctUntilChanged, type Observable } from 'rxjs';
import { Counter, Gauge, Histogram, register as defaultRegistry, type Registry } from 'prom-client';
import { ACKS_ALL, compressionType, type Compression, type Message, type ProducerBatch, type RecordMetadata } from '../kafka/client.js';
import { HEADERS, EncodeError, type RecordEncoder } from '../avro/encodings.js';
import { loadSchema, type LoadedSchema, type RecordKind } from '../avro/schemas.js';
import { deadLetterOf, type DeadLetterRecord } from '../model/records.js';
import { silentLogger, type Logger } from '../core/logger.js';
import type { OutRecord } from '../model/out-record.js';
import { DEFAULT_TOPICS, topicFor, type SinkTopics, type TopicRoute } from './kafka-topics.js';
import { SinkClosedError, SinkOverflowError, type CloseResult, type Sink } from './sink.js';

/** The subset of a kafkajs Producer the sink uses (a fake in unit tests). */
export interface SinkProducer {
  sendBatch(batch: ProducerBatch): Promise<RecordMetadata[]>;
}

export interface KafkaSinkOptions {
  producer: SinkProducer;
  encoder: RecordEncoder;
  cluster: string;
  pipeline?: string;
  topics?: Partial<SinkTopics>;
  batch?: {
    /** records per produce request (default 500) */
    maxRecords?: number;
    /** encoded bytes per produce request (default 900 KiB, under the broker's default 1 MiB message.max.bytes) */
    maxBytes?: number;
    /** how long a partial batch may wait for more records, ms (default 20) */
    lingerMs?: number;
  };
  /** accepted, unacknowledged records (default 10 000) */
  maxBufferedRecords?: number;
  /** their encoded bytes (default 64 MiB) */
  maxBufferedBytes?: number;
  /** writes waiting for room before write() rejects (default 10 000) */
  maxWaitingWrites?: number;
  /** produce requests in flight (default 1) */
  maxInFlightBatches?: number;
  /** record batch compression (default lz4: see src/config/run-config.ts) */
  compression?: Compression;
  /** broker-side ack timeout per request, ms (default 30 000) */
  ackTimeoutMs?: number;
  /** backoff between retries of a failed batch (default 250 ms doubling to 30 s) */
  retryBackoff?: { initialMs?: number; maxMs?: number };
  /** An unencodable record becomes a DeadLetter record (default true); false: write() rejects. */
  deadLetterOnEncodeError?: boolean;
  registry?: Registry;
  /** metric label `sink` (default 'kafka') */
  name?: string;
  logger?: Logger;
}

interface Entry {
  record: OutRecord;
  topic: string;
  message: Message;
  bytes: number;
}

interface Slot {
  entry: Entry | undefined;
  settled: boolean;
}

interface Waiter {
  record: OutRecord;
  resolve: () => void;
  reject: (error: Error) => void;
}

interface SinkMetrics {
  bufferedRecords: Gauge<'sink'>;
  bufferedBytes: Gauge<'sink'>;
  waitingWrites: Gauge<'sink'>;
  sent: Counter<'sink' | 'topic'>;
  dropped: Counter<'sink' | 'reason'>;
  deadLettered: Counter<'sink' | 'reason'>;
  sendErrors: Counter<'sink'>;
  batchSeconds: Histogram<'sink'>;
}

function getOrCreate<T>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}

function sinkMetrics(registry: Registry): SinkMetrics {
  const registers = [registry];
  return {
    bufferedRecords: getOrCreate(
      registry,
      'kubevents_sink_buffered_records',
      () =>
        new Gauge({
          name: 'kubevents_sink_buffered_records',
          help: 'Records accepted by the sink and not yet acknowledged by Kafka.',
          labelNames: ['sink'],
          registers,
        }),
    ),
    bufferedBytes: getOrCreate(
      registry,
      'kubevents_sink_buffered_bytes',
      () => new Gauge({ name: 'kubevents_sink_buffered_bytes', help: 'Encoded bytes of the buffered records.', labelNames: ['sink'], registers }),
    ),
    waitingWrites: getOrCreate(
      registry,
      'kubevents_sink_waiting_writes',
      () =>
        new Gauge({ name: 'kubevents_sink_waiting_writes', help: 'Writes waiting for room in the buffer (backpressure).', labelNames: ['sink'], registers }),
    ),
    sent: getOrCreate(
      registry,
      'kubevents_sink_records_sent_total',
      () =>
        new Counter({ name: 'kubevents_sink_records_sent_total', help: 'Records acknowledged by Kafka (acks=all).', labelNames: ['sink', 'topic'], registers }),
    ),
    dropped: getOrCreate(
      registry,
      'kubevents_sink_records_dropped_total',
      () =>
        new Counter({
          name: 'kubevents_sink_records_dropped_total',
          help: 'Records not delivered: overflow (write rejected), closed (write after close), shutdown (deadline passed before the ack). Their source positions are never checkpointed, so a restart replays them.',
          labelNames: ['sink', 'reason'],
          registers,
        }),
    ),
    deadLettered: getOrCreate(
      registry,
      'kubevents_sink_records_dead_lettered_total',
      () =>
        new Counter({
          name: 'kubevents_sink_records_dead_lettered_total',
          help: 'Records replaced by a DeadLetter record (schema mismatch, too large for the broker).',
          labelNames: ['sink', 'reason'],
          registers,
        }),
    ),
    sendErrors: getOrCreate(
      registry,
      'kubevents_sink_send_errors_total',
      () => new Counter({ name: 'kubevents_sink_send_errors_total', help: 'Produce requests that failed and were retried.', labelNames: ['sink'], registers }),
    ),
    batchSeconds: getOrCreate(
      registry,
      'kubevents_sink_batch_duration_seconds',
      () =>
        new Histogram({
          name: 'kubevents_sink_batch_duration_seconds',
          help: 'Time from sending a batch to its acknowledgement.',
          labelNames: ['sink'],
          buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
          registers,
        }),
    ),
  };
}

/** kafkajs error types that mean "this batch can never be accepted as it is". */
const TOO_LARGE = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);

function errorTypes(error: unknown): string[] {
  const types: string[] = [];
  let e = error as { type?: unknown; cause?: unknown; originalError?: unknown } | undefined;
  for (let depth = 0; e && depth < 5; depth++) {
    if (typeof e.type === 'string') types.push(e.type);
    e = (e.cause ?? e.originalError) as typeof e;
  }
  return types;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

export class KafkaSink implements Sink {
  readonly name: string;
  readonly topics: SinkTopics;
  private readonly producer: SinkProducer;
  private readonly encoder: RecordEncoder;
  private readonly cluster: string;
  private readonly pipeline: string;
  private readonly maxRecords: number;
  private readonly maxBatchBytes: number;
  private readonly lingerMs: number;
  private readonly maxBufferedRecords: number;
  private readonly maxBufferedBytes: number;
  private readonly maxWaitingWrites: number;
  private readonly maxInFlight: number;
  private readonly compressionCode: number;
  /** the configured compression of record batches */
  readonly compression: Compression;
  private readonly ackTimeoutMs: number;
  private readonly backoffInitial: number;
  private readonly backoffMax: number;
  private readonly deadLetterOnEncodeError: boolean;
  private readonly metrics: SinkMetrics;
  private readonly label: { sink: string };
  private readonly logger: Logger;

  /** accepted and encoded, not yet sent */
  private queue: Entry[] = [];
  private queuedBytes = 0;
  /** accepted records in write order, until encoded (counted as buffered so room is honest) */
  private slots: Slot[] = [];
  private waiters: Waiter[] = [];
  private readonly inFlightKeys = new Map<string, number>();
  private inFlight = 0;
  private bufferedRecords = 0;
  private bufferedBytes = 0;
  private lingerTimer: NodeJS.Timeout | undefined;
  private oldestQueuedAt = 0;
  private flushing = 0;
  private closed = false;
  private abandoned = false;
  private idleWaiters: Array<() => void> = [];
  private readonly writable = new BehaviorSubject<boolean>(true);
  private roomWaiters: Array<() => void> = [];
  /** records acknowledged by Kafka, in total */
  delivered = 0;

  constructor(options: KafkaSinkOptions) {
    this.producer = options.producer;
    this.encoder = options.encoder;
    this.cluster = options.cluster;
    this.pipeline = options.pipeline ?? '';
    this.topics = { ...DEFAULT_TOPICS, ...options.topics };
    this.maxRecords = options.batch?.maxRecords ?? 500;
    this.maxBatchBytes = options.batch?.maxBytes ?? 900 * 1024;
    this.lingerMs = options.batch?.lingerMs ?? 20;
    this.maxBufferedRecords = options.maxBufferedRecords ?? 10_000;
    this.maxBufferedBytes = options.maxBufferedBytes ?? 64 * 1024 * 1024;
    this.maxWaitingWrites = options.maxWaitingWrites ?? 10_000;
    this.maxInFlight = Math.max(1, options.maxInFlightBatches ?? 1);
    this.compression = options.compression ?? 'lz4';
    this.compressionCode = compressionType(this.compression);
    this.ackTimeoutMs = options.ackTimeoutMs ?? 30_000;
    this.backoffInitial = options.retryBackoff?.initialMs ?? 250;
    this.backoffMax = options.retryBackoff?.maxMs ?? 30_000;
    this.deadLetterOnEncodeError = options.deadLetterOnEncodeError ?? true;
    this.metrics = sinkMetrics(options.registry ?? defaultRegistry);
    this.label = { sink: options.name ?? 'kafka' };
    this.name = this.label.sink;
    this.logger = options.logger ?? silentLogger;
    if (this.maxRecords < 1 || this.maxBufferedRecords < 1) throw new Error('kafka sink: batch and buffer sizes must be >= 1');
  }

  /**
   * Resolves registry ids for every kind up front (and for the per-record topics named in
   * `routes`), so a misconfigured registry fails at start. A per-record topic not prepared here is
   * registered lazily, on its first record.
   */
  async prepare(kinds: readonly RecordKind[] = ['KubeEvent', 'Gap', 'DeadLetter'], routes: readonly TopicRoute[] = []): Promise<void> {
    for (const kind of kinds) {
      const topic = this.topics[kind as keyof SinkTopics];
      if (topic) await this.encoder.prepare(loadSchema(kind), topic);
    }
    for (const route of routes) await this.encoder.prepare(loadSchema(route.kind), route.topic);
  }

  /** true while there is room; false while writes wait (sources may pause their input on false). */
  get writable$(): Observable<boolean> {
    return this.writable.pipe(distinctUntilChanged());
  }

  get hasRoom(): boolean {
    return this.waiters.length === 0 && this.roomFor();
  }

  get buffered(): { records: number; bytes: number; waiting: number; inFlightBatches: number } {
    return { records: this.bufferedRecords, bytes: this.bufferedBytes, waiting: this.waiters.length, inFlightBatches: this.inFlight };
  }

  /** true when a paused input may resume: nothing waits and the buffer is at most half full. */
  drained(): boolean {
    return this.waiters.length === 0 && this.bufferedRecords <= this.maxBufferedRecords / 2 && this.bufferedBytes <= this.maxBufferedBytes / 2;
  }

  private roomFor(): boolean {
    return this.bufferedRecords < this.maxBufferedRecords && this.bufferedBytes < this.maxBufferedBytes;
  }

  /** Resolves when there is room for a write (or the sink is closed: write() then rejects). */
  whenWritable(): Promise<void> {
    if (this.hasRoom || this.closed) return Promise.resolve();
    return new Promise<void>((resolve) => this.roomWaiters.push(resolve));
  }

  /**
   * Accepts a record into the buffer. Resolves once it is accepted (and encoded), i.e. when there
   * was room: awaiting each write is backpressure. Its source positions are retained right away
   * and acked only when Kafka acknowledged the record. Rejects when the sink is closed, when too
   * many writes are already waiting (SinkOverflowError), or (with deadLetterOnEncodeError=false)
   * when the record does not match its schema.
   */
  write(record: OutRecord): Promise<void> {
    // Retained first, on every path: a record that is refused keeps its positions retained and
    // never acked, so the checkpoint cannot pass it (a restart replays it).
    try {
      this.retain(record);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    if (this.closed) {
      this.metrics.dropped.inc({ ...this.label, reason: 'closed' });
      return Promise.reject(new SinkClosedError('kafka sink is closed'));
    }
    if (this.waiters.length === 0 && this.roomFor()) return this.accept(record);
    if (this.waiters.length >= this.maxWaitingWrites) {
      this.metrics.dropped.inc({ ...this.label, reason: 'overflow' });
      return Promise.reject(
        new SinkOverflowError(
          `kafka sink: ${this.waiters.length} writes already waiting for room (buffer ${this.bufferedRecords} records / ${this.bufferedBytes} bytes); the input does not honour backpressure`,
        ),
      );
    }
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ record, resolve, reject });
      this.metrics.waitingWrites.set(this.label, this.waiters.length);
      this.writable.next(false);
    });
  }

  private retain(record: OutRecord): void {
    for (const p of record.positions ?? []) p.tracker.retain(p);
  }

  private admitWaiters(): void {
    // writes waiting when close() was called are still admitted and flushed: they were accepted
    while (this.waiters.length > 0 && this.roomFor() && !this.abandoned) {
      const waiter = this.waiters.shift() as Waiter;
      this.accept(waiter.record).then(waiter.resolve, waiter.reject);
    }
    this.metrics.waitingWrites.set(this.label, this.waiters.length);
    const room = this.hasRoom;
    if (!this.closed) this.writable.next(room);
    if (room || this.closed) this.wakeRoomWaiters();
  }

  private wakeRoomWaiters(): void {
    const waiting = this.roomWaiters;
    this.roomWaiters = [];
    for (const resolve of waiting) resolve();
  }

  private async accept(record: OutRecord): Promise<void> {
    this.bufferedRecords += 1;
    this.metrics.bufferedRecords.set(this.label, this.bufferedRecords);
    if (!this.roomFor()) this.writable.next(false);
    // a slot in write order: encoding may finish out of order (a first-time registry lookup),
    // the queue is filled in write order anyway
    const slot: Slot = { entry: undefined, settled: false };
    this.slots.push(slot);
    try {
      slot.entry = await this.toEntry(record);
    } catch (error) {
      // not buffered after all; its positions stay retained (the checkpoint cannot pass it)
      slot.settled = true;
      this.drainSlots();
      this.release(1, 0);
      throw error;
    }
    slot.settled = true;
    this.bufferedBytes += slot.entry.bytes;
    this.metrics.bufferedBytes.set(this.label, this.bufferedBytes);
    if (!this.roomFor()) this.writable.next(false);
    this.drainSlots();
    this.pump();
  }

  private drainSlots(): void {
    while (this.slots.length > 0 && (this.slots[0] as Slot).settled) {
      const { entry } = this.slots.shift() as Slot;
      if (!entry) continue;
      if (this.queue.length === 0) this.oldestQueuedAt = Date.now();
      this.queue.push(entry);
      this.queuedBytes += entry.bytes;
    }
  }

  private async toEntry(record: OutRecord): Promise<Entry> {
    const kind = record.kind as keyof SinkTopics;
    const topic = record.target !== undefined ? topicFor(kind, record.target, this.topics) : this.topics[kind];
    if (!topic) throw new Error(`kafka sink: no topic for record kind ${record.kind}`);
    const schema = loadSchema(record.kind);
    try {
      return await this.encodeEntry(record, schema, topic);
    } catch (error) {
      if (!(error instanceof EncodeError) || !this.deadLetterOnEncodeError || record.kind === 'DeadLetter') throw error;
      this.metrics.deadLettered.inc({ ...this.label, reason: 'SchemaMismatch' });
      this.logger.warn({ err: error, kind: record.kind, key: record.key }, 'record does not match its schema: sent to the dead-letter topic');
      return this.encodeEntry(this.deadLetterFor(record, 'SchemaMismatch', error), loadSchema('DeadLetter'), this.topics.DeadLetter);
    }
  }

  private deadLetterFor(record: OutRecord, reason: string, error: unknown): OutRecord<DeadLetterRecord> {
    return {
      kind: 'DeadLetter',
      key: record.key,
      idempotencyKey: record.idempotencyKey,
      positions: record.positions,
      value: deadLetterOf({
        reason,
        source: `${record.kind} ${record.key}`,
        payload: record.value,
        error,
        stage: 'kafka-sink',
        pipeline: this.pipeline || null,
        cluster: this.cluster,
      }),
    };
  }

  private async encodeEntry(record: OutRecord, schema: LoadedSchema, topic: string): Promise<Entry> {
    const encoded = await this.encoder.encode(schema, topic, record.value);
    const headers: Record<string, string> = {
      ...record.headers,
      ...encoded.headers,
      [HEADERS.kind]: record.kind,
      [HEADERS.cluster]: this.cluster,
      [HEADERS.idempotencyKey]: record.idempotencyKey,
    };
    if (this.pipeline) headers[HEADERS.pipeline] = this.pipeline;
    let headerBytes = 0;
    for (const [k, v] of Object.entries(headers)) headerBytes += k.length + Buffer.byteLength(v);
    const message: Message = {
      key: record.key,
      value: encoded.value,
      headers,
      timestamp: String(Math.trunc(record.timestamp ?? Date.now())),
    };
    return { record, topic, message, bytes: encoded.value.length + Buffer.byteLength(record.key) + headerBytes + 64 };
  }

  private release(records: number, bytes: number): void {
    this.bufferedRecords -= records;
    this.bufferedBytes -= bytes;
    this.metrics.bufferedRecords.set(this.label, this.bufferedRecords);
    this.metrics.bufferedBytes.set(this.label, this.bufferedBytes);
    this.admitWaiters();
    this.checkIdle();
  }

  private checkIdle(): void {
    if (this.isIdle()) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  private isIdle(): boolean {
    return this.bufferedRecords === 0 && this.waiters.length === 0 && this.slots.length === 0;
  }

  /** Sends batches while allowed: full batches at once, partial ones after the linger time (or when flushing). */
  private pump(): void {
    if (this.abandoned) return;
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const full = this.queue.length >= this.maxRecords || this.queuedBytes >= this.maxBatchBytes;
      const lingered = Date.now() - this.oldestQueuedAt >= this.lingerMs;
      if (!full && !lingered && this.flushing === 0) {
        this.armLinger();
        return;
      }
      const batch = this.takeBatch();
      if (batch.length === 0) return; // every queued key is in flight: wait for an ack
      void this.send(batch);
    }
  }

  private armLinger(): void {
    if (this.lingerTimer) return;
    const wait = Math.max(0, this.lingerMs - (Date.now() - this.oldestQueuedAt));
    this.lingerTimer = setTimeout(() => {
      this.lingerTimer = undefined;
      this.pump();
    }, wait);
    this.lingerTimer.unref();
  }

  /**
   * Takes queued entries in order, up to the batch limits, skipping every entry whose key is in
   * flight or whose key has an earlier entry skipped (so one key's records are sent in order and
   * never in two batches at once).
   */
  private takeBatch(): Entry[] {
    const batch: Entry[] = [];
    const rest: Entry[] = [];
    const blocked = new Set<string>();
    let bytes = 0;
    let i = 0;
    for (; i < this.queue.length; i++) {
      const entry = this.queue[i] as Entry;
      if (batch.length >= this.maxRecords || (batch.length > 0 && bytes + entry.bytes > this.maxBatchBytes)) break;
      const key = entry.record.key;
      if (this.inFlightKeys.has(key) || blocked.has(key)) {
        blocked.add(key);
        rest.push(entry);
        continue;
      }
      batch.push(entry);
      bytes += entry.bytes;
    }
    this.queue = i < this.queue.length ? rest.concat(this.queue.slice(i)) : rest;
    this.queuedBytes -= bytes;
    if (this.queue.length > 0) this.oldestQueuedAt = Date.now();
    if (this.lingerTimer && this.queue.length === 0) {
      clearTimeout(this.lingerTimer);
      this.lingerTimer = undefined;
    }
    return batch;
  }

  private async send(batch: Entry[]): Promise<void> {
    this.inFlight += 1;
    for (const e of batch) this.inFlightKeys.set(e.record.key, (this.inFlightKeys.get(e.record.key) ?? 0) + 1);
    try {
      await this.deliver(batch);
    } finally {
      for (const e of batch) {
        const n = (this.inFlightKeys.get(e.record.key) ?? 1) - 1;
        if (n === 0) this.inFlightKeys.delete(e.record.key);
        else this.inFlightKeys.set(e.record.key, n);
      }
      this.inFlight -= 1;
      this.pump();
    }
  }

  /** Sends one batch until Kafka acknowledges it (or the sink gives up at its close deadline). */
  private async deliver(batch: Entry[]): Promise<void> {
    let backoff = this.backoffInitial;
    for (let attempt = 1; ; attempt++) {
      if (this.abandoned) return;
      const stop = this.metrics.batchSeconds.startTimer(this.label);
      try {
        await this.producer.sendBatch({
          topicMessages: topicMessagesOf(batch),
          acks: ACKS_ALL,
          timeout: this.ackTimeoutMs,
          compression: this.compressionCode,
        });
        stop();
        this.acknowledged(batch);
        return;
      } catch (error) {
        if (this.abandoned) return;
        this.metrics.sendErrors.inc(this.label);
        if (errorTypes(error).some((t) => TOO_LARGE.has(t))) {
          await this.splitTooLarge(batch, error);
          return;
        }
        this.logger.warn(
          { err: error, attempt, records: batch.length, retryInMs: backoff },
          'kafka sink: produce failed; retrying (buffer fills, input waits)',
        );
        await sleep(backoff);
        backoff = Math.min(this.backoffMax, backoff * 2);
      }
    }
  }

  /** A batch the broker refuses as too large: halves are retried; a single record is dead-lettered. */
  private async splitTooLarge(batch: Entry[], error: unknown): Promise<void> {
    if (batch.length > 1) {
      const half = Math.ceil(batch.length / 2);
      await this.deliver(batch.slice(0, half));
      await this.deliver(batch.slice(half));
      return;
    }
    const entry = batch[0] as Entry;
    if (entry.record.kind === 'DeadLetter' && entry.record.value && (entry.record.value as DeadLetterRecord).truncated) {
      throw new Error('kafka sink: even the truncated dead letter is too large for the broker', { cause: error });
    }
    this.metrics.deadLettered.inc({ ...this.label, reason: 'TooLarge' });
    this.logger.warn({ err: error, kind: entry.record.kind, key: entry.record.key }, 'record too large for the broker: sent to the dead-letter topic');
    const dead = this.deadLetterFor(entry.record, 'TooLarge', error);
    (dead.value as DeadLetterRecord).payload = (dead.value as DeadLetterRecord).payload.slice(0, 16 * 1024);
    (dead.value as DeadLetterRecord).truncated = true;
    const replacement = await this.encodeEntry(dead, loadSchema('DeadLetter'), this.topics.DeadLetter);
    // the replacement stands in for the original (same positions, same buffer slot)
    replacement.bytes = entry.bytes;
    await this.deliver([replacement]);
  }

  private acknowledged(batch: Entry[]): void {
    let bytes = 0;
    const perTopic = new Map<string, number>();
    for (const e of batch) {
      bytes += e.bytes;
      perTopic.set(e.topic, (perTopic.get(e.topic) ?? 0) + 1);
      for (const p of e.record.positions ?? []) p.tracker.ack(p);
    }
    for (const [topic, n] of perTopic) this.metrics.sent.inc({ ...this.label, topic }, n);
    this.delivered += batch.length;
    this.release(batch.length, bytes);
  }

  /** Sends everything accepted so far without waiting for the linger time; resolves when all of it is acknowledged. */
  async flush(): Promise<void> {
    if (this.isIdle()) return;
    this.flushing += 1;
    try {
      this.pump();
      await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    } finally {
      this.flushing -= 1;
    }
  }

  /**
   * Stops accepting writes, then flushes within `deadlineMs` (default 10 s). Records still
   * unacknowledged at the deadline are given up (dropped{reason=shutdown}); their source positions
   * were never acked, so the checkpoint stays before them and a restart replays them.
   */
  async close(deadlineMs = 10_000): Promise<CloseResult> {
    this.closed = true;
    this.writable.next(false);
    this.wakeRoomWaiters();
    let timer: NodeJS.Timeout | undefined;
    const flushed = await Promise.race([
      this.flush().then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), deadlineMs);
      }),
    ]);
    clearTimeout(timer);
    if (flushed) {
      this.writable.complete();
      return { flushed: true, abandoned: 0 };
    }
    this.abandoned = true;
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    const abandoned = this.bufferedRecords + this.waiters.length;
    this.metrics.dropped.inc({ ...this.label, reason: 'shutdown' }, abandoned);
    for (const w of this.waiters) w.reject(new SinkClosedError('kafka sink closed before this record had room'));
    this.waiters = [];
    this.queue = [];
    this.queuedBytes = 0;
    this.metrics.waitingWrites.set(this.label, 0);
    this.logger.warn({ abandoned, deadlineMs }, 'kafka sink: close deadline passed; unacknowledged records will be replayed from the checkpoint');
    this.writable.complete();
    return { flushed: false, abandoned };
  }
}

function topicMessagesOf(batch: Entry[]): ProducerBatch['topicMessages'] {
  const byTopic = new Map<string, Message[]>();
  for (const e of batch) {
    let messages = byTopic.get(e.topic);
    if (!messages) byTopic.set(e.topic, (messages = []));
    messages.push(e.message);
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}
