/**
 * The caches hold projections (src/sources/projection.ts); enrichment from them must be exactly the
 * enrichment from the whole objects: over the bundled recording, over the benchmark generator's
 * cluster, and over arbitrary Pod shapes (fast-check).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildWorld, EventStream } from '../../../bench/generator.js';
import { packageRoot } from '../../../src/core/paths.js';
import type { ChangeType, KubeEvent } from '../../../src/model/kube-event.js';
import { normalizeEvent } from '../../../src/model/normalize.js';
import type { WatchEvent } from '../../../src/model/watch-event.js';
import { enrichmentOf } from '../../../src/operators/enrich.js';
import { ObjectCache } from '../../../src/sources/object-cache.js';
import { createStaticObjectLookup, type KubeObject } from '../../../src/sources/object-lookup.js';
import { isProjection, projectForEnrichment } from '../../../src/sources/projection.js';

const LABEL_MODES = [undefined, '*' as const, ['app', 'pod-template-hash', 'missing']];

/** A whole-object cache and a projecting one, fed the same changes. */
function twoCaches(): { whole: ObjectCache; projected: ObjectCache; apply: (e: WatchEvent<unknown>, kind?: string) => void } {
  const whole = new ObjectCache({ projection: false, prune: false });
  const projected = new ObjectCache();
  return {
    whole,
    projected,
    apply: (e, kind) => {
      whole.apply(e, kind);
      projected.apply(e, kind);
    },
  };
}

function expectSameEnrichment(event: KubeEvent, whole: ObjectCache, projected: ObjectCache): void {
  for (const labels of LABEL_MODES) {
    const options = labels === undefined ? {} : { labels };
    expect(enrichmentOf(event, projected, options)).toEqual(enrichmentOf(event, whole, options));
  }
}

describe('object projections for enrichment', () => {
  it('the bundled recording: every Event enriched alike from projections and whole objects', () => {
    const text = readFileSync(join(packageRoot(), 'recordings', 'recorded-cluster.jsonl'), 'utf8');
    const { whole, projected, apply } = twoCaches();
    let events = 0;
    let enriched = 0;
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      const change = JSON.parse(line) as { type: ChangeType; object: KubeObject };
      if (change.object.kind !== 'Event') {
        apply({ type: change.type, object: change.object, resourceVersion: change.object.metadata.resourceVersion ?? '' });
        continue;
      }
      const event = normalizeEvent(change.object, change.type, { cluster: 'c' });
      expectSameEnrichment(event, whole, projected);
      events++;
      if (enrichmentOf(event, whole) !== null) enriched++;
    }
    expect(events).toBe(674);
    expect(enriched).toBeGreaterThan(500);
    expect(projected.size()).toBe(whole.size());
  });

  it("the benchmark generator's cluster: 8,000 events alike", { timeout: 30_000 }, () => {
    const world = buildWorld({ objects: 2_000, seed: 11 });
    const { whole, projected, apply } = twoCaches();
    for (const { kind, object } of world.objects) apply({ type: 'ADDED', object, resourceVersion: '1', fromList: true }, kind);
    const stream = new EventStream(world, { events: 8_000, seed: 11 });
    let enriched = 0;
    for (let i = 0; i < 8_000; i++) {
      const change = stream.next()!;
      if (change.type === 'DELETED') continue;
      const event = normalizeEvent(change.object, change.type, { cluster: 'c' });
      expectSameEnrichment(event, whole, projected);
      if (enrichmentOf(event, whole) !== null) enriched++;
    }
    expect(enriched).toBeGreaterThan(6_000);
  });

  it('keeps only what enrichment reads, and projects once', () => {
    const world = buildWorld({ objects: 200, seed: 3 });
    const pod = world.objects.find((o) => o.kind === 'Pod')!.object;
    const node = world.objects.find((o) => o.kind === 'Node')!.object;
    const p = projectForEnrichment(pod, 'Pod');
    expect(Object.keys(p).sort()).toEqual(['kind', 'metadata', 'spec', 'status']);
    expect(Object.keys(p.metadata).sort()).toEqual(['labels', 'name', 'namespace', 'ownerReferences', 'resourceVersion', 'uid']);
    expect(Object.keys(p.spec!)).toEqual(['nodeName']);
    expect(JSON.stringify(p).length).toBeLessThan(JSON.stringify(pod).length / 4);
    const n = projectForEnrichment(node, 'Node');
    expect(n.status).toBeUndefined();
    expect(JSON.stringify(n).length).toBeLessThan(JSON.stringify(node).length / 10);
    expect(isProjection(p)).toBe(true);
    expect(projectForEnrichment(p, 'Pod')).toBe(p);
  });

  const str = fc.oneof(fc.string({ maxLength: 6 }), fc.constant(''), fc.constant(undefined), fc.constant(null), fc.integer());
  const terminated = fc.record(
    {
      reason: str,
      exitCode: fc.oneof(fc.integer({ min: -1, max: 255 }), fc.constant(1.5), str),
      finishedAt: fc.oneof(fc.constant('2026-11-01T00:00:00Z'), str),
    },
    { requiredKeys: [] },
  );
  const state = fc.oneof(
    fc.record(
      {
        waiting: fc.oneof(fc.record({ reason: str, message: str }, { requiredKeys: [] }), str),
        terminated: fc.oneof(terminated, str),
        running: fc.constant({}),
      },
      { requiredKeys: [] },
    ),
    str,
  );
  const containerStatus = fc.oneof(
    fc.record(
      { name: str, ready: fc.oneof(fc.boolean(), str), restartCount: fc.oneof(fc.nat(), str), state, lastState: state, image: fc.string() },
      { requiredKeys: [] },
    ),
    str,
  );
  const owner = fc.oneof(
    fc.record(
      {
        kind: fc.constantFrom('ReplicaSet', 'Job', 'Node'),
        name: fc.constantFrom('rs', 'job', 'n'),
        uid: fc.constantFrom('rs-1', 'job-1', '', 'x'),
        controller: fc.oneof(fc.boolean(), fc.constant(undefined)),
      },
      { requiredKeys: ['kind', 'name'] },
    ),
    str,
  );
  const podArb = fc.record({
    labels: fc.oneof(fc.dictionary(fc.constantFrom('app', 'team', 'x', 'tier'), fc.oneof(fc.string({ maxLength: 4 }), fc.integer())), str),
    ownerReferences: fc.oneof(fc.array(owner, { maxLength: 3 }), str),
    nodeName: str,
    phase: str,
    init: fc.oneof(fc.array(containerStatus, { maxLength: 3 }), str),
    app: fc.oneof(fc.array(containerStatus, { maxLength: 3 }), str),
  });

  it('arbitrary Pod shapes (and their owners) enrich alike', () => {
    const owners: KubeObject[] = [
      {
        kind: 'ReplicaSet',
        metadata: { name: 'rs', namespace: 'ns', uid: 'rs-1', ownerReferences: [{ kind: 'Deployment', name: 'd', uid: 'd-1', controller: true }] },
      },
      { kind: 'Deployment', metadata: { name: 'd', namespace: 'ns', uid: 'd-1', labels: { app: 'a' } } },
      { kind: 'Job', metadata: { name: 'job', namespace: 'ns', uid: 'job-1' } },
      { kind: 'Node', metadata: { name: 'n', uid: 'n-1' } },
    ];
    fc.assert(
      fc.property(podArb, (a) => {
        const pod = {
          kind: 'Pod',
          metadata: { name: 'p', namespace: 'ns', uid: 'p-1', resourceVersion: '5', labels: a.labels, ownerReferences: a.ownerReferences },
          spec: { nodeName: a.nodeName, containers: [{ name: 'c', image: 'i' }] },
          status: { phase: a.phase, initContainerStatuses: a.init, containerStatuses: a.app, conditions: [] },
        } as unknown as KubeObject;
        const whole = createStaticObjectLookup([...owners, pod]);
        const projected = createStaticObjectLookup([...owners.map((o) => projectForEnrichment(o, o.kind!)), projectForEnrichment(pod, 'Pod')]);
        const event = { regarding: { kind: 'Pod', namespace: 'ns', name: 'p', uid: 'p-1' }, namespace: 'ns' } as KubeEvent;
        for (const labels of LABEL_MODES) {
          const options = labels === undefined ? {} : { labels };
          expect(enrichmentOf(event, projected, options)).toEqual(enrichmentOf(event, whole, options));
        }
      }),
      { numRuns: 500 },
    );
  });
});
