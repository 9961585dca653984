/**
 * The Kubernetes source against the real control plane (test/env): real kube-scheduler events
 * arrive through the Event source; a kube-apiserver killed and restarted mid-watch loses and
 * duplicates nothing; etcd compaction (plus an apiserver restart, which empties the watch cache)
 * forces 410 Gone and a correct relist, both mid-stream and when resuming from a checkpoint.
 *
 * The mid-stream 410 case needs changes the watch cannot see while they happen: the source talks
 * to the apiserver through a small TCP proxy that the test cuts while it changes objects directly.
 */
import net from 'node:net';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Subscription } from 'rxjs';
import { watchResource, type WatchTimingsInput } from '../../src/sources/watch-resource.js';
import { WatchRegistry } from '../../src/sources/watch-registry.js';
import { createEventSource } from '../../src/sources/event-source.js';
import type { ResourceDescriptor } from '../../src/sources/resources.js';
import type { GapMarker, ObjectChange, WatchEvent } from '../../src/model/watch-event.js';
import type { KubeEvent } from '../../src/model/kube-event.js';
import type { KubeObject } from '../../src/sources/object-lookup.js';
import { compactEtcd, restartApiserver } from '../env/kube.js';
import { createNamespace, createUnschedulablePod, deleteNamespace, kubeConfigFor, sleep, uniqueName, waitFor } from '../env/scenarios.js';

const env = inject('kubeEnv');
const kc = kubeConfigFor(env);
const core = kc.makeApiClient(CoreV1Api);
const ns = uniqueName('source');

const CONFIGMAPS: ResourceDescriptor = { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', namespaced: true };

const TIMINGS: WatchTimingsInput = {
  pageSize: 5,
  requestTimeoutMs: 15_000,
  connectTimeoutMs: 5_000,
  stallTimeoutMs: 30_000,
  watchTimeoutSeconds: 60,
  backoff: { initialMs: 100, maxMs: 2_000, resetAfterMs: 10_000, maxRetryAfterMs: 5_000 },
};

interface Proxy {
  kubeConfig: KubeConfig;
  block(): void;
  unblock(): void;
  close(): Promise<void>;
}

/** A TCP proxy in front of kube-apiserver that can cut every connection and refuse new ones. */
async function startProxy(): Promise<Proxy> {
  const target = new URL(env.server);
  const sockets = new Set<net.Socket>();
  let blocked = false;
  const server = net.createServer((client) => {
    if (blocked) {
      client.destroy();
      return;
    }
    const upstream = net.connect(Number(target.port), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const proxied = new KubeConfig();
  proxied.loadFromOptions({
    clusters: kc.clusters.map((c) => ({ ...c, server: `https://127.0.0.1:${port}` })),
    users: kc.users,
    contexts: kc.contexts,
    currentContext: kc.getCurrentContext(),
  });
  return {
    kubeConfig: proxied,
    block: () => {
      blocked = true;
      for (const s of sockets) s.destroy();
    },
    unblock: () => {
      blocked = false;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

interface Collected {
  events: WatchEvent<KubeObject>[];
  errors: unknown[];
  sub: Subscription;
  changes(): ObjectChange<KubeObject>[];
}

function collect(kubeConfig: KubeConfig, options: Parameters<typeof watchResource>[2] = {}): Collected {
  const events: WatchEvent<KubeObject>[] = [];
  const errors: unknown[] = [];
  const sub = watchResource<KubeObject>(kubeConfig, CONFIGMAPS, { namespaces: [ns], timings: TIMINGS, ...options }).subscribe({
    next: (e) => events.push(e),
    error: (e: unknown) => errors.push(e),
  });
  return {
    events,
    errors,
    sub,
    changes: () => events.filter((e): e is ObjectChange<KubeObject> => e.type === 'ADDED' || e.type === 'MODIFIED' || e.type === 'DELETED'),
  };
}

async function serverState(): Promise<Map<string, string>> {
  const list = await core.listNamespacedConfigMap({ namespace: ns });
  return new Map(list.items.map((cm) => [cm.metadata!.uid!, cm.metadata!.resourceVersion!]));
}

function emittedState(c: Collected): Map<string, string> {
  const state = new Map<string, string>();
  for (const ch of c.changes()) {
    if (ch.type === 'DELETED') state.delete(ch.object.metadata.uid);
    else state.set(ch.object.metadata.uid, ch.resourceVersion);
  }
  return state;
}

async function converged(c: Collected): Promise<boolean> {
  const [a, b] = [emittedState(c), await serverState()];
  return a.size === b.size && [...b].every(([uid, rv]) => a.get(uid) === rv);
}

/** Every (uid, resourceVersion) at most once, strictly increasing per uid; final state = server's. */
async function expectExactlyOnce(c: Collected): Promise<void> {
  const seen = new Set<string>();
  const last = new Map<string, bigint>();
  for (const ch of c.changes()) {
    const uid = ch.object.metadata.uid;
    const pair = `${uid}@${ch.resourceVersion}`;
    expect(seen.has(pair), `duplicate ${ch.type} ${pair}`).toBe(false);
    seen.add(pair);
    const rv = BigInt(ch.resourceVersion);
    const prev = last.get(uid);
    if (prev !== undefined) expect(rv > prev, `out of order for ${uid}`).toBe(true);
    last.set(uid, rv);
  }
  expect(Object.fromEntries(emittedState(c))).toEqual(Object.fromEntries(await serverState()));
}

const createCm = (name: string) => core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name }, data: { v: '0' } } });
const updateCm = (name: string, v: string) => core.replaceNamespacedConfigMap({ namespace: ns, name, body: { metadata: { name }, data: { v } } });
const deleteCm = (name: string) => core.deleteNamespacedConfigMap({ namespace: ns, name });

describe('Kubernetes source against a real control plane', () => {
  beforeAll(async () => {
    await createNamespace(kc, ns);
    for (let i = 0; i < 6; i++) await createCm(`cm${i}`);
  });
  afterAll(async () => {
    await deleteNamespace(kc, ns).catch(() => undefined);
  });

  it('delivers real kube-scheduler events through the Event source (events.k8s.io/v1)', async () => {
    const registry = new WatchRegistry(kc, { timings: TIMINGS });
    const source = createEventSource(registry, { cluster: 'it', namespaces: [ns] });
    const events: KubeEvent[] = [];
    const sub = source.events$.subscribe((e) => events.push(e));
    try {
      await createUnschedulablePod(kc, ns, 'nowhere');
      const event = await waitFor(() => events.find((e) => e.reason === 'FailedScheduling' && e.regarding.name === 'nowhere'), 30_000, 'FailedScheduling');
      expect(event).toMatchObject({ type: 'Warning', sourceApi: 'events.k8s.io/v1', reportingController: 'default-scheduler', cluster: 'it' });
      expect(event.regarding.kind).toBe('Pod');
      expect(event.message).toMatch(/nodes (are )?available/);
    } finally {
      sub.unsubscribe();
    }
  });

  it('loses and duplicates nothing when kube-apiserver is killed and restarted mid-watch', async () => {
    const c = collect(kc);
    let churning = true;
    let n = 0;
    const churn = (async () => {
      while (churning) {
        await updateCm(`cm${n % 6}`, String(n)).catch(() => undefined);
        n += 1;
        await sleep(40);
      }
    })();
    try {
      await waitFor(() => c.events.some((e) => e.type === 'SYNCED'), 15_000, 'initial SYNCED');
      await sleep(500);
      await restartApiserver(env);
      await sleep(1_500);
      churning = false;
      await churn;
      await createCm('after-restart');
      await waitFor(() => converged(c), 30_000, 'convergence after restart');
      expect(c.errors).toEqual([]);
      await expectExactlyOnce(c);
    } finally {
      churning = false;
      c.sub.unsubscribe();
    }
  });

  it('relists correctly after etcd compaction forces 410 Gone mid-stream', async () => {
    const proxy = await startProxy();
    const c = collect(proxy.kubeConfig);
    try {
      await waitFor(() => c.events.some((e) => e.type === 'SYNCED'), 15_000, 'initial SYNCED');
      const before = c.events.length;
      proxy.block();
      await updateCm('cm1', 'while-cut-1');
      await updateCm('cm1', 'while-cut-2');
      await deleteCm('cm2');
      await createCm('born-while-cut');
      await compactEtcd(env);
      await restartApiserver(env); // empties the watch cache: the old resourceVersion is gone everywhere
      proxy.unblock();
      await waitFor(() => c.events.filter((e) => e.type === 'SYNCED').length >= 2, 60_000, 'relist');
      await waitFor(() => converged(c), 30_000, 'convergence after relist');
      await expectExactlyOnce(c);
      const after = c.events.slice(before);
      const gap = after.find((e): e is GapMarker => e.type === 'GAP');
      expect(gap?.cause).toBe('watch-expired');
      const names = (type: string) => after.filter((e): e is ObjectChange<KubeObject> => e.type === type).map((e) => e.object.metadata.name);
      expect(names('MODIFIED')).toContain('cm1');
      expect(names('ADDED')).toContain('born-while-cut');
      expect(names('DELETED')).toContain('cm2');
      expect(after.find((e) => e.type === 'DELETED')).toMatchObject({ inferred: true, fromList: true });
    } finally {
      c.sub.unsubscribe();
      await proxy.close();
    }
  });

  it('reports a GAP and skips what the checkpoint covers when the checkpoint is compacted away', async () => {
    const first = collect(kc);
    await waitFor(() => first.events.some((e) => e.type === 'SYNCED'), 15_000, 'initial SYNCED');
    const checkpoint = [...first.events].reverse().find((e) => e.type === 'SYNCED')!.resourceVersion;
    first.sub.unsubscribe();
    await updateCm('cm3', 'after-checkpoint');
    await createCm('after-checkpoint');
    await compactEtcd(env);
    await restartApiserver(env);
    const c = collect(kc, { resumeFrom: { resourceVersion: checkpoint, time: 1_700_000_000_000 } });
    try {
      await waitFor(() => c.events.some((e) => e.type === 'SYNCED'), 30_000, 'relist after checkpoint');
      const gap = c.events.find((e): e is GapMarker => e.type === 'GAP');
      expect(gap).toMatchObject({ cause: 'checkpoint-expired', fromResourceVersion: checkpoint, fromTime: 1_700_000_000_000 });
      expect(
        c
          .changes()
          .map((e) => e.object.metadata.name)
          .sort(),
      ).toEqual(['after-checkpoint', 'cm3']);
    } finally {
      c.sub.unsubscribe();
    }
  });
});
