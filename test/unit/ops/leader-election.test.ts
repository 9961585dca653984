import { ApiException } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { interval, type Subscription } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  LeaderElector,
  LeaseApiError,
  coordinationLeaseClient,
  leaderAwareCheck,
  leaderElection,
  microTime,
  toLeaseApiError,
  validateTimings,
  whileLeader,
  type LeaderElectionOptions,
} from '../../../src/ops/leader-election.js';
import { FakeLeaseServer } from '../../support/fake-lease-server.js';

const NS = 'kubevents';
const NAME = 'kubevents-leader';
/** fast timings: lease 1 s, renew deadline 600 ms, retry 100 ms, API calls 200 ms */
const FAST = { leaseDurationMs: 1000, renewDeadlineMs: 600, retryPeriodMs: 100, apiTimeoutMs: 200 } as const;
const MICRO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<number> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
  return Date.now() - started;
}

let server: FakeLeaseServer;
const electors: LeaderElector[] = [];

function elector(identity: string, extra: Partial<LeaderElectionOptions> = {}): LeaderElector {
  const e = new LeaderElector({ kubeConfig: server.kubeConfig(), namespace: NS, name: NAME, identity, ...FAST, ...extra });
  electors.push(e);
  return e;
}

beforeEach(async () => {
  server = await new FakeLeaseServer().start();
});

afterEach(async () => {
  await Promise.all(electors.splice(0).map((e) => e.stop()));
  await server.stop();
});

describe('LeaderElector', () => {
  it('creates a missing Lease and leads, with client-go record fields', async () => {
    const a = elector('a');
    const seen: boolean[] = [];
    a.isLeader$.subscribe((v) => seen.push(v));
    a.start();
    await until(() => a.isLeader, 2000, 'a to lead');
    const lease = server.get(NS, NAME)!;
    expect(lease.spec).toMatchObject({ holderIdentity: 'a', leaseDurationSeconds: 1, leaseTransitions: 0 });
    expect(lease.spec['acquireTime']).toMatch(MICRO);
    expect(lease.spec['renewTime']).toMatch(MICRO);
    expect(seen).toEqual([false, true]);
    expect(a.observedHolder).toBe('a');
  });

  it('renews every retryPeriod, keeping acquireTime and leaseTransitions', async () => {
    const a = elector('a');
    a.start();
    await until(() => a.isLeader, 2000, 'a to lead');
    const first = { ...server.get(NS, NAME)!.spec };
    const rv = server.get(NS, NAME)!.metadata.resourceVersion;
    await sleep(350);
    const now = server.get(NS, NAME)!;
    expect(Number(now.metadata.resourceVersion)).toBeGreaterThanOrEqual(Number(rv) + 2);
    expect(now.spec['acquireTime']).toBe(first['acquireTime']);
    expect(now.spec['renewTime']! > first['renewTime']!).toBe(true);
    expect(now.spec['leaseTransitions']).toBe(0);
    expect(a.isLeader).toBe(true);
  });

  it('a standby waits while the lease is renewed, and takes over within leaseDuration once it is not', async () => {
    const a = elector('a', { releaseOnStop: false });
    a.start();
    await until(() => a.isLeader, 2000, 'a to lead');
    const holders: string[] = [];
    const b2 = elector('b', { onNewLeader: (h) => holders.push(h) });
    b2.start();
    await sleep(1500); // longer than leaseDuration: the renewing leader keeps it
    expect(a.isLeader).toBe(true);
    expect(b2.isLeader).toBe(false);
    expect(b2.observedHolder).toBe('a');
    // the leader "crashes": stops renewing without releasing
    const crashedAt = Date.now();
    await a.stop();
    const took = await until(() => b2.isLeader, 3000, 'b to take over');
    const elapsed = Date.now() - crashedAt;
    expect(elapsed).toBeGreaterThanOrEqual(FAST.leaseDurationMs - FAST.retryPeriodMs * 1.2 - 50);
    expect(elapsed).toBeLessThanOrEqual(FAST.leaseDurationMs + 2 * FAST.retryPeriodMs * 1.2 + 300);
    expect(took).toBeGreaterThan(0);
    const lease = server.get(NS, NAME)!;
    expect(lease.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    expect(holders).toEqual(['a', 'b']);
  });

  it('stop() stops the work first, then releases the lease so a standby takes over at once', async () => {
    const a = elector('a');
    const b = elector('b');
    a.start();
    await until(() => a.isLeader, 2000, 'a to lead');
    b.start();
    let ticks = 0;
    const work = whileLeader(a.isLeader$, () => interval(10)).subscribe(() => ticks++);
    await sleep(100);
    expect(ticks).toBeGreaterThan(0);
    const stoppedAt = Date.now();
    const stopped = a.stop();
    expect(a.isLeader).toBe(false); // synchronously
    const at = ticks;
    await stopped;
    await sleep(50);
    expect(ticks).toBe(at);
    const byA = server.writes.filter((w) => w.spec['holderIdentity'] !== 'b');
    expect(byA.at(-1)!.spec).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1, leaseTransitions: 0 });
    await until(() => b.isLeader, 1000, 'b to take over');
    expect(Date.now() - stoppedAt).toBeLessThan(FAST.leaseDurationMs / 2);
    expect(server.get(NS, NAME)!.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    work.unsubscribe();
  });

  it('stop({ release: false }) stops leading without giving the lease back (a lost lease is not ours to release)', async () => {
    const a = elector('a'); // releaseOnStop defaults to true: the explicit option wins
    a.start();
    await until(() => a.isLeader, 2000, 'a to lead');
    const stopped = a.stop({ release: false });
    expect(a.isLeader).toBe(false); // synchronously
    await stopped;
    expect(server.get(NS, NAME)!.spec).toMatchObject({ holderIdentity: 'a', leaseDurationSeconds: 1 });
    expect(server.writes.some((w) => w.spec['holderIdentity'] === '')).toBe(false);
    // only the first call decides
    await a.stop({ release: true });
    expect(server.get(NS, NAME)!.spec['holderIdentity']).toBe('a');
  });

  it('stop({ release: true }) releases even with releaseOnStop: false; stop() follows releaseOnStop', async () => {
    const a = elector('a', { releaseOnStop: false });
    a.start();
    await until(() => a.isLeader, 2000, 'a to lead');
    await a.stop({ release: true });
    expect(server.get(NS, NAME)!.spec).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1 });

    const b = elector('b', { releaseOnStop: false });
    b.start();
    await until(() => b.isLeader, 2000, 'b to lead');
    await b.stop();
    expect(server.get(NS, NAME)!.spec['holderIdentity']).toBe('b');
  });

  it('two candidates racing for a missing lease: exactly one leads (409 Conflict loses)', async () => {
    const registry = new Registry();
    const candidates = ['a', 'b', 'c', 'd'].map((id) => elector(id, { registry }));
    for (const c of candidates) c.start();
    await until(() => candidates.some((c) => c.isLeader), 2000, 'a leader');
    await sleep(500);
    const leaders = candidates.filter((c) => c.isLeader);
    expect(leaders).toHaveLength(1);
    expect(server.get(NS, NAME)!.spec['holderIdentity']).toBe(leaders[0]!.identity);
    const text = await registry.metrics();
    expect(text).toMatch(/kubevents_leader_is_leader\{lease="kubevents\/kubevents-leader"\} 1/);
    expect(text).toMatch(/kubevents_leader_api_errors_total\{lease="kubevents\/kubevents-leader",operation="create",kind="conflict"\} [1-9]/);
  });

  it('steps down within renewDeadline when renewals fail, stopping the work in the same tick', async () => {
    const stoppedReasons: string[] = [];
    const a = elector('a', { onStoppedLeading: (r) => stoppedReasons.push(r) });
    a.start();
    await until(() => a.isLeader, 2000, 'a to lead');
    let working = false;
    const work: Subscription = whileLeader(a.isLeader$, () => interval(5)).subscribe({ next: () => (working = true) });
    let workStoppedAt = 0;
    a.isLeader$.subscribe((v) => {
      if (!v && working) workStoppedAt = Date.now();
    });
    const failingFrom = Date.now();
    server.failNext(1000, 500);
    await until(() => !a.isLeader, 2000, 'a to step down');
    const elapsed = Date.now() - failingFrom;
    expect(elapsed).toBeLessThanOrEqual(FAST.renewDeadlineMs + 50);
    expect(workStoppedAt).toBeGreaterThan(0);
    expect(stoppedReasons[0]).toMatch(/renewDeadline/);
    // the apiserver comes back: a is a candidate again and leads again (the lease still names it)
    server.clearFaults();
    await until(() => a.isLeader, 2000, 'a to lead again');
    work.unsubscribe();
  });

  it('a hanging API call is cut by its timeout and the leader still steps down by renewDeadline', async () => {
    const a = elector('a');
    a.start();
    await until(() => a.isLeader, 2000, 'a to lead');
    const from = Date.now();
    server.stallNext(1000);
    await until(() => !a.isLeader, 2000, 'a to step down');
    expect(Date.now() - from).toBeLessThanOrEqual(FAST.renewDeadlineMs + 50);
  });

  it('stops leading as soon as it sees another holder on a valid lease', async () => {
    const a = elector('a');
    a.start();
    await until(() => a.isLeader, 2000, 'a to lead');
    const lease = server.get(NS, NAME)!;
    server.put(NS, NAME, { ...lease.spec, holderIdentity: 'intruder', renewTime: microTime(Date.now()) });
    await until(() => !a.isLeader, 1000, 'a to step down');
    expect(a.observedHolder).toBe('intruder');
  });

  it('takes over a lease left by a crashed holder only after observing it unchanged for leaseDuration', async () => {
    server.put(NS, NAME, { holderIdentity: 'ghost', leaseDurationSeconds: 1, renewTime: microTime(Date.now() - 60_000), leaseTransitions: 4 });
    const b = elector('b');
    const started = Date.now();
    b.start();
    await until(() => b.isLeader, 3000, 'b to take over');
    // renewTime is a minute old, but only b's own observation counts (clock skew safety)
    expect(Date.now() - started).toBeGreaterThanOrEqual(FAST.leaseDurationMs - 20);
    expect(server.get(NS, NAME)!.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 5 });
  });

  it('a released lease (empty holder) is taken at once', async () => {
    server.put(NS, NAME, { holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(Date.now()), leaseTransitions: 2 });
    const b = elector('b');
    b.start();
    const took = await until(() => b.isLeader, 1000, 'b to lead');
    expect(took).toBeLessThan(300);
  });

  it('leaderElection() is a cold Observable: unsubscribing stops and releases', async () => {
    const seen: boolean[] = [];
    const sub = leaderElection({ kubeConfig: server.kubeConfig(), namespace: NS, name: NAME, identity: 'x', ...FAST }).subscribe((v) => seen.push(v));
    await until(() => seen.includes(true), 2000, 'leading');
    sub.unsubscribe();
    await until(() => server.get(NS, NAME)!.spec['holderIdentity'] === '', 2000, 'release');
    expect(seen).toEqual([false, true]);
  });

  it('leaderAwareCheck: a standby is ready; the leader is ready when its check passes', async () => {
    const a = elector('a');
    const check = leaderAwareCheck(a, async () => ({ ok: false, detail: 'caches not synced' }));
    expect(await check()).toEqual({ ok: true, detail: 'standby (leader: none)' });
    a.start();
    await until(() => a.isLeader, 2000, 'a to lead');
    expect(await check()).toEqual({ ok: false, detail: 'caches not synced' });
  });
});

describe('timings', () => {
  it('refuses unsafe combinations', () => {
    const ok = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, apiTimeoutMs: 5_000 };
    expect(() => validateTimings(ok)).not.toThrow();
    expect(() => validateTimings({ ...ok, renewDeadlineMs: 15_000 })).toThrow(/leaseDuration .* greater than renewDeadline/);
    expect(() => validateTimings({ ...ok, retryPeriodMs: 9_000 })).toThrow(/retryPeriod/);
    expect(() => validateTimings({ ...ok, apiTimeoutMs: 11_000 })).toThrow(/apiTimeout/);
    expect(() => validateTimings({ ...ok, leaseDurationMs: 15_500 })).toThrow(/whole seconds/);
    expect(() => validateTimings({ ...ok, retryPeriodMs: 0 })).toThrow(/> 0/);
    expect(
      () => new LeaderElector({ namespace: NS, name: NAME, client: { get: async () => null, create: async (l) => l, replace: async (l) => l } }),
    ).not.toThrow();
    expect(() => new LeaderElector({ namespace: NS, name: NAME })).toThrow(/kubeConfig or a client/);
  });
});

describe('Lease API errors', () => {
  it('maps ApiException codes, aborts and network errors', () => {
    const conflict = toLeaseApiError(new ApiException(409, 'Conflict', { message: 'the object has been modified' }, {}), 'update lease x', 100);
    expect(conflict).toBeInstanceOf(LeaseApiError);
    expect(conflict).toMatchObject({ kind: 'conflict', statusCode: 409, message: 'update lease x: the object has been modified' });
    expect(toLeaseApiError(new ApiException(404, 'NotFound', '{"message":"not found"}', {}), 'read', 100)).toMatchObject({ kind: 'not-found' });
    expect(toLeaseApiError(new ApiException(403, 'Forbidden', { message: 'forbidden: User cannot get leases' }, {}), 'read', 100)).toMatchObject({
      kind: 'http',
      statusCode: 403,
    });
    const abort = Object.assign(new Error('The operation was aborted.'), { name: 'AbortError' });
    expect(toLeaseApiError(abort, 'read', 250)).toMatchObject({ kind: 'timeout', message: 'read: no answer within 250 ms' });
    expect(toLeaseApiError(new Error('connect ECONNREFUSED'), 'read', 1)).toMatchObject({ kind: 'network' });
  });

  it('the CoordinationV1Api client surfaces 404 as null, 409 as conflict, a stall as a timeout', async () => {
    const client = coordinationLeaseClient(server.kubeConfig(), NS, NAME, 150);
    expect(await client.get()).toBeNull();
    const created = await client.create({ metadata: { name: NAME, namespace: NS }, spec: { holderIdentity: 'a' } });
    expect(created.metadata?.resourceVersion).toBeTruthy();
    await expect(client.create({ metadata: { name: NAME, namespace: NS }, spec: {} })).rejects.toMatchObject({ kind: 'conflict', statusCode: 409 });
    await expect(client.replace({ metadata: { name: NAME, namespace: NS, resourceVersion: '1' }, spec: {} })).rejects.toMatchObject({ kind: 'conflict' });
    server.stallNext(1);
    const t0 = Date.now();
    await expect(client.get()).rejects.toMatchObject({ kind: 'timeout' });
    expect(Date.now() - t0).toBeLessThan(1000);
  });
});
