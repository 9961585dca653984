import fc from 'fast-check';
import { asyncScheduler, Subject, type SchedulerLike } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { dedupe } from '../../../src/operators/dedupe.js';
import { KeyedState, MinHeap } from '../../../src/operators/event-time.js';
import { rate } from '../../../src/operators/rate.js';
import { MIN, SEC, ev, metricValue, quiet } from './helpers.js';

/** asyncScheduler, counting now() calls. */
function countingScheduler(): { scheduler: SchedulerLike; nowCalls: () => number } {
  let calls = 0;
  const scheduler: SchedulerLike = {
    now: () => {
      calls++;
      return asyncScheduler.now();
    },
    schedule: asyncScheduler.schedule.bind(asyncScheduler) as SchedulerLike['schedule'],
  };
  return { scheduler, nowCalls: () => calls };
}

describe('event-time hot path', () => {
  it('does not read the processing-time clock per event when idleAdvance is off', () => {
    const { scheduler, nowCalls } = countingScheduler();
    const subject = new Subject<ReturnType<typeof ev>>();
    const out: unknown[] = [];
    const sub = subject.pipe(dedupe({ window: 5 * MIN, scheduler, ...quiet() })).subscribe((e) => out.push(e));
    for (let i = 0; i < 20; i++) subject.next(ev({ at: i * SEC, name: `p-${i % 3}` }));
    sub.unsubscribe();
    expect(out).toHaveLength(3);
    expect(nowCalls()).toBe(0);
  });

  it('still reads it per event with idleAdvance on (the heartbeat needs the last arrival)', () => {
    const { scheduler, nowCalls } = countingScheduler();
    const subject = new Subject<ReturnType<typeof ev>>();
    const sub = subject.pipe(rate({ threshold: 3, window: MIN, idleAdvance: 30 * SEC, scheduler, ...quiet() })).subscribe();
    for (let i = 0; i < 5; i++) subject.next(ev({ at: i * SEC }));
    sub.unsubscribe();
    expect(nowCalls()).toBeGreaterThanOrEqual(5);
  });

  it('KeyedState.oldestEntry follows least-recently-touched order (property)', () => {
    const op = fc.oneof(
      fc.record({ t: fc.constant('set' as const), k: fc.nat(5) }),
      fc.record({ t: fc.constant('touch' as const), k: fc.nat(5) }),
      fc.record({ t: fc.constant('delete' as const), k: fc.nat(5) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), fc.integer({ min: 1, max: 6 }), (ops, maxKeys) => {
        let clock = 0;
        let size = 0;
        const state = new KeyedState<number>(
          () => clock,
          maxKeys,
          () => {},
          (d) => (size += d),
        );
        const model: Array<[string, number]> = []; // [key, touched], least recently touched first
        for (const o of ops) {
          clock++;
          const key = `k${o.k}`;
          const i = model.findIndex(([k]) => k === key);
          if (o.t === 'set' || (o.t === 'touch' && i >= 0)) {
            if (i >= 0) model.splice(i, 1);
            else if (o.t === 'set') while (model.length >= maxKeys) model.shift();
            model.push([key, clock]);
            if (o.t === 'set') state.set(key, clock);
            else state.touch(key);
          } else if (o.t === 'delete') {
            if (i >= 0) model.splice(i, 1);
            state.delete(key);
          }
          const oldest = state.oldestEntry();
          expect(oldest ? [oldest.key, oldest.touched] : undefined).toEqual(model[0]);
          expect(size).toBe(model.length);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('MinHeap keeps order with equal keys and interleaved pushes and pops (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.nat(20), fc.constant(-1)), { maxLength: 200 }), (ops) => {
        const heap = new MinHeap<number>((a, b) => a < b);
        const model: number[] = [];
        for (const x of ops) {
          if (x < 0) {
            model.sort((a, b) => a - b);
            expect(heap.pop()).toBe(model.shift());
          } else {
            heap.push(x);
            model.push(x);
          }
          expect(heap.size).toBe(model.length);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('counts idle and cap evictions and late events under their labels (label sets built once per stage)', async () => {
    const q = quiet();
    const subject = new Subject<ReturnType<typeof ev>>();
    const sub = subject.pipe(dedupe({ window: MIN, maxKeys: 3, idleTtl: 10 * MIN, name: 'd9', ...q })).subscribe();
    subject.next(ev({ at: 0, name: 'a' }));
    subject.next(ev({ at: SEC, name: 'b' }));
    subject.next(ev({ at: 2 * SEC, name: 'b' })); // suppressed: b outlives its window
    subject.next(ev({ at: 3 * SEC, name: 'c' }));
    subject.next(ev({ at: 4 * SEC, name: 'd' })); // a fourth key: a is evicted (cap)
    subject.next(ev({ at: 0, name: 'c' })); // late (clamped to 4s), suppressed: c outlives its window too
    subject.next(ev({ at: 30 * MIN, name: 'e' })); // b and c expire (idle)
    sub.unsubscribe();
    const cap = await metricValue(q.registry, 'kubevents_operator_state_evictions_total', { operator: 'dedupe', stage: 'd9', reason: 'cap' });
    const idle = await metricValue(q.registry, 'kubevents_operator_state_evictions_total', { operator: 'dedupe', stage: 'd9', reason: 'idle' });
    expect(cap).toBe(1);
    expect(idle).toBe(2);
    expect(await metricValue(q.registry, 'kubevents_operator_late_events_total', { operator: 'dedupe', stage: 'd9', policy: 'clamp' })).toBe(1);
  });
});
