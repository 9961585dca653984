import { pino, type Logger } from 'pino';
import { Registry } from 'prom-client';
import { TestScheduler } from 'rxjs/testing';
import { expect } from 'vitest';
import { idempotencyKeyOf, type Classification, type Enrichment, type KubeEvent, type ObjectRef } from '../../../src/model/kube-event.js';

export const T0 = Date.UTC(2024, 4, 1, 12, 0, 0);
export const SEC = 1000;
export const MIN = 60 * SEC;

let counter = 0;

export interface EvInput {
  /** Event time offset from T0, ms. */
  at: number;
  reason?: string;
  type?: string;
  message?: string;
  kind?: string;
  namespace?: string | null;
  name?: string;
  uid?: string;
  cluster?: string;
  count?: number;
  eventUid?: string;
  enrichment?: Enrichment | null;
  classification?: Classification | null;
  related?: ObjectRef | null;
  reportingController?: string | null;
  reportingInstance?: string | null;
}

/** A KubeEvent about `kind namespace/name` at T0 + at. */
export function ev(i: EvInput): KubeEvent {
  const kind = i.kind ?? 'Pod';
  const namespace = i.namespace === undefined ? (kind === 'Node' ? null : 'shop') : i.namespace;
  const name = i.name ?? 'web-1';
  const eventUid = i.eventUid ?? `ev-${++counter}`;
  const count = i.count ?? 1;
  return {
    uid: eventUid,
    name: `${name}.${eventUid}`,
    namespace: namespace ?? 'default',
    resourceVersion: String(1000 + counter),
    change: count > 1 ? 'MODIFIED' : 'ADDED',
    type: i.type ?? 'Warning',
    reason: i.reason ?? 'FailedScheduling',
    message: i.message ?? `${i.reason ?? 'FailedScheduling'} message`,
    action: null,
    regarding: { apiVersion: 'v1', kind, namespace, name, uid: i.uid ?? `uid-${kind}-${name}`, fieldPath: null },
    related: i.related ?? null,
    reportingController: i.reportingController ?? null,
    reportingInstance: i.reportingInstance ?? null,
    firstTimestamp: T0 + i.at,
    lastTimestamp: T0 + i.at,
    eventTime: null,
    count,
    cluster: i.cluster ?? 'c1',
    idempotencyKey: idempotencyKeyOf(eventUid, count),
    sourceApi: 'core/v1',
    enrichment: i.enrichment ?? null,
    classification: i.classification ?? null,
  };
}

export function testScheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
}

export interface CapturedLog {
  logger: Logger;
  lines: Array<Record<string, unknown>>;
}

/** A pino logger that keeps its lines in memory. */
export function captureLogger(level = 'debug'): CapturedLog {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level }, { write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { logger, lines };
}

export const quiet = (): { registry: Registry; logger: Logger } => ({ registry: new Registry(), logger: pino({ level: 'silent' }) });

export async function metricValue(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  const data = await metric.get();
  return data.values
    .filter((v) => Object.entries(labels).every(([k, val]) => (v.labels as Record<string, unknown>)[k] === val))
    .reduce((sum, v) => sum + v.value, 0);
}

/** Marble values a, b, c, ... for a list of events. */
export function letters<V>(list: readonly V[]): Record<string, V> {
  return Object.fromEntries(list.map((v, i) => [String.fromCharCode(97 + i), v]));
}
