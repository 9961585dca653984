import fc from 'fast-check';
import { concatMap, from, map, merge, of, share, Subject, timer, type Observable } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { KubeEvent } from '../../../src/model/kube-event.js';
import { classify } from '../../../src/operators/classify.js';
import { correlate } from '../../../src/operators/correlate.js';
import { dedupe } from '../../../src/operators/dedupe.js';
import { formatDuration } from '../../../src/core/duration.js';
import { eventTimeStage, MinHeap } from '../../../src/operators/event-time.js';
import { group } from '../../../src/operators/group.js';
import { rate } from '../../../src/operators/rate.js';
import { spike } from '../../../src/operators/spike.js';
import { MIN, SEC, ev, quiet, testScheduler } from './helpers.js';

/** A recorded stream: a crash loop, an unschedulable pod, a node going down with evictions, a warning storm; slightly out of order. */
function recording(): KubeEvent[] {
  const enr = (node: string) => ({
    workload: { kind: 'Deployment', name: 'web', uid: 'd' },
    ownerChain: [],
    node,
    podPhase: 'Running',
    containers: [],
    labels: {},
  });
  const events: KubeEvent[] = [];
  for (let i = 0; i < 12; i++)
    events.push(ev({ at: i * 20 * SEC, name: 'web-1', reason: 'BackOff', message: 'Back-off restarting failed container', enrichment: enr('n2') }));
  for (let i = 0; i < 7; i++) events.push(ev({ at: 30 * SEC + i * 25 * SEC, name: 'api-0', reason: 'FailedScheduling', message: '0/3 nodes are available' }));
  events.push(
    ev({ at: 5 * MIN, kind: 'Node', name: 'n1', namespace: null, reason: 'NodeNotReady', type: 'Normal', message: 'Node n1 status is now: NodeNotReady' }),
  );
  for (let i = 0; i < 6; i++)
    events.push(ev({ at: 5 * MIN + (i + 1) * 7 * SEC, name: `db-${i}`, reason: 'TaintManagerEviction', type: 'Normal', enrichment: enr('n1') }));
  for (let m = 0; m < 8; m++) events.push(ev({ at: m * MIN + 5 * SEC, namespace: 'batch', name: `job-${m}`, reason: 'Unhealthy' }));
  for (let i = 0; i < 40; i++) events.push(ev({ at: 9 * MIN + i * SEC, namespace: 'batch', name: `job-x${i}`, reason: 'Unhealthy' }));
  events.sort((a, b) => a.lastTimestamp - b.lastTimestamp);
  // recorded arrival order: a few events arrive up to 10s late
  for (let i = 3; i < events.length; i += 7) [events[i], events[i - 1]] = [events[i - 1]!, events[i]!];
  return events;
}

const lateness = 30 * SEC;

/** enrich is upstream in real pipelines; here the events carry their enrichment. */
function pipeline(source: Observable<KubeEvent>): Observable<string> {
  const classified = source.pipe(classify(), share());
  const deduped = classified.pipe(
    dedupe({ window: 5 * MIN, allowedLateness: lateness, ...quiet() }),
    map((e) => `dedupe ${e.idempotencyKey} +${e.dedupe.suppressed}`),
  );
  const rated = classified.pipe(rate({ threshold: 5, window: 3 * MIN, allowedLateness: lateness, ...quiet() }), share());
  const grouped = rated.pipe(
    group({ groupBy: ['alertname', 'namespace'], groupWait: 30 * SEC, groupInterval: 2 * MIN, allowedLateness: lateness, ...quiet() }),
  );
  const spikes = classified.pipe(spike({ interval: MIN, minCount: 10, warmup: 3, allowedLateness: lateness, ...quiet() }));
  const incidents = classified.pipe(correlate({ window: 2 * MIN, allowedLateness: lateness, ...quiet() }));
  return merge(
    deduped,
    rated.pipe(map((a) => `rate ${a.idempotencyKey}`)),
    grouped.pipe(map((a) => `group ${a.idempotencyKey} ${a.memberAlertIds.join(',')}`)),
    spikes.pipe(map((a) => `spike ${a.idempotencyKey}`)),
    incidents.pipe(map((i) => `incident ${i.idempotencyKey} ${i.memberCount} ${i.rootReason}`)),
  );
}

describe('event time', () => {
  it('replaying a recording at full speed gives exactly the output of replaying it at recorded pace', () => {
    const events = recording();
    let fast: string[] = [];
    let paced: string[] = [];
    testScheduler().run(() => {
      const out: string[] = [];
      pipeline(from(events)).subscribe((x) => out.push(x));
      fast = out;
    });
    testScheduler().run(() => {
      // at recorded pace: each event arrives at its (virtual) wall-clock time, late ones late
      let clock = events[0]!.lastTimestamp;
      const pacedSource = from(events).pipe(
        concatMap((e) => {
          const wait = Math.max(0, e.lastTimestamp - clock);
          clock = Math.max(clock, e.lastTimestamp);
          return timer(wait).pipe(map(() => e));
        }),
      );
      const out: string[] = [];
      pipeline(pacedSource).subscribe((x) => out.push(x));
      paced = out;
    });
    expect(fast.length).toBeGreaterThan(20);
    // each operator's output, in order (the interleaving of the merged branches follows arrival, not event time)
    const byKind = (xs: string[]): Record<string, string[]> => {
      const out: Record<string, string[]> = {};
      for (const x of xs) (out[x.split(' ')[0]!] ??= []).push(x);
      return out;
    };
    expect(byKind(paced)).toEqual(byKind(fast));
    // and every kind of output is there
    for (const kind of ['dedupe', 'rate', 'group', 'spike', 'incident'])
      expect(
        fast.some((x) => x.startsWith(kind)),
        kind,
      ).toBe(true);
  });

  it('passes a source error on at once, without flushing', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const e = [0, 1, 2].map((s) => ev({ at: s * SEC }));
      const source = merge(cold<KubeEvent>('abc', { a: e[0]!, b: e[1]!, c: e[2]! }), cold<KubeEvent>('---#'));
      expectObservable(
        source.pipe(
          rate({ threshold: 3, window: MIN, ...quiet() }),
          map((a) => a.status),
        ),
      ).toBe('--f#', { f: 'firing' });
    });
  });

  it('errors on an event without a usable time', () => {
    const bad = { ...ev({ at: 0 }), lastTimestamp: Number.NaN };
    let error: unknown;
    of(bad)
      .pipe(dedupe(quiet()))
      .subscribe({ error: (e: unknown) => (error = e) });
    expect(String(error)).toMatch(/event time is not a number/);
  });

  it('errors thrown by operator logic reach the subscriber', () => {
    const boom = eventTimeStage<number, number, number>(
      { operator: 'test', timestamp: (n) => n, options: quiet(), defaultMaxKeys: 10, defaultIdleTtl: 10 },
      () => ({
        onEvent(n) {
          if (n === 2) throw new Error('boom');
        },
      }),
    );
    let error: unknown;
    from([1, 2, 3])
      .pipe(boom)
      .subscribe({ error: (e: unknown) => (error = e) });
    expect(String(error)).toBe('Error: boom');
  });

  it('fires timers before events at the same time, then idle expiry, in event-time order', () => {
    const log: string[] = [];
    const op = eventTimeStage<number, string, number>(
      { operator: 'test', timestamp: (n) => n, options: { ...quiet(), idleTtl: 5 }, defaultMaxKeys: 10, defaultIdleTtl: 5 },
      () => ({
        onEvent(n, ctx) {
          log.push(`event ${n} @${ctx.now}`);
          if (n === 1) {
            ctx.state.set('k', 1);
            ctx.setTimer('t', 3);
          }
        },
        onTimer(key, ctx) {
          log.push(`timer ${key} @${ctx.now}`);
        },
        onEvict(key, _s, reason, ctx) {
          log.push(`evict ${key} ${reason} @${ctx.now}`);
        },
      }),
    );
    from([1, 3, 6, 7]).pipe(op).subscribe();
    expect(log).toEqual(['event 1 @1', 'timer t @3', 'event 3 @3', 'evict k idle @6', 'event 6 @6', 'event 7 @7']);
  });

  it('validates its options', () => {
    const make = (options: object) => () => dedupe({ ...quiet(), ...options });
    expect(make({ allowedLateness: -1 })).toThrow(/allowedLateness/);
    expect(make({ latePolicy: 'ignore' })).toThrow(/latePolicy/);
    expect(make({ idleAdvance: 0 })).toThrow(/idleAdvance/);
    expect(make({ maxKeys: 0 })).toThrow(/maxKeys/);
    expect(make({ window: -5 })).toThrow(/window/);
  });

  it('formats durations', () => {
    expect([500, 1000, 90_000, 3 * 60 * MIN + 5 * SEC].map(formatDuration)).toEqual(['500ms', '1s', '1m30s', '3h5s']);
  });

  it('MinHeap pops in order', () => {
    fc.assert(
      fc.property(fc.array(fc.integer()), (xs) => {
        const heap = new MinHeap<number>((a, b) => a < b);
        xs.forEach((x) => heap.push(x));
        const out: number[] = [];
        while (heap.size > 0) out.push(heap.pop()!);
        expect(out).toEqual([...xs].sort((a, b) => a - b));
      }),
    );
  });

  it('releases everything on unsubscribe: no timers, no heartbeat, no subscription', () => {
    const scheduler = testScheduler();
    const subject = new Subject<KubeEvent>();
    scheduler.run(() => {
      const sub = subject.pipe(rate({ threshold: 1, window: MIN, idleAdvance: 10 * SEC, ...quiet() })).subscribe();
      subject.next(ev({ at: 0 }));
      expect(scheduler.actions.length).toBeGreaterThan(0); // the heartbeat
      sub.unsubscribe();
      expect(subject.observed).toBe(false);
    });
    expect(scheduler.actions).toHaveLength(0);
  });
});
