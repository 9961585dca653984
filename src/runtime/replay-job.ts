import { concatMap, filter, ignoreElements, map, merge, Observable, share, tap } from 'rxjs';
import type { Logger } from 'pino';
import { loadSchema } from '../avro/schemas.js';
import type { KubeEvent } from '../model/kube-event.js';
import { deadLetterOf } from '../model/records.js';
import type { LoadedPipeline } from '../pipeline/load.js';
import { embeddedSinkFactories, runPipelines, writeOutputs } from '../pipeline/run-pipelines.js';
import { eventOccurrences, type DeadLetter, type EventItem, type EventSourceItem } from '../sources/event-source.js';
import { ObjectCache } from '../sources/object-cache.js';
import { replayFile, type MalformedRecord, type ReplayProgress, type ReplaySpeed } from '../sources/replay.js';
import { AvroFileSink } from '../sinks/avro-file-sink.js';
import type { RunStats } from './run-stats.js';

export const DEFAULT_TOPICS = {
  events: 'k8s.events',
  alerts: 'k8s.alerts',
  incidents: 'k8s.incidents',
  deadLetters: 'k8s.deadletter',
} as const;

export interface ReplayJobOptions {
  file: string;
  speed: ReplaySpeed;
  outDir: string;
  cluster: string;
  logger: Logger;
  stats: RunStats;
  /** Loaded, valid pipelines (see loadPipelinesForRun). */
  pipelines: readonly LoadedPipeline[];
  /** Called for each alert and incident (console alerts). */
  onAlert?: (line: string) => void;
  /** Called for each event when --print-events is on. */
  onEvent?: (event: KubeEvent) => void;
  onProgress?: (progress: ReplayProgress) => void;
}

/**
 * The embedded job: a recording replayed through the pipelines (default: pipelines/default.yaml)
 * into Avro container files and console alerts. Context objects in the recording (Pods, Nodes, ...) fill the object
 * cache in stream order, so enrichment sees the cluster as it was at each event.
 */
export interface RunningJob {
  /** Resolves when the recording is fully processed and written; rejects on failure. */
  done: Promise<void>;
  /** Stops reading; `done` then resolves with what was processed so far. */
  stop(): void;
  sink: AvroFileSink;
}

export function runReplayJob(options: ReplayJobOptions): RunningJob {
  const { logger, stats } = options;
  const sink = new AvroFileSink(options.outDir);
  const cache = new ObjectCache({ logger });
  const onMalformed = (m: MalformedRecord) => {
    stats.malformed += 1;
    logger.warn({ file: m.file, line: m.line, reason: m.reason }, `${m.file}:${m.line}: skipped: ${m.reason}`);
  };
  const replay = replayFile(options.file, {
    speed: options.speed,
    onMalformed,
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
  );
  const deadLetters$ = items$.pipe(
    filter((i): i is Extract<EventSourceItem, { type: 'DEAD_LETTER' }> => i.type === 'DEAD_LETTER'),
    map((i) => i.deadLetter),
  );
  const { outputs$ } = runPipelines({
    // synchronous on purpose: the object cache is updated in the same pass, so enrichment must
    // see each event before the replay moves on (an async hop here would enrich from the future)
    events$: events$.pipe(
      tap((e) => {
        stats.recordEvent(e);
        options.onEvent?.(e);
      }),
    ),
    lookup: cache,
    pipelines: options.pipelines,
    mode: 'embedded',
    logger,
  });
  const deadLetterSchema = loadSchema('DeadLetter');
  const written$ = merge(
    outputs$.pipe(
      tap((o) => {
        if (o.routeId !== 'console') return;
        if (o.kind === 'Alert') stats.alerts += 1;
        else if (o.kind === 'Incident') stats.incidents += 1;
      }),
      writeOutputs(embeddedSinkFactories({ files: sink, console: (line) => options.onAlert?.(line) })),
    ),
    deadLetters$.pipe(
      tap(() => (stats.deadLetters += 1)),
      concatMap((d: DeadLetter) =>
        sink.write(
          DEFAULT_TOPICS.deadLetters,
          deadLetterSchema,
          deadLetterOf({
            reason: d.reason,
            source: `${options.file} events@${d.resourceVersion}`,
            payload: d.raw,
            error: d.reason,
            stage: 'normalize',
            cluster: options.cluster,
            time: d.detectedAt,
          }),
        ),
      ),
      ignoreElements(),
    ),
  );

  let stop = () => {};
  const done = new Promise<void>((resolve, reject) => {
    const subscription = written$.subscribe({ error: reject, complete: resolve });
    stop = () => {
      subscription.unsubscribe();
      resolve();
    };
  });
  return { done, stop: () => stop(), sink };
}
