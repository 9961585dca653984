import fc from 'fast-check';
import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { Enrichment, KubeEvent } from '../../../src/model/kube-event.js';
import { enrich, enrichmentOf } from '../../../src/operators/enrich.js';
import { ObjectCache } from '../../../src/sources/object-cache.js';
import { createStaticObjectLookup, resolveOwnerChain, resolveOwnerSteps, type KubeObject, type ObjectLookup } from '../../../src/sources/object-lookup.js';
import { ev } from './helpers.js';

const deployment = (name: string, uid: string, rv = '1', labels: Record<string, string> = {}): KubeObject => ({
  kind: 'Deployment',
  metadata: { name, namespace: 'shop', uid, resourceVersion: rv, labels },
});
const replicaSet = (ownerName: string, ownerUid: string | null, rv = '1'): KubeObject => ({
  kind: 'ReplicaSet',
  metadata: {
    name: 'web-5d8f',
    namespace: 'shop',
    uid: 'rs-web',
    resourceVersion: rv,
    ownerReferences: ownerUid === null ? [] : [{ apiVersion: 'apps/v1', kind: 'Deployment', name: ownerName, uid: ownerUid, controller: true }],
  },
});
const pod = (rv: string, restartCount: number, waiting: string | null = 'CrashLoopBackOff'): KubeObject => ({
  kind: 'Pod',
  metadata: {
    name: 'web-5d8f-x1',
    namespace: 'shop',
    uid: 'p-1',
    resourceVersion: rv,
    labels: { app: 'web', team: 'payments' },
    ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-5d8f', uid: 'rs-web', controller: true }],
  },
  spec: { nodeName: 'n1' },
  status: {
    phase: 'Running',
    containerStatuses: [{ name: 'app', ready: waiting === null, restartCount, state: waiting ? { waiting: { reason: waiting } } : { running: {} } }],
  },
});

const podEvent = (): KubeEvent => ev({ at: 0, reason: 'BackOff', name: 'web-5d8f-x1', uid: 'p-1', namespace: 'shop' });
const rsEvent = (): KubeEvent => ev({ at: 0, kind: 'ReplicaSet', reason: 'FailedCreate', name: 'web-5d8f', uid: 'rs-web', namespace: 'shop' });

/** Runs `enrich(lookup)` and gives a function pushing one event through it, returning its enrichment. */
function enricher(lookup: ObjectLookup, options: Parameters<typeof enrich>[1] = {}): (e: KubeEvent) => Enrichment | null {
  const input = new Subject<KubeEvent>();
  let last: KubeEvent | undefined;
  input.pipe(enrich(lookup, options)).subscribe((e) => (last = e));
  return (e) => {
    last = undefined;
    input.next(e);
    const out = last as KubeEvent | undefined;
    if (!out) throw new Error('no output');
    return out.enrichment;
  };
}

function cacheWith(...objects: KubeObject[]): ObjectCache {
  const cache = new ObjectCache({ prune: false });
  for (const o of objects) cache.apply({ type: 'ADDED', object: o, resourceVersion: o.metadata.resourceVersion ?? '1' });
  return cache;
}

describe('enrich memo (per cached object version)', () => {
  it('the object cache replaces an object on update (a new object identity), never mutates the held one', () => {
    const cache = cacheWith(pod('1', 1));
    const before = cache.getByUid('p-1')!;
    const snapshot = structuredClone(before);
    cache.apply({ type: 'MODIFIED', object: pod('2', 2), resourceVersion: '2' });
    expect(cache.getByUid('p-1')).not.toBe(before);
    expect(before).toEqual(snapshot);
  });

  it('a hit gives the same output as no memo, and reuses the enrichment', () => {
    const cache = cacheWith(deployment('web', 'd-web'), replicaSet('web', 'd-web'), pod('1', 3));
    const enrichOne = enricher(cache);
    const first = enrichOne(podEvent());
    const second = enrichOne(podEvent());
    expect(first).toEqual(enrichmentOf(podEvent(), cache));
    expect(second).toEqual(enrichmentOf(podEvent(), cache));
    expect(second).toBe(first); // a memo hit
    expect(first).toMatchObject({ workload: { kind: 'Deployment', name: 'web', uid: 'd-web' }, containers: [{ name: 'app', restartCount: 3 }] });
    // another object with no owners, memoized on its own
    expect(enrichOne(rsEvent())).toEqual(enrichmentOf(rsEvent(), cache));
    expect(enrichOne(rsEvent())).toBe(enrichOne(rsEvent()));
  });

  it('an updated Pod (a new object) gives the new output', () => {
    const cache = cacheWith(deployment('web', 'd-web'), replicaSet('web', 'd-web'), pod('1', 3));
    const enrichOne = enricher(cache);
    const before = enrichOne(podEvent());
    cache.apply({ type: 'MODIFIED', object: pod('2', 4, null), resourceVersion: '2' });
    const after = enrichOne(podEvent());
    expect(after).not.toEqual(before);
    expect(after).toEqual(enrichmentOf(podEvent(), cache));
    expect(after?.containers).toEqual([expect.objectContaining({ name: 'app', ready: true, restartCount: 4, waitingReason: null })]);
  });

  it('an updated owner changes the workload: ReplicaSet replaced (new owner), Deployment added, removed, recreated', () => {
    const cache = cacheWith(deployment('web', 'd-web'), deployment('web-v2', 'd-web-v2'), replicaSet('web', 'd-web'), pod('1', 3));
    const enrichOne = enricher(cache);
    expect(enrichOne(podEvent())?.workload).toEqual({ kind: 'Deployment', name: 'web', uid: 'd-web' });
    // the ReplicaSet is replaced by a version owned by another Deployment: the Pod is unchanged
    cache.apply({ type: 'MODIFIED', object: replicaSet('web-v2', 'd-web-v2', '2'), resourceVersion: '2' });
    expect(enrichOne(podEvent())?.workload).toEqual({ kind: 'Deployment', name: 'web-v2', uid: 'd-web-v2' });
    expect(enrichOne(podEvent())).toEqual(enrichmentOf(podEvent(), cache));
    // the ReplicaSet loses its owner: it becomes the workload
    cache.apply({ type: 'MODIFIED', object: replicaSet('', null, '3'), resourceVersion: '3' });
    expect(enrichOne(podEvent())?.ownerChain).toEqual([{ kind: 'ReplicaSet', name: 'web-5d8f', uid: 'rs-web' }]);
    expect(enrichOne(podEvent())?.workload).toEqual({ kind: 'ReplicaSet', name: 'web-5d8f', uid: 'rs-web' });
    // the ReplicaSet goes away: the chain ends at its reference
    cache.apply({ type: 'DELETED', object: replicaSet('', null, '4'), resourceVersion: '4' });
    expect(enrichOne(podEvent())).toEqual(enrichmentOf(podEvent(), cache));
    // it comes back owned by 'web', which is not cached at first, then appears
    const noWeb = cacheWith(replicaSet('web', 'd-web'), pod('1', 3));
    const enrichNoWeb = enricher(noWeb);
    expect(enrichNoWeb(podEvent())?.ownerChain).toEqual([
      { kind: 'ReplicaSet', name: 'web-5d8f', uid: 'rs-web' },
      { kind: 'Deployment', name: 'web', uid: 'd-web' },
    ]);
    noWeb.apply({ type: 'ADDED', object: deployment('web', 'd-web', '5', { app: 'x' }), resourceVersion: '5' });
    expect(enrichNoWeb(podEvent())).toEqual(enrichmentOf(podEvent(), noWeb));
    // a replaced owner object with the same identity fields still gives the same output
    noWeb.apply({ type: 'MODIFIED', object: deployment('web', 'd-web', '6', { app: 'y' }), resourceVersion: '6' });
    expect(enrichNoWeb(podEvent())).toEqual(enrichmentOf(podEvent(), noWeb));
  });

  it('falls back to the event kind for objects without one, and keeps label options per operator', () => {
    const bare: KubeObject = {
      metadata: { name: 'web-5d8f-x1', namespace: 'shop', uid: 'p-1', labels: { team: 't', app: 'a' } },
      spec: { nodeName: 'n9' },
      status: { phase: 'Pending' },
    };
    const lookup: ObjectLookup = {
      get: () => undefined,
      getByUid: (uid) => (uid === 'p-1' ? bare : undefined),
      ownerChain: (o) => resolveOwnerChain(o, lookup),
      isSynced: () => true,
    };
    const enrichOne = enricher(lookup, { labels: ['team'] });
    const asPod = enrichOne(podEvent());
    expect(asPod).toEqual(enrichmentOf(podEvent(), lookup, { labels: ['team'] }));
    expect(asPod).toMatchObject({ node: 'n9', podPhase: 'Pending', labels: { team: 't' } });
    const asOther = { ...podEvent(), regarding: { ...podEvent().regarding, kind: null } };
    expect(enrichOne(asOther)).toEqual(enrichmentOf(asOther, lookup, { labels: ['team'] }));
    expect(enrichOne(asOther)).toMatchObject({ node: null, podPhase: null });
  });

  it('does not memoize a lookup whose ownerChain() resolves otherwise', () => {
    const p = pod('1', 1);
    let chain = [{ kind: 'Custom', name: 'a', uid: 'c-a' }];
    const lookup: ObjectLookup = { get: () => undefined, getByUid: (uid) => (uid === 'p-1' ? p : undefined), ownerChain: () => chain, isSynced: () => true };
    const enrichOne = enricher(lookup);
    expect(enrichOne(podEvent())?.workload).toEqual({ kind: 'Custom', name: 'a', uid: 'c-a' });
    chain = [{ kind: 'Custom', name: 'b', uid: 'c-b' }];
    expect(enrichOne(podEvent())?.workload).toEqual({ kind: 'Custom', name: 'b', uid: 'c-b' });
  });

  it('resolveOwnerSteps gives resolveOwnerChain\u2019s references and the owners they resolved to', () => {
    const d = deployment('web', 'd-web');
    const rs = replicaSet('web', 'd-web');
    const lookup = createStaticObjectLookup([d, rs, pod('1', 1)]);
    const steps = resolveOwnerSteps(pod('1', 1), lookup);
    expect(steps.map((s) => s.ref)).toEqual(resolveOwnerChain(pod('1', 1), lookup));
    expect(steps.map((s) => s.owner)).toEqual([rs, d]);
  });

  it('equals enrichmentOf after any sequence of cache changes (property)', () => {
    const deployments = ['web', 'api'];
    const change = fc.oneof(
      fc.record({ t: fc.constant('pod' as const), restarts: fc.nat(3), waiting: fc.boolean() }),
      fc.record({ t: fc.constant('rs' as const), owner: fc.constantFrom<string | null>('web', 'api', 'ghost', null) }),
      fc.record({ t: fc.constant('deployment' as const), name: fc.constantFrom(...deployments), del: fc.boolean(), uidGen: fc.nat(1) }),
      fc.record({ t: fc.constant('rsDelete' as const) }),
      fc.record({ t: fc.constant('event' as const), rs: fc.boolean() }),
    );
    fc.assert(
      fc.property(fc.array(change, { maxLength: 40 }), (changes) => {
        const cache = cacheWith(deployment('web', 'd-web'), deployment('api', 'd-api'), replicaSet('web', 'd-web'), pod('1', 0));
        const enrichOne = enricher(cache);
        let rv = 10;
        for (const c of changes) {
          const v = String(++rv);
          if (c.t === 'pod') cache.apply({ type: 'MODIFIED', object: pod(v, c.restarts, c.waiting ? 'CrashLoopBackOff' : null), resourceVersion: v });
          else if (c.t === 'rs')
            cache.apply({ type: 'MODIFIED', object: replicaSet(c.owner ?? '', c.owner === null ? null : `d-${c.owner}`, v), resourceVersion: v });
          else if (c.t === 'rsDelete') cache.apply({ type: 'DELETED', object: replicaSet('', null, v), resourceVersion: v });
          else if (c.t === 'deployment') {
            const uid = c.uidGen === 0 ? `d-${c.name}` : `d-${c.name}-recreated`;
            if (c.del) cache.apply({ type: 'DELETED', object: deployment(c.name, uid, v), resourceVersion: v });
            else cache.apply({ type: 'MODIFIED', object: deployment(c.name, uid, v, { app: v }), resourceVersion: v });
          } else {
            const e = c.rs ? rsEvent() : podEvent();
            expect(enrichOne(e)).toEqual(enrichmentOf(e, cache));
          }
        }
        expect(enrichOne(podEvent())).toEqual(enrichmentOf(podEvent(), cache));
        expect(enrichOne(rsEvent())).toEqual(enrichmentOf(rsEvent(), cache));
      }),
      { numRuns: 300 },
    );
  });
});
