/**
 * The pipelines' state in checkpoints (issue #20): PipelineSet.snapshot (full and deltas) and a
 * PipelineSet built with `restore`, on the bundled default pipeline and the recorded cluster, and
 * across reloads (a changed pipeline starts empty, an unchanged one resumes).
 */
import fc from 'fast-check';
import { deserialize, serialize } from 'node:v8';
import { firstValueFrom, Subject, toArray } from 'rxjs';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { Alert } from '../../../src/model/alert.js';
import type { KubeEvent } from '../../../src/model/kube-event.js';
import type { OutRecord } from '../../../src/model/out-record.js';
import { PipelineSet } from '../../../src/pipeline/hot-swap.js';
import type { LoadedPipeline } from '../../../src/pipeline/load.js';
import { mergePipelinesSnapshots, parsePipelinesSnapshot, restorePlan, type PipelinesSnapshot } from '../../../src/pipeline/state.js';
import { EMPTY_OBJECT_LOOKUP, type ObjectLookup } from '../../../src/sources/object-lookup.js';
import { captureLogger, ev, MIN } from '../operators/helpers.js';
import { inline, load, PIPELINES, replayFixture, silent } from './helpers.js';

const head = (name: string) => `apiVersion: kubevents/v1\nkind: Pipeline\nmetadata: {name: ${name}}\n`;
const stored = (s: PipelinesSnapshot): PipelinesSnapshot => parsePipelinesSnapshot(deserialize(serialize(s)));
const keyOf = (o: OutRecord): string => `${o.origin?.pipeline}/${o.origin?.branch ?? ''}:${o.sink}:${o.idempotencyKey}`;

function start(pipelines: readonly LoadedPipeline[], lookup: ObjectLookup, restore: PipelinesSnapshot | null = null, logger = silent) {
  const set = new PipelineSet({ lookup, pipelines, logger, registry: new Registry(), restore });
  const input = new Subject<KubeEvent>();
  const out: OutRecord[] = [];
  set.run(input).subscribe((o) => out.push(o));
  return { set, input, out };
}

describe('PipelineSet: state snapshots and restore', () => {
  it('the default pipeline on the recorded cluster: restored at any cut from the chain, the same records after it (property)', async () => {
    const { events$, cache } = replayFixture();
    const events = await firstValueFrom(events$.pipe(toArray()));
    const pipelines = await load(`${PIPELINES}/default.yaml`);
    // what the uninterrupted run emits, to make sure the cuts fall among alerts and incidents
    const whole = start(pipelines, cache);
    for (const e of events) whole.input.next(e);
    expect(whole.out.filter((o) => o.kind === 'Alert').length).toBeGreaterThan(3);
    expect(whole.out.filter((o) => o.kind === 'Incident').length).toBeGreaterThan(0);

    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: events.length - 1 }), { minLength: 2, maxLength: 6 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 4 }),
        (cutList, fulls) => {
          const cuts = [...cutList].sort((a, b) => a - b);
          const a = start(pipelines, cache);
          const chain: PipelinesSnapshot[] = [];
          const outAt: number[] = [];
          let i = 0;
          cuts.forEach((cut, k) => {
            for (; i < cut; i++) a.input.next(events[i]!);
            chain.push(stored(a.set.snapshot(k === 0 || fulls[k % fulls.length]!)));
            outAt.push(a.out.length);
          });
          for (; i < events.length; i++) a.input.next(events[i]!);
          a.input.complete();
          cuts.forEach((cut, k) => {
            // restored from its own copy, as from the stored bytes (the restored stages own their state)
            const b = start(pipelines, cache, stored(mergePipelinesSnapshots(chain.slice(0, k + 1))));
            for (let j = cut; j < events.length; j++) b.input.next(events[j]!);
            b.input.complete();
            expect(b.out.map(keyOf), `restored at event ${cut}`).toEqual(a.out.slice(outAt[k]).map(keyOf));
          });
        },
      ),
      { numRuns: 15 },
    );
  }, 120_000);

  it('a pipeline changed between the snapshot and the restore starts empty; an unchanged one resumes', () => {
    const rate = (threshold: number) =>
      inline(`${head('r')}spec:\n  stages: [{rate: {threshold: ${threshold}, window: 10m, alertname: R}}]\n  sinks: [console]\n`, 'r.yaml')[0]!;
    const same = inline(`${head('s')}spec:\n  stages: [{rate: {threshold: 3, window: 10m, alertname: S}}]\n  sinks: [console]\n`, 's.yaml')[0]!;
    const x = (at: number) => ev({ at, reason: 'BackOff' });
    const a = start([rate(3), same], EMPTY_OBJECT_LOOKUP);
    a.input.next(x(0));
    a.input.next(x(MIN));
    const snapshot = stored(a.set.snapshot(true));
    expect(restorePlan(snapshot, [rate(4), same])).toEqual({ resumed: ['s'], changed: ['r'], added: [], dropped: [] });

    const { logger, lines } = captureLogger();
    const b = start([rate(4), same], EMPTY_OBJECT_LOOKUP, stored(snapshot), logger);
    b.input.next(x(2 * MIN));
    b.input.next(x(3 * MIN));
    // s resumed with 2 counted: the third fires; r (now 4) started empty: 2 counted, no alert
    expect(b.out.map((o) => `${o.origin?.pipeline}:${(o.value as Alert).status}:${(o.value as Alert).count}`)).toEqual(['s:firing:3']);
    b.input.next(x(4 * MIN));
    b.input.next(x(5 * MIN));
    expect(b.out.map((o) => `${o.origin?.pipeline}:${(o.value as Alert).status}:${(o.value as Alert).count}`)).toEqual(['s:firing:3', 'r:firing:4']);
    expect(lines.find((l) => String(l['msg']).startsWith('pipeline state restored'))).toMatchObject({ resumed: ['s'], changed: ['r'] });

    // the same pipeline, unchanged: resumes (the third event fires)
    const c = start([rate(3), same], EMPTY_OBJECT_LOOKUP, stored(snapshot));
    c.input.next(x(2 * MIN));
    expect(c.out.map((o) => `${o.origin?.pipeline}:${(o.value as Alert).status}:${(o.value as Alert).count}`)).toEqual(['r:firing:3', 's:firing:3']);
  });

  it('a chain across a reload: the changed pipeline is full in the next delta, the restore equals the running set', () => {
    const rate = (threshold: number) =>
      inline(`${head('r')}spec:\n  stages: [{rate: {threshold: ${threshold}, window: 10m, alertname: R}}]\n  sinks: [console]\n`, 'r.yaml')[0]!;
    const dedupe = inline(
      `${head('d')}spec:\n  stages: [{dedupe: {window: 5m}}, {rate: {threshold: 2, window: 30m, alertname: D}}]\n  sinks: [console]\n`,
      'd.yaml',
    )[0]!;
    const x = (at: number, name = 'web-1') => ev({ at, reason: 'BackOff', name });
    const a = start([rate(2), dedupe], EMPTY_OBJECT_LOOKUP);
    const chain: PipelinesSnapshot[] = [];
    a.input.next(x(0));
    chain.push(stored(a.set.snapshot(true)));
    a.input.next(x(MIN, 'web-2'));
    a.set.apply([rate(3), dedupe]); // r changed: the old one flushes, the new one starts empty
    a.input.next(x(2 * MIN));
    const delta = stored(a.set.snapshot(false));
    expect(delta.full).toBe(false);
    const stagesOf = (s: PipelinesSnapshot, name: string) => Object.values(s.pipelines.find((p) => p.name === name)!.stages);
    expect(stagesOf(delta, 'r').every((s) => s.full)).toBe(true);
    expect(stagesOf(delta, 'd').every((s) => !s.full)).toBe(true);
    chain.push(delta);
    const merged = mergePipelinesSnapshots(chain);
    expect(merged).toEqual(stored(a.set.snapshot(true)));
    const before = a.out.length;
    const b = start([rate(3), dedupe], EMPTY_OBJECT_LOOKUP, stored(merged));
    for (const e of [x(3 * MIN), x(4 * MIN), x(10 * MIN, 'web-2'), x(40 * MIN)]) {
      a.input.next(e);
      b.input.next(e);
    }
    expect(b.out.map(keyOf)).toEqual(a.out.slice(before).map(keyOf));
    expect(b.out.length).toBeGreaterThan(0);
  });

  it('refuses a delta as the state to restore, and a broken chain', () => {
    const p = inline(`${head('p')}spec:\n  stages: [{dedupe: {window: 5m}}]\n  sinks: [console]\n`)[0]!;
    const a = start([p], EMPTY_OBJECT_LOOKUP);
    a.input.next(ev({ at: 0 }));
    a.set.snapshot(true);
    a.input.next(ev({ at: MIN }));
    const delta = stored(a.set.snapshot(false));
    expect(() => new PipelineSet({ lookup: EMPTY_OBJECT_LOOKUP, pipelines: [p], restore: delta })).toThrow(/full snapshot/);
    expect(() => mergePipelinesSnapshots([delta])).toThrow(/does not start with a full snapshot/);
    expect(() => parsePipelinesSnapshot({ version: 2, full: true, pipelines: [] })).toThrow(/version 2/);
  });
});
