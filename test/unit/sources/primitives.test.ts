import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { compareResourceVersions, isAtOrBefore, laterResourceVersion, parseResourceVersion } from '../../../src/sources/resource-version.js';
import { Backoff, parseRetryAfter, sleep } from '../../../src/sources/backoff.js';
import { EmittedVersions } from '../../../src/sources/relist-diff.js';
import { LAST_APPLIED_ANNOTATION, pruneObject } from '../../../src/sources/prune.js';
import { collectionPath, RESOURCES, resourceId } from '../../../src/sources/resources.js';

describe('resourceVersion comparison', () => {
  it('compares integers numerically, not lexically', () => {
    expect(compareResourceVersions('9', '10')).toBe(-1);
    expect(compareResourceVersions('100', '99')).toBe(1);
    expect(compareResourceVersions('12345678901234567890', '12345678901234567891')).toBe(-1);
    expect(isAtOrBefore('10', '10')).toBe(true);
    expect(isAtOrBefore('11', '10')).toBe(false);
  });
  it('falls back to equality for opaque values', () => {
    expect(parseResourceVersion('abc')).toBeNull();
    expect(parseResourceVersion('007')).toBeNull();
    expect(compareResourceVersions('abc', 'abc')).toBe(0);
    expect(compareResourceVersions('abc', '10')).toBeNull();
    expect(isAtOrBefore('abc', '10')).toBe(false);
    expect(laterResourceVersion('abc', 'def')).toBe('def');
    expect(laterResourceVersion('20', '10')).toBe('20');
    expect(laterResourceVersion(null, '10')).toBe('10');
  });
  it('agrees with BigInt ordering for any pair of integers', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 80n }), fc.bigInt({ min: 0n, max: 2n ** 80n }), (a, b) => {
        const c = compareResourceVersions(a.toString(), b.toString());
        expect(c).toBe(a < b ? -1 : a > b ? 1 : 0);
      }),
    );
  });
});

describe('backoff', () => {
  it('grows exponentially with full jitter, capped, and resets after a healthy period', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1_000, resetAfterMs: 5_000, maxRetryAfterMs: 10_000 }, () => 0.999);
    const delays = Array.from({ length: 6 }, () => b.next());
    expect(delays).toEqual([99, 199, 399, 799, 999, 999]);
    b.healthyFor(4_999);
    expect(b.attempt).toBe(6);
    b.healthyFor(5_000);
    expect(b.attempt).toBe(0);
    const zero = new Backoff(undefined, () => 0);
    expect(zero.next()).toBe(0);
  });
  it('takes Retry-After as a floor, capped', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1_000, resetAfterMs: 5_000, maxRetryAfterMs: 3_000 }, () => 0.5);
    expect(b.next(2_000)).toBe(2_000);
    expect(b.next(60_000)).toBe(3_000);
    expect(parseRetryAfter('2')).toBe(2_000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:10 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(10_000);
    expect(parseRetryAfter('soon')).toBeNull();
    expect(parseRetryAfter(undefined)).toBeNull();
  });
  it('sleep stops at once when aborted', async () => {
    const ac = new AbortController();
    const p = sleep(10_000, ac.signal);
    ac.abort(new Error('stop'));
    await expect(p).rejects.toThrow('stop');
  });
});

describe('EmittedVersions (relist diff)', () => {
  const id = (uid: string, name = uid) => ({ uid, name, namespace: 'ns' });
  it('emits only the difference on a relist', () => {
    const t = new EmittedVersions();
    t.beginList();
    expect(t.observeListed(id('a'), '10')).toBe('ADDED');
    expect(t.observeListed(id('b'), '11')).toBe('ADDED');
    expect(t.observeListed(id('c'), '12')).toBe('ADDED');
    expect(t.endList()).toEqual([]);
    expect(t.observeWatch('MODIFIED', id('a'), '13')).toBe(true);
    expect(t.observeWatch('MODIFIED', id('a'), '13')).toBe(false); // duplicate
    expect(t.observeWatch('MODIFIED', id('a'), '12')).toBe(false); // stale
    t.beginList();
    expect(t.observeListed(id('a'), '13')).toBeNull();
    expect(t.observeListed(id('b'), '20')).toBe('MODIFIED');
    expect(t.observeListed(id('d'), '21')).toBe('ADDED');
    expect(t.endList()).toEqual([{ uid: 'c', name: 'c', namespace: 'ns' }]);
    expect(t.size).toBe(3);
  });
  it('remembers at most maxTracked objects, forgetting the one changed least recently', () => {
    const t = new EmittedVersions(null, 2);
    expect(t.observeWatch('ADDED', id('a'), '10')).toBe(true);
    expect(t.observeWatch('ADDED', id('b'), '11')).toBe(true);
    expect(t.observeWatch('MODIFIED', id('a'), '12')).toBe(true); // a is now the most recent
    expect(t.observeWatch('ADDED', id('c'), '13')).toBe(true); // b goes
    expect([t.size, t.evicted, t.has('a'), t.has('b'), t.has('c')]).toEqual([2, 1, true, false, true]);
    // a relist: the forgotten b is emitted again, and is not known to be gone when it is
    t.beginList();
    expect(t.observeListed(id('a'), '12')).toBeNull();
    expect(t.observeListed(id('b'), '11')).toBe('ADDED');
    expect(t.endList()).toEqual([{ uid: 'c', name: 'c', namespace: 'ns' }]);
  });
  it('takes versions at or before a checkpoint as already emitted', () => {
    const t = new EmittedVersions('15');
    t.beginList();
    expect(t.observeListed(id('a'), '10')).toBeNull();
    expect(t.observeListed(id('b'), '15')).toBeNull();
    expect(t.observeListed(id('c'), '16')).toBe('ADDED');
    t.endList();
    expect(t.observeWatch('MODIFIED', id('a'), '17')).toBe(true);
  });
  it('keeps what was emitted when a list is restarted', () => {
    const t = new EmittedVersions();
    t.beginList();
    expect(t.observeListed(id('a'), '10')).toBe('ADDED');
    t.abandonList();
    t.beginList();
    expect(t.observeListed(id('a'), '10')).toBeNull();
    expect(t.endList()).toEqual([]);
  });
});

describe('pruning', () => {
  const obj = {
    kind: 'Pod',
    metadata: {
      name: 'p',
      uid: 'u',
      managedFields: [{ manager: 'kubectl' }],
      annotations: { [LAST_APPLIED_ANNOTATION]: '{...}', keep: 'me' },
    },
    spec: { a: 1 },
  };
  it('drops managedFields and last-applied-configuration without mutating the input', () => {
    const p = pruneObject(obj);
    expect(p.metadata).toEqual({ name: 'p', uid: 'u', annotations: { keep: 'me' } });
    expect(p.spec).toBe(obj.spec);
    expect(obj.metadata.managedFields).toHaveLength(1);
  });
  it('can drop all annotations, or nothing', () => {
    expect(pruneObject(obj, { annotations: 'all' }).metadata).toEqual({ name: 'p', uid: 'u' });
    expect(pruneObject(obj, { annotations: 'none', managedFields: false })).toBe(obj);
    const clean = { metadata: { name: 'x', uid: 'y' } };
    expect(pruneObject(clean)).toBe(clean);
  });
});

describe('resources', () => {
  it('builds collection paths', () => {
    expect(collectionPath(RESOURCES.Pod, 'kube-system')).toBe('/api/v1/namespaces/kube-system/pods');
    expect(collectionPath(RESOURCES.Pod, null)).toBe('/api/v1/pods');
    expect(collectionPath(RESOURCES.Node, 'ignored')).toBe('/api/v1/nodes');
    expect(collectionPath(RESOURCES.EventV1, null)).toBe('/apis/events.k8s.io/v1/events');
    expect(collectionPath(RESOURCES.CronJob, 'a')).toBe('/apis/batch/v1/namespaces/a/cronjobs');
    expect(resourceId(RESOURCES.Deployment)).toBe('apps/v1/deployments');
  });
});
