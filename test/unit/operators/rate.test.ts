import fc from 'fast-check';
import { map, Subject, type OperatorFunction } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { Alert } from '../../../src/model/alert.js';
import { labelsFingerprint } from '../../../src/model/alert.js';
import type { KubeEvent } from '../../../src/model/kube-event.js';
import { rate, type RateOptions } from '../../../src/operators/rate.js';
import { MIN, SEC, T0, captureLogger, ev, letters, quiet, testScheduler } from './helpers.js';

/** `F@120s` / `R@210s` (status and event time relative to T0) for compact marbles. */
const brief = (a: Alert): string => `${a.status === 'firing' ? 'F' : 'R'}@${(a.status === 'firing' ? a.startsAt : a.endsAt!) - T0}`;
const briefly =
  (options: RateOptions): OperatorFunction<KubeEvent, string> =>
  (s) =>
    s.pipe(rate(options), map(brief));

const story1 = { threshold: 5, window: 3 * MIN, ...quiet() };

describe('rate', () => {
  it('fires once when N events fall in the window and resolves when the count falls back under N', () => {
    const e = [0, 30, 60, 90, 120, 150].map((s) => ev({ at: s * SEC, message: `0/3 nodes are available (${s})` }));
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('abcdef|', letters(e));
      expectObservable(source.pipe(briefly(story1))).toBe('----x-(y|)', { x: 'F@120000', y: 'R@210000' });
    });
    // the records themselves
    const subject = new Subject<KubeEvent>();
    const out: Alert[] = [];
    subject.pipe(rate(story1)).subscribe((a) => out.push(a));
    e.forEach((x) => subject.next(x));
    subject.complete();
    const [firing, resolved] = out;
    const labels = { alertname: 'KubeEventRate', cluster: 'c1', kind: 'Pod', name: 'web-1', namespace: 'shop', reason: 'FailedScheduling' };
    expect(firing).toMatchObject({
      alertId: labelsFingerprint(labels),
      status: 'firing',
      labels,
      startsAt: T0 + 120 * SEC,
      endsAt: null,
      updatedAt: T0 + 120 * SEC,
      count: 5,
      windowMs: 3 * MIN,
      firstSeen: T0,
      lastSeen: T0 + 120 * SEC,
      sampleMessages: ['0/3 nodes are available (60)', '0/3 nodes are available (90)', '0/3 nodes are available (120)'],
      memberKeys: e.slice(0, 5).map((x) => x.idempotencyKey),
      sequence: 0,
      severity: 'warning',
      category: 'Other',
    });
    expect(firing!.summary).toBe('5 FailedScheduling within 3m (between 12:00:00 and 12:02:00 UTC) on Pod shop/web-1: 0/3 nodes are available (120)');
    expect(firing!.idempotencyKey).toBe(`${firing!.alertId}/firing/${T0 + 120 * SEC}/0`);
    expect(resolved).toMatchObject({
      alertId: firing!.alertId,
      status: 'resolved',
      startsAt: T0 + 120 * SEC,
      endsAt: T0 + 210 * SEC,
      updatedAt: T0 + 210 * SEC,
      count: 6,
    });
    // the count and the real span of the episode, not a rate over a window it does not fit in
    expect(resolved!.lastSeen).toBe(T0 + 150 * SEC);
    expect(resolved!.summary).toBe('resolved: 6 FailedScheduling between 12:00:00 and 12:02:30 UTC on Pod shop/web-1');
  });

  it('treats the window as half-open: an event exactly W older does not count', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const at = (ms: number): KubeEvent => ev({ at: ms });
      // 0, 10s, 3m: at 3m the event at 0 is out (count 2); 0, 10s, 3m - 1ms: count 3
      expectObservable(cold('abc|', { a: at(0), b: at(10 * SEC), c: at(3 * MIN) }).pipe(briefly({ ...story1, threshold: 3 }))).toBe('---|');
      expectObservable(cold('abc|', { a: at(0), b: at(10 * SEC), c: at(3 * MIN - 1) }).pipe(briefly({ ...story1, threshold: 3 }))).toBe(
        '--x(y|)',
        { x: `F@${3 * MIN - 1}`, y: `R@${3 * MIN}` }, // under N again when the event at 0 leaves
      );
    });
  });

  it('handles bursts across window boundaries: a burst split by the window does not fire, a later one does', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const times = [0, 1, 2, 3, 180, 181, 182, 183, 184].map((s) => ev({ at: s * SEC }));
      // 4 at 0-3s, 5 at 180-184s: every event leaves the window just as a new one comes in, so the
      // count stays 4 until 184s (180..184); it falls under N when 180s leaves, at 360s
      expectObservable(cold('abcdefghi|', letters(times)).pipe(briefly(story1))).toBe('--------x(y|)', {
        x: `F@${184 * SEC}`,
        y: `R@${180 * SEC + 3 * MIN}`,
      });
    });
  });

  it('resolves as the watermark passes the expiry, driven by other keys\u2019 events', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const a = [0, 1, 2].map((s) => ev({ at: s * SEC }));
      const other1 = ev({ at: 2 * MIN, name: 'other' });
      const other2 = ev({ at: 4 * MIN, name: 'other' });
      expectObservable(cold('abcde-|', letters([...a, other1, other2])).pipe(briefly({ ...story1, threshold: 3 }))).toBe('--x-y-|', {
        x: 'F@2000',
        y: `R@${3 * MIN}`,
      });
    });
  });

  it('resolves only after the count stayed under the threshold for the hold period', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      // N=2, W=1m, hold=2m: fire at 10s; under at 1m; back to 2 at 2m30s (2m, 2m30s) before the hold ends;
      // under again at 3m, held until 5m: resolved, endsAt 3m (when it fell under for good)
      const e = [0, 10, 120, 150].map((s) => ev({ at: s * SEC }));
      const tick = ev({ at: 10 * MIN, name: 'other' });
      const opts = { threshold: 2, window: MIN, hold: 2 * MIN, ...quiet() };
      expectObservable(cold('abcde|', letters([...e, tick])).pipe(briefly(opts))).toBe('-x--y|', {
        x: 'F@10000',
        y: `R@${180 * SEC}`,
      });
    });
  });

  it('with holdUntilQuiet, restarts the hold at every event, even under the threshold', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      // N=3, W=1m, hold=2m: fire at 2s; under at 1m; trickle at 2m and 3m30s keeps it up; quiet from 3m30s: resolved at 5m30s
      const e = [0, 1, 2, 120, 210].map((s) => ev({ at: s * SEC }));
      const tick = ev({ at: 20 * MIN, name: 'other' });
      const opts = { threshold: 3, window: MIN, hold: 2 * MIN, holdUntilQuiet: true, ...quiet() };
      expectObservable(cold('abcdef|', letters([...e, tick])).pipe(briefly(opts))).toBe('--x--y|', { x: 'F@2000', y: `R@${210 * SEC}` });
      // without it, the hold runs from 1m: resolved at 3m (decided then), endsAt 1m
      expectObservable(cold('abcdef|', letters([...e, tick])).pipe(briefly({ ...opts, holdUntilQuiet: false }))).toBe('--x-y-|', {
        x: 'F@2000',
        y: `R@${60 * SEC}`,
      });
    });
  });

  it('resolves at once on a resolveOn event for the same object, and starts over', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const f = [0, 1, 2].map((s) => ev({ at: s * SEC }));
      const scheduled = ev({ at: 30 * SEC, reason: 'Scheduled', type: 'Normal' });
      const again = ev({ at: 40 * SEC });
      const opts = { threshold: 3, window: 3 * MIN, resolveOn: (e: KubeEvent) => e.reason === 'Scheduled', ...quiet() };
      expectObservable(cold('abcde|', letters([...f, scheduled, again])).pipe(briefly(opts))).toBe('--xy-|', {
        x: 'F@2000',
        y: 'R@30000',
      });
    });
  });

  it('takes events within the allowed lateness in event-time order, and late ones at the watermark', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const e = [0, 30, 60].map((s) => ev({ at: s * SEC }));
      // arrival 60s, 0s, 30s with 1m lateness: in order; the crossing is at 60s either way
      expectObservable(cold('cab|', letters(e)).pipe(briefly({ ...story1, threshold: 3, allowedLateness: MIN }))).toBe('---(xy|)', {
        x: 'F@60000',
        y: `R@${3 * MIN}`,
      });
      // without lateness 0s and 30s are late: clamped to the watermark (60s), they still count
      expectObservable(cold('cab|', letters(e)).pipe(briefly({ ...story1, threshold: 3 }))).toBe('--x(y|)', {
        x: 'F@60000',
        y: `R@${60 * SEC + 3 * MIN}`,
      });
    });
  });

  it('lists only the events in the window at the crossing as members', () => {
    const e = [0, 4 * MIN, 4 * MIN + 10 * SEC, 4 * MIN + 20 * SEC].map((at) => ev({ at }));
    const out: Alert[] = [];
    const subject = new Subject<KubeEvent>();
    subject.pipe(rate({ ...story1, threshold: 3 })).subscribe((a) => out.push(a));
    e.forEach((x) => subject.next(x));
    subject.complete();
    expect(out[0]).toMatchObject({ status: 'firing', count: 3, firstSeen: T0 + 4 * MIN, memberKeys: e.slice(1).map((x) => x.idempotencyKey) });
  });

  it('keeps keys apart and uses custom labels as the key', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const e = ['a', 'b', 'c'].map((n, i) => ev({ at: i * SEC, name: n }));
      // by namespace: three pods count together
      const byNamespace = { ...story1, threshold: 3, labels: (x: KubeEvent) => ({ namespace: x.regarding.namespace, reason: x.reason }) };
      expectObservable(cold('abc|', letters(e)).pipe(briefly(byNamespace))).toBe('--x(y|)', { x: 'F@2000', y: `R@${3 * MIN}` });
      expectObservable(cold('abc|', letters(e)).pipe(briefly({ ...story1, threshold: 3 }))).toBe('---|');
    });
  });

  it('logs when the state of a firing alert is evicted at maxKeys', () => {
    const log = captureLogger();
    testScheduler().run(({ cold, expectObservable }) => {
      const a = [0, 1].map((s) => ev({ at: s * SEC, name: 'a' }));
      const b = ev({ at: 2 * SEC, name: 'b' });
      expectObservable(cold('abc|', letters([...a, b])).pipe(briefly({ threshold: 2, window: MIN, maxKeys: 1, ...quiet(), logger: log.logger }))).toBe('-x-|', {
        x: 'F@1000',
      });
    });
    expect(log.lines.some((l) => l['level'] === 40 && String(l['msg']).includes('firing alert evicted'))).toBe(true);
  });

  it('with idleAdvance, resolves on a quiet live stream; nothing is left scheduled after unsubscribe', () => {
    const scheduler = testScheduler();
    scheduler.run(({ hot, expectObservable }) => {
      const e = [0, 1, 2].map((s) => ev({ at: s * SEC }));
      const source = hot('abc', letters(e));
      // window 1m: under N at 1m of event time; the heartbeat (every 30s) advances the watermark by the idle processing time,
      // which passes 1m at the 60s tick (2s + 59.998s)
      const opts = { threshold: 3, window: MIN, idleAdvance: 30 * SEC, ...quiet() };
      expectObservable(source.pipe(briefly(opts)), '^ 5m !').toBe('--x 59997ms y', { x: 'F@2000', y: 'R@60000' });
    });
    expect(scheduler.actions).toHaveLength(0);
  });
});

/** Events of one key in (s - W, s] (inclusive) or (s - W, s) (exclusive). */
const countAt = (times: number[], s: number, w: number, inclusive: boolean): number => times.filter((t) => t > s - w && (inclusive ? t <= s : t < s)).length;

function runRate(events: KubeEvent[], options: RateOptions): Alert[] {
  const out: Alert[] = [];
  const subject = new Subject<KubeEvent>();
  subject.pipe(rate(options)).subscribe((a) => out.push(a));
  events.forEach((e) => subject.next(e));
  subject.complete();
  return out;
}

describe('rate properties', () => {
  const arbEvents = fc.array(fc.record({ at: fc.integer({ min: 0, max: 20 * MIN }), name: fc.constantFrom('a', 'b') }), { maxLength: 80 });

  it('fires exactly while count >= N, alternates firing/resolved per alert and resolves everything at the end', () => {
    fc.assert(
      fc.property(arbEvents, fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 5 * MIN }), (inputs, threshold, window) => {
        const events = inputs.map((i) => ev({ at: i.at, name: i.name })).sort((x, y) => x.lastTimestamp - y.lastTimestamp);
        const alerts = runRate(events, { threshold, window, ...quiet() });
        for (const name of ['a', 'b']) {
          const times = events.filter((e) => e.regarding.name === name).map((e) => e.lastTimestamp);
          const mine = alerts.filter((a) => a.labels['name'] === name);
          // alternate, starting with firing, ending resolved
          mine.forEach((a, i) => expect(a.status).toBe(i % 2 === 0 ? 'firing' : 'resolved'));
          expect(mine.length % 2).toBe(0);
          const episodes: Array<[number, number]> = [];
          for (let i = 0; i < mine.length; i += 2) episodes.push([mine[i]!.startsAt, mine[i + 1]!.endsAt!]);
          for (const [start, end] of episodes) {
            expect(times).toContain(start);
            expect(countAt(times, start, window, true)).toBeGreaterThanOrEqual(threshold);
            expect(countAt(times, end, window, false)).toBeLessThan(threshold);
            // while firing the count never dipped under N (checked at every expiry instant)
            for (const t of times) {
              const s = t + window;
              if (s > start && s < end) expect(countAt(times, s, window, false)).toBeGreaterThanOrEqual(threshold);
            }
          }
          // every instant with count >= N lies in an episode
          for (const t of times) {
            if (countAt(times, t, window, true) >= threshold) expect(episodes.some(([s, e]) => t >= s && t <= e)).toBe(true);
          }
        }
      }),
    );
  });

  it('gives the same output for any arrival order within the allowed lateness', () => {
    fc.assert(
      fc.property(arbEvents, fc.integer({ min: 0, max: 1000 }), (inputs, seed) => {
        const lateness = MIN;
        const sorted = inputs.map((i, k) => ev({ at: i.at - (i.at % 100) + k, name: i.name })).sort((x, y) => x.lastTimestamp - y.lastTimestamp);
        const jitter = (e: KubeEvent, i: number): number => e.lastTimestamp - (((i * 7919 + seed) % 101) / 101) * lateness;
        const shuffled = sorted
          .map((e, i) => ({ e, k: jitter(e, i) }))
          .sort((x, y) => x.k - y.k)
          .map((x) => x.e);
        const options = { threshold: 3, window: 2 * MIN, hold: 30 * SEC, allowedLateness: lateness, ...quiet() };
        expect(runRate(shuffled, options)).toEqual(runRate(sorted, options));
      }),
    );
  });
});
