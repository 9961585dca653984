/**
 * The embedded job: a recording replayed through the pipelines (default: pipelines/default.yaml)
 * into Avro container files and console alerts, through the same router and sinks as the live
 * run, with the run's Avro files registered for `kafka` sinks too (no broker). Context objects in
 * the recording (Pods, Nodes, ...) fill the object cache in stream order, so enrichment sees the
 * cluster as it was at each event.
 */
import { filter, map, share, tap, type Observable } from 'rxjs';
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { KubeEvent } from '../model/kube-event.js';
import { deadLetterRecord, type OutRecord } from '../model/out-record.js';
import { deadLetterOf } from '../model/records.js';
import { PipelineSet } from '../pipeline/hot-swap.js';
import type { LoadedPipeline } from '../pipeline/load.js';
import { sinkTypesOf } from '../pipeline/scope.js';
import { ConsoleSink } from '../sinks/console.js';
import { FileSink } from '../sinks/file-sink.js';
import { sinksFor } from '../sinks/registry.js';
import { SinkRouter } from '../sinks/router.js';
import { StdoutSink } from '../sinks/stdout.js';
import type { Sink } from '../sinks/sink.js';
import { allSinks } from '../pipeline/graph.js';
import { eventOccurrences, type EventItem, type EventSourceItem } from '../sources/event-source.js';
import { ObjectCache } from '../sources/object-cache.js';
import { replayFile, type MalformedRecord, type RecordedWatchError, type ReplayProgress, type ReplaySpeed, type ReplayStats } from '../sources/replay.js';
import type { RunStats } from './run-stats.js';

export interface ReplayJobOptions {
  file: string;
  speed: ReplaySpeed;
  outDir: string;
  cluster: string;
  logger: Logger;
  stats: RunStats;
  /** Loaded, valid pipelines (see loadPipelinesForRun). */
  pipelines: readonly LoadedPipeline[];
  /** The pipelines' console sinks: one line per record. */
  onAlert?: (line: string) => void;
  /** Called for each event when --print-events is on. */
  onEvent?: (event: KubeEvent) => void;
  onProgress?: (progress: ReplayProgress) => void;
  /** The pipelines' stdout sinks (default: a StdoutSink on process.stdout). */
  stdout?: Sink;
  /** Only events of these namespaces (null: all). */
  namespaces?: readonly string[] | null;
}

export interface RunningJob {
  /** Resolves when the recording is fully processed and every sink flushed; rejects on failure. */
  done: Promise<void>;
  /** Stops reading; `done` then resolves with what was processed so far. */
  stop(): void;
  /** The Avro files (their summary once `done`). */
  files: FileSink;
  /** What was read from the recording: format, records per resource, inferred types, skips. */
  recording: Readonly<ReplayStats>;
}

/** Malformed entries logged one by one; the rest are counted (the summary has the total). */
export const MALFORMED_WARNINGS = 20;

export function runReplayJob(options: ReplayJobOptions): RunningJob {
  const { logger, stats } = options;
  // every sink the pipelines have is in the summary, and writes fresh files: a target that gets no
  // record this run does not keep an earlier run's file
  for (const p of options.pipelines) {
    for (const { sink, branch } of allSinks(p.graph)) {
      stats.declareSink(p.name, branch, sink.type, sink.target);
      if (sink.definition.avro && sink.target !== undefined) removeFile(join(options.outDir, `${sink.target}.avro`));
    }
  }
  removeFile(join(options.outDir, 'k8s.deadletter.avro'));
  const inScope = options.namespaces && options.namespaces.length > 0 ? new Set(options.namespaces) : null;
  const files = new FileSink(options.outDir, { rollIntervalMs: null, cluster: options.cluster, logger });
  const cache = new ObjectCache({ logger });
  const onMalformed = (m: MalformedRecord) => {
    stats.malformed += 1;
    if (stats.malformed <= MALFORMED_WARNINGS) logger.warn({ file: m.file, line: m.line, reason: m.reason }, `${m.file}:${m.line}: skipped: ${m.reason}`);
    if (stats.malformed === MALFORMED_WARNINGS + 1) logger.warn(`more malformed entries in ${m.file}: only counted from here on (the summary has the total)`);
  };
  const onWatchError = (e: RecordedWatchError) => {
    logger.warn({ file: e.file, line: e.line, reason: e.message }, `${e.file}:${e.line}: the recorded watch ended with an ERROR: ${e.message}`);
  };
  const replay = replayFile(options.file, {
    speed: options.speed,
    onMalformed,
    onWatchError,
    requireEvents: true,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });

  const items$: Observable<EventSourceItem> = replay.changes$.pipe(
    // context objects update the cache before any later event is processed
    tap((change) => {
      if (change.resource !== 'events') cache.apply(change.event, change.kind);
    }),
    filter((change) => change.resource === 'events'),
    map((change) => change.event),
    eventOccurrences({ cluster: options.cluster, logger }),
    share(),
  );
  const events$ = items$.pipe(
    filter((i): i is EventItem => i.type === 'EVENT'),
    map((i) => i.event),
    // as the live run's namespace watches: the Event object's own namespace
    filter((e) => inScope === null || (e.namespace !== null && inScope.has(e.namespace))),
    // synchronous on purpose: the object cache is updated in the same pass, so enrichment must
    // see each event before the replay moves on (an async hop here would enrich from the future)
    tap((e) => {
      stats.recordEvent(e);
      options.onEvent?.(e);
    }),
  );

  let failure: Error | null = null;
  const router = new SinkRouter(
    sinksFor(
      {
        kafka: null,
        files: () => files,
        stdout: () => options.stdout ?? new StdoutSink(),
        console: () =>
          new ConsoleSink(
            (line, record) => {
              if (record.kind === 'Alert') stats.alerts += 1;
              else if (record.kind === 'Incident') stats.incidents += 1;
              options.onAlert?.(line);
            },
            // at full speed the lines come in the order of their times; at a pace, as decided (people watch them come)
            options.speed === 'max' ? { inTimeOrder: { maxHeld: 10_000 } } : {},
          ),
      },
      sinkTypesOf(options.pipelines),
    ),
    (error) => (failure ??= error),
  );
  const pipelines = new PipelineSet({ lookup: cache, pipelines: options.pipelines, logger, replay: true });
  const deadLetter = (item: Extract<EventSourceItem, { type: 'DEAD_LETTER' }>): OutRecord => {
    const d = item.deadLetter;
    stats.deadLetters += 1;
    const letter = deadLetterOf({
      reason: d.reason,
      source: `${options.file} events@${d.resourceVersion}`,
      payload: d.raw,
      error: d.reason,
      stage: 'normalize',
      cluster: options.cluster,
      time: d.detectedAt,
    });
    return deadLetterRecord(letter, '', '');
  };

  let stop = () => {};
  const done = new Promise<void>((resolve, reject) => {
    const finish = (error: unknown): void => {
      // entries beyond the ones reported one by one are counted by the replay
      stats.malformed = Math.max(stats.malformed, replay.stats.malformed);
      router.close(60_000).then(
        (closed) => {
          const problem =
            error ??
            failure ??
            (closed.flushed ? null : new Error(`the output files could not be flushed within 60 s (${closed.abandoned} records not written)`));
          if (problem) reject(problem);
          else resolve();
        },
        (closeError: unknown) => reject(error ?? failure ?? closeError),
      );
    };
    const subscription = pipelines.run(events$).subscribe({
      next: (record) => {
        stats.recordOutput(record);
        router.write(record);
      },
      error: finish,
      complete: () => finish(null),
    });
    subscription.add(
      items$
        .pipe(filter((i): i is Extract<EventSourceItem, { type: 'DEAD_LETTER' }> => i.type === 'DEAD_LETTER'))
        .subscribe((i) => router.write(deadLetter(i))),
    );
    stop = () => {
      subscription.unsubscribe();
      finish(null);
    };
  });
  return { done, stop: () => stop(), files, recording: replay.stats };
}

/** Removes an earlier run's file (only a file: anything else is reported when the run writes there). */
function removeFile(path: string): void {
  if (statSync(path, { throwIfNoEntry: false })?.isFile()) rmSync(path);
}
