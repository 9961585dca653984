import fc from 'fast-check';
import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { KubeEvent } from '../../../src/model/kube-event.js';
import { dedupe, type DedupeInfo, type Deduped } from '../../../src/operators/dedupe.js';
import { MIN, SEC, T0, captureLogger, ev, letters, metricValue, quiet, testScheduler } from './helpers.js';

const none: DedupeInfo = { suppressed: 0, firstSuppressedAt: null, lastSuppressedAt: null };
const out = (e: KubeEvent, dedupeInfo: DedupeInfo = none): Deduped<KubeEvent> => ({ ...e, dedupe: dedupeInfo });

describe('dedupe', () => {
  it('lets the first event of a key through and reports the suppressed ones with the next emission', () => {
    const a1 = ev({ at: 0 });
    const a2 = ev({ at: 1 * MIN });
    const a3 = ev({ at: 2 * MIN });
    const b = ev({ at: 150 * SEC, name: 'web-2' });
    const a4 = ev({ at: 6 * MIN });
    const a5 = ev({ at: 7 * MIN });
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('abcdef|', { a: a1, b: a2, c: a3, d: b, e: a4, f: a5 });
      expectObservable(source.pipe(dedupe({ window: 5 * MIN, ...quiet() }))).toBe('a--de-|', {
        a: out(a1),
        d: out(b),
        e: out(a4, { suppressed: 2, firstSuppressedAt: T0 + 1 * MIN, lastSuppressedAt: T0 + 2 * MIN }),
      });
    });
  });

  it('opens a new window at exactly emission + window (half-open window)', () => {
    const a1 = ev({ at: 0 });
    const a2 = ev({ at: 5 * MIN - 1 });
    const a3 = ev({ at: 5 * MIN });
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('abc|', { a: a1, b: a2, c: a3 }).pipe(dedupe({ window: 5 * MIN, ...quiet() }))).toBe('a-c|', {
        a: out(a1),
        c: out(a3, { suppressed: 1, firstSuppressedAt: T0 + 5 * MIN - 1, lastSuppressedAt: T0 + 5 * MIN - 1 }),
      });
    });
  });

  it('with extendOnRepeat, suppresses until a quiet gap of window', () => {
    const e = [0, 4, 8, 12, 17].map((m) => ev({ at: m * MIN }));
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('abcde|', letters(e));
      expectObservable(source.pipe(dedupe({ window: 5 * MIN, extendOnRepeat: true, ...quiet() }))).toBe('a---e|', {
        a: out(e[0]!),
        e: out(e[4]!, { suppressed: 3, firstSuppressedAt: T0 + 4 * MIN, lastSuppressedAt: T0 + 12 * MIN }),
      });
    });
  });

  it('holds events for the allowed lateness and releases them in event-time order', () => {
    // arrival order a(t=10s) c(t=0) b(t=70s): c is within the 1-minute lateness, so it counts as the first
    const a = ev({ at: 10 * SEC });
    const c = ev({ at: 0 });
    const b = ev({ at: 70 * SEC, name: 'web-2' });
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('a-c-b|', { a, c, b });
      expectObservable(source.pipe(dedupe({ window: 5 * MIN, allowedLateness: MIN, ...quiet() }))).toBe('----c(b|)', {
        c: out(c),
        b: out(b),
      });
    });
  });

  it('counts late events and, by policy, processes them at the watermark (clamp) or drops them (drop)', async () => {
    const a1 = ev({ at: 0 });
    const other = ev({ at: 10 * MIN, name: 'web-2' });
    const late = ev({ at: 6 * MIN }); // behind the watermark (10m): clamp treats it as 10m, after the window
    for (const [policy, expected] of [
      ['clamp', 'abc|'],
      ['drop', 'ab-|'],
    ] as const) {
      const q = quiet();
      testScheduler().run(({ cold, expectObservable }) => {
        const source = cold('abc|', { a: a1, b: other, c: late });
        expectObservable(source.pipe(dedupe({ window: 5 * MIN, latePolicy: policy, ...q }))).toBe(expected, {
          a: out(a1),
          b: out(other),
          c: out(late),
        });
      });
      expect(await metricValue(q.registry, 'kubevents_operator_late_events_total', { operator: 'dedupe', policy })).toBe(1);
    }
  });

  it('evicts the least recently used key at maxKeys, with a metric and a log line', async () => {
    const q = quiet();
    const log = captureLogger();
    const a1 = ev({ at: 0, name: 'a' });
    const b = ev({ at: 1 * SEC, name: 'b' });
    const c = ev({ at: 2 * SEC, name: 'c' });
    const a2 = ev({ at: 3 * SEC, name: 'a' }); // a was evicted: it is new again
    const c2 = ev({ at: 4 * SEC, name: 'c' }); // c is still held: suppressed
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('abcde|', { a: a1, b, c, d: a2, e: c2 });
      expectObservable(source.pipe(dedupe({ window: 5 * MIN, maxKeys: 2, registry: q.registry, logger: log.logger, name: 'd1' }))).toBe('abcd-|', {
        a: out(a1),
        b: out(b),
        c: out(c),
        d: out(a2),
      });
    });
    expect(await metricValue(q.registry, 'kubevents_operator_state_evictions_total', { operator: 'dedupe', stage: 'd1', reason: 'cap' })).toBe(2);
    const warn = log.lines.filter((l) => l['level'] === 40);
    expect(warn).toHaveLength(1);
    expect(warn[0]).toMatchObject({ operator: 'dedupe', stage: 'd1', maxKeys: 2, msg: expect.stringContaining('evicted') });
    expect(await metricValue(q.registry, 'kubevents_operator_state_keys', { stage: 'd1' })).toBe(0);
  });

  it('expires a pending suppressed count after idleTtl', async () => {
    const q = quiet();
    const a1 = ev({ at: 0 });
    const a2 = ev({ at: 1 * MIN });
    const tick = ev({ at: 70 * MIN, name: 'other' });
    const a3 = ev({ at: 71 * MIN });
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('abcd|', { a: a1, b: a2, c: tick, d: a3 });
      expectObservable(source.pipe(dedupe({ window: 5 * MIN, idleTtl: 60 * MIN, ...q }))).toBe('a-cd|', {
        a: out(a1),
        c: out(tick),
        d: out(a3),
      });
    });
    expect(await metricValue(q.registry, 'kubevents_operator_state_evictions_total', { reason: 'idle' })).toBe(1);
  });

  it('ignores DELETED changes (TTL expiry): not occurrences, not late', async () => {
    const q = quiet();
    const a1 = ev({ at: 60 * MIN });
    const expired = { ...ev({ at: 0, name: 'old' }), change: 'DELETED' as const };
    const a2 = ev({ at: 66 * MIN });
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('abc|', { a: a1, b: expired, c: a2 }).pipe(dedupe({ window: 5 * MIN, ...q }))).toBe('a-c|', { a: out(a1), c: out(a2) });
    });
    expect(await metricValue(q.registry, 'kubevents_operator_late_events_total')).toBe(0);
  });

  it('releases its state when unsubscribed', async () => {
    const q = quiet();
    const subject = new Subject<KubeEvent>();
    const seen: unknown[] = [];
    const sub = subject.pipe(dedupe({ window: 5 * MIN, allowedLateness: MIN, ...q })).subscribe((e) => seen.push(e));
    subject.next(ev({ at: 0, name: 'a' }));
    subject.next(ev({ at: 2 * MIN, name: 'b' }));
    expect(await metricValue(q.registry, 'kubevents_operator_state_keys')).toBe(1);
    sub.unsubscribe();
    expect(await metricValue(q.registry, 'kubevents_operator_state_keys')).toBe(0);
    expect(subject.observed).toBe(false);
    expect(seen).toHaveLength(1);
  });
});

/** Reference semantics, straight from the definition, on events already in event-time order. */
function referenceDedupe(events: KubeEvent[], window: number): Array<{ uid: string; suppressed: number }> {
  const state = new Map<string, { end: number; suppressed: number }>();
  const outp: Array<{ uid: string; suppressed: number }> = [];
  for (const e of events) {
    const key = `${e.regarding.name}/${e.reason}`;
    const s = state.get(key);
    if (s && e.lastTimestamp < s.end) {
      s.suppressed++;
      continue;
    }
    outp.push({ uid: e.uid, suppressed: s?.suppressed ?? 0 });
    state.set(key, { end: e.lastTimestamp + window, suppressed: 0 });
  }
  return outp;
}

function run(events: KubeEvent[], options: Parameters<typeof dedupe>[0]): Array<Deduped<KubeEvent>> {
  const result: Array<Deduped<KubeEvent>> = [];
  const subject = new Subject<KubeEvent>();
  subject.pipe(dedupe(options)).subscribe((e) => result.push(e));
  for (const e of events) subject.next(e);
  subject.complete();
  return result;
}

describe('dedupe properties', () => {
  const arbEvents = fc.array(
    fc.record({ at: fc.integer({ min: 0, max: 30 * MIN }), name: fc.constantFrom('a', 'b', 'c'), reason: fc.constantFrom('BackOff', 'Unhealthy') }),
    { maxLength: 60 },
  );

  it('matches the reference semantics; emitted + suppressed never exceeds the input; repeats of a key are >= window apart', () => {
    fc.assert(
      fc.property(arbEvents, fc.integer({ min: 1, max: 10 * MIN }), (inputs, window) => {
        const events = inputs.map((i) => ev(i)).sort((x, y) => x.lastTimestamp - y.lastTimestamp);
        const result = run(events, { window, ...quiet() });
        expect(result.map((e) => ({ uid: e.uid, suppressed: e.dedupe.suppressed }))).toEqual(referenceDedupe(events, window));
        expect(result.reduce((n, e) => n + 1 + e.dedupe.suppressed, 0)).toBeLessThanOrEqual(events.length);
        const lastByKey = new Map<string, number>();
        for (const e of result) {
          const key = `${e.regarding.name}/${e.reason}`;
          const prev = lastByKey.get(key);
          if (prev !== undefined) expect(e.lastTimestamp - prev).toBeGreaterThanOrEqual(window);
          lastByKey.set(key, e.lastTimestamp);
        }
      }),
    );
  });

  it('gives the same output for any arrival order within the allowed lateness', () => {
    fc.assert(
      fc.property(arbEvents, fc.integer({ min: 0, max: 1000 }), (inputs, seed) => {
        const lateness = 2 * MIN;
        // distinct times (+ index ms): with equal times, arrival order legitimately decides which one is "first"
        const sorted = inputs.map((input, i) => ev({ ...input, at: input.at - (input.at % 100) + i })).sort((x, y) => x.lastTimestamp - y.lastTimestamp);
        // shuffle locally: each event may move earlier than events up to `lateness` older than it
        const jitter = (e: KubeEvent, i: number): number => e.lastTimestamp - (((i * 7919 + seed) % 97) / 97) * lateness;
        const shuffled = sorted
          .map((e, i) => ({ e, k: jitter(e, i) }))
          .sort((x, y) => x.k - y.k)
          .map((x) => x.e);
        const options = { window: 5 * MIN, allowedLateness: lateness, ...quiet() };
        const a = run(sorted, options).map((e) => [e.uid, e.dedupe.suppressed]);
        const b = run(shuffled, options).map((e) => [e.uid, e.dedupe.suppressed]);
        expect(b).toEqual(a);
      }),
    );
  });
});
