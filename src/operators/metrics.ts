import { pino, type Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { defaultOperatorRegistry } from '../core/metrics.js';

export { defaultOperatorRegistry };

/** Logger used unless an operator is given its own `logger`. */
export const defaultOperatorLogger: Logger = pino({
  name: 'kubevents.operators',
  level: process.env['KUBEVENTS_LOG_LEVEL'] ?? 'info',
});

export interface OperatorMetrics {
  /** Per-key state entries held, by operator and stage. */
  keys: Gauge<'operator' | 'stage'>;
  /** Per-key state entries dropped: reason=cap (maxKeys reached, least recently used dropped) or idle (idleTtl). */
  evictions: Counter<'operator' | 'stage' | 'reason'>;
  /** Events that arrived behind the watermark, by the policy applied (clamp or drop). */
  lateEvents: Counter<'operator' | 'stage' | 'policy'>;
  /** Records emitted, by operator and stage. */
  emitted: Counter<'operator' | 'stage'>;
}

const byRegistry = new WeakMap<Registry, OperatorMetrics>();

function getOrCreate<M>(registry: Registry, name: string, create: () => M): M {
  const existing = registry.getSingleMetric(name);
  return existing ? (existing as unknown as M) : create();
}

/** The operator metrics registered on `registry` (created once per registry). */
export function operatorMetrics(registry: Registry = defaultOperatorRegistry): OperatorMetrics {
  let metrics = byRegistry.get(registry);
  if (metrics) return metrics;
  const registers = [registry];
  metrics = {
    keys: getOrCreate(
      registry,
      'kubevents_operator_state_keys',
      () =>
        new Gauge({
          name: 'kubevents_operator_state_keys',
          help: 'Per-key state entries held by a stream operator.',
          labelNames: ['operator', 'stage'] as const,
          registers,
        }),
    ),
    evictions: getOrCreate(
      registry,
      'kubevents_operator_state_evictions_total',
      () =>
        new Counter({
          name: 'kubevents_operator_state_evictions_total',
          help: 'Per-key operator state dropped: reason=cap (maxKeys reached) or idle (idleTtl passed).',
          labelNames: ['operator', 'stage', 'reason'] as const,
          registers,
        }),
    ),
    lateEvents: getOrCreate(
      registry,
      'kubevents_operator_late_events_total',
      () =>
        new Counter({
          name: 'kubevents_operator_late_events_total',
          help: 'Events that arrived behind the watermark (event time older than max seen minus allowed lateness).',
          labelNames: ['operator', 'stage', 'policy'] as const,
          registers,
        }),
    ),
    emitted: getOrCreate(
      registry,
      'kubevents_operator_emitted_total',
      () =>
        new Counter({
          name: 'kubevents_operator_emitted_total',
          help: 'Records emitted by a stream operator.',
          labelNames: ['operator', 'stage'] as const,
          registers,
        }),
    ),
  };
  byRegistry.set(registry, metrics);
  return metrics;
}
