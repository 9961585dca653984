import { map, Subject, type OperatorFunction } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { Alert } from '../../../src/model/alert.js';
import type { KubeEvent } from '../../../src/model/kube-event.js';
import { spike, type SpikeOptions } from '../../../src/operators/spike.js';
import { MIN, SEC, T0, ev, letters, quiet, testScheduler } from './helpers.js';

const brief = (a: Alert): string => `${a.status === 'firing' ? 'F' : 'R'}@${(a.status === 'firing' ? a.startsAt : a.endsAt!) - T0}`;
const briefly =
  (options: SpikeOptions): OperatorFunction<KubeEvent, string> =>
  (s) =>
    s.pipe(spike(options), map(brief));
const base: SpikeOptions = { interval: MIN, factor: 5, minCount: 4, warmup: 2, alpha: 0.5, ...quiet() };

/** n events in namespace ns during minute m (spread over its first n seconds). */
const burst = (m: number, n: number, ns = 'shop'): KubeEvent[] =>
  Array.from({ length: n }, (_, i) => ev({ at: m * MIN + i * SEC, namespace: ns, name: `p${i}`, reason: i % 2 ? 'BackOff' : 'Unhealthy' }));

function runSpike(events: KubeEvent[], options: SpikeOptions): Alert[] {
  const out: Alert[] = [];
  const subject = new Subject<KubeEvent>();
  subject.pipe(spike(options)).subscribe((a) => out.push(a));
  events.forEach((e) => subject.next(e));
  subject.complete();
  return out;
}

describe('spike', () => {
  it('fires when a bucket jumps far above the key\u2019s own baseline, and resolves when it comes back', () => {
    // 1/min for minutes 0-3, 8 in minute 4, 1/min in minutes 5-6
    const events = [...burst(0, 1), ...burst(1, 1), ...burst(2, 1), ...burst(3, 1), ...burst(4, 8), ...burst(5, 1), ...burst(6, 1)];
    const alerts = runSpike(events, base);
    expect(alerts.map(brief)).toEqual([`F@${4 * MIN}`, `R@${5 * MIN}`]);
    const [firing, resolved] = alerts;
    expect(firing).toMatchObject({
      status: 'firing',
      labels: { alertname: 'KubeEventRateSpike', cluster: 'c1', namespace: 'shop' },
      namespace: 'shop',
      count: 8,
      windowMs: MIN,
      startsAt: T0 + 4 * MIN,
      updatedAt: T0 + 5 * MIN,
      annotations: { baseline: '1.00', current: '8', topReasons: 'BackOff=4,Unhealthy=4', factor: '5', interval: '1m' },
    });
    expect(firing!.summary).toBe('event rate spike in namespace shop: 8 in 1m, 8.0x the baseline 1.0/1m (BackOff 4, Unhealthy 4)');
    expect(resolved).toMatchObject({ status: 'resolved', alertId: firing!.alertId, startsAt: T0 + 4 * MIN, endsAt: T0 + 5 * MIN, updatedAt: T0 + 6 * MIN });
  });

  it('emits at the watermark passing the bucket end (marbles)', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const events = [...burst(0, 1), ...burst(1, 1), ...burst(2, 5), ...burst(3, 1)];
      // the spike bucket (minute 2) closes when the minute-3 event arrives (frame 7); it resolves at completion
      expectObservable(cold('abcdefgh|', letters(events)).pipe(briefly(base))).toBe('-------x(y|)', { x: `F@${2 * MIN}`, y: `R@${3 * MIN}` });
    });
  });

  it('needs minCount, the factor and warmup', () => {
    const history = [...burst(0, 1), ...burst(1, 1), ...burst(2, 1)];
    expect(runSpike([...history, ...burst(3, 4)], { ...base, minCount: 5 })).toEqual([]); // 4 < minCount
    expect(runSpike([...history, ...burst(3, 4)], { ...base, factor: 5, minCount: 1 })).toEqual([]); // 4 < 5 x 1
    expect(runSpike([...burst(0, 1), ...burst(1, 9)], { ...base, warmup: 3 })).toEqual([]); // only 1 bucket observed
    expect(runSpike([...burst(0, 1), ...burst(1, 9)], { ...base, warmup: 1 }).map(brief)).toEqual([`F@${MIN}`, `R@${2 * MIN}`]);
  });

  it('decays the baseline over quiet buckets', () => {
    // baseline 10/min for 3 minutes, then 10 minutes of silence, then 10: the old level is "far above" a decayed baseline
    const loud = [...burst(0, 10), ...burst(1, 10), ...burst(2, 10)];
    expect(runSpike([...loud, ...burst(3, 10)], base)).toEqual([]);
    expect(runSpike([...loud, ...burst(13, 10)], base).map(brief)).toEqual([`F@${13 * MIN}`, `R@${14 * MIN}`]);
  });

  it('keeps the baseline frozen while firing unless learnDuringAnomaly', () => {
    const events = [...burst(0, 1), ...burst(1, 1), ...burst(2, 1), ...burst(3, 10), ...burst(4, 10), ...burst(5, 10), ...burst(6, 1)];
    expect(runSpike(events, base).map(brief)).toEqual([`F@${3 * MIN}`, `R@${6 * MIN}`]);
    // learning: baseline 1 -> 5.5 after minute 3, so minute 4 (10 < 27.5) already resolves
    expect(runSpike(events, { ...base, learnDuringAnomaly: true }).map(brief)).toEqual([`F@${3 * MIN}`, `R@${4 * MIN}`]);
  });

  it('keeps keys apart (per namespace by default)', () => {
    const events = [
      ...burst(0, 1, 'a'),
      ...burst(0, 1, 'b'),
      ...burst(1, 1, 'a'),
      ...burst(1, 1, 'b'),
      ...burst(2, 1, 'a'),
      ...burst(2, 9, 'b'),
      ...burst(3, 1, 'a'),
    ];
    const alerts = runSpike(events, base);
    expect(alerts.map((a) => `${a.labels['namespace']}:${brief(a)}`)).toEqual([`b:F@${2 * MIN}`, `b:R@${3 * MIN}`]);
  });
});
