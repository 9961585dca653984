import { describe, expect, it } from 'vitest';
import { normalizeEvent } from '../../../src/model/normalize.js';
import { buildWorld, EventStream } from '../../../bench/generator.js';
import { parseArgs, percentile } from '../../../bench/lib.js';
import { summarizeProfile, type CpuProfile } from '../../../bench/profile-summary.js';
import { benchProcessing, warmCache } from '../../../bench/processing.js';
import { Subject } from 'rxjs';
import type { WatchEvent } from '../../../src/model/watch-event.js';
import type { KubeEvent } from '../../../src/model/kube-event.js';

describe('bench generator', () => {
  const world = buildWorld({ objects: 500, seed: 7 });

  it('builds owners before what they own, with the requested number of objects', () => {
    expect(world.objects).toHaveLength(500);
    const kinds = world.objects.map((o) => o.kind);
    expect(kinds.indexOf('Pod')).toBeGreaterThan(kinds.lastIndexOf('ReplicaSet'));
    expect(world.pods.length).toBeGreaterThan(400);
  });

  it('is deterministic: the same seed gives the same stream', () => {
    const a = [...new EventStream(world, { events: 2000, seed: 3 })];
    const b = [...new EventStream(world, { events: 2000, seed: 3 })];
    expect(JSON.stringify(a)).toEqual(JSON.stringify(b));
    const c = [...new EventStream(world, { events: 2000, seed: 4 })];
    expect(JSON.stringify(c)).not.toEqual(JSON.stringify(a));
  });

  it('emits Events the project normalizes, repeats as count bumps, and TTL deletions', () => {
    const stream = new EventStream(world, { events: 30_000, seed: 1, ratePerSecond: 5 });
    const lastCount = new Map<string, number>();
    let modified = 0;
    for (const change of stream) {
      expect(change.resourceVersion).toMatch(/^\d+$/);
      const e = normalizeEvent(change.object, change.type, { cluster: 't' });
      if (change.type === 'MODIFIED') {
        modified++;
        expect(e.count).toBe((lastCount.get(e.uid) ?? 0) + 1);
      }
      if (change.type === 'ADDED') expect(e.count).toBe(1);
      lastCount.set(e.uid, e.count);
    }
    expect(modified).toBeGreaterThan(10_000);
    // 30,000 events at 5/s span ~100 minutes: Events not updated for an hour are deleted
    expect(stream.counts.DELETED).toBeGreaterThan(0);
    expect(stream.counts.ADDED + stream.counts.MODIFIED + stream.counts.DELETED).toBe(30_000);
  }, 30_000); // 30,000 generated changes: well under a second alone, several on a loaded machine

  it('runs through the benchmark processing with enrichment from the warm cache', () => {
    const cache = warmCache(buildWorld({ objects: 500, seed: 7 }).objects);
    const input = new Subject<WatchEvent<unknown>>();
    const p = benchProcessing(input, cache);
    const out: KubeEvent[] = [];
    p.events$.subscribe((e) => out.push(e));
    p.alerts$.subscribe(() => undefined);
    for (const change of new EventStream(world, { events: 3000, seed: 2 })) input.next(change);
    input.complete();
    expect(p.counters.deadLetters).toBe(0);
    expect(out.length).toBe(p.counters.occurrences);
    const enriched = out.filter((e) => e.enrichment !== null).length;
    expect(enriched / out.length).toBeGreaterThan(0.95);
    expect(out.some((e) => e.enrichment?.workload?.kind === 'Deployment')).toBe(true);
  });
});

describe('bench lib', () => {
  it('parses --name value, --name=value and flags', () => {
    const a = parseArgs(['--events', '1000', '--only=kafka', '--save']);
    expect(a.get('events')).toBe('1000');
    expect(a.get('only')).toBe('kafka');
    expect(a.get('save')).toBe('true');
  });

  it('takes nearest-rank percentiles', () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(xs, 50)).toBe(50);
    expect(percentile(xs, 99)).toBe(99);
    expect(percentile(xs, 100)).toBe(100);
    expect(percentile([], 50)).toBeNaN();
  });
});

describe('profile summary', () => {
  it('sums self time per function and inclusive time once per path', () => {
    const frame = (functionName: string) => ({ functionName, url: '', lineNumber: 0, columnNumber: 0, scriptId: '0' });
    const profile: CpuProfile = {
      nodes: [
        { id: 1, callFrame: frame('(root)'), children: [2, 4] },
        { id: 2, callFrame: frame('outer'), children: [3] },
        { id: 3, callFrame: frame('inner'), children: [] },
        { id: 4, callFrame: frame('(garbage collector)'), children: [] },
      ],
      startTime: 0,
      endTime: 7000,
      // a sample lasts until the next one (the last until endTime): inner 3 ms, outer 1 ms, GC 3 ms
      samples: [3, 3, 2, 4, 3, 4, 4],
      timeDeltas: [0, 1000, 1000, 1000, 1000, 1000, 1000],
    };
    const s = summarizeProfile(profile, 10);
    const byName = Object.fromEntries(s.top.map((r) => [r.function, r]));
    expect(byName['inner']!.selfMs).toBe(3);
    expect(byName['outer']!.selfMs).toBe(1);
    expect(byName['outer']!.totalMs).toBe(4);
    expect(byName['(garbage collector)']!.selfMs).toBe(3);
    expect(s.areas.find((a) => a.area === 'GC')?.selfMs).toBe(3);
  });
});
