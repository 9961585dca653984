import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { watchResource } from '../../../src/sources/watch-resource.js';
import { RESOURCES } from '../../../src/sources/resources.js';
import { KubeApiError } from '../../../src/sources/kube-http.js';
import type { GapMarker } from '../../../src/model/watch-event.js';
import { FAKE_RESOURCES, startFakeApiServer, type FakeApiServer, type Obj } from '../../support/fake-apiserver.js';
import { captureLogger } from '../operators/helpers.js';
import { collect, converged, delay, expectExactlyOnce, expectFullHistory, FAST, pod, waitFor, type Collector } from './support.js';

const PODS = FAKE_RESOURCES.pods!;

let server: FakeApiServer;
let running: Collector<unknown>[] = [];

function watchPods(options: Parameters<typeof watchResource>[2] = {}): Collector<Obj> {
  const c = collect<Obj>(watchResource<Obj>(server.kubeConfig(), RESOURCES.Pod, { timings: FAST, ...options }));
  running.push(c as Collector<unknown>);
  return c;
}

function seed(n: number, ns = 'default'): void {
  for (let i = 0; i < n; i++) server.create(PODS, pod(`p${String(i).padStart(2, '0')}`, ns));
}

const synced =
  (c: Collector<unknown>, n = 1) =>
  () =>
    c.events.filter((e) => e.type === 'SYNCED').length >= n;

beforeEach(async () => {
  server = await startFakeApiServer();
  running = [];
});

afterEach(async () => {
  for (const c of running) c.subscription.unsubscribe();
  await server.stop();
});

describe('watchResource: list', () => {
  it('lists in pages (limit/continue), emits ADDED then SYNCED, then watches from the list resourceVersion with bookmarks', async () => {
    seed(10);
    const c = watchPods();
    await waitFor(synced(c));
    const lists = server.requests.filter((r) => !r.watch);
    expect(lists.length).toBe(4);
    expect(lists.every((r) => r.query['limit'] === '3')).toBe(true);
    expect(lists.slice(1).every((r) => typeof r.query['continue'] === 'string')).toBe(true);
    const added = c.changes();
    expect(added).toHaveLength(10);
    expect(added.every((e) => e.type === 'ADDED' && e.fromList === true)).toBe(true);
    expect(added[0]!.object.kind).toBe('Pod');
    expect(added[0]!.object.apiVersion).toBe('v1');
    const syncRv = (c.events[10] as { resourceVersion: string }).resourceVersion;
    expect(c.events[10]).toEqual({ type: 'SYNCED', resourceVersion: String(server.revision) });

    await waitFor(() => server.liveWatches === 1);
    const w = server.requests.find((r) => r.watch)!;
    expect(w.query['resourceVersion']).toBe(syncRv);
    expect(w.query['allowWatchBookmarks']).toBe('true');

    server.update(PODS, 'default', 'p01', (o) => (o.status.phase = 'Running'));
    server.create(PODS, pod('new'));
    server.delete(PODS, 'default', 'p02');
    await waitFor(() => converged(c, server, PODS));
    const live = c.changes().slice(10);
    expect(live.map((e) => e.type)).toEqual(['MODIFIED', 'ADDED', 'DELETED']);
    expect(live.every((e) => e.fromList === undefined)).toBe(true);
    expectFullHistory(c, server, PODS);
  });

  it('restarts the list when a continue token expires, without a second ADDED for versions already emitted', async () => {
    seed(10);
    server.pageDelayMs = 30;
    const c = watchPods();
    await waitFor(() => c.changes().length >= 3);
    server.expireContinueTokens();
    server.update(PODS, 'default', 'p00', (o) => (o.metadata.labels.v = '2'));
    server.create(PODS, pod('late'));
    await waitFor(synced(c));
    const listRequests = server.requests.filter((r) => !r.watch);
    expect(listRequests.filter((r) => r.status === 410)).toHaveLength(1);
    const p00 = c.changes().filter((e) => e.object.metadata.name === 'p00');
    expect(p00.map((e) => e.type)).toEqual(['ADDED', 'MODIFIED']);
    expect(c.changes().filter((e) => e.type === 'ADDED')).toHaveLength(11);
    expectExactlyOnce(c, server, PODS);
  });
});

describe('watchResource: resume and reconnect', () => {
  it('tracks BOOKMARK resourceVersions and re-watches from them', async () => {
    server = await (async () => {
      await server.stop();
      return startFakeApiServer({ bookmarkIntervalMs: 20 });
    })();
    seed(2);
    const c = watchPods();
    await waitFor(() => server.liveWatches === 1);
    server.bumpRevision(50); // other resources changed
    const target = server.revision;
    await delay(60);
    server.disconnectWatches();
    await waitFor(() => server.watchRequests().length >= 2);
    expect(Number(server.watchRequests()[1]!.query['resourceVersion'])).toBe(target);
    expect(c.changes()).toHaveLength(2);
  });

  it('survives abrupt disconnects mid-stream: every version exactly once, in order', async () => {
    seed(5);
    const c = watchPods();
    await waitFor(() => server.liveWatches === 1);
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 5; i++) server.update(PODS, 'default', `p0${i}`, (o) => (o.metadata.labels.round = String(round)));
      server.create(PODS, pod(`r${round}`));
      server.disconnectWatches();
      server.update(PODS, 'default', 'p00', (o) => (o.metadata.labels.gap = String(round))); // while disconnected
      await waitFor(() => server.liveWatches === 1);
    }
    await waitFor(() => converged(c, server, PODS));
    expectFullHistory(c, server, PODS);
    expect(c.events.filter((e) => e.type === 'SYNCED')).toHaveLength(1);
  });

  it('re-watches at once after a clean close', async () => {
    seed(3);
    const c = watchPods();
    await waitFor(() => server.liveWatches === 1);
    server.closeWatches();
    server.update(PODS, 'default', 'p01', (o) => (o.metadata.labels.x = 'y'));
    await waitFor(() => converged(c, server, PODS));
    expectFullHistory(c, server, PODS);
  });

  it('re-establishes a stalled watch from the last resourceVersion', async () => {
    seed(3);
    const c = watchPods();
    await waitFor(() => server.liveWatches === 1);
    server.stallWatches();
    server.update(PODS, 'default', 'p01', (o) => (o.metadata.labels.x = 'stalled'));
    server.create(PODS, pod('during-stall'));
    await waitFor(() => converged(c, server, PODS), 3_000, 'stall recovery');
    expect(server.watchRequests().length).toBeGreaterThanOrEqual(2);
    expectFullHistory(c, server, PODS);
  });

  it('retries 500s and honours Retry-After on 429', async () => {
    seed(2);
    server.failNext({ status: 500, on: 'list' }, 2);
    const c = watchPods();
    await waitFor(synced(c));
    await waitFor(() => server.liveWatches === 1);
    server.failNext({ status: 429, retryAfter: 1, on: 'watch' });
    const before = Date.now();
    server.disconnectWatches();
    server.update(PODS, 'default', 'p00', (o) => (o.metadata.labels.x = '1'));
    await waitFor(() => converged(c, server, PODS), 4_000);
    expect(Date.now() - before).toBeGreaterThanOrEqual(950);
    const statuses = server.requests.map((r) => r.status);
    expect(statuses.filter((s) => s === 500)).toHaveLength(2);
    expect(statuses.filter((s) => s === 429)).toHaveLength(1);
    expectFullHistory(c, server, PODS);
  });

  it('errors the stream on a fatal status (404: resource not served)', async () => {
    server.served.delete('core/v1/pods');
    const c = watchPods();
    await waitFor(() => c.errors.length === 1);
    expect(c.errors[0]).toBeInstanceOf(KubeApiError);
    expect((c.errors[0] as KubeApiError).statusCode).toBe(404);
  });
});

describe('watchResource: 410 Gone', () => {
  for (const goneAs of ['event', 'status'] as const) {
    it(`relists on 410 (${goneAs}) and emits only the difference, with a GAP`, async () => {
      server.goneAs = goneAs;
      seed(6);
      const c = watchPods();
      await waitFor(() => server.liveWatches === 1);
      server.disconnectWatches();
      server.failNext({ status: 503, on: 'watch' }, 1); // keep it down while the world changes
      server.update(PODS, 'default', 'p01', (o) => (o.metadata.labels.x = 'a'));
      server.update(PODS, 'default', 'p01', (o) => (o.metadata.labels.x = 'b'));
      server.delete(PODS, 'default', 'p02');
      server.delete(PODS, 'default', 'p03');
      server.create(PODS, pod('p03')); // same name, new uid
      server.create(PODS, pod('fresh'));
      server.compact();
      await waitFor(() => c.events.filter((e) => e.type === 'SYNCED').length === 2);
      await waitFor(() => converged(c, server, PODS));
      expectExactlyOnce(c, server, PODS);
      const after = c.events.slice(c.events.findIndex((e) => e.type === 'SYNCED') + 1);
      const summary = after.map((e) =>
        e.type === 'SYNCED' || e.type === 'GAP' ? e.type : `${e.type}:${(e.object as Obj).metadata.name}${e.inferred ? '*' : ''}`,
      );
      expect(summary.sort()).toEqual(['ADDED:fresh', 'ADDED:p03', 'DELETED:p02*', 'DELETED:p03*', 'GAP', 'MODIFIED:p01', 'SYNCED'].sort());
      const gap = after.find((e) => e.type === 'GAP') as GapMarker;
      expect(gap.cause).toBe('watch-expired');
      expect(Number(gap.toResourceVersion)).toBe(server.revision);
      expect(after[after.length - 1]!.type).toBe('SYNCED');
    });
  }

  it('does not emit a GAP when the relist finds nothing changed', async () => {
    seed(3);
    const c = watchPods();
    await waitFor(() => server.liveWatches === 1);
    server.bumpRevision(10);
    server.compact();
    server.goneWatches();
    await waitFor(synced(c, 2));
    expect(c.events.filter((e) => e.type === 'GAP')).toHaveLength(0);
    expect(c.changes()).toHaveLength(3);
  });

  it('treats watches that keep closing at once without events as expired (kubernetes#104171)', async () => {
    seed(3);
    const c = watchPods();
    await waitFor(() => server.liveWatches === 1);
    server.quickCloseNextWatches(3);
    server.closeWatches();
    server.update(PODS, 'default', 'p00', (o) => (o.metadata.labels.q = '1'));
    await waitFor(synced(c, 2));
    await waitFor(() => converged(c, server, PODS));
    expectExactlyOnce(c, server, PODS);
  });
});

describe('watchResource: 410 Gone after quiet periods (apiserver restarts)', () => {
  /** Timings where only the time since the relist tells a flapping server from a restarted one. */
  const QUIET = { ...FAST, stallTimeoutMs: 30_000, relistFlapMs: 400, backoff: { ...FAST.backoff, resetAfterMs: 60_000 } };
  /** An apiserver restart: the watches drop and the new one gets 410 at once (nothing received). */
  const restart = (): void => {
    server.bumpRevision(5);
    server.compact();
    server.disconnectWatches();
  };

  it('a quiet watch cut by a second restart, well after the relist, relists at once: not taken for flapping', async () => {
    const { logger, lines } = captureLogger();
    seed(3);
    const c = watchPods({ timings: QUIET, logger });
    await waitFor(() => server.liveWatches === 1);
    restart();
    await waitFor(synced(c, 2));
    await waitFor(() => server.liveWatches === 1);
    await delay(600); // quiet, longer than relistFlapMs, much shorter than resetAfterMs
    restart();
    await waitFor(synced(c, 3));
    expect(lines.filter((l) => l['msg'] === 'watch expired (410 Gone)')).toHaveLength(2);
    expect(lines.filter((l) => l['msg'] === 'watch expired again right after a relist, backing off')).toEqual([]);
  });

  it('a watch that expires again right after its relist backs off', async () => {
    const { logger, lines } = captureLogger();
    seed(3);
    // "right after" is 5 s here: the second restart comes after two waits and a new watch, which
    // took more than QUIET's 400 ms on a loaded machine
    const c = watchPods({ timings: { ...QUIET, relistFlapMs: 5_000 }, logger });
    await waitFor(() => server.liveWatches === 1);
    restart();
    await waitFor(synced(c, 2));
    await waitFor(() => server.liveWatches === 1);
    restart(); // at once
    await waitFor(synced(c, 3));
    expect(lines.filter((l) => l['msg'] === 'watch expired again right after a relist, backing off')).toHaveLength(1);
  });
});

describe('watchResource: checkpoints', () => {
  it('resumes from a checkpoint without listing', async () => {
    seed(3);
    const checkpoint = String(server.revision);
    server.update(PODS, 'default', 'p01', (o) => (o.metadata.labels.after = '1'));
    const c = watchPods({ resumeFrom: { resourceVersion: checkpoint } });
    server.create(PODS, pod('later'));
    await waitFor(() => c.changes().length === 2);
    expect(server.requests.filter((r) => !r.watch)).toHaveLength(0);
    expect(c.changes().map((e) => `${e.type}:${e.object.metadata.name}`)).toEqual(['MODIFIED:p01', 'ADDED:later']);
    expect(c.events.some((e) => e.type === 'SYNCED')).toBe(false);
  });

  for (const goneAs of ['event', 'status'] as const) {
    it(`reports a GAP when the checkpoint is too old (${goneAs}) and skips versions at or before it`, async () => {
      server.goneAs = goneAs;
      seed(4);
      const checkpoint = String(server.revision);
      server.update(PODS, 'default', 'p01', (o) => (o.metadata.labels.after = '1'));
      server.create(PODS, pod('after'));
      server.compact();
      const c = watchPods({ resumeFrom: { resourceVersion: checkpoint, time: 1_700_000_000_000 } });
      await waitFor(synced(c));
      expect(
        c
          .changes()
          .map((e) => `${e.type}:${e.object.metadata.name}`)
          .sort(),
      ).toEqual(['ADDED:after', 'ADDED:p01']);
      const gap = c.events.find((e) => e.type === 'GAP') as GapMarker;
      expect(gap).toMatchObject({
        cause: 'checkpoint-expired',
        fromResourceVersion: checkpoint,
        toResourceVersion: String(server.revision),
        fromTime: 1_700_000_000_000,
        resource: 'core/v1/pods',
      });
      expect(c.events.findIndex((e) => e.type === 'GAP')).toBeLessThan(c.events.findIndex((e) => e.type === 'SYNCED'));
      // later relists do not re-emit versions the earlier run emitted
      await waitFor(() => server.liveWatches === 1);
      server.goneWatches();
      server.compact();
      await waitFor(synced(c, 2));
      expect(c.changes()).toHaveLength(2);
    });
  }
});

describe('watchResource: scope', () => {
  it('watches several namespaces and emits one SYNCED once all have listed', async () => {
    seed(2, 'a');
    seed(2, 'b');
    seed(2, 'c');
    const c = watchPods({ namespaces: ['b', 'a'] });
    await waitFor(synced(c));
    expect(c.events.filter((e) => e.type === 'SYNCED')).toHaveLength(1);
    expect(c.events[c.events.length - 1]!.type).toBe('SYNCED');
    expect(new Set(c.changes().map((e) => e.object.metadata.namespace))).toEqual(new Set(['a', 'b']));
    expect(
      server.requests
        .filter((r) => !r.watch)
        .map((r) => r.path)
        .sort(),
    ).toEqual(['/api/v1/namespaces/a/pods', '/api/v1/namespaces/b/pods']);
    server.create(PODS, pod('x', 'c'));
    server.create(PODS, pod('y', 'a'));
    await waitFor(() => c.changes().length === 5);
    expect(c.changes()[4]!.object.metadata.name).toBe('y');
  });

  it('passes label and field selectors to the server', async () => {
    server.create(PODS, pod('web1'));
    server.create(PODS, { ...pod('db1'), metadata: { name: 'db1', namespace: 'default', labels: { app: 'db' } } });
    const c = watchPods({ labelSelector: 'app=web', fieldSelector: 'metadata.namespace=default' });
    await waitFor(synced(c));
    expect(c.changes().map((e) => e.object.metadata.name)).toEqual(['web1']);
    expect(server.requests.every((r) => r.query['labelSelector'] === 'app=web' && r.query['fieldSelector'] === 'metadata.namespace=default')).toBe(true);
  });
});

describe('watchResource: teardown and slow subscribers', () => {
  it('unsubscribing stops the watch and leaves no timer behind', async () => {
    seed(2);
    const timersBefore = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    let draws = 0;
    const c = watchPods({
      timings: { ...FAST, backoff: { initialMs: 10_000, maxMs: 10_000 } },
      random: () => (draws++ === 0 ? 0 : 0.99), // retry the disconnect at once, then sleep ~10 s after the 500
    });
    await waitFor(() => server.liveWatches === 1);
    server.failNext({ status: 500, on: 'watch' });
    server.disconnectWatches();
    await waitFor(() => server.requests.some((r) => r.status === 500));
    await delay(20); // now sleeping in backoff
    c.subscription.unsubscribe();
    await delay(20);
    expect(server.liveWatches).toBe(0);
    const timersAfter = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    expect(timersAfter).toBeLessThanOrEqual(timersBefore);
    const requests = server.requests.length;
    await delay(100);
    expect(server.requests.length).toBe(requests);
  });

  it('a slow subscriber gets every version exactly once', async () => {
    seed(5);
    const busy = (ms: number): void => {
      const end = Date.now() + ms;
      while (Date.now() < end) {
        /* spin */
      }
    };
    const c = collect<Obj>(watchResource<Obj>(server.kubeConfig(), RESOURCES.Pod, { timings: FAST }), () => busy(2));
    running.push(c as Collector<unknown>);
    await waitFor(() => server.liveWatches === 1);
    for (let i = 0; i < 100; i++) {
      server.update(PODS, 'default', `p0${i % 5}`, (o) => (o.metadata.labels.i = String(i)));
      if (i === 50) server.disconnectWatches();
    }
    await waitFor(() => converged(c, server, PODS), 6_000);
    expectFullHistory(c, server, PODS);
  });
});
