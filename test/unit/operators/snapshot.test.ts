/**
 * Snapshot and restore of every stateful stage (issue #20): a stage restored from the snapshots
 * taken so far (a full one, then deltas, folded by mergeStageSnapshots, through v8 serialization
 * as the live job stores them) emits for the events after the cut exactly what the uninterrupted
 * stage emits, up to its completion. Random event sequences (fast-check), random cut points,
 * random full/delta snapshots, allowed lateness (buffered events), small maxKeys (cap evictions)
 * and idleTtl (idle expiry).
 */
import fc from 'fast-check';
import { deserialize, serialize } from 'node:v8';
import { Subject, type OperatorFunction } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { Alert, AlertStatus } from '../../../src/model/alert.js';
import type { KubeEvent } from '../../../src/model/kube-event.js';
import { buildAlert } from '../../../src/operators/alert-builder.js';
import { correlate } from '../../../src/operators/correlate.js';
import { dedupe } from '../../../src/operators/dedupe.js';
import { mergeStageSnapshots, type StageCheckpoint, type StageSnapshot } from '../../../src/operators/event-time.js';
import { group } from '../../../src/operators/group.js';
import { rate } from '../../../src/operators/rate.js';
import { spike } from '../../../src/operators/spike.js';
import { throttle } from '../../../src/operators/throttle.js';
import { eventWindows } from '../../../src/operators/window.js';
import { MIN, SEC, T0, ev, quiet } from './helpers.js';

/** A checkpoint slot for tests: restores `from`, keeps the registered snapshot function. */
function slot(from?: StageSnapshot): StageCheckpoint & { snap: (full: boolean) => StageSnapshot } {
  let fn: ((full: boolean) => StageSnapshot) | undefined;
  let pending = from;
  return {
    take: () => {
      const s = pending;
      pending = undefined;
      return s;
    },
    register: (f) => {
      fn = f;
      return () => (fn = undefined);
    },
    snap: (full) => {
      if (!fn) throw new Error('no stage registered');
      return fn(full);
    },
  };
}

/** The live job's round trip: serialized and back. */
const stored = (s: StageSnapshot): StageSnapshot => deserialize(serialize(s)) as StageSnapshot;

interface Case<T> {
  name: string;
  make: (checkpoint: StageCheckpoint) => OperatorFunction<T, unknown>;
  inputs: fc.Arbitrary<T[]>;
}

/**
 * Runs `inputs` through the stage uninterrupted, snapshotting at `cuts` (fractions of the input;
 * full where `fulls` says, the first always); then, for every cut, a stage restored from the chain
 * up to it gets the events after it: its state at the end must equal the uninterrupted stage's,
 * and its output (completion included) the uninterrupted stage's output after the cut.
 */
function check<T>(c: Case<T>, inputs: T[], cuts: number[], fulls: boolean[]): void {
  const points = [...new Set(cuts.map((x) => Math.floor(x * inputs.length)))].sort((a, b) => a - b);
  const a = slot();
  const subject = new Subject<T>();
  const out: unknown[] = [];
  subject.pipe(c.make(a)).subscribe((o) => out.push(o));
  const chain: StageSnapshot[] = [];
  const outAt: number[] = [];
  let i = 0;
  points.forEach((point, k) => {
    for (; i < point; i++) subject.next(inputs[i]!);
    chain.push(stored(a.snap(k === 0 || fulls[k % fulls.length] === true)));
    outAt.push(out.length);
  });
  for (; i < inputs.length; i++) subject.next(inputs[i]!);
  const end = stored(a.snap(true));
  subject.complete();

  points.forEach((point, k) => {
    const merged = chain.slice(0, k + 1).reduce((acc, s) => mergeStageSnapshots(acc, s));
    expect(merged.full).toBe(true);
    const b = slot(stored(merged));
    const restored = new Subject<T>();
    const after: unknown[] = [];
    restored.pipe(c.make(b)).subscribe((o) => after.push(o));
    for (let j = point; j < inputs.length; j++) restored.next(inputs[j]!);
    // the same state in the end, down to the sequence numbers and the keys' order
    expect(stored(b.snap(true)), `${c.name}: state at the end, restored at input ${point} (snapshot ${k})`).toEqual(end);
    restored.complete();
    expect(after, `${c.name}: restored at input ${point} (snapshot ${k})`).toEqual(out.slice(outAt[k]));
  });
}

// ---------------------------------------------------------------------------------------------
// inputs

const names = ['a', 'b', 'c', 'd', 'e'];
const reasons = ['BackOff', 'FailedScheduling', 'Scheduled', 'Unhealthy'];

/** Events mostly in time order, some late (by up to 40 s). */
const events = (n = 80): fc.Arbitrary<KubeEvent[]> =>
  fc
    .array(
      fc.record({
        step: fc.integer({ min: 0, max: 50 * SEC }),
        back: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 40 * SEC })),
        name: fc.constantFrom(...names),
        reason: fc.constantFrom(...reasons),
        type: fc.constantFrom('Warning', 'Warning', 'Normal'),
        kind: fc.constantFrom('Pod', 'Pod', 'Pod', 'Node'),
        node: fc.constantFrom('n1', 'n2'),
      }),
      { minLength: 10, maxLength: n },
    )
    .map((xs) => {
      let t = 0;
      return xs.map((x, i) => {
        t += x.step;
        const e = ev({
          at: Math.max(0, t - x.back),
          name: x.kind === 'Node' ? x.node : x.name,
          kind: x.kind,
          reason: x.kind === 'Node' ? (x.reason === 'Scheduled' ? 'NodeReady' : 'NodeNotReady') : x.reason,
          type: x.type,
          eventUid: `e${i}`,
          reportingController: 'kubelet',
          reportingInstance: x.node,
        });
        return e;
      });
    });

const statuses: AlertStatus[] = ['firing', 'firing', 'resolved'];
const alerts = (n = 60): fc.Arbitrary<Alert[]> =>
  fc
    .array(
      fc.record({
        step: fc.integer({ min: 0, max: 2 * MIN }),
        name: fc.constantFrom(...names),
        alertname: fc.constantFrom('A', 'B'),
        status: fc.constantFrom(...statuses),
      }),
      { minLength: 10, maxLength: n },
    )
    .map((xs) => {
      let t = 0;
      return xs.map((x) => {
        t += x.step;
        return buildAlert({
          status: x.status,
          labels: { alertname: x.alertname, name: x.name },
          annotations: {},
          severity: 'warning',
          category: 'Other',
          cluster: 'c1',
          namespace: 'shop',
          summary: `${x.alertname} ${x.name}`,
          startsAt: T0 + Math.max(0, t - MIN),
          endsAt: x.status === 'resolved' ? T0 + t : null,
          updatedAt: T0 + t,
          count: 1,
          windowMs: null,
          firstSeen: T0,
          lastSeen: T0 + t,
          workload: null,
          node: null,
          containers: [],
          sampleMessages: [],
          memberKeys: [],
          sequence: 0,
        });
      });
    });

// ---------------------------------------------------------------------------------------------

const lateness = 20 * SEC;
const cases: Array<Case<any>> = [
  {
    name: 'rate',
    make: (checkpoint) =>
      rate({
        ...quiet(),
        checkpoint,
        threshold: 3,
        window: 3 * MIN,
        hold: MIN,
        holdUntilQuiet: true,
        allowedLateness: lateness,
        maxKeys: 4,
        idleTtl: 10 * MIN,
        resolveOn: (e) => e.reason === 'Scheduled',
      }),
    inputs: events(),
  },
  {
    name: 'rate (by object, latePolicy drop)',
    make: (checkpoint) =>
      rate({
        ...quiet(),
        checkpoint,
        threshold: 2,
        window: 2 * MIN,
        latePolicy: 'drop',
        labels: (e) => ({ name: e.regarding.name }),
      }),
    inputs: events(),
  },
  {
    name: 'spike',
    make: (checkpoint) =>
      spike({
        ...quiet(),
        checkpoint,
        interval: MIN,
        factor: 2,
        minCount: 2,
        warmup: 1,
        allowedLateness: lateness,
        maxKeys: 4,
        labels: (e) => ({ name: e.regarding.name }),
      }),
    inputs: events(),
  },
  {
    name: 'correlate',
    make: (checkpoint) =>
      correlate({ ...quiet(), checkpoint, window: 2 * MIN, maxDuration: 10 * MIN, minMembers: 2, allowedLateness: lateness, maxKeys: 3, filter: () => true }),
    inputs: events(),
  },
  {
    name: 'dedupe',
    make: (checkpoint) => dedupe({ ...quiet(), checkpoint, window: 2 * MIN, extendOnRepeat: true, maxKeys: 4, idleTtl: 5 * MIN, allowedLateness: lateness }),
    inputs: events(),
  },
  {
    name: 'throttle',
    make: (checkpoint) => throttle({ ...quiet(), checkpoint, interval: MIN, limit: 1, trailing: true, maxKeys: 3, allowedLateness: lateness }),
    inputs: events(),
  },
  {
    name: 'window',
    make: (checkpoint) =>
      eventWindows({
        ...quiet(),
        checkpoint,
        size: 2 * MIN,
        slide: MIN,
        labels: (e) => ({ name: e.regarding.name, reason: e.reason }),
        maxKeys: 5,
        allowedLateness: lateness,
      }),
    inputs: events(),
  },
  {
    name: 'group',
    make: (checkpoint) => group({ ...quiet(), checkpoint, groupWait: 30 * SEC, groupInterval: 2 * MIN, repeatInterval: 10 * MIN, resolveTimeout: 5 * MIN }),
    inputs: alerts(),
  },
];

describe('stateful stages: snapshot and restore', () => {
  for (const c of cases) {
    it(`${c.name}: restored from the chain of snapshots at any cut, emits what the uninterrupted stage emits (property)`, () => {
      fc.assert(
        fc.property(
          c.inputs,
          fc.uniqueArray(fc.integer({ min: 0, max: 999 }), { minLength: 3, maxLength: 8 }).map((xs) => xs.map((x) => x / 1000)),
          fc.array(
            fc.integer({ min: 0, max: 3 }).map((n) => n === 0),
            { minLength: 1, maxLength: 5 },
          ),
          (inputs, cuts, fulls) => check(c, inputs, cuts, fulls),
        ),
        { numRuns: Number(process.env['SNAPSHOT_RUNS'] ?? 60) },
      );
    }, 120_000);
  }

  it('a snapshot of another operator or state version is not restored: the stage starts empty', () => {
    const a = slot();
    const subject = new Subject<KubeEvent>();
    subject.pipe(rate({ ...quiet(), checkpoint: a, threshold: 2, window: MIN })).subscribe();
    subject.next(ev({ at: 0 }));
    const snapshot = a.snap(true);
    const out: Alert[] = [];
    const b = slot({ ...snapshot, version: 99 });
    const again = new Subject<KubeEvent>();
    again.pipe(rate({ ...quiet(), checkpoint: b, threshold: 2, window: MIN })).subscribe((x) => out.push(x));
    again.next(ev({ at: SEC }));
    expect(out).toEqual([]); // one event only: the first was not restored
    const c = slot(snapshot);
    const third = new Subject<KubeEvent>();
    third.pipe(rate({ ...quiet(), checkpoint: c, threshold: 2, window: MIN })).subscribe((x) => out.push(x));
    third.next(ev({ at: SEC }));
    expect(out.map((x) => x.status)).toEqual(['firing']);
  });

  it('a delta holds only the keys that changed (and what went) since the previous snapshot', () => {
    const a = slot();
    const subject = new Subject<KubeEvent>();
    subject.pipe(dedupe({ ...quiet(), checkpoint: a, window: MIN })).subscribe();
    subject.next(ev({ at: 0, name: 'a' }));
    subject.next(ev({ at: 0, name: 'b' }));
    expect(a.snap(true).keys.map((k) => k[0])).toHaveLength(2);
    subject.next(ev({ at: SEC, name: 'a' }));
    const delta = a.snap(false);
    expect(delta.full).toBe(false);
    expect(delta.keys.map((k) => k[0])).toEqual(['c1/uid-Pod-a/FailedScheduling']);
    subject.next(ev({ at: 2 * MIN, name: 'c' })); // both windows end: b's state goes, a's stays (a suppressed count)
    const next = a.snap(false);
    expect(next.deleted).toEqual(['c1/uid-Pod-b/FailedScheduling']);
    expect(next.keys.map((k) => k[0])).toEqual(['c1/uid-Pod-a/FailedScheduling', 'c1/uid-Pod-c/FailedScheduling']);
    expect(next.timersCleared.sort()).toEqual(['c1/uid-Pod-a/FailedScheduling', 'c1/uid-Pod-b/FailedScheduling']);
    expect(a.snap(false).keys).toEqual([]);
  });
});
