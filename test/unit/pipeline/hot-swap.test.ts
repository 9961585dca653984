import fc from 'fast-check';
import { Subject } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import type { Alert } from '../../../src/model/alert.js';
import type { KubeEvent } from '../../../src/model/kube-event.js';
import type { OutRecord } from '../../../src/model/out-record.js';
import { loadPipelineTexts, type LoadResult } from '../../../src/pipeline/load.js';
import { PipelineSet } from '../../../src/pipeline/hot-swap.js';
import { EMPTY_OBJECT_LOOKUP } from '../../../src/sources/object-lookup.js';
import { captureLogger, ev, MIN, SEC } from '../operators/helpers.js';
import { inline, silent } from './helpers.js';

const head = (name: string) => `apiVersion: kubevents/v1\nkind: Pipeline\nmetadata: {name: ${name}}\n`;
/** A pass-through pipeline whose version shows in the message. */
const tagged = (name: string, version: string) =>
  inline(`${head(name)}spec:\n  stages: [{map: {set: {message: "${version}"}}}]\n  sinks: [console]\n`, `${name}.yaml`)[0]!;

function collect(runtime: PipelineSet, source: Subject<KubeEvent>) {
  const out: OutRecord[] = [];
  let completed = false;
  const subscription = runtime.run(source).subscribe({ next: (o) => out.push(o), complete: () => (completed = true) });
  return { out, subscription, done: () => completed };
}

describe('PipelineSet: reload', () => {
  it('swaps a changed pipeline at an event boundary: no event lost or processed twice (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), fc.array(fc.integer({ min: 0, max: 60 }), { maxLength: 8 }), (n, reloadPoints) => {
        const source = new Subject<KubeEvent>();
        const runtime = new PipelineSet({ lookup: EMPTY_OBJECT_LOOKUP, pipelines: [tagged('p', 'v0'), tagged('q', 'q')], logger: silent, replay: true });
        const { out, done } = collect(runtime, source);
        const events = Array.from({ length: n }, (_, i) => ev({ at: i * SEC, eventUid: `e${i}` }));
        let version = 0;
        const versionAt: string[] = [];
        events.forEach((e, i) => {
          for (const point of reloadPoints) if (point === i) runtime.apply([tagged('p', `v${++version}`), tagged('q', 'q')]);
          versionAt.push(`v${version}`);
          source.next(e);
        });
        source.complete();
        expect(done()).toBe(true);
        const p = out.filter((o) => o.origin?.pipeline === 'p').map((o) => o.value as KubeEvent);
        const q = out.filter((o) => o.origin?.pipeline === 'q').map((o) => o.value as KubeEvent);
        // every event exactly once per pipeline, in order, by the version in force when it arrived
        expect(p.map((e) => e.uid)).toEqual(events.map((e) => e.uid));
        expect(p.map((e) => e.message)).toEqual(versionAt);
        expect(q.map((e) => e.uid)).toEqual(events.map((e) => e.uid));
      }),
    );
  });

  it('a reload requested while an event is being dispatched waits for the event to reach every pipeline', () => {
    const source = new Subject<KubeEvent>();
    const runtime = new PipelineSet({ lookup: EMPTY_OBJECT_LOOKUP, pipelines: [tagged('a', 'a0'), tagged('b', 'b0')], logger: silent });
    const out: string[] = [];
    runtime.run(source).subscribe((o) => {
      out.push(`${o.origin?.pipeline}:${(o.value as KubeEvent).message}:${(o.value as KubeEvent).uid}`);
      // reacting to pipeline a's output of the first event, synchronously, before b got that event
      if (out.length === 1) runtime.apply([tagged('a', 'a1'), tagged('b', 'b1')]);
    });
    source.next(ev({ at: 0, eventUid: 'x' }));
    source.next(ev({ at: 1, eventUid: 'y' }));
    expect(out).toEqual(['a:a0:x', 'b:b0:x', 'a:a1:y', 'b:b1:y']);
  });

  it('keeps an unchanged pipeline with its state; a changed one flushes and starts afresh', () => {
    const dedupe = inline(`${head('d')}spec:\n  stages: [{dedupe: {window: 5m}}]\n  sinks: [console]\n`, 'd.yaml')[0]!;
    const rate = (threshold: number) =>
      inline(`${head('r')}spec:\n  stages: [{rate: {threshold: ${threshold}, window: 10m}}]\n  sinks: [console]\n`, 'r.yaml')[0]!;
    const source = new Subject<KubeEvent>();
    const runtime = new PipelineSet({ lookup: EMPTY_OBJECT_LOOKUP, pipelines: [dedupe, rate(2)], logger: silent, replay: true });
    const { out } = collect(runtime, source);
    const x = (at: number) => ev({ at, reason: 'BackOff' });
    source.next(x(0));
    source.next(x(MIN)); // rate fires (2 in 10m); dedupe suppresses
    const before = out.length;
    const result = runtime.apply([inline(`${head('d')}spec:\n  stages: [{dedupe: {window: 5m}}]\n  sinks: [console]\n`, 'moved.yaml')[0]!, rate(3)]);
    expect(result).toEqual({ added: [], removed: [], changed: ['r'], unchanged: ['d'] });
    // the old rate graph completed at the swap: its firing alert resolved (as at the end of a replay)
    const flushed = out.slice(before).map((o) => `${o.origin?.pipeline}:${(o.value as Alert).status}`);
    expect(flushed).toEqual(['r:resolved']);
    source.next(x(2 * MIN)); // dedupe still suppresses (same state); new rate counts 1
    source.next(x(3 * MIN));
    source.next(x(4 * MIN)); // new rate: 3 in 10m -> fires
    source.complete();
    const summary = out.map((o) =>
      o.kind === 'Alert' ? `${o.origin?.pipeline}:${(o.value as Alert).status}:${(o.value as Alert).count}` : `${o.origin?.pipeline}:event`,
    );
    expect(summary).toEqual(['d:event', 'r:firing:2', 'r:resolved:2', 'r:firing:3', 'r:resolved:3']);
  });

  it('adds and removes pipelines', () => {
    const source = new Subject<KubeEvent>();
    const runtime = new PipelineSet({ lookup: EMPTY_OBJECT_LOOKUP, pipelines: [tagged('a', 'a')], logger: silent });
    const { out, done } = collect(runtime, source);
    source.next(ev({ at: 0, eventUid: '1' }));
    expect(runtime.apply([tagged('b', 'b')])).toEqual({ added: ['b'], removed: ['a'], changed: [], unchanged: [] });
    source.next(ev({ at: 1, eventUid: '2' }));
    source.complete();
    expect(out.map((o) => `${o.origin?.pipeline}:${(o.value as KubeEvent).uid}`)).toEqual(['a:1', 'b:2']);
    expect(done()).toBe(true);
  });

  it('refuses an invalid reload with file:line errors and keeps the running pipelines', async () => {
    const { logger, lines } = captureLogger();
    let texts: Record<string, string> = { 'p.yaml': `${head('p')}spec:\n  sinks: [console]\n` };
    const load = async (): Promise<LoadResult> => loadPipelineTexts(texts);
    const runtime = new PipelineSet({ lookup: EMPTY_OBJECT_LOOKUP, pipelines: (await load()).pipelines, load, logger });
    const source = new Subject<KubeEvent>();
    const { out } = collect(runtime, source);
    texts = { 'p.yaml': `${head('p')}spec:\n  stages: [dedup]\n  sinks: [console]\n` };
    const refused = await runtime.reload();
    expect(refused.applied).toBe(false);
    expect(lines.map((l) => l['msg'])).toContain('p.yaml:5:12: error: unknown stage "dedup" (did you mean "dedupe"?)');
    source.next(ev({ at: 0 }));
    expect(out).toHaveLength(1);
    texts = { 'p.yaml': `${head('p')}spec:\n  stages: [{filter: {reason: Nope}}]\n  sinks: [console]\n` };
    const applied = await runtime.reload();
    expect(applied).toMatchObject({ applied: true, changed: ['p'] });
    source.next(ev({ at: 1 }));
    expect(out).toHaveLength(1);
  });

  it('serializes reloads and allows one run at a time', async () => {
    let calls = 0;
    const texts = { 'p.yaml': `${head('p')}spec:\n  sinks: [console]\n` };
    const runtime = new PipelineSet({
      lookup: EMPTY_OBJECT_LOOKUP,
      pipelines: loadPipelineTexts(texts).pipelines,
      load: async () => {
        const n = ++calls;
        await new Promise((r) => setTimeout(r, 5));
        expect(calls).toBe(n); // no overlap
        return loadPipelineTexts(texts);
      },
      logger: silent,
    });
    const results = await Promise.all([runtime.reload(), runtime.reload(), runtime.reload()]);
    expect(results.map((r) => r.applied)).toEqual([true, true, true]);
    const source = new Subject<KubeEvent>();
    runtime.run(source).subscribe();
    let error: unknown;
    runtime.run(source).subscribe({ error: (e: unknown) => (error = e) });
    expect(String(error)).toMatch(/already running/);
  });

  it('keeps the source subscribed across reloads (marbles)', () => {
    const scheduler = new TestScheduler((a, b) => expect(a).toEqual(b));
    scheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
      const e = { a: ev({ at: 0, eventUid: 'a' }), b: ev({ at: SEC, eventUid: 'b' }), c: ev({ at: 2 * SEC, eventUid: 'c' }) };
      const source = hot('-a--b--c--|', e);
      const runtime = new PipelineSet({ lookup: EMPTY_OBJECT_LOOKUP, pipelines: [tagged('p', 'v0')], logger: silent });
      scheduler.schedule(() => runtime.apply([tagged('p', 'v1')]), 3);
      scheduler.schedule(() => runtime.apply([tagged('p', 'v2')]), 6);
      const out$ = runtime.run(source);
      expectObservable(out$).toBe('-x--y--z--|', {
        x: expect.objectContaining({ value: expect.objectContaining({ uid: 'a', message: 'v0' }) }),
        y: expect.objectContaining({ value: expect.objectContaining({ uid: 'b', message: 'v1' }) }),
        z: expect.objectContaining({ value: expect.objectContaining({ uid: 'c', message: 'v2' }) }),
      });
      expectSubscriptions(source.subscriptions).toBe('^---------!');
    });
  });
});
