/**
 * What `kubevents record` captures from a live cluster: the changes of the objects enrichment uses
 * (Pods, ReplicaSets, Deployments, StatefulSets, DaemonSets, Jobs, CronJobs, Nodes: the object
 * caches' kinds) and of Events, on the same list+watch as the live run (one WatchRegistry: paged
 * lists, resume after disconnects, 410 relists), each stamped with the time it was seen.
 *
 * Order: the objects' watches start first and the Event watch once each of them has listed (or
 * failed, or after `syncTimeoutMs`), so that a replay has the Pods, owners and Nodes in its cache
 * before the first Event, as the live run has. Each initial list comes as ADDED changes.
 *
 * A kind whose watch fails for good (404: not served) is reported as `failed` and left out; the
 * Event watch failing ends the recording with its error. A forbidden kind (403) is retried by the
 * watch (RBAC gets fixed) and never lists: the Event watch then starts after `syncTimeoutMs`.
 */
import { catchError, concat, defer, filter, ignoreElements, map, merge, Observable, of, share, take, timer, type OperatorFunction } from 'rxjs';
import type { Logger } from 'pino';
import { silentLogger } from '../core/logger.js';
import type { ChangeType, SourceApi } from '../model/kube-event.js';
import type { GapMarker, WatchEvent } from '../model/watch-event.js';
import { watchEventObjects } from './event-source.js';
import { CACHED_KINDS, type CachedKind } from './object-lookup.js';
import { RESOURCES } from './resources.js';
import type { WatchSource } from './watch-registry.js';

export interface RecorderOptions {
  /** Namespaces to record (namespaced kinds and Events); null or [] for all. Nodes are cluster-wide. */
  namespaces?: readonly string[] | null;
  /** Kinds recorded besides Events; default every cached kind, [] for Events only. */
  kinds?: readonly CachedKind[];
  /** Event API: 'auto' (default) prefers events.k8s.io/v1. */
  eventApi?: 'auto' | SourceApi;
  /** Longest wait for the objects' lists before the Event watch starts anyway, ms. Default 60 000. */
  syncTimeoutMs?: number;
  logger?: Logger;
  /** Clock for `observedAt`, for tests. Default Date.now. */
  now?: () => number;
}

export type RecordedItem =
  /** A change to write: `kind` is 'Event' or a cached kind. */
  | { type: 'change'; kind: string; change: ChangeType; object: unknown; observedAt: number }
  /** The initial list of `kind` is complete. */
  | { type: 'synced'; kind: string }
  /** The watch of `kind` lost changes it could not see (a 410 relist); the relist's changes follow. */
  | { type: 'gap'; kind: string; gap: GapMarker }
  /** The watch of `kind` failed for good (e.g. 404: not served); the kind is left out. */
  | { type: 'failed'; kind: string; error: unknown };

function items(kind: string, now: () => number): OperatorFunction<WatchEvent<unknown>, RecordedItem> {
  return map((event): RecordedItem => {
    if (event.type === 'SYNCED') return { type: 'synced', kind };
    if (event.type === 'GAP') return { type: 'gap', kind, gap: event };
    return { type: 'change', kind, change: event.type, object: event.object, observedAt: now() };
  });
}

/** Records the cluster's objects and Events as they change; cold, unsubscribing stops the watches. */
export function recordCluster(source: WatchSource, options: RecorderOptions = {}): Observable<RecordedItem> {
  const kinds = options.kinds ?? CACHED_KINDS;
  const now = options.now ?? Date.now;
  const log = (options.logger ?? silentLogger).child({ component: 'recorder' });
  const namespaces = options.namespaces && options.namespaces.length > 0 ? options.namespaces : null;
  return defer(() => {
    const objects$ = merge(
      ...kinds.map((kind) =>
        source.watch<unknown>(RESOURCES[kind], { namespaces }).pipe(
          items(kind, now),
          catchError((error: unknown) => {
            log.warn({ kind, err: error instanceof Error ? error.message : String(error) }, `cannot watch ${kind}: recording without it`);
            return of<RecordedItem>({ type: 'failed', kind, error });
          }),
        ),
      ),
    ).pipe(share());
    // the Event watch starts once every kind has listed or failed, or after the timeout
    const listed$ =
      kinds.length === 0
        ? of(true)
        : merge(
            objects$.pipe(
              filter((i) => i.type === 'synced' || i.type === 'failed'),
              map((i) => i.kind),
              scanDistinct(kinds.length),
            ),
            timer(options.syncTimeoutMs ?? 60_000).pipe(
              map(() => {
                log.warn({ timeoutMs: options.syncTimeoutMs ?? 60_000 }, 'the objects did not all list in time: recording Events anyway');
                return true;
              }),
            ),
          ).pipe(take(1));
    const events$ = concat(
      listed$.pipe(ignoreElements()),
      defer(() => watchEventObjects(source, { namespaces }, { api: options.eventApi, logger: options.logger })).pipe(items('Event', now)),
    );
    return merge(objects$, events$);
  });
}

/** Emits `true` once `count` distinct values have been seen. */
function scanDistinct(count: number): OperatorFunction<string, boolean> {
  return (source) =>
    new Observable<boolean>((subscriber) => {
      const seen = new Set<string>();
      return source.subscribe({
        next: (value) => {
          seen.add(value);
          if (seen.size >= count) subscriber.next(true);
        },
        error: (e: unknown) => subscriber.error(e),
        complete: () => subscriber.complete(),
      });
    });
}
