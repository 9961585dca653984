import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { from, lastValueFrom, map, toArray } from 'rxjs';
import { CheckpointError, CheckpointTracker } from '../../../src/checkpoint/tracker.js';
import type { SourcePosition } from '../../../src/model/position.js';
import { withPositions } from '../../../src/checkpoint/checkpointer.js';

describe('CheckpointTracker', () => {
  it('starts at the loaded checkpoint and moves only over done positions', () => {
    const t = new CheckpointTracker('events', '41');
    expect(t.committed).toBe('41');
    const p1 = t.open('42');
    const p2 = t.open('43');
    t.retain(p1);
    t.close(p1);
    t.close(p2); // no records derived from 43
    expect(t.committed).toBe('41'); // 42 still has an unacked record
    t.ack(p1);
    expect(t.committed).toBe('43');
    expect(t.outstanding).toBe(0);
  });

  it('handles acks out of order (records on different partitions)', () => {
    const t = new CheckpointTracker('events');
    const ps = ['a', 'b', 'c', 'd'].map((rv) => t.open(rv));
    for (const p of ps) {
      t.retain(p);
      t.close(p);
    }
    const seen: string[] = [];
    t.onCommit((rv) => seen.push(rv));
    t.ack(ps[2] as SourcePosition);
    t.ack(ps[1] as SourcePosition);
    expect(t.committed).toBeNull();
    t.ack(ps[0] as SourcePosition);
    expect(t.committed).toBe('c');
    t.ack(ps[3] as SourcePosition);
    expect(t.committed).toBe('d');
    expect(seen).toEqual(['c', 'd']);
  });

  it('refuses misuse loudly', () => {
    const t = new CheckpointTracker('events');
    const other = new CheckpointTracker('pods').open('1');
    const p = t.open('1');
    expect(() => t.ack(p)).toThrow(CheckpointError); // nothing retained
    expect(() => t.retain(other)).toThrow(/another source/);
    t.close(p);
    expect(() => t.close(p)).toThrow(CheckpointError);
    expect(() => t.retain(p)).toThrow(/already done/); // committed past it: a record now would be lost on restart
  });

  it('keeps memory proportional to the outstanding positions', () => {
    const t = new CheckpointTracker('events');
    for (let i = 0; i < 100_000; i++) t.close(t.open(String(i)));
    expect(t.committed).toBe('99999');
    expect(t.outstanding).toBe(0);
    expect((t as unknown as { entries: unknown[] }).entries.length).toBeLessThan(5000);
  });

  it('property: the committed position never passes an unacked record, and reaches the end when all are acked', () => {
    // a run: N source events, each deriving k records; then close/ack steps in a random order
    // (each record's ack after its retain, each position's retains before its close)
    const run = fc.array(fc.nat({ max: 3 }), { minLength: 1, maxLength: 40 }).chain((recordsPer) => {
      const steps: Array<{ kind: 'close' | 'ack'; pos: number }> = [];
      recordsPer.forEach((k, pos) => {
        steps.push({ kind: 'close', pos });
        for (let r = 0; r < k; r++) steps.push({ kind: 'ack', pos });
      });
      return fc.tuple(fc.constant(recordsPer), fc.shuffledSubarray(steps, { minLength: steps.length, maxLength: steps.length }));
    });
    fc.assert(
      fc.property(run, ([recordsPer, steps]) => {
        const t = new CheckpointTracker('events');
        const positions = recordsPer.map((k, i) => {
          const p = t.open(String(1000 + i));
          for (let r = 0; r < k; r++) t.retain(p); // records handed to the sink while the event is processed
          return p;
        });
        const unacked = [...recordsPer];
        const open = recordsPer.map(() => true);
        for (const step of steps) {
          const p = positions[step.pos] as SourcePosition;
          if (step.kind === 'close') {
            t.close(p);
            open[step.pos] = false;
          } else {
            t.ack(p);
            unacked[step.pos] = (unacked[step.pos] as number) - 1;
          }
          // the oracle: highest P with every position <= P closed and fully acked
          let expected = -1;
          while (expected + 1 < recordsPer.length && !open[expected + 1] && unacked[expected + 1] === 0) expected++;
          expect(t.committed).toBe(expected >= 0 ? String(1000 + expected) : null);
          expect(t.committedPosition).toBe(expected + 1);
          // never passes an unacked record or an open event
          for (let i = 0; i <= expected; i++) expect(unacked[i] === 0 && !open[i]).toBe(true);
        }
        expect(t.committed).toBe(String(1000 + recordsPer.length - 1));
      }),
      { numRuns: 300 },
    );
  });
});

describe('withPositions', () => {
  it('opens a position per value and closes it once the synchronous pipeline is done', async () => {
    const t = new CheckpointTracker('events');
    const retained: SourcePosition[] = [];
    const out = await lastValueFrom(
      from(['1', '2', '3']).pipe(
        withPositions(t, (rv) => rv),
        map(({ value, position }) => {
          if (value !== '2') {
            t.retain(position); // a record derived from it went to a sink
            retained.push(position);
          }
          return value;
        }),
        toArray(),
      ),
    );
    expect(out).toEqual(['1', '2', '3']);
    expect(t.committed).toBeNull(); // 1 is still unacked
    t.ack(retained[0] as SourcePosition);
    expect(t.committed).toBe('2');
    t.ack(retained[1] as SourcePosition);
    expect(t.committed).toBe('3');
  });
});
