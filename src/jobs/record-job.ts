/**
 * The record job behind `kubevents record`: a live cluster's Events and the objects enrichment
 * uses (src/sources/recorder.ts, on one WatchRegistry) written as a replayable recording, JSON
 * Lines of watch events with `observedAt` (recordingLine in src/sources/recording-format.ts), to
 * a file or stdout, until a duration, an Event count, a signal (`stop()`) or the reader of stdout
 * going away ends it.
 *
 * Memory: what the output has not taken yet is buffered up to `maxBufferedBytes` (default 64 MiB);
 * beyond that the recording fails rather than grow (the watches cannot be paused without losing
 * their place in the initial lists). The WatchRegistry keeps one pruned copy of each live object
 * (as the live run's caches do).
 */
import type { Writable } from 'node:stream';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Subscription } from 'rxjs';
import type { Logger } from '../core/logger.js';
import type { CachedKind } from '../sources/object-lookup.js';
import { recordCluster, type RecordedItem } from '../sources/recorder.js';
import { recordingLine } from '../sources/recording-format.js';
import { WatchRegistry } from '../sources/watch-registry.js';
import type { WatchTimingsInput } from '../sources/watch-resource.js';
import type { SourceApi } from '../model/kube-event.js';

export interface RecordJobOptions {
  kubeConfig: KubeConfig;
  /** Where the recording goes; ended when the job ends (unless it is process.stdout). */
  out: Writable;
  /** Name of the output for messages ('-' for stdout). */
  outName: string;
  namespaces: readonly string[] | null;
  /** Kinds recorded besides Events ([] for Events only). */
  kinds?: readonly CachedKind[];
  /** Stop after this long, ms (null: no limit). */
  durationMs: number | null;
  /** Stop after this many Event changes (null: no limit). */
  maxEvents: number | null;
  eventApi?: 'auto' | SourceApi;
  logger: Logger;
  /** Called every `progressEveryMs` while recording. */
  onProgress?: (progress: RecordProgress) => void;
  progressEveryMs?: number;
  maxBufferedBytes?: number;
  syncTimeoutMs?: number;
  timings?: WatchTimingsInput;
  now?: () => number;
}

export type RecordStopReason = 'duration' | 'max-events' | 'stopped' | 'reader-gone';

export interface RecordProgress {
  events: number;
  /** Object changes per kind. */
  objects: Record<string, number>;
  elapsedMs: number;
  /** Left of --duration, ms, or null. */
  remainingMs: number | null;
  gaps: number;
}

export interface RecordSummary extends RecordProgress {
  stoppedBy: RecordStopReason;
  /** Kinds left out because their watch failed for good. */
  failedKinds: string[];
  bytes: number;
}

export interface RecordJob {
  /** Resolves once the output is flushed and closed; rejects when the Event watch or a write fails. */
  done: Promise<RecordSummary>;
  /** Ends the recording (signal): what was received is written and the output closed. */
  stop(): void;
}

/** The output failed: a write error, or it stopped taking data. */
export class RecordOutputError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RecordOutputError';
  }
}

export function runRecordJob(options: RecordJobOptions): RecordJob {
  const { logger, out } = options;
  const now = options.now ?? Date.now;
  const started = now();
  const maxBuffered = options.maxBufferedBytes ?? 64 * 1024 * 1024;
  const registry = new WatchRegistry(options.kubeConfig, { logger, ...(options.timings ? { timings: options.timings } : {}) });
  const counts: RecordProgress = { events: 0, objects: {}, elapsedMs: 0, remainingMs: options.durationMs, gaps: 0 };
  const failedKinds: string[] = [];
  let bytes = 0;
  let subscription: Subscription | null = null;
  let durationTimer: NodeJS.Timeout | undefined;
  let progressTimer: NodeJS.Timeout | undefined;
  let finished = false;

  const progress = (): RecordProgress => {
    const elapsedMs = now() - started;
    return {
      events: counts.events,
      objects: { ...counts.objects },
      elapsedMs,
      remainingMs: options.durationMs === null ? null : Math.max(0, options.durationMs - elapsedMs),
      gaps: counts.gaps,
    };
  };

  let resolveDone!: (summary: RecordSummary) => void;
  let rejectDone!: (error: Error) => void;
  const done = new Promise<RecordSummary>((resolve, reject) => {
    resolveDone = resolve;
    rejectDone = reject;
  });

  /** Stops the watches and closes the output; `error` fails the job. */
  const finish = (stoppedBy: RecordStopReason, error: Error | null): void => {
    if (finished) return;
    finished = true;
    subscription?.unsubscribe();
    clearTimeout(durationTimer);
    clearTimeout(progressTimer);
    const summary = (): RecordSummary => ({ ...progress(), stoppedBy, failedKinds, bytes });
    if (error !== null || stoppedBy === 'reader-gone') {
      out.off('error', onError);
      out.on('error', () => undefined);
      if (out !== process.stdout) out.destroy();
      if (error) rejectDone(error);
      else resolveDone(summary());
      return;
    }
    // flush what is buffered, then close (stdout is flushed, not closed)
    const closed = (): void => resolveDone(summary());
    if (out === process.stdout) {
      if (out.writableLength === 0) closed();
      else out.once('drain', closed);
    } else {
      out.end(closed);
    }
  };

  const onError = (error: NodeJS.ErrnoException): void => {
    const problem = new RecordOutputError(`cannot write the recording to ${options.outName === '-' ? 'stdout' : options.outName}: ${error.message}`, {
      cause: error,
    });
    // closing failed (the last flush): the job fails unless it already ended
    if (finished) return rejectDone(problem);
    if (error.code === 'EPIPE') {
      // `| head`: the summary says so
      finish('reader-gone', null);
      return;
    }
    finish('stopped', problem);
  };
  out.on('error', onError);

  const write = (item: Extract<RecordedItem, { type: 'change' }>): void => {
    const line = `${recordingLine(item.change, item.object, item.observedAt)}\n`;
    bytes += Buffer.byteLength(line);
    out.write(line);
    if (out.writableLength > maxBuffered) {
      finish(
        'stopped',
        new RecordOutputError(
          `the output ${options.outName === '-' ? '(stdout)' : options.outName} stopped taking data: ${Math.round(out.writableLength / 1024 / 1024)} MiB are waiting; recording stopped rather than hold more in memory`,
        ),
      );
    }
  };

  const onItem = (item: RecordedItem): void => {
    if (finished) return;
    switch (item.type) {
      case 'change':
        if (item.kind === 'Event') {
          // a DELETED Event is its expiry, not an occurrence: recorded, but not counted towards --max-events
          if (item.change !== 'DELETED') counts.events += 1;
        } else {
          counts.objects[item.kind] = (counts.objects[item.kind] ?? 0) + 1;
        }
        write(item);
        if (!finished && options.maxEvents !== null && counts.events >= options.maxEvents) finish('max-events', null);
        return;
      case 'synced':
        logger.info({ kind: item.kind }, `${item.kind}: initial list recorded`);
        return;
      case 'gap':
        counts.gaps += 1;
        logger.warn(
          { kind: item.kind, from: item.gap.fromResourceVersion, to: item.gap.toResourceVersion },
          `${item.kind}: the watch expired (410) and was relisted: changes between resourceVersion ${item.gap.fromResourceVersion} and ${item.gap.toResourceVersion} may be missing from the recording`,
        );
        return;
      case 'failed':
        failedKinds.push(item.kind);
        return;
    }
  };

  if (options.maxEvents === 0) {
    queueMicrotask(() => finish('max-events', null));
  } else {
    subscription = recordCluster(registry, {
      namespaces: options.namespaces,
      ...(options.kinds ? { kinds: options.kinds } : {}),
      ...(options.eventApi ? { eventApi: options.eventApi } : {}),
      ...(options.syncTimeoutMs !== undefined ? { syncTimeoutMs: options.syncTimeoutMs } : {}),
      logger,
      now,
    }).subscribe({
      next: onItem,
      error: (error: unknown) => finish('stopped', error instanceof Error ? error : new Error(String(error))),
      complete: () => finish('stopped', null),
    });
    // an error while subscribing finished the job before the subscription was known
    if (finished) subscription.unsubscribe();
    if (options.durationMs !== null) durationTimer = setTimeout(() => finish('duration', null), options.durationMs);
    if (options.onProgress) {
      const every = options.progressEveryMs ?? 5_000;
      const tick = (): void => {
        if (finished) return;
        options.onProgress?.(progress());
        progressTimer = setTimeout(tick, every);
      };
      progressTimer = setTimeout(tick, every);
    }
  }

  return { done, stop: () => finish('stopped', null) };
}
