import { Registry } from 'prom-client';
import { filter, from, lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import {
  countSourceMarkers,
  countStage,
  getOrCreateMetric,
  instrumentStage,
  lagRecorder,
  measureLag,
  processRegistries,
  processRegistry,
  stageEventsCounter,
} from '../../../src/core/metrics.js';
import { defaultOperatorRegistry } from '../../../src/operators/metrics.js';

async function value(registry: Registry, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return undefined;
  const { values } = await metric.get();
  const hit = values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return hit?.value;
}

describe('stage counters', () => {
  it('countStage counts what goes by and passes it through', async () => {
    const registry = new Registry();
    const out = await lastValueFrom(from([1, 2, 3]).pipe(countStage('source', registry), toArray()));
    expect(out).toEqual([1, 2, 3]);
    expect(await value(registry, 'kubevents_stage_events_total', { stage: 'source', direction: 'out' })).toBe(3);
    await lastValueFrom(from([4]).pipe(countStage('source', registry, 'in')));
    expect(await value(registry, 'kubevents_stage_events_total', { stage: 'source', direction: 'in' })).toBe(1);
  });

  it('instrumentStage counts in and out around an operator', async () => {
    const registry = new Registry();
    const odd = instrumentStage(
      'odd',
      filter((n: number) => n % 2 === 1),
      registry,
    );
    const out = await lastValueFrom(from([1, 2, 3, 4, 5]).pipe(odd, toArray()));
    expect(out).toEqual([1, 3, 5]);
    expect(await value(registry, 'kubevents_stage_events_total', { stage: 'odd', direction: 'in' })).toBe(5);
    expect(await value(registry, 'kubevents_stage_events_total', { stage: 'odd', direction: 'out' })).toBe(3);
  });

  it('creates each metric once per registry', () => {
    const registry = new Registry();
    expect(stageEventsCounter(registry)).toBe(stageEventsCounter(registry));
    let created = 0;
    const make = () => {
      created++;
      return stageEventsCounter(registry);
    };
    getOrCreateMetric(registry, 'kubevents_stage_events_total', make);
    expect(created).toBe(0);
  });
});

describe('end-to-end lag', () => {
  it('records now minus event time in seconds, clamps skew to 0 and ignores unknown times', async () => {
    const registry = new Registry();
    const record = lagRecorder('kafka-ack', registry, () => 100_000);
    record(97_500); // 2.5 s
    record(101_000); // from the future: 0
    record(null);
    record(undefined);
    record(Number.NaN);
    const metric = registry.getSingleMetric('kubevents_end_to_end_lag_seconds')!;
    const { values } = await metric.get();
    const named = (name: string) => values.find((v) => (v as { metricName?: string }).metricName === name)!;
    const count = named('kubevents_end_to_end_lag_seconds_count');
    const sum = named('kubevents_end_to_end_lag_seconds_sum');
    expect(count.value).toBe(2);
    expect(sum.value).toBeCloseTo(2.5);
    expect(count.labels).toEqual({ stage: 'kafka-ack' });
  });

  it('measureLag is a pass-through tap', async () => {
    const registry = new Registry();
    const events = [{ t: 9_000 }, { t: 8_000 }];
    const out = await lastValueFrom(
      from(events).pipe(
        measureLag(
          'sink',
          (e) => e.t,
          registry,
          () => 10_000,
        ),
        toArray(),
      ),
    );
    expect(out).toEqual(events);
    const text = await registry.metrics();
    expect(text).toContain('kubevents_end_to_end_lag_seconds_count{stage="sink"} 2');
    expect(text).toContain('kubevents_end_to_end_lag_seconds_sum{stage="sink"} 3');
    expect(text).toContain('kubevents_end_to_end_lag_seconds_bucket{le="1",stage="sink"} 1');
  });
});

describe('source markers', () => {
  it('counts syncs and gaps by cause, and stamps the last sync', async () => {
    const registry = new Registry();
    const items = [
      { type: 'SYNCED', resourceVersion: '1' },
      { type: 'EVENT' },
      { type: 'GAP', cause: 'watch-expired' },
      { type: 'SYNCED', resourceVersion: '9' },
      { type: 'GAP' },
    ];
    await lastValueFrom(
      from(items).pipe(
        countSourceMarkers('events.k8s.io/v1/events', registry, () => 5000),
        toArray(),
      ),
    );
    const text = await registry.metrics();
    expect(text).toContain('kubevents_source_syncs_total{resource="events.k8s.io/v1/events"} 2');
    expect(text).toContain('kubevents_source_gaps_total{resource="events.k8s.io/v1/events",cause="watch-expired"} 1');
    expect(text).toContain('kubevents_source_gaps_total{resource="events.k8s.io/v1/events",cause="unknown"} 1');
    expect(text).toContain('kubevents_source_last_sync_timestamp_seconds{resource="events.k8s.io/v1/events"} 5');
  });
});

describe('process registries', () => {
  it('the process registry has the Node.js default metrics, once; the operator registry is served too', async () => {
    const r = processRegistry();
    expect(processRegistry()).toBe(r);
    const text = await r.metrics();
    expect(text).toContain('process_cpu_user_seconds_total');
    expect(text).toContain('nodejs_eventloop_lag_seconds');
    expect(processRegistries()).toEqual([r, defaultOperatorRegistry]);
  });
});
