import fc from 'fast-check';
import { from, lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { KubeEvent } from '../../../src/model/kube-event.js';
import { throttle, type ThrottleInfo, type Throttled } from '../../../src/operators/throttle.js';
import { MIN, SEC, T0, ev, letters, quiet, testScheduler } from './helpers.js';

const none: ThrottleInfo = { dropped: 0, firstDroppedAt: null, lastDroppedAt: null };
const out = (e: KubeEvent, info: ThrottleInfo = none): Throttled<KubeEvent> => ({ ...e, throttle: info });
const dropped = (n: number, first: number, last: number): ThrottleInfo => ({ dropped: n, firstDroppedAt: T0 + first, lastDroppedAt: T0 + last });

describe('throttle', () => {
  it('leading: the first event of a period passes, the next emission says how many were dropped', () => {
    const e = [0, 10 * SEC, 20 * SEC, 70 * SEC].map((at) => ev({ at }));
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('abcd|', letters(e)).pipe(throttle({ interval: MIN, ...quiet() }))).toBe('a--d|', {
        a: out(e[0]!),
        d: out(e[3]!, dropped(2, 10 * SEC, 20 * SEC)),
      });
    });
  });

  it('limit: the first N events of a period pass', () => {
    const e = [0, 10 * SEC, 20 * SEC, 30 * SEC].map((at) => ev({ at }));
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('abcd|', letters(e)).pipe(throttle({ interval: MIN, limit: 2, ...quiet() }))).toBe('ab--|', { a: out(e[0]!), b: out(e[1]!) });
    });
  });

  it('trailing: the last event held back is emitted when the period ends (at the next event past it, or at the end)', () => {
    const e = [0, 10 * SEC, 20 * SEC, 70 * SEC].map((at) => ev({ at }));
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('abcd|', letters(e)).pipe(throttle({ interval: MIN, leading: false, trailing: true, ...quiet() }))).toBe('---c(d|)', {
        c: out(e[2]!, dropped(2, 0, 10 * SEC)),
        d: out(e[3]!),
      });
    });
  });

  it('leading and trailing: the first at once, the last at the end of the period', () => {
    const e = [0, 10 * SEC, 20 * SEC, 70 * SEC].map((at) => ev({ at }));
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('abcd---|', letters(e)).pipe(throttle({ interval: MIN, trailing: true, ...quiet() }))).toBe('a--(cd)|', {
        a: out(e[0]!),
        c: out(e[2]!, dropped(1, 10 * SEC, 10 * SEC)),
        d: out(e[3]!),
      });
    });
  });

  it('keys are throttled apart; DELETED changes are not occurrences', () => {
    const a = ev({ at: 0 });
    const b = ev({ at: SEC, name: 'web-2' });
    const gone = { ...ev({ at: 2 * SEC, name: 'web-3' }), change: 'DELETED' as const };
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('abc|', { a, b, c: gone }).pipe(throttle({ interval: MIN, ...quiet() }))).toBe('ab-|', { a: out(a), b: out(b) });
    });
  });

  it('refuses leading and trailing both off', () => {
    expect(() => throttle({ interval: MIN, leading: false, trailing: false })).toThrow(/leading or trailing/);
  });

  it('with trailing, every event of a key is emitted or counted as dropped by a later emission (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 10 * MIN }), { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 1, max: 3 }),
        fc.boolean(),
        async (offsets, limit, leading) => {
          const events = [...offsets].sort((x, y) => x - y).map((at) => ev({ at }));
          const emitted = await lastValueFrom(from(events).pipe(throttle({ interval: MIN, limit, leading, trailing: true, ...quiet() }), toArray()));
          expect(emitted.length + emitted.reduce((n, e) => n + e.throttle.dropped, 0)).toBe(events.length);
          // the rate bound: any stretch of one interval overlaps at most two periods, each letting through
          // `limit` leading events (with leading) and one trailing event
          const perPeriod = (leading ? limit : 0) + 1;
          for (const first of emitted) {
            const within = emitted.filter((e) => e.lastTimestamp >= first.lastTimestamp && e.lastTimestamp < first.lastTimestamp + MIN);
            expect(within.length).toBeLessThanOrEqual(2 * perPeriod);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
