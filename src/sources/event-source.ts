/**
 * The Event source: Kubernetes Events as occurrences (KubeEvent), on a shared watch.
 *
 * Watches events.k8s.io/v1 and falls back to core/v1 when that API is not served (404); both are
 * views of the same stored objects, so only one is watched. Each change is normalized with
 * normalizeEvent and judged as an occurrence:
 * - ADDED is an occurrence;
 * - MODIFIED is an occurrence when it bumps the count (series.count / deprecatedCount / count)
 *   above the highest seen for that uid, or when the uid was not seen before (after a resume);
 *   a MODIFIED that leaves the count alone (annotation change, ...) is not;
 * - DELETED (TTL expiry) is never an occurrence; it only forgets the uid.
 * Objects that do not normalize become DEAD_LETTER items with the NormalizeError reason; the
 * stream goes on. SYNCED and GAP markers pass through, so a checkpointing consumer sees them in
 * order with the events.
 *
 * State: the highest count per live event uid (dropped on DELETED), i.e. proportional to the
 * Events that exist, at most MAX_TRACKED_EVENTS (see there). The output is shared (refCount): every subscriber of items$, events$ and
 * deadLetters$ rides the same watch; a late subscriber gets what happens from then on.
 */
import { catchError, defer, filter, map, Observable, share, throwError, type OperatorFunction } from 'rxjs';
import type { Logger } from 'pino';
import { silentLogger } from '../core/logger.js';
import type { ChangeType, KubeEvent, SourceApi } from '../model/kube-event.js';
import { NormalizeError, normalizeEvent } from '../model/normalize.js';
import type { GapMarker, SyncedMarker, WatchEvent } from '../model/watch-event.js';
import { KubeApiError } from './kube-http.js';
import { MAX_TRACKED_EVENTS } from './relist-diff.js';
import { RESOURCES } from './resources.js';
import type { ResumePoint, WatchScope } from './watch-resource.js';
import type { WatchSource } from './watch-registry.js';

export interface DeadLetter {
  /** Why the object was refused (NormalizeError message). */
  reason: string;
  /** The object as received. */
  raw: unknown;
  change: ChangeType;
  resourceVersion: string;
  /** Wall-clock time of the refusal, epoch ms. */
  detectedAt: number;
}

export interface EventItem {
  type: 'EVENT';
  event: KubeEvent;
  /**
   * Safe resume point once this item (and all before it) is durably handled: its resourceVersion
   * for a watch event, null for an item from a (re)list (the following SYNCED is the resume point).
   */
  checkpoint: string | null;
}

export interface DeadLetterItem {
  type: 'DEAD_LETTER';
  deadLetter: DeadLetter;
  checkpoint: string | null;
}

export type EventSourceItem = EventItem | DeadLetterItem | SyncedMarker | GapMarker;

export interface OccurrenceOptions {
  cluster: string;
  logger?: Logger;
  now?: () => number;
  /** Default MAX_TRACKED_EVENTS. */
  maxTracked?: number;
}

/**
 * Turns Event changes (live or replayed from a recording) into occurrences, dead letters and
 * markers. Stateful per subscription.
 */
export function eventOccurrences(options: OccurrenceOptions): OperatorFunction<WatchEvent<unknown>, EventSourceItem> {
  const now = options.now ?? Date.now;
  const log = (options.logger ?? silentLogger).child({ component: 'event-source' });
  return (source) =>
    new Observable<EventSourceItem>((subscriber) => {
      // insertion order is the order of last change (see MAX_TRACKED_EVENTS)
      const counts = new Map<string, number>();
      const maxTracked = options.maxTracked ?? MAX_TRACKED_EVENTS;
      let warned = false;
      return source.subscribe({
        next: (change) => {
          if (change.type === 'SYNCED' || change.type === 'GAP') {
            subscriber.next(change);
            return;
          }
          const checkpoint = change.fromList ? null : change.resourceVersion || null;
          if (change.type === 'DELETED') {
            const uid = uidOf(change.object);
            if (uid !== null) counts.delete(uid);
            return;
          }
          let event: KubeEvent;
          try {
            event = normalizeEvent(change.object, change.type, { cluster: options.cluster });
          } catch (error) {
            const reason = error instanceof NormalizeError ? error.message : `normalize failed: ${String(error)}`;
            log.warn({ reason, resourceVersion: change.resourceVersion }, 'malformed event sent to dead letters');
            subscriber.next({
              type: 'DEAD_LETTER',
              deadLetter: { reason, raw: change.object, change: change.type, resourceVersion: change.resourceVersion, detectedAt: now() },
              checkpoint,
            });
            return;
          }
          const previous = counts.get(event.uid);
          if (change.type === 'MODIFIED' && previous !== undefined && event.count <= previous) return;
          counts.delete(event.uid);
          counts.set(event.uid, Math.max(previous ?? 0, event.count));
          if (counts.size > maxTracked) {
            counts.delete(counts.keys().next().value as string);
            if (!warned) {
              warned = true;
              log.warn(
                { maxTracked },
                'more live Events than kubevents remembers: the least recently changed are forgotten (a later change of one may be published again, with the same idempotency key)',
              );
            }
          }
          subscriber.next({ type: 'EVENT', event, checkpoint });
        },
        error: (e: unknown) => subscriber.error(e),
        complete: () => subscriber.complete(),
      });
    });
}

function uidOf(object: unknown): string | null {
  const m = (object as { metadata?: { uid?: unknown } } | null)?.metadata;
  return m && typeof m.uid === 'string' && m.uid !== '' ? m.uid : null;
}

export interface EventSourceOptions extends WatchScope {
  /** Cluster name stamped on every KubeEvent. */
  cluster: string;
  /** Which Event API to watch; 'auto' (default) prefers events.k8s.io/v1, falling back to core/v1 on 404. */
  api?: 'auto' | SourceApi;
  /** Resume after a checkpoint (see watchResource). */
  resumeFrom?: ResumePoint | null;
  logger?: Logger;
  /** Also called for every dead letter. */
  onDeadLetter?: (deadLetter: DeadLetter) => void;
  now?: () => number;
}

export interface EventSource {
  /** Occurrences, dead letters and markers, in stream order. */
  readonly items$: Observable<EventSourceItem>;
  /** Occurrences only. */
  readonly events$: Observable<KubeEvent>;
  /** Malformed Events only. */
  readonly deadLetters$: Observable<DeadLetter>;
}

/**
 * The Event objects as a watch sends them (changes, SYNCED and GAP markers): events.k8s.io/v1, or
 * core/v1 when that is not served (404) or asked for. Both are views of the same stored objects.
 */
export function watchEventObjects(
  source: WatchSource,
  scope: WatchScope & { resumeFrom?: ResumePoint | null },
  options: { api?: 'auto' | SourceApi; logger?: Logger } = {},
): Observable<WatchEvent<unknown>> {
  const log = (options.logger ?? silentLogger).child({ component: 'event-source' });
  const watchScope = { ...scope, resumeFrom: scope.resumeFrom ?? null, replay: false };
  const api = options.api ?? 'auto';
  return defer(() => {
    if (api === 'core/v1') return source.watch<unknown>(RESOURCES.CoreEvent, watchScope);
    const v1 = source.watch<unknown>(RESOURCES.EventV1, watchScope);
    if (api === 'events.k8s.io/v1') return v1;
    return v1.pipe(
      catchError((error: unknown) => {
        if (error instanceof KubeApiError && error.statusCode === 404) {
          log.info('events.k8s.io/v1 is not served, watching core/v1 Events');
          return source.watch<unknown>(RESOURCES.CoreEvent, watchScope);
        }
        return throwError(() => error);
      }),
    );
  });
}

export function createEventSource(source: WatchSource, options: EventSourceOptions): EventSource {
  const raw$ = watchEventObjects(
    source,
    { namespaces: options.namespaces, fieldSelector: options.fieldSelector, labelSelector: options.labelSelector, resumeFrom: options.resumeFrom ?? null },
    { api: options.api, logger: options.logger },
  );
  const items$ = raw$.pipe(
    eventOccurrences({ cluster: options.cluster, logger: options.logger, now: options.now }),
    map((item) => {
      if (item.type === 'DEAD_LETTER') options.onDeadLetter?.(item.deadLetter);
      return item;
    }),
    share(),
  );
  return {
    items$,
    events$: items$.pipe(
      filter((i): i is EventItem => i.type === 'EVENT'),
      map((i) => i.event),
    ),
    deadLetters$: items$.pipe(
      filter((i): i is DeadLetterItem => i.type === 'DEAD_LETTER'),
      map((i) => i.deadLetter),
    ),
  };
}
