/**
 * Object caches for enrichment context (Pods, ReplicaSets, Deployments, StatefulSets, DaemonSets,
 * Jobs, CronJobs, Nodes): the live ObjectLookup.
 *
 * Filled from shared watches (`connectObjectCache`, one watch per kind via the WatchRegistry) or
 * from a replayed recording (`applyChanges`). Holds one projection (projection.ts: what enrichment
 * reads) per live object, indexed by
 * kind/namespace/name and by uid; DELETED removes it. Per object uid a version older than the one
 * held is ignored, so replaying overlapping recordings is harmless. A DELETED only removes the
 * name index entry when it still points at the same uid (a relist may report the deletion of an old
 * uid after the ADDED of its same-name replacement).
 */
import { BehaviorSubject, distinctUntilChanged, map, Subscription, type Observable } from 'rxjs';
import type { Logger } from 'pino';
import { silentLogger } from '../core/logger.js';
import type { OwnerRef } from '../model/kube-event.js';
import type { WatchEvent } from '../model/watch-event.js';
import { CACHED_KINDS, objectNameKey, resolveOwnerChain, type CachedKind, type KubeObject, type ObjectLookup } from './object-lookup.js';
import { projectForEnrichment } from './projection.js';
import { pruneObject, type PruneOptions } from './prune.js';
import { isBefore } from './resource-version.js';
import { RESOURCES, type ResourceDescriptor } from './resources.js';
import type { WatchSource } from './watch-registry.js';

export interface ObjectCacheOptions {
  /**
   * Store projections (projection.ts: only what enrichment reads). Default true. false stores
   * objects as `prune` leaves them.
   */
  projection?: boolean;
  /** Without projection: pruning of stored objects; false keeps them whole. Default: PruneOptions defaults. */
  prune?: PruneOptions | false;
  logger?: Logger;
}

export class ObjectCache implements ObjectLookup {
  private readonly byName = new Map<string, KubeObject>();
  private readonly byUid = new Map<string, KubeObject>();
  private readonly counts = new Map<string, number>();
  private readonly expected = new Set<string>();
  private readonly syncedKinds = new Set<string>();
  private readonly syncedSubject = new BehaviorSubject<boolean>(true);
  private readonly log: Logger;

  /** Whether every expected kind has synced; emits on change (current value first). */
  readonly synced$: Observable<boolean>;

  constructor(private readonly options: ObjectCacheOptions = {}) {
    this.log = (options.logger ?? silentLogger).child({ component: 'object-cache' });
    this.synced$ = this.syncedSubject.pipe(distinctUntilChanged());
  }

  // ---- ObjectLookup

  get(kind: string, namespace: string | null | undefined, name: string): KubeObject | undefined {
    return this.byName.get(objectNameKey(kind, namespace || null, name));
  }

  getByUid(uid: string): KubeObject | undefined {
    return this.byUid.get(uid);
  }

  ownerChain(obj: KubeObject): OwnerRef[] {
    return resolveOwnerChain(obj, this);
  }

  isSynced(kind?: string): boolean {
    if (kind !== undefined) return this.syncedKinds.has(kind);
    for (const k of this.expected) if (!this.syncedKinds.has(k)) return false;
    return true;
  }

  // ---- filling

  /** Number of cached objects, of one kind or in all. */
  size(kind?: string): number {
    return kind === undefined ? this.byUid.size : (this.counts.get(kind) ?? 0);
  }

  /** Declares kinds that must sync before isSynced() (without a kind) is true. */
  expect(kinds: Iterable<string>): void {
    for (const k of kinds) this.expected.add(k);
    this.publishSynced();
  }

  markSynced(kind: string): void {
    this.syncedKinds.add(kind);
    this.publishSynced();
  }

  /**
   * Applies one watch event. `kind` defaults to the object's own `kind` (recordings carry it);
   * SYNCED marks `kind` synced (ignored without a kind); GAP is ignored.
   */
  apply(event: WatchEvent<unknown>, kind?: string): void {
    if (event.type === 'SYNCED') {
      if (kind !== undefined) this.markSynced(kind);
      return;
    }
    if (event.type === 'GAP') return;
    const raw = event.object as KubeObject | null;
    const k = kind ?? (typeof raw?.kind === 'string' ? raw.kind : undefined);
    const meta = raw?.metadata;
    if (!raw || !k || !meta || typeof meta.name !== 'string') {
      this.log.warn({ change: event.type }, 'ignoring an object without kind or metadata.name');
      return;
    }
    const uid = typeof meta.uid === 'string' && meta.uid !== '' ? meta.uid : null;
    const nameKey = objectNameKey(k, meta.namespace || null, meta.name);
    if (event.type === 'DELETED') {
      const held = uid !== null ? this.byUid.get(uid) : this.byName.get(nameKey);
      if (!held) return;
      const heldUid = held.metadata.uid;
      if (heldUid) this.byUid.delete(heldUid);
      if (this.byName.get(nameKey) === held) this.byName.delete(nameKey);
      this.count(k, -1);
      return;
    }
    const existing = uid !== null ? this.byUid.get(uid) : this.byName.get(nameKey);
    const rv = meta.resourceVersion;
    const heldRv = existing?.metadata.resourceVersion;
    if (existing && typeof rv === 'string' && typeof heldRv === 'string' && isBefore(rv, heldRv)) return;
    let obj: KubeObject;
    if (this.options.projection !== false) obj = projectForEnrichment(raw, k);
    else {
      obj = this.options.prune === false ? raw : pruneObject(raw, this.options.prune ?? {});
      if (obj.kind !== k) obj = { ...obj, kind: k };
    }
    const displaced = this.byName.get(nameKey);
    if (displaced && displaced !== existing) {
      // a same-name object with another uid: the old one was deleted and recreated
      if (displaced.metadata.uid) this.byUid.delete(displaced.metadata.uid);
      this.count(k, -1);
    }
    if (!existing) this.count(k, 1);
    this.byName.set(nameKey, obj);
    if (uid !== null) this.byUid.set(uid, obj);
  }

  /** Applies a sequence of changes (e.g. a replayed recording). */
  applyChanges(events: Iterable<WatchEvent<unknown>>, kind?: string): void {
    for (const e of events) this.apply(e, kind);
  }

  /** Drops every object of `kind` (or of all kinds) and its synced state. */
  clear(kind?: string): void {
    if (kind === undefined) {
      this.byName.clear();
      this.byUid.clear();
      this.counts.clear();
      this.syncedKinds.clear();
    } else {
      for (const [key, obj] of this.byName) {
        if (obj.kind === kind) {
          this.byName.delete(key);
          if (obj.metadata.uid) this.byUid.delete(obj.metadata.uid);
        }
      }
      for (const [uid, obj] of this.byUid) if (obj.kind === kind) this.byUid.delete(uid);
      this.counts.delete(kind);
      this.syncedKinds.delete(kind);
    }
    this.publishSynced();
  }

  /** Resolves once isSynced(kind) (or everything expected) holds; rejects when `signal` aborts. */
  whenSynced(kind?: string, signal?: AbortSignal): Promise<void> {
    if (this.isSynced(kind)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        sub.unsubscribe();
        reject(signal?.reason);
      };
      const sub = this.syncedSubject.pipe(map(() => this.isSynced(kind))).subscribe((ok) => {
        if (!ok) return;
        signal?.removeEventListener('abort', onAbort);
        queueMicrotask(() => sub.unsubscribe());
        resolve();
      });
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private count(kind: string, delta: number): void {
    const n = (this.counts.get(kind) ?? 0) + delta;
    if (n <= 0) this.counts.delete(kind);
    else this.counts.set(kind, n);
  }

  private publishSynced(): void {
    this.syncedSubject.next(this.isSynced());
  }
}

export interface ConnectObjectCacheOptions {
  /** Kinds to watch. Default: all CACHED_KINDS. */
  kinds?: readonly CachedKind[];
  /** Namespaces for namespaced kinds (Nodes are always cluster-wide); default all. */
  namespaces?: readonly string[] | null;
  logger?: Logger;
}

/**
 * Fills `cache` from shared watches, one per kind. Unsubscribing stops the watches (when no one
 * else uses them) and clears those kinds from the cache. A kind whose watch fails for good (e.g.
 * 404: the API is not served) is logged, left empty and counted as synced, so that isSynced()
 * does not wait for it forever.
 */
export function connectObjectCache(cache: ObjectCache, source: WatchSource, options: ConnectObjectCacheOptions = {}): Subscription {
  const kinds = options.kinds ?? CACHED_KINDS;
  const log = (options.logger ?? silentLogger).child({ component: 'object-cache' });
  cache.expect(kinds);
  const subscription = new Subscription();
  for (const kind of kinds) {
    const resource: ResourceDescriptor = RESOURCES[kind];
    subscription.add(
      source.watch<KubeObject>(resource, { namespaces: options.namespaces ?? null }).subscribe({
        next: (event) => cache.apply(event, kind),
        error: (error: unknown) => {
          log.error({ kind, err: error instanceof Error ? error.message : error }, 'cache watch failed for good; kind left empty');
          cache.clear(kind);
          cache.markSynced(kind);
        },
      }),
    );
  }
  subscription.add(() => {
    for (const kind of kinds) cache.clear(kind);
  });
  return subscription;
}
