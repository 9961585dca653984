import { open, readFile } from 'node:fs/promises';
import { asyncScheduler, defer, from, Observable, type SchedulerAction, type SchedulerLike, switchMap } from 'rxjs';
import {
  formatName,
  nothingToReplay,
  parseRecording,
  parseRecordingBytes,
  type MalformedRecord,
  type ParsedRecording,
  type RecordedChange,
  type RecordedWatchError,
  type RecordingFormat,
} from './recording-format.js';
import { orderForReplay, type OrderedRecord } from './replay-order.js';

export type { MalformedRecord, RecordedChange, RecordedWatchError, RecordingFormat, RecordSource } from './recording-format.js';
export { resourceOf } from './recording-format.js';
export { eventOccurrenceTime, orderForReplay, sortTimeOf } from './replay-order.js';

/** `'max'` (or 0): as fast as possible. A number > 0: the recorded pace times that factor. */
export type ReplaySpeed = number | 'max';

export interface ReplayProgress {
  emitted: number;
  total: number;
  /** Event time of the last emitted record (epoch ms), null when none had a time. */
  eventTimeMs: number | null;
}

export interface ReplayOptions {
  /** Default 'max'. 1 = recorded pace, 10 = ten times faster. */
  speed?: ReplaySpeed;
  /** Drives pacing and batching; default asyncScheduler. Tests pass a TestScheduler. */
  scheduler?: SchedulerLike;
  /**
   * A line (or list item) that cannot be replayed: called once per bad record (for the first
   * REPORTS_KEPT, 1000; the rest are only counted in `stats.malformed`), when the recording has
   * been read and before the first element is emitted; the record is skipped. Throwing from it
   * errors the stream.
   */
  onMalformed?: (record: MalformedRecord) => void;
  /**
   * A watch ERROR event in the recording (the recorded watch ended there, e.g. 410 Expired): called
   * once per such line, like onMalformed; it is not replayed.
   */
  onWatchError?: (error: RecordedWatchError) => void;
  /** A recording without any Event (only other objects) errors with RecordingContentError too. Default false. */
  requireEvents?: boolean;
  /** Called at most once per `progressIntervalMs` of scheduler time, and once on completion. */
  onProgress?: (progress: ReplayProgress) => void;
  /** Default 1000. */
  progressIntervalMs?: number;
  /** At speed 'max', elements emitted per scheduler tick before yielding to the event loop. Default 1000. */
  batchSize?: number;
}

export interface ReplayStats {
  file: string;
  format: RecordingFormat | null;
  /** Physical lines in the file. */
  lines: number;
  /** Records to replay (valid ones). */
  total: number;
  emitted: number;
  malformed: number;
  /** Watch BOOKMARK lines, skipped. */
  bookmarks: number;
  /** Watch ERROR lines, reported and skipped. */
  watchErrors: number;
  /** Records whose apiVersion/kind were inferred from their fields, per `apiVersion kind`. */
  inferred: Record<string, number>;
  /** Records that were bare objects or List items (their change type taken from the order of their uids). */
  objects: number;
  /** Valid records per resource, e.g. { events: 812, pods: 240, nodes: 9 }. */
  byResource: Record<string, number>;
}

export interface Replay {
  /**
   * Cold: each subscription reads the recording, reports malformed records, then emits the valid
   * ones in event-time order and completes. Unsubscribing cancels pending timers.
   */
  readonly changes$: Observable<RecordedChange>;
  /** Counters of the latest subscription, updated in place while it runs (reset when one starts). */
  readonly stats: Readonly<ReplayStats>;
}

/** The recording could not be read at all (missing, permission, a directory...). */
export class RecordingReadError extends Error {
  readonly path: string;
  /** The OS error code, e.g. 'ENOENT', 'EACCES', 'EISDIR', when there is one. */
  readonly code: string | null;

  constructor(path: string, cause: unknown) {
    const code = typeof (cause as { code?: unknown })?.code === 'string' ? (cause as { code: string }).code : null;
    // Node's message is "ENOENT: no such file or directory, open '/x'": drop the repeated path
    const raw = cause instanceof Error ? cause.message : String(cause);
    const reason = raw.replace(/, \w+ '.*'$/, '');
    super(`cannot read recording ${path}: ${reason}`, { cause });
    this.name = 'RecordingReadError';
    this.path = path;
    this.code = code;
  }
}

/**
 * The recording holds nothing to replay: empty, binary, not a recording at all (nothing in it
 * parses), or only BOOKMARK/ERROR lines. One sentence says which, with the first bad line.
 */
export class RecordingContentError extends Error {
  readonly path: string;

  constructor(path: string, reason: string) {
    super(`cannot replay ${path}: ${reason}`);
    this.name = 'RecordingContentError';
    this.path = path;
  }
}

/** The longest delay setTimeout honours (a longer one fires after 1 ms). */
const MAX_TIMER_MS = 2_147_483_647;

function validateSpeed(speed: ReplaySpeed): number {
  if (speed === 'max' || speed === 0) return 0;
  if (typeof speed !== 'number' || !Number.isFinite(speed) || speed < 0) {
    throw new RangeError(`replay speed must be 'max', 0 or a positive number, got ${String(speed)}`);
  }
  return speed;
}

function emptyStats(file: string): ReplayStats {
  return { file, format: null, lines: 0, total: 0, emitted: 0, malformed: 0, bookmarks: 0, watchErrors: 0, inferred: {}, objects: 0, byResource: {} };
}

interface Settings {
  speed: number;
  scheduler: SchedulerLike;
  onMalformed: ((record: MalformedRecord) => void) | undefined;
  onWatchError: ((error: RecordedWatchError) => void) | undefined;
  requireEvents: boolean;
  onProgress: ((progress: ReplayProgress) => void) | undefined;
  progressIntervalMs: number;
  batchSize: number;
}

function settingsOf(options: ReplayOptions): Settings {
  const batchSize = options.batchSize ?? 1000;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  return {
    speed: validateSpeed(options.speed ?? 'max'),
    scheduler: options.scheduler ?? asyncScheduler,
    onMalformed: options.onMalformed,
    onWatchError: options.onWatchError,
    requireEvents: options.requireEvents ?? false,
    onProgress: options.onProgress,
    progressIntervalMs: options.progressIntervalMs ?? 1000,
    batchSize,
  };
}

/**
 * Reports what the parse found (or errors with RecordingContentError when there is nothing to
 * replay), then emits the records in event-time order on the scheduler, at `speed`. Nothing is
 * emitted synchronously inside subscribe.
 */
function replayParsed(parse: () => ParsedRecording, file: string, settings: Settings, stats: ReplayStats): Observable<RecordedChange> {
  return new Observable<RecordedChange>((subscriber) => {
    const parsed = parse();
    stats.format = parsed.format;
    stats.lines = parsed.lines;
    stats.total = parsed.records.length;
    stats.bookmarks = parsed.bookmarks;
    stats.watchErrors = parsed.watchErrorCount;
    stats.inferred = { ...parsed.inferred };
    stats.objects = parsed.objects;
    for (const record of parsed.records) stats.byResource[record.resource] = (stats.byResource[record.resource] ?? 0) + 1;
    const nothing = nothingToReplay(parsed, { requireEvents: settings.requireEvents });
    if (nothing !== null) {
      stats.malformed = parsed.malformedCount;
      subscriber.error(new RecordingContentError(file, nothing));
      return undefined;
    }
    try {
      // in line order, both kinds together
      const errors = parsed.watchErrors;
      let w = 0;
      for (const bad of parsed.malformed) {
        for (; w < errors.length && (errors[w] as RecordedWatchError).line < bad.line; w++) settings.onWatchError?.(errors[w] as RecordedWatchError);
        stats.malformed++;
        settings.onMalformed?.(bad);
      }
      for (; w < errors.length; w++) settings.onWatchError?.(errors[w] as RecordedWatchError);
      // beyond the first REPORTS_KEPT, malformed entries are counted, not reported one by one
      stats.malformed = parsed.malformedCount;
    } catch (error) {
      subscriber.error(error);
      return undefined;
    }

    const ordered = orderForReplay(parsed.records);
    const total = ordered.length;
    const { scheduler, speed } = settings;
    const start = scheduler.now();
    const base = ordered.find((o) => Number.isFinite(o.at))?.at ?? 0;
    /** Offset from the start (scheduler ms) at which element i is due. */
    const dueOf = (o: OrderedRecord<RecordedChange>): number => (Number.isFinite(o.at) ? Math.max(0, Math.round((o.at - base) / speed)) : 0);
    let next = 0;
    let lastEventTime: number | null = null;
    let lastProgressAt = start;

    const report = (force: boolean): boolean => {
      if (!settings.onProgress) return true;
      const now = scheduler.now();
      if (!force && now - lastProgressAt < settings.progressIntervalMs) return true;
      lastProgressAt = now;
      try {
        settings.onProgress({ emitted: next, total, eventTimeMs: lastEventTime });
        return true;
      } catch (error) {
        subscriber.error(error);
        return false;
      }
    };
    const emit = (o: OrderedRecord<RecordedChange>): void => {
      next++;
      stats.emitted = next;
      if (Number.isFinite(o.at)) lastEventTime = o.at;
      subscriber.next(o.record);
    };
    const finish = (): void => {
      if (report(true)) subscriber.complete();
    };

    function tick(this: SchedulerAction<undefined>): void {
      if (speed === 0) {
        const end = Math.min(total, next + settings.batchSize);
        while (next < end && !subscriber.closed) emit(ordered[next] as OrderedRecord<RecordedChange>);
        if (subscriber.closed) return;
        if (next >= total) return finish();
        if (report(false)) this.schedule(undefined, 0);
        return;
      }
      const elapsed = scheduler.now() - start;
      while (next < total && dueOf(ordered[next] as OrderedRecord<RecordedChange>) <= elapsed && !subscriber.closed) {
        emit(ordered[next] as OrderedRecord<RecordedChange>);
      }
      if (subscriber.closed) return;
      if (next >= total) return finish();
      // setTimeout fires after 1 ms when asked for more than 2^31-1 ms (~24.8 days): wait in steps
      const wait = Math.min(dueOf(ordered[next] as OrderedRecord<RecordedChange>) - elapsed, MAX_TIMER_MS);
      if (report(false)) this.schedule(undefined, wait);
    }

    // the action is rescheduled in place, so this one subscription cancels every pending timer
    return scheduler.schedule(tick, 0);
  });
}

/**
 * Replays a recording held in memory (`file` names it in sources and malformed reports).
 * See replayFile.
 */
export function replayText(text: string, file: string, options: ReplayOptions = {}): Replay {
  const settings = settingsOf(options);
  const stats = emptyStats(file);
  const changes$ = defer(() => {
    Object.assign(stats, emptyStats(file));
    return replayParsed(() => parseRecording(text, file), file, settings, stats);
  });
  return { changes$, stats };
}

/** Binary data shows in the first bytes: a recording with a NUL byte there is refused before the rest is read. */
const SNIFF_BYTES = 64 * 1024;

async function readRecording(path: string): Promise<Uint8Array> {
  let head: Uint8Array;
  try {
    const handle = await open(path, 'r');
    try {
      const buffer = new Uint8Array(SNIFF_BYTES);
      const { bytesRead } = await handle.read(buffer, 0, SNIFF_BYTES, 0);
      head = buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw new RecordingReadError(path, error);
  }
  const utf16 = head.length >= 2 && ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff));
  const nul = utf16 ? -1 : head.indexOf(0);
  if (nul >= 0) throw new RecordingContentError(path, `it is not a recording: it holds binary data (a NUL byte at offset ${nul}), not text`);
  try {
    return await readFile(path);
  } catch (error) {
    throw new RecordingReadError(path, error);
  }
}

/** How a replay's recording reads in the run summary: format, records, inferred types, skips. */
export function describeRecording(stats: Readonly<ReplayStats>): string {
  const parts: string[] = [];
  const resources = Object.entries(stats.byResource)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([r, n]) => `${r} ${n}`)
    .join(', ');
  parts.push(`${stats.total} record${stats.total === 1 ? '' : 's'}${resources ? ` (${resources})` : ''}`);
  if (stats.objects > 0) {
    parts.push(`${stats.objects} of them objects without a change type (the first of each uid replayed as ADDED, later ones as MODIFIED)`);
  }
  const inferred = Object.entries(stats.inferred);
  if (inferred.length > 0) {
    const total = inferred.reduce((sum, [, n]) => sum + n, 0);
    parts.push(`apiVersion/kind inferred from the fields of ${total} (${inferred.map(([k, n]) => `${k} ${n}`).join(', ')})`);
  }
  if (stats.bookmarks > 0) parts.push(`${stats.bookmarks} BOOKMARK${stats.bookmarks === 1 ? '' : 's'} skipped`);
  if (stats.watchErrors > 0) parts.push(`${stats.watchErrors} watch ERROR${stats.watchErrors === 1 ? '' : 's'} (the recorded watch ended there)`);
  if (stats.malformed > 0) parts.push(`${stats.malformed} malformed entr${stats.malformed === 1 ? 'y' : 'ies'} skipped`);
  return `recording ${stats.file} (${stats.format ? formatName(stats.format) : 'not read'}): ${parts.join('; ')}`;
}

/**
 * Replays a recorded stream from a file: JSON Lines of watch events (optionally with `observedAt`),
 * what `kubectl get [-w] -o json|yaml` prints, or a raw watch stream, detected from the content
 * (see recording-format.ts).
 *
 * Records are emitted in event-time order (sortTimeOf: observedAt, else an Event's occurrence
 * time, else file order; stable), as fast as possible (`speed: 'max'`, the default) or at the
 * recorded pace scaled by `speed`, timed by `scheduler`.
 *
 * Malformed lines never stop the stream: they are reported through `onMalformed` (and counted in
 * `stats.malformed`) and skipped. A file that cannot be read errors the stream with a
 * RecordingReadError naming the path and the OS reason; a file with nothing to replay (empty,
 * binary, nothing in it parses, only BOOKMARK/ERROR lines) with a RecordingContentError, before
 * any malformed entry is reported.
 *
 * Memory: the whole file is read and parsed before the first element is emitted, because it
 * must be sorted by event time anyway. That is fine for recordings up to ~100 MB (a few hundred
 * thousand events; expect roughly 5-10x the file size in heap); split larger recordings by time.
 */
export function replayFile(path: string, options: ReplayOptions = {}): Replay {
  const settings = settingsOf(options);
  const stats = emptyStats(path);
  const changes$ = defer(() => {
    Object.assign(stats, emptyStats(path));
    return from(readRecording(path));
  }).pipe(switchMap((bytes) => replayParsed(() => parseRecordingBytes(bytes, path), path, settings, stats)));
  return { changes$, stats };
}
