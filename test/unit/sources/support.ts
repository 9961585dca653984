import { expect } from 'vitest';
import type { Subscription } from 'rxjs';
import type { Observable } from 'rxjs';
import type { WatchEvent, ObjectChange } from '../../../src/model/watch-event.js';
import type { WatchTimingsInput } from '../../../src/sources/watch-resource.js';
import { resKey, type FakeApiServer, type Obj, type ResourceDef } from '../../support/fake-apiserver.js';

export const FAST: WatchTimingsInput = {
  pageSize: 3,
  requestTimeoutMs: 2_000,
  connectTimeoutMs: 2_000,
  stallTimeoutMs: 400,
  watchTimeoutSeconds: 0,
  quickCloseMs: 200,
  quickCloseLimit: 3,
  backoff: { initialMs: 5, maxMs: 40, resetAfterMs: 500, maxRetryAfterMs: 1_500 },
};

export interface Collector<T> {
  events: WatchEvent<T>[];
  errors: unknown[];
  subscription: Subscription;
  changes(): ObjectChange<T>[];
}

export function collect<T>(source: Observable<WatchEvent<T>>, onEvent?: (e: WatchEvent<T>) => void): Collector<T> {
  const events: WatchEvent<T>[] = [];
  const errors: unknown[] = [];
  const subscription = source.subscribe({
    next: (e) => {
      events.push(e);
      onEvent?.(e);
    },
    error: (e: unknown) => errors.push(e),
  });
  return {
    events,
    errors,
    subscription,
    changes: () => events.filter((e): e is ObjectChange<T> => e.type === 'ADDED' || e.type === 'MODIFIED' || e.type === 'DELETED'),
  };
}

export async function waitFor(cond: () => boolean, timeoutMs = 4_000, what = 'condition'): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function uidOf(o: unknown): string {
  return (o as Obj).metadata.uid as string;
}

/** uid -> resourceVersion of what the emitted changes leave behind. */
export function stateFrom(changes: ObjectChange<unknown>[]): Map<string, string> {
  const state = new Map<string, string>();
  for (const c of changes) {
    if (c.type === 'DELETED') state.delete(uidOf(c.object));
    else state.set(uidOf(c.object), c.resourceVersion);
  }
  return state;
}

export function serverState(server: FakeApiServer, def: ResourceDef, ns: string | null = null): Map<string, string> {
  return new Map(
    server
      .list(def)
      .filter((o) => ns === null || o.metadata.namespace === ns)
      .map((o) => [o.metadata.uid as string, o.metadata.resourceVersion as string]),
  );
}

/** Whether the emitted changes have converged to the server's current objects. */
export function converged(c: Collector<unknown>, server: FakeApiServer, def: ResourceDef, ns: string | null = null): boolean {
  const a = stateFrom(c.changes());
  const b = serverState(server, def, ns);
  if (a.size !== b.size) return false;
  for (const [k, v] of b) if (a.get(k) !== v) return false;
  return true;
}

/**
 * Every (uid, resourceVersion) emitted at most once and, per uid, in strictly increasing order;
 * and the final state equals the server's: every object version the server holds was emitted.
 */
export function expectExactlyOnce(c: Collector<unknown>, server: FakeApiServer, def: ResourceDef, ns: string | null = null): void {
  const seen = new Set<string>();
  const last = new Map<string, number>();
  for (const ch of c.changes()) {
    const uid = uidOf(ch.object);
    const pair = `${uid}@${ch.resourceVersion}`;
    expect(seen.has(pair), `duplicate ${ch.type} ${pair}`).toBe(false);
    seen.add(pair);
    const rv = Number(ch.resourceVersion);
    const prev = last.get(uid);
    if (prev !== undefined) expect(rv, `out of order for ${uid}`).toBeGreaterThan(prev);
    last.set(uid, rv);
  }
  expect(Object.fromEntries(stateFrom(c.changes()))).toEqual(Object.fromEntries(serverState(server, def, ns)));
}

/**
 * Strict form when no relist happened after the first list: per uid, exactly the version listed
 * at the first SYNCED plus every later history entry, in order, with the right change type.
 */
export function expectFullHistory(c: Collector<unknown>, server: FakeApiServer, def: ResourceDef, ns: string | null = null): void {
  const synced = c.events.find((e) => e.type === 'SYNCED');
  expect(synced).toBeDefined();
  const listRv = Number((synced as { resourceVersion: string }).resourceVersion);
  const res = resKey(def);
  const expected = new Map<string, string[]>();
  const atList = new Map<string, { uid: string; rv: string }>();
  for (const e of server.history) {
    if (e.res !== res || (ns !== null && e.obj.metadata.namespace !== ns)) continue;
    const uid = e.obj.metadata.uid as string;
    if (e.rev <= listRv) {
      if (e.type === 'DELETED') atList.delete(uid);
      else atList.set(uid, { uid, rv: e.obj.metadata.resourceVersion as string });
      continue;
    }
    const list = expected.get(uid) ?? [];
    list.push(`${e.type}@${e.obj.metadata.resourceVersion}`);
    expected.set(uid, list);
  }
  for (const { uid, rv } of atList.values()) expected.set(uid, [`ADDED@${rv}`, ...(expected.get(uid) ?? [])]);
  const actual = new Map<string, string[]>();
  for (const ch of c.changes()) {
    const uid = uidOf(ch.object);
    const list = actual.get(uid) ?? [];
    list.push(`${ch.type}@${ch.resourceVersion}`);
    actual.set(uid, list);
  }
  expect(Object.fromEntries(actual)).toEqual(Object.fromEntries(expected));
}

export function pod(name: string, namespace = 'default', extra: Partial<Obj['metadata']> = {}): Obj {
  return { metadata: { name, namespace, labels: { app: 'web' }, ...extra }, spec: { nodeName: 'n1' }, status: { phase: 'Pending' } };
}
