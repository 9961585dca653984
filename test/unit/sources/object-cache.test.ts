import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { firstValueFrom, filter } from 'rxjs';
import { connectObjectCache, ObjectCache } from '../../../src/sources/object-cache.js';
import { createStaticObjectLookup, type KubeObject } from '../../../src/sources/object-lookup.js';
import { WatchRegistry } from '../../../src/sources/watch-registry.js';
import { RESOURCES } from '../../../src/sources/resources.js';
import { LAST_APPLIED_ANNOTATION } from '../../../src/sources/prune.js';
import type { ObjectChange } from '../../../src/model/watch-event.js';
import { FAKE_RESOURCES, startFakeApiServer, type FakeApiServer } from '../../support/fake-apiserver.js';
import { collect, delay, FAST, waitFor } from './support.js';

function obj(kind: string, name: string, uid: string, owner?: { kind: string; name: string; uid: string }, namespace = 'ns'): KubeObject {
  return {
    kind,
    metadata: {
      name,
      namespace: kind === 'Node' ? undefined : namespace,
      uid,
      resourceVersion: '1',
      ownerReferences: owner ? [{ apiVersion: 'v1', ...owner, controller: true }] : undefined,
    },
    spec: {},
    status: {},
  };
}

const deployment = obj('Deployment', 'web', 'd1');
const replicaSet = obj('ReplicaSet', 'web-abc', 'rs1', { kind: 'Deployment', name: 'web', uid: 'd1' });
const podOfRs = obj('Pod', 'web-abc-1', 'p1', { kind: 'ReplicaSet', name: 'web-abc', uid: 'rs1' });
const cronJob = obj('CronJob', 'nightly', 'cj1');
const job = obj('Job', 'nightly-123', 'j1', { kind: 'CronJob', name: 'nightly', uid: 'cj1' });
const podOfJob = obj('Pod', 'nightly-123-x', 'p2', { kind: 'Job', name: 'nightly-123', uid: 'j1' });
const node = obj('Node', 'n1', 'node1');

const added = (o: KubeObject, rv = o.metadata.resourceVersion ?? '1'): ObjectChange<KubeObject> => ({ type: 'ADDED', object: o, resourceVersion: rv });

describe('ObjectLookup implementations', () => {
  for (const [name, make] of [
    ['static', () => createStaticObjectLookup([deployment, replicaSet, podOfRs, cronJob, job, podOfJob, node])],
    [
      'ObjectCache',
      () => {
        const c = new ObjectCache();
        c.applyChanges([deployment, replicaSet, podOfRs, cronJob, job, podOfJob, node].map((o) => added(o)));
        return c;
      },
    ],
  ] as const) {
    it(`${name}: looks up by name and uid, resolves owner chains`, () => {
      const l = make();
      expect(l.get('Pod', 'ns', 'web-abc-1')?.metadata.uid).toBe('p1');
      expect(l.get('Node', null, 'n1')?.metadata.uid).toBe('node1');
      expect(l.get('Node', '', 'n1')?.metadata.uid).toBe('node1');
      expect(l.get('Pod', 'other', 'web-abc-1')).toBeUndefined();
      expect(l.getByUid('rs1')?.metadata.name).toBe('web-abc');
      expect(l.ownerChain(podOfRs)).toEqual([
        { kind: 'ReplicaSet', name: 'web-abc', uid: 'rs1' },
        { kind: 'Deployment', name: 'web', uid: 'd1' },
      ]);
      expect(l.ownerChain(podOfJob)).toEqual([
        { kind: 'Job', name: 'nightly-123', uid: 'j1' },
        { kind: 'CronJob', name: 'nightly', uid: 'cj1' },
      ]);
      expect(l.ownerChain(deployment)).toEqual([]);
    });
  }

  it('keeps an owner that is not cached in the chain, and stops there; cuts cycles', () => {
    const l = createStaticObjectLookup([podOfRs]);
    expect(l.ownerChain(podOfRs)).toEqual([{ kind: 'ReplicaSet', name: 'web-abc', uid: 'rs1' }]);
    const a = obj('X', 'a', 'ua', { kind: 'X', name: 'b', uid: 'ub' });
    const b = obj('X', 'b', 'ub', { kind: 'X', name: 'a', uid: 'ua' });
    expect(createStaticObjectLookup([a, b]).ownerChain(a)).toEqual([{ kind: 'X', name: 'b', uid: 'ub' }]);
  });

  it('does not follow a same-name owner with another uid (recreated owner)', () => {
    const recreated = obj('ReplicaSet', 'web-abc', 'rs-new', { kind: 'Deployment', name: 'web', uid: 'd1' });
    const l = createStaticObjectLookup([recreated, deployment]);
    expect(l.ownerChain(podOfRs)).toEqual([{ kind: 'ReplicaSet', name: 'web-abc', uid: 'rs1' }]);
  });
});

describe('ObjectCache', () => {
  it('applies MODIFIED and DELETED, ignores stale versions, keeps projections (no annotations, no managedFields)', () => {
    const c = new ObjectCache();
    const p = obj('Pod', 'p', 'u1');
    p.metadata.resourceVersion = '5';
    p.metadata['managedFields'] = [{}];
    p.metadata.annotations = { [LAST_APPLIED_ANNOTATION]: 'x', a: 'b' };
    c.apply(added(p));
    expect(c.get('Pod', 'ns', 'p')?.metadata['managedFields']).toBeUndefined();
    expect(c.get('Pod', 'ns', 'p')?.metadata.annotations).toBeUndefined();
    const pruning = new ObjectCache({ projection: false });
    pruning.apply(added(p));
    expect(pruning.get('Pod', 'ns', 'p')?.metadata['managedFields']).toBeUndefined();
    expect(pruning.get('Pod', 'ns', 'p')?.metadata.annotations).toEqual({ a: 'b' });
    const newer = { ...p, metadata: { ...p.metadata, resourceVersion: '7' }, status: { phase: 'Running' } };
    c.apply({ type: 'MODIFIED', object: newer, resourceVersion: '7' });
    c.apply({ type: 'MODIFIED', object: { ...p, metadata: { ...p.metadata, resourceVersion: '6' } }, resourceVersion: '6' });
    expect(c.getByUid('u1')?.status).toEqual({ phase: 'Running' });
    expect(c.size('Pod')).toBe(1);
    c.apply({ type: 'DELETED', object: newer, resourceVersion: '8' });
    expect(c.get('Pod', 'ns', 'p')).toBeUndefined();
    expect(c.getByUid('u1')).toBeUndefined();
    expect(c.size()).toBe(0);
  });

  it('a late DELETED of an old uid does not remove its same-name replacement', () => {
    const c = new ObjectCache();
    const old = obj('Pod', 'p', 'old');
    const replacement = obj('Pod', 'p', 'new');
    c.apply(added(old));
    c.apply(added(replacement));
    expect(c.getByUid('old')).toBeUndefined();
    c.apply({ type: 'DELETED', object: old, resourceVersion: '9', inferred: true });
    expect(c.get('Pod', 'ns', 'p')?.metadata.uid).toBe('new');
    expect(c.size('Pod')).toBe(1);
  });

  it('tracks synced per kind and for all expected kinds', async () => {
    const c = new ObjectCache();
    c.expect(['Pod', 'Node']);
    expect(c.isSynced()).toBe(false);
    const all = c.whenSynced();
    c.apply({ type: 'SYNCED', resourceVersion: '1' }, 'Pod');
    expect(c.isSynced('Pod')).toBe(true);
    expect(c.isSynced()).toBe(false);
    c.markSynced('Node');
    await all;
    expect(c.isSynced()).toBe(true);
    expect(await firstValueFrom(c.synced$)).toBe(true);
  });

  it('fills from a recording (objects carry their kind)', () => {
    const c = new ObjectCache();
    c.applyChanges([
      added(node),
      added(podOfRs),
      { type: 'GAP', resource: 'x', fromResourceVersion: '1', toResourceVersion: '2', detectedAt: 0, fromTime: null, reason: 'r' },
    ]);
    expect(c.get('Node', null, 'n1')).toBeDefined();
    expect(c.size()).toBe(2);
  });
});

describe('WatchRegistry and connectObjectCache (fake apiserver)', () => {
  let server: FakeApiServer;
  beforeEach(async () => {
    server = await startFakeApiServer();
  });
  afterEach(async () => {
    await server.stop();
  });

  it('shares one watch per key, replays the state to late subscribers, and stops with the last one', async () => {
    const PODS = FAKE_RESOURCES.pods!;
    for (let i = 0; i < 4; i++) server.create(PODS, { metadata: { name: `p${i}`, namespace: 'default' } });
    const registry = new WatchRegistry(server.kubeConfig(), { timings: FAST });
    const a = collect(registry.watch(RESOURCES.Pod));
    const b = collect(registry.watch(RESOURCES.Pod));
    await waitFor(() => a.events.some((e) => e.type === 'SYNCED') && b.events.some((e) => e.type === 'SYNCED'));
    expect(server.requests.filter((r) => !r.watch && r.query['continue'] === undefined)).toHaveLength(1);
    server.update(PODS, 'default', 'p0', (o) => (o.metadata.labels = { x: '1' }));
    server.delete(PODS, 'default', 'p1');
    await waitFor(() => a.events.length === 7);
    const late = collect(registry.watch(RESOURCES.Pod));
    expect(late.events.map((e) => e.type)).toEqual(['ADDED', 'ADDED', 'ADDED', 'SYNCED']);
    expect(late.changes().find((e) => (e.object as KubeObject).metadata.name === 'p0')!.resourceVersion).toBe(String(server.revision - 1));
    server.create(PODS, { metadata: { name: 'p9', namespace: 'default' } });
    await waitFor(() => late.events.length === 5 && a.events.length === 8 && b.events.length === 8);
    expect(registry.activeWatches).toBe(1);
    expect(server.watchRequests()).toHaveLength(1);

    // a different key is a different watch
    const other = collect(registry.watch(RESOURCES.Pod, { namespaces: ['default'] }));
    await waitFor(() => server.liveWatches === 2);
    other.subscription.unsubscribe();

    a.subscription.unsubscribe();
    b.subscription.unsubscribe();
    expect(server.liveWatches).toBeGreaterThanOrEqual(1);
    late.subscription.unsubscribe();
    expect(registry.activeWatches).toBe(0);
    await waitFor(() => server.liveWatches === 0);

    // resubscribing starts afresh
    const again = collect(registry.watch(RESOURCES.Pod));
    await waitFor(() => again.events.some((e) => e.type === 'SYNCED'));
    expect(again.changes()).toHaveLength(4);
    again.subscription.unsubscribe();
  });

  it('prunes objects at the source', async () => {
    server.create(FAKE_RESOURCES.nodes!, { metadata: { name: 'n', managedFields: [{ manager: 'x' }] } });
    const registry = new WatchRegistry(server.kubeConfig(), { timings: FAST });
    const c = collect(registry.watch(RESOURCES.Node));
    await waitFor(() => c.events.some((e) => e.type === 'SYNCED'));
    expect((c.changes()[0]!.object as KubeObject).metadata['managedFields']).toBeUndefined();
    c.subscription.unsubscribe();
  });

  it('fills an ObjectCache from the watches, resolves owners, tolerates a kind that is not served', async () => {
    server.served.delete('batch/v1/cronjobs');
    server.create(FAKE_RESOURCES.deployments!, { metadata: { name: 'web', namespace: 'default', uid: 'd1' } });
    server.create(FAKE_RESOURCES.replicasets!, {
      metadata: {
        name: 'web-1',
        namespace: 'default',
        uid: 'rs1',
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'd1', controller: true }],
      },
    });
    server.create(FAKE_RESOURCES.pods!, {
      metadata: {
        name: 'web-1-a',
        namespace: 'default',
        uid: 'p1',
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-1', uid: 'rs1', controller: true }],
      },
      spec: { nodeName: 'n1' },
    });
    server.create(FAKE_RESOURCES.nodes!, { metadata: { name: 'n1', uid: 'node1' } });
    const registry = new WatchRegistry(server.kubeConfig(), { timings: FAST });
    const cache = new ObjectCache();
    const sub = connectObjectCache(cache, registry);
    await cache.whenSynced();
    const p = cache.get('Pod', 'default', 'web-1-a')!;
    expect(p.kind).toBe('Pod');
    expect(cache.ownerChain(p).map((o) => o.kind)).toEqual(['ReplicaSet', 'Deployment']);
    expect(cache.get('Node', null, 'n1')?.metadata.uid).toBe('node1');
    expect(cache.isSynced('CronJob')).toBe(true);
    server.delete(FAKE_RESOURCES.pods!, 'default', 'web-1-a');
    await waitFor(() => cache.getByUid('p1') === undefined);

    // a late second consumer of the same watch gets the full state
    const late = collect(registry.watch(RESOURCES.Deployment));
    expect(late.changes().map((c) => (c.object as KubeObject).metadata.name)).toEqual(['web']);
    late.subscription.unsubscribe();

    sub.unsubscribe();
    expect(cache.size()).toBe(0);
    expect(registry.activeWatches).toBe(0);
    await waitFor(() => server.liveWatches === 0);
    await delay(10);
  });

  it('synced$ emits false while a watch is still listing', async () => {
    const cache = new ObjectCache();
    server.pageDelayMs = 50;
    const registry = new WatchRegistry(server.kubeConfig(), { timings: FAST });
    const sub = connectObjectCache(cache, registry, { kinds: ['Pod'] });
    expect(cache.isSynced()).toBe(false);
    await firstValueFrom(cache.synced$.pipe(filter(Boolean)));
    sub.unsubscribe();
  });
});
