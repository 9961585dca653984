/**
 * The processing every benchmark runs, composed from the project's own pieces:
 *
 *   raw watch events -> eventOccurrences (normalize, occurrence judgement, dead letters)
 *     -> defaultProcessing (classify, enrich from the object cache; its FailedScheduling rate alert)
 *     -> every occurrence for the events topic (Avro-encoded here or by the Kafka sink)
 *     -> Warnings: dedupe (object uid + reason, 5 min) -> rate (the same Warning still recurring
 *        after its dedup window: 2 emissions within 10 min) -> alerts (Avro)
 *
 * The first rate is the one `kubevents run` raises today (bench/default-processing.ts); the
 * dedupe -> rate branch stands for the alerting path the issue names, so the stateful operators are
 * measured at the volume they would see.
 */
import { EMPTY, filter, map, merge, share, type Observable } from 'rxjs';
import type { Alert } from '../src/model/alert.js';
import type { KubeEvent } from '../src/model/kube-event.js';
import type { WatchEvent } from '../src/model/watch-event.js';
import { dedupe } from '../src/operators/dedupe.js';
import { rate } from '../src/operators/rate.js';
import { defaultProcessing } from './default-processing.js';
import { silentLogger } from '../src/core/logger.js';
import { eventOccurrences, type EventItem, type EventSourceItem } from '../src/sources/event-source.js';
import { ObjectCache } from '../src/sources/object-cache.js';
import { HEADERS } from '../src/avro/encodings.js';
import type { LoadedSchema } from '../src/avro/schemas.js';
import type { KubeObject, ObjectLookup } from '../src/sources/object-lookup.js';

const MINUTE = 60_000;

export interface BenchCounters {
  /** watch events in */
  input: number;
  occurrences: number;
  deadLetters: number;
  warnings: number;
  /** Warnings let through by dedupe */
  deduped: number;
  alerts: number;
}

export interface BenchProcessing {
  /** every occurrence, classified and enriched (the events topic) */
  events$: Observable<KubeEvent>;
  alerts$: Observable<Alert>;
  counters: BenchCounters;
}

export interface BenchProcessingOptions {
  /** stop after this stage (for cost breakdowns): normalize, process, alerting; default everything */
  upto?: 'normalize' | 'process' | 'alerting' | 'encode';
}

export function benchProcessing(
  raw$: Observable<WatchEvent<unknown>>,
  lookup: ObjectLookup,
  cluster = 'bench',
  options: BenchProcessingOptions = {},
): BenchProcessing {
  const counters: BenchCounters = { input: 0, occurrences: 0, deadLetters: 0, warnings: 0, deduped: 0, alerts: 0 };
  const items$ = raw$.pipe(
    map((change) => {
      counters.input++;
      return change;
    }),
    eventOccurrences({ cluster, logger: silentLogger }),
    share(),
  );
  return processItems(items$, lookup, options, counters);
}

/** The processing after the Event source (createEventSource's items$, or eventOccurrences'). */
export function processItems(
  items$: Observable<EventSourceItem>,
  lookup: ObjectLookup,
  options: BenchProcessingOptions = {},
  counters: BenchCounters = { input: 0, occurrences: 0, deadLetters: 0, warnings: 0, deduped: 0, alerts: 0 },
): BenchProcessing {
  const upto = options.upto ?? 'encode';
  const occurrences$ = items$.pipe(
    filter((i: EventSourceItem): i is EventItem => {
      if (i.type === 'DEAD_LETTER') counters.deadLetters++;
      return i.type === 'EVENT';
    }),
    map((i) => {
      counters.occurrences++;
      return i.event;
    }),
  );
  if (upto === 'normalize') return { events$: occurrences$, alerts$: EMPTY, counters };
  const outputs = defaultProcessing(occurrences$, { lookup, logger: silentLogger });
  if (upto === 'process') return { events$: outputs.events$, alerts$: outputs.alerts$, counters };
  const persistent$ = outputs.events$.pipe(
    filter((e) => e.type === 'Warning'),
    map((e) => {
      counters.warnings++;
      return e;
    }),
    dedupe({ window: 5 * MINUTE, logger: silentLogger }),
    map((e) => {
      counters.deduped++;
      return e;
    }),
    rate({
      name: 'persistent-warning',
      alertname: 'KubePersistentWarning',
      threshold: 2,
      window: 10 * MINUTE,
      logger: silentLogger,
    }),
  );
  const alerts$ = merge(outputs.alerts$, persistent$).pipe(
    map((a) => {
      counters.alerts++;
      return a;
    }),
  );
  return { events$: outputs.events$, alerts$, counters };
}

/**
 * The object cache as a finished initial list leaves it: every object of the world applied as a
 * listed ADDED (pruned as in production), every cached kind synced.
 */
export function warmCache(objects: Iterable<{ kind: string; object: KubeObject }>): ObjectCache {
  const cache = new ObjectCache({ logger: silentLogger });
  cache.expect(['Node', 'Deployment', 'ReplicaSet', 'Pod']);
  for (const { kind, object } of objects) {
    cache.apply({ type: 'ADDED', object, resourceVersion: object.metadata.resourceVersion ?? '1', fromList: true }, kind);
  }
  for (const kind of ['Node', 'Deployment', 'ReplicaSet', 'Pod']) cache.markSynced(kind);
  return cache;
}

/**
 * The headers the Kafka sink sets on a KubeEvent record in the avro-binary encoding
 * (src/sinks/kafka-sink.ts encodeEntry), for the benchmarks that drive kafkajs below the sink.
 */
export function sinkHeaders(schema: LoadedSchema, e: KubeEvent, pipeline?: string): Record<string, string> {
  return {
    [HEADERS.encoding]: 'avro-binary',
    [HEADERS.schemaName]: schema.type.name ?? 'KubeEvent',
    [HEADERS.fingerprint]: schema.fingerprint,
    [HEADERS.kind]: 'KubeEvent',
    [HEADERS.cluster]: 'bench',
    [HEADERS.idempotencyKey]: e.idempotencyKey,
    ...(pipeline ? { [HEADERS.pipeline]: pipeline } : {}),
  };
}
