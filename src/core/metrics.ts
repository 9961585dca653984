/**
 * Process-wide Prometheus metrics: the registries the /metrics endpoint serves, and small helpers
 * for the metrics every stage shares (events in/out per stage, end-to-end lag, source markers).
 *
 * Conventions (the same as src/operators/metrics.ts, src/checkpoint/checkpointer.ts and
 * src/sinks/kafka-sink.ts): every module registers its own metrics on an injectable prom-client
 * `Registry`, names start with `kubevents_`, and a metric is created once per registry
 * (`getOrCreateMetric`), so building a stage twice never throws "already registered".
 *
 * Which registry is "the process's":
 * - `processRegistry()` is prom-client's global default registry (`register`), the one the Kafka
 *   sink uses when it is given none, with the Node.js default metrics (`collectDefaultMetrics`:
 *   CPU, memory, GC, event loop lag, handles) added once;
 * - stream operators default to their own `defaultOperatorRegistry` (src/operators/metrics.ts);
 * - `processRegistries()` lists both: give it to the HTTP server (`metricsRegistries`), which
 *   serves their union. Tests pass a fresh `new Registry()` everywhere instead.
 */
import { tap, type MonoTypeOperatorFunction, type OperatorFunction } from 'rxjs';
import { collectDefaultMetrics, Counter, Gauge, Histogram, register, Registry } from 'prom-client';

export { Registry };

/**
 * Where stream operator metrics go unless an operator is given its own `registry`. The process's
 * /metrics endpoint serves it beside processRegistry() (processRegistries()).
 */
export const defaultOperatorRegistry = new Registry();

let defaultMetricsRegistered = false;

/** prom-client's global registry, with the Node.js default metrics registered on it (once). */
export function processRegistry(): Registry {
  if (!defaultMetricsRegistered) {
    defaultMetricsRegistered = true;
    // registers process_* and nodejs_* (nodejs_eventloop_lag_seconds, heap, GC, handles, ...)
    if (!register.getSingleMetric('process_cpu_user_seconds_total')) collectDefaultMetrics({ register });
  }
  return register;
}

/** Every registry the process's /metrics endpoint serves. */
export function processRegistries(): Registry[] {
  return [processRegistry(), defaultOperatorRegistry];
}

/** The metric named `name` on `registry`, created by `create` the first time. */
export function getOrCreateMetric<T>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}

// ---------------------------------------------------------------------------------------------
// events in / out per stage
// ---------------------------------------------------------------------------------------------

export type StageDirection = 'in' | 'out';

/** `kubevents_stage_events_total{stage, direction}` on `registry`. */
export function stageEventsCounter(registry: Registry): Counter<'stage' | 'direction'> {
  return getOrCreateMetric(
    registry,
    'kubevents_stage_events_total',
    () =>
      new Counter({
        name: 'kubevents_stage_events_total',
        help: 'Values entering (direction="in") and leaving (direction="out") a processing stage.',
        labelNames: ['stage', 'direction'] as const,
        registers: [registry],
      }),
  );
}

/**
 * A pass-through tap that counts every value going by as `kubevents_stage_events_total{stage,
 * direction}` (default direction "out"). Put one before and one after a stage, or use
 * `instrumentStage` for both.
 *
 *   events$.pipe(countStage('source'), classify(), countStage('classify'))
 */
export function countStage<T>(stage: string, registry: Registry = processRegistry(), direction: StageDirection = 'out'): MonoTypeOperatorFunction<T> {
  const counter = stageEventsCounter(registry).labels({ stage, direction });
  return tap(() => counter.inc());
}

/** `operator` with its input counted as direction="in" and its output as direction="out". */
export function instrumentStage<A, B>(stage: string, operator: OperatorFunction<A, B>, registry: Registry = processRegistry()): OperatorFunction<A, B> {
  const counter = stageEventsCounter(registry);
  const input = counter.labels({ stage, direction: 'in' });
  const output = counter.labels({ stage, direction: 'out' });
  return (source) =>
    source.pipe(
      tap(() => input.inc()),
      operator,
      tap(() => output.inc()),
    );
}

// ---------------------------------------------------------------------------------------------
// end-to-end lag
// ---------------------------------------------------------------------------------------------

/** Buckets of the lag histogram: 10 ms .. 30 min (an hour-old event after a relist is a long lag). */
export const LAG_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];

/** `kubevents_end_to_end_lag_seconds{stage}` on `registry`. */
export function endToEndLagHistogram(registry: Registry): Histogram<'stage'> {
  return getOrCreateMetric(
    registry,
    'kubevents_end_to_end_lag_seconds',
    () =>
      new Histogram({
        name: 'kubevents_end_to_end_lag_seconds',
        help: 'Time from an event occurring (its event time) to the point it was observed at (stage, e.g. "kafka-ack"), seconds.',
        labelNames: ['stage'] as const,
        buckets: LAG_BUCKETS,
        registers: [registry],
      }),
  );
}

/**
 * A function that records one lag observation: now minus the event time (epoch ms). Negative lags
 * (clock skew between the cluster and this process) are recorded as 0; unknown times are ignored.
 *
 *   const lag = lagRecorder('kafka-ack');  ...  on ack: lag(event.lastTimestamp)
 */
export function lagRecorder(
  stage: string,
  registry: Registry = processRegistry(),
  now: () => number = Date.now,
): (eventTimeMs: number | null | undefined) => void {
  const histogram = endToEndLagHistogram(registry).labels({ stage });
  return (eventTimeMs) => {
    if (eventTimeMs === null || eventTimeMs === undefined || !Number.isFinite(eventTimeMs)) return;
    histogram.observe(Math.max(0, now() - eventTimeMs) / 1000);
  };
}

/** A pass-through tap recording the end-to-end lag of every value at `stage`. */
export function measureLag<T>(
  stage: string,
  eventTimeOf: (value: T) => number | null | undefined,
  registry: Registry = processRegistry(),
  now: () => number = Date.now,
): MonoTypeOperatorFunction<T> {
  const record = lagRecorder(stage, registry, now);
  return tap((value) => record(eventTimeOf(value)));
}

// ---------------------------------------------------------------------------------------------
// source markers: relists, gaps, last sync
// ---------------------------------------------------------------------------------------------

export interface SourceMarkerMetrics {
  synced: Counter<'resource'>;
  gaps: Counter<'resource' | 'cause'>;
  lastSync: Gauge<'resource'>;
}

export function sourceMarkerMetrics(registry: Registry): SourceMarkerMetrics {
  const registers = [registry];
  return {
    synced: getOrCreateMetric(
      registry,
      'kubevents_source_syncs_total',
      () =>
        new Counter({
          name: 'kubevents_source_syncs_total',
          help: 'Completed lists and relists of a watched resource (SYNCED markers): 1 at start, each further one is a relist.',
          labelNames: ['resource'] as const,
          registers,
        }),
    ),
    gaps: getOrCreateMetric(
      registry,
      'kubevents_source_gaps_total',
      () =>
        new Counter({
          name: 'kubevents_source_gaps_total',
          help: 'Unavoidable gaps in a watched resource (GAP markers): the API history no longer reached the resume point.',
          labelNames: ['resource', 'cause'] as const,
          registers,
        }),
    ),
    lastSync: getOrCreateMetric(
      registry,
      'kubevents_source_last_sync_timestamp_seconds',
      () =>
        new Gauge({
          name: 'kubevents_source_last_sync_timestamp_seconds',
          help: 'Time the last list or relist of a watched resource completed.',
          labelNames: ['resource'] as const,
          registers,
        }),
    ),
  };
}

/**
 * A pass-through tap for a stream carrying SYNCED / GAP markers (the event source's items$, a
 * WatchEvent stream): counts syncs (the first is the initial list, the rest are relists) and gaps
 * by cause, and stamps the last sync time.
 */
export function countSourceMarkers<T extends { type: string }>(
  resource: string,
  registry: Registry = processRegistry(),
  now: () => number = Date.now,
): MonoTypeOperatorFunction<T> {
  const m = sourceMarkerMetrics(registry);
  return tap((item) => {
    if (item.type === 'SYNCED') {
      m.synced.inc({ resource });
      m.lastSync.set({ resource }, now() / 1000);
    } else if (item.type === 'GAP') {
      const cause = (item as { cause?: string }).cause ?? 'unknown';
      m.gaps.inc({ resource, cause });
    }
  });
}
