/**
 * Avro object container files as a sink: one file per target (topic or file name), deflate,
 * schema embedded, readable by any Avro implementation.
 *
 * - Whole files (`rollIntervalMs: null`, a replay): `<dir>/<name>.avro`, closed at the end.
 * - Segments (the live run): `<dir>/<name>.<segment start>.avro`; every `rollIntervalMs` the
 *   segment's files are closed and fsync'd, and only then its records' positions acked, so the
 *   checkpoint follows the files. A new segment starts with the next write, so each run (and each
 *   restart) writes new files and never truncates an older one; after a crash the unfinished
 *   segment may be truncated and its records are written again into a new one.
 *
 * A record that does not match its schema becomes a DeadLetter record in the dead-letter file. At
 * most `maxPending` writes wait for the disk: beyond it the sink is not writable (the input
 * pauses), beyond twice that a write is refused.
 */
import { closeSync, fsyncSync, openSync } from 'node:fs';
import { BehaviorSubject, distinctUntilChanged, type Observable } from 'rxjs';
import { loadSchema } from '../avro/schemas.js';
import { silentLogger, type Logger } from '../core/logger.js';
import type { OutRecord } from '../model/out-record.js';
import type { SourcePosition } from '../model/position.js';
import { deadLetterOf } from '../model/records.js';
import { AvroFileWriter, type AvroFileSummary } from './avro-file-writer.js';
import { DEFAULT_TOPICS, topicFor, type SinkTopics } from './kafka-topics.js';
import { SinkClosedError, SinkOverflowError, type CloseResult, type Sink } from './sink.js';

export const DEFAULT_FILE_ROLL_INTERVAL_MS = 30_000;
const DEFAULT_MAX_PENDING = 10_000;

export interface FileSinkOptions {
  /** null: whole files, closed by close(); a number: segments rolled this often. */
  rollIntervalMs: number | null;
  /** The configured topic of each record kind (a target named like a kind's default topic means it). */
  topics?: Partial<SinkTopics>;
  /** Stamped on dead letters. */
  cluster: string;
  pipeline?: string;
  /** Writes waiting for the disk before the sink pushes back (default 10 000). */
  maxPending?: number;
  logger?: Logger;
  /** A segment that could not be closed (its records are not checkpointed). */
  onError?: (error: Error) => void;
}

interface Segment {
  /** null for whole files */
  id: string | null;
  writer: AvroFileWriter;
  /** one entry per retained position (per record) */
  positions: SourcePosition[];
  /** the segment's writes, in order */
  chain: Promise<void>;
  records: number;
  /** a write failed: the segment's positions are never acked (a restart replays its records) */
  failed: boolean;
}

export class FileSink implements Sink {
  readonly name: string;
  /** Every file closed so far. */
  readonly files: AvroFileSummary[] = [];
  private segment: Segment | null = null;
  private rolling: Promise<void> = Promise.resolve();
  private pending = 0;
  private closed = false;
  private readonly writable = new BehaviorSubject<boolean>(true);
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly topics: SinkTopics;
  private readonly maxPending: number;
  private readonly logger: Logger;

  constructor(
    readonly dir: string,
    private readonly options: FileSinkOptions,
  ) {
    this.name = `files ${dir}`;
    this.topics = { ...DEFAULT_TOPICS, ...options.topics };
    this.maxPending = options.maxPending ?? DEFAULT_MAX_PENDING;
    this.logger = options.logger ?? silentLogger;
    if (options.rollIntervalMs !== null) {
      this.timer = setInterval(() => {
        this.roll().catch((error: unknown) => options.onError?.(error instanceof Error ? error : new Error(String(error))));
      }, options.rollIntervalMs);
      this.timer.unref();
    }
  }

  get writable$(): Observable<boolean> {
    return this.writable.pipe(distinctUntilChanged());
  }

  drained(): boolean {
    return this.pending <= this.maxPending / 2;
  }

  write(record: OutRecord): Promise<void> {
    // retained first on every path: a refused record keeps the checkpoint before it
    for (const p of record.positions ?? []) p.tracker.retain(p);
    if (this.closed) return Promise.reject(new SinkClosedError(`${this.name}: closed`));
    if (this.pending >= this.maxPending * 2) {
      return Promise.reject(new SinkOverflowError(`${this.name}: ${this.pending} writes pending; the disk does not keep up`));
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
    const id = this.options.rollIntervalMs === null ? null : new Date().toISOString().replace(/:/g, '-');
    return { id, writer: new AvroFileWriter(this.dir), positions: [], chain: Promise.resolve(), records: 0, failed: false };
  }

  private fileName(segment: Segment, name: string): string {
    return segment.id === null ? name : `${name}.${segment.id}`;
  }

  private async writeNow(segment: Segment, record: OutRecord): Promise<void> {
    if (record.kind === 'Projection')
      throw new Error(`${this.name}: selected fields cannot go to an Avro file${record.origin ? ` (pipeline ${record.origin.pipeline})` : ''}`);
    const schema = loadSchema(record.kind);
    const name =
      record.target !== undefined ? topicFor(record.kind, record.target, this.topics) : (this.topics[record.kind as keyof SinkTopics] ?? record.kind);
    if (schema.type.isValid(record.value)) {
      await segment.writer.write(this.fileName(segment, name), schema, record.value);
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
      pipeline: record.origin?.pipeline ?? this.options.pipeline ?? null,
      cluster: this.options.cluster,
    });
    this.logger.warn({ kind: record.kind, key: record.key, fields: paths }, 'record does not match its schema: written as a dead letter');
    await segment.writer.write(this.fileName(segment, this.topics.DeadLetter), loadSchema('DeadLetter'), dead);
  }

  /** Closes the current segment (if any), fsyncs its files, then acks its records' positions. */
  roll(): Promise<void> {
    const segment = this.segment;
    if (!segment) return this.rolling;
    this.segment = null;
    const run = this.rolling.then(async () => {
      await segment.chain;
      const files = await segment.writer.close();
      for (const f of files) fsyncFile(f.path);
      this.files.push(...files);
      if (segment.failed)
        throw new Error(
          `${this.name}: segment ${segment.id ?? 'files'} had failed writes: its records are not checkpointed and are written again after a restart`,
        );
      for (const p of segment.positions) p.tracker.ack(p);
      if (files.length > 0) this.logger.debug({ segment: segment.id, records: segment.records, files: files.map((f) => f.path) }, 'file segment closed');
    });
    this.rolling = run.catch(() => undefined);
    return run;
  }

  async close(deadlineMs: number): Promise<CloseResult> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
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
