/**
 * One watch per resource per process, shared by every subscriber.
 *
 * Watches are keyed by resource + namespaces + selectors (+ checkpoint and replay mode). The first
 * subscriber starts the list+watch, the last one to unsubscribe stops it (its HTTP request and
 * timers with it): RxJS share() with refCount semantics, reset on zero, error and complete.
 *
 * Late subscribers: with `replay` (the default) the registry keeps the latest version of every
 * live object of the watch (already projected or pruned), and a subscriber that arrives after the start first
 * gets that state as ADDED changes (`fromList: true`), then SYNCED if the watch has synced, then
 * the live stream; so a late cache still sees the full state. Memory: one reference per live
 * object. With `replay: false` (Events: a stream, not state) late subscribers get only what
 * happens after they subscribe, and nothing is retained.
 */
import { concat, defer, from, map, of, share, tap, type Observable } from 'rxjs';
import type { KubeConfig } from '@kubernetes/client-node';
import type { ObjectChange, SyncedMarker, WatchEvent } from '../model/watch-event.js';
import { CACHED_KINDS, type KubeObject } from './object-lookup.js';
import { projectForEnrichment } from './projection.js';
import { pruneObject, type PruneOptions } from './prune.js';
import { normalizeNamespaces, watchResource, type ResumePoint, type WatchResourceOptions, type WatchScope } from './watch-resource.js';
import { resourceId, type ResourceDescriptor } from './resources.js';

export interface RegistryWatchOptions extends WatchScope {
  /** Resume after a checkpoint (a separate watch from the un-checkpointed one). */
  resumeFrom?: ResumePoint | null;
  /** Replay the current state to late subscribers. Default true. */
  replay?: boolean;
}

export interface WatchRegistryOptions extends Pick<WatchResourceOptions, 'timings' | 'logger' | 'random' | 'now'> {
  /**
   * Objects of the cached kinds (CACHED_KINDS) are emitted and retained as their projection for
   * enrichment (projection.ts), so neither the replay state nor the caches hold whole objects.
   * Default true; false prunes them like every other object.
   */
  projection?: boolean;
  /** Pruning applied to every other object (Events) before it is emitted or retained; false disables. Default: PruneOptions defaults. */
  prune?: PruneOptions | false;
  /** The list+watch implementation, for tests. Default watchResource. */
  watchFn?: typeof watchResource;
}

/** What a consumer of shared watches needs (ObjectCache and the Event source take this). */
export interface WatchSource {
  watch<T = KubeObject>(resource: ResourceDescriptor, options?: RegistryWatchOptions): Observable<WatchEvent<T>>;
}

interface Entry {
  observable: Observable<WatchEvent<unknown>>;
  active: number;
}

export class WatchRegistry implements WatchSource {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly kubeConfig: KubeConfig,
    private readonly options: WatchRegistryOptions = {},
  ) {}

  /** The registry key of a watch. */
  static keyOf(resource: ResourceDescriptor, options: RegistryWatchOptions = {}): string {
    const ns = normalizeNamespaces(resource, options.namespaces);
    return [
      resourceId(resource),
      `ns=${ns === null ? '*' : ns.join(',')}`,
      `fs=${options.fieldSelector ?? ''}`,
      `ls=${options.labelSelector ?? ''}`,
      `from=${options.resumeFrom?.resourceVersion ?? ''}`,
      `replay=${options.replay !== false}`,
    ].join('|');
  }

  /** Number of watches currently running (with at least one subscriber). */
  get activeWatches(): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.active > 0) n += 1;
    return n;
  }

  watch<T = KubeObject>(resource: ResourceDescriptor, options: RegistryWatchOptions = {}): Observable<WatchEvent<T>> {
    const key = WatchRegistry.keyOf(resource, options);
    let entry = this.entries.get(key);
    if (!entry) {
      entry = this.createEntry(resource, options);
      this.entries.set(key, entry);
    }
    return entry.observable as Observable<WatchEvent<T>>;
  }

  private createEntry(resource: ResourceDescriptor, options: RegistryWatchOptions): Entry {
    const watchFn = this.options.watchFn ?? watchResource;
    const prune = this.options.prune;
    const project = this.options.projection !== false && (CACHED_KINDS as readonly string[]).includes(resource.kind);
    const replay = options.replay !== false;
    const state = new Map<string, unknown>();
    let synced: SyncedMarker | null = null;
    const clear = (): void => {
      state.clear();
      synced = null;
    };

    const upstream = watchFn<unknown>(this.kubeConfig, resource, {
      namespaces: options.namespaces,
      fieldSelector: options.fieldSelector,
      labelSelector: options.labelSelector,
      resumeFrom: options.resumeFrom ?? null,
      timings: this.options.timings,
      logger: this.options.logger,
      random: this.options.random,
      now: this.options.now,
    }).pipe(
      map((event) =>
        event.type !== 'ADDED' && event.type !== 'MODIFIED' && event.type !== 'DELETED'
          ? event
          : project
            ? { ...event, object: projectForEnrichment(event.object as KubeObject, resource.kind) }
            : prune !== false
              ? { ...event, object: pruneObject(event.object, prune ?? {}) }
              : event,
      ),
      tap((event) => {
        if (!replay) return;
        if (event.type === 'SYNCED') synced = event;
        else if (event.type === 'ADDED' || event.type === 'MODIFIED' || event.type === 'DELETED') {
          const uid = uidOf(event.object);
          if (uid === null) return;
          if (event.type === 'DELETED') state.delete(uid);
          else state.set(uid, event.object);
        }
      }),
    );

    const shared = upstream.pipe(
      share({
        resetOnError: () => {
          clear();
          return of(true);
        },
        resetOnComplete: () => {
          clear();
          return of(true);
        },
        resetOnRefCountZero: () => {
          clear();
          return of(true);
        },
      }),
    );

    const entry: Entry = { observable: shared, active: 0 };
    entry.observable = defer(() => {
      const snapshot: WatchEvent<unknown>[] = [];
      if (replay) {
        for (const object of state.values()) {
          snapshot.push({ type: 'ADDED', object, resourceVersion: rvOf(object), fromList: true } satisfies ObjectChange<unknown>);
        }
        if (synced) snapshot.push(synced);
      }
      entry.active += 1;
      return concat(from(snapshot), shared).pipe(
        tap({
          finalize: () => {
            entry.active -= 1;
          },
        }),
      );
    });
    return entry;
  }
}

function uidOf(object: unknown): string | null {
  const m = (object as KubeObject | null)?.metadata;
  return m && typeof m.uid === 'string' && m.uid !== '' ? m.uid : null;
}

function rvOf(object: unknown): string {
  const m = (object as KubeObject | null)?.metadata;
  return m && typeof m.resourceVersion === 'string' ? m.resourceVersion : '';
}
