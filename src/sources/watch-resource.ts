/**
 * watchResource: one Kubernetes resource as an Observable of changes that never loses or
 * duplicates an object version the stream could see.
 *
 * Per scope (all namespaces, or one namespace):
 * 1. initial list, paged with limit/continue (a 410 on an expired continue token restarts the list;
 *    already-emitted versions are not emitted again), each object as ADDED (`fromList: true`), then
 *    a SYNCED marker carrying the list's resourceVersion;
 * 2. watch from that resourceVersion with allowWatchBookmarks=true, tracking the resourceVersion
 *    of every event including BOOKMARKs; a clean close re-watches from it at once;
 * 3. 410 Gone (HTTP status or ERROR event) relists and emits only the difference against what was
 *    emitted (MODIFIED for changed objects, DELETED with `inferred: true` for vanished ones), then
 *    SYNCED; a GAP marker (cause 'watch-expired') precedes the SYNCED when the relist found changes,
 *    because their intermediate versions, and objects created and deleted in between, were not seen;
 * 4. network errors, timeouts, stalls, 5xx, 429 (and 401/403, logged as errors) retry the watch from
 *    the last resourceVersion after exponential backoff with full jitter, honouring Retry-After;
 *    other statuses (400, 404, ...) error the Observable;
 * 5. with `resumeFrom` (a checkpoint), no initial list: the watch starts at the checkpoint. If that
 *    is too old (410 before anything newer was seen), relist, skip object versions at or before the
 *    checkpoint, emit a GAP (cause 'checkpoint-expired', from/to resourceVersion, checkpoint time)
 *    and SYNCED. Objects deleted between the checkpoint and the relist cannot be known.
 *
 * Watch events whose version was already emitted (or is older than the one emitted) are dropped, so
 * per object uid the emitted resourceVersions strictly increase (see resource-version.ts for the
 * comparison assumption). Several namespaces are watched separately and merged: order then holds
 * per namespace, the first SYNCED is emitted once every namespace has listed (with the smallest
 * list resourceVersion), later relist markers pass through as they come.
 *
 * The Observable is cold: each subscription runs its own list+watch (share it through
 * WatchRegistry). Unsubscribing aborts the HTTP requests and clears every timer.
 *
 * Known server quirk handled: for Events (no watch cache), some apiservers answer a watch from a
 * compacted resourceVersion with 200 and an immediately closed, empty stream instead of 410
 * (kubernetes/kubernetes#104171). `quickCloseLimit` consecutive empty closes within `quickCloseMs`
 * are therefore treated as 410, with backoff in between.
 */
import { Observable, Subscription } from 'rxjs';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { silentLogger } from '../core/logger.js';
import type { ChangeType } from '../model/kube-event.js';
import type { GapMarker, WatchEvent } from '../model/watch-event.js';
import type { KubeObject } from './object-lookup.js';
import { Backoff, DEFAULT_BACKOFF, sleep, type BackoffOptions } from './backoff.js';
import { getJson, isGone, isRetryable, KubeApiError, readStatus, streamWatch, type RawWatchEvent } from './kube-http.js';
import { EmittedVersions, MAX_TRACKED_EVENTS, type ObjectIdentity } from './relist-diff.js';
import { apiVersionOf, collectionPath, resourceId, type ResourceDescriptor } from './resources.js';
import { compareResourceVersions, laterResourceVersion } from './resource-version.js';

/** Where a previous run stopped: resume after this resourceVersion. */
export interface ResumePoint {
  resourceVersion: string;
  /** When that resourceVersion was reached (epoch ms), reported in a GAP marker. */
  time?: number | null;
}

export interface WatchTimings {
  /** List page size (`limit`). Default 500. */
  pageSize: number;
  /** Deadline of one list page request, ms. Default 60 000. */
  requestTimeoutMs: number;
  /** Deadline until a watch's response headers, ms. Default 15 000. */
  connectTimeoutMs: number;
  /** A watch silent (not even a bookmark) this long is re-established, ms. Default 180 000. */
  stallTimeoutMs: number;
  /** Server-side `timeoutSeconds` of a watch, jittered up to twice (as client-go does); 0 omits it. Default 300. */
  watchTimeoutSeconds: number;
  /** A clean close with no event within this many ms counts as a quick close. Default 2 000. */
  quickCloseMs: number;
  /** Consecutive quick closes treated as 410 Gone. Default 3. */
  quickCloseLimit: number;
  /**
   * A 410 Gone on a watch that received nothing, this soon after the relist before it, counts as
   * the watch expiring again right after a relist (a flapping server: back off); later, it is a
   * new expiry (e.g. an apiserver restart) and relists at once. ms. Default 10 000.
   */
  relistFlapMs: number;
  backoff: BackoffOptions;
}

export const DEFAULT_WATCH_TIMINGS: WatchTimings = {
  pageSize: 500,
  requestTimeoutMs: 60_000,
  connectTimeoutMs: 15_000,
  stallTimeoutMs: 180_000,
  watchTimeoutSeconds: 300,
  quickCloseMs: 2_000,
  quickCloseLimit: 3,
  relistFlapMs: 10_000,
  backoff: DEFAULT_BACKOFF,
};

export type WatchTimingsInput = Partial<Omit<WatchTimings, 'backoff'>> & { backoff?: Partial<BackoffOptions> };

export function resolveTimings(input: WatchTimingsInput | undefined): WatchTimings {
  return { ...DEFAULT_WATCH_TIMINGS, ...input, backoff: { ...DEFAULT_WATCH_TIMINGS.backoff, ...input?.backoff } };
}

export interface WatchScope {
  /** Namespaces to watch; undefined, null or [] means all. Ignored for cluster-scoped resources. */
  namespaces?: readonly string[] | null;
  /** Server-side field selector, e.g. 'involvedObject.kind=Pod'. */
  fieldSelector?: string;
  /** Server-side label selector, e.g. 'app=web,tier!=db'. */
  labelSelector?: string;
}

export interface WatchResourceOptions extends WatchScope {
  /** Resume after a checkpoint instead of listing first. */
  resumeFrom?: ResumePoint | null;
  timings?: WatchTimingsInput;
  logger?: Logger;
  /** Jitter source, for tests. Default Math.random. */
  random?: () => number;
  /** Clock for GAP markers, for tests. Default Date.now. */
  now?: () => number;
}

/** Namespaces as watched: null for all (or a cluster-scoped resource), else sorted, deduplicated. */
export function normalizeNamespaces(resource: ResourceDescriptor, namespaces: readonly string[] | null | undefined): string[] | null {
  if (!resource.namespaced || !namespaces || namespaces.length === 0) return null;
  const unique = [...new Set(namespaces.filter((n) => n.length > 0))].sort();
  return unique.length === 0 ? null : unique;
}

export function watchResource<T = KubeObject>(kc: KubeConfig, resource: ResourceDescriptor, options: WatchResourceOptions = {}): Observable<WatchEvent<T>> {
  const namespaces = normalizeNamespaces(resource, options.namespaces);
  if (namespaces === null || namespaces.length === 1) {
    return watchScope<T>(kc, resource, namespaces?.[0] ?? null, options);
  }
  return new Observable<WatchEvent<T>>((subscriber) => {
    const initialSync = new Map<string, string>();
    let allSynced = false;
    const subscriptions = new Subscription();
    for (const ns of namespaces) {
      subscriptions.add(
        watchScope<T>(kc, resource, ns, options).subscribe({
          next: (event) => {
            if (event.type === 'SYNCED' && !allSynced) {
              initialSync.set(ns, event.resourceVersion);
              if (initialSync.size === namespaces.length) {
                allSynced = true;
                subscriber.next({ type: 'SYNCED', resourceVersion: smallest([...initialSync.values()]) });
              }
              return;
            }
            subscriber.next(event);
          },
          error: (error: unknown) => subscriber.error(error),
        }),
      );
    }
    return subscriptions;
  });
}

function smallest(rvs: string[]): string {
  let min = rvs[0] ?? '';
  for (const rv of rvs.slice(1)) if (compareResourceVersions(rv, min) === -1) min = rv;
  return min;
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function identityOf(obj: Obj): { id: ObjectIdentity; rv: string } | null {
  const m = obj['metadata'];
  if (!isObj(m)) return null;
  const uid = m['uid'];
  const rv = m['resourceVersion'];
  const name = m['name'];
  if (typeof uid !== 'string' || uid === '' || typeof rv !== 'string' || rv === '' || typeof name !== 'string') return null;
  const ns = m['namespace'];
  return { id: { uid, name, namespace: typeof ns === 'string' && ns !== '' ? ns : undefined }, rv };
}

type RelistCause = 'initial' | 'checkpoint-expired' | 'watch-expired';

class AbortedError extends Error {
  constructor() {
    super('watch unsubscribed');
    this.name = 'AbortError';
  }
}

function watchScope<T>(kc: KubeConfig, resource: ResourceDescriptor, namespace: string | null, options: WatchResourceOptions): Observable<WatchEvent<T>> {
  return new Observable<WatchEvent<T>>((subscriber) => {
    const controller = new AbortController();
    const emit = (event: WatchEvent<T>): void => {
      if (!subscriber.closed) subscriber.next(event);
    };
    runScope(kc, resource, namespace, options, controller.signal, emit as (e: WatchEvent<unknown>) => void).then(
      () => subscriber.complete(),
      (error: unknown) => {
        if (!controller.signal.aborted) subscriber.error(error);
      },
    );
    return () => controller.abort(new AbortedError());
  });
}

async function runScope(
  kc: KubeConfig,
  resource: ResourceDescriptor,
  namespace: string | null,
  options: WatchResourceOptions,
  signal: AbortSignal,
  emit: (event: WatchEvent<unknown>) => void,
): Promise<void> {
  const timings = resolveTimings(options.timings);
  const random = options.random ?? Math.random;
  const now = options.now ?? Date.now;
  const scopeName = `${resourceId(resource)}${namespace ? `@${namespace}` : ''}`;
  const log = (options.logger ?? silentLogger).child({ resource: scopeName });
  const path = collectionPath(resource, namespace);
  const apiVersion = apiVersionOf(resource);
  const selectors = { fieldSelector: options.fieldSelector, labelSelector: options.labelSelector };
  const resumeFrom = options.resumeFrom ?? null;
  // Events come and go by the hundred thousand (see MAX_TRACKED_EVENTS); the other kinds are what
  // the object caches hold anyway
  const tracker = new EmittedVersions(resumeFrom?.resourceVersion ?? null, resource.kind === 'Event' ? MAX_TRACKED_EVENTS : Number.POSITIVE_INFINITY);
  const backoff = new Backoff(timings.backoff, random);

  let rv: string | null = resumeFrom?.resourceVersion ?? null;
  let lastChangeAt: number | null = resumeFrom?.time ?? null;
  let listedOnce = false;
  let relist: RelistCause | null = resumeFrom ? null : 'initial';
  let quickCloses = 0;
  /** Consecutive 410s on watches that received nothing, each soon after the relist before it. */
  let emptyGones = 0;
  let relistedAt: number | null = null;

  const withKind = (obj: Obj): Obj => {
    if (obj['apiVersion'] === undefined) obj['apiVersion'] = apiVersion;
    if (obj['kind'] === undefined) obj['kind'] = resource.kind;
    return obj;
  };

  const gapCause = (): RelistCause => (!listedOnce && resumeFrom !== null && rv === resumeFrom.resourceVersion ? 'checkpoint-expired' : 'watch-expired');

  const pause = async (ms: number, why: string, error?: unknown): Promise<void> => {
    const status = error instanceof KubeApiError ? error.statusCode : null;
    const level = status === 401 || status === 403 ? 'error' : 'warn';
    log[level]({ err: error instanceof Error ? error.message : error, delayMs: ms, attempt: backoff.attempt }, why);
    await sleep(ms, signal);
  };

  /** Lists everything (all pages), emitting the difference; returns the list's resourceVersion. */
  const listAll = async (): Promise<{ rv: string; changed: number }> => {
    let cont: string | undefined;
    let listRv: string | null = null;
    let changed = 0;
    let restarts = 0;
    tracker.beginList();
    for (;;) {
      let page: unknown;
      try {
        page = await getJson(
          kc,
          path,
          { limit: timings.pageSize, continue: cont, ...selectors },
          {
            signal,
            timeoutMs: timings.requestTimeoutMs,
          },
        );
      } catch (error) {
        if (signal.aborted) throw error;
        if (cont !== undefined && isGone(error)) {
          restarts += 1;
          log.info({ restarts }, 'continue token expired (410), restarting the list');
          tracker.abandonList();
          tracker.beginList();
          cont = undefined;
          listRv = null;
          if (restarts > 1) await pause(backoff.next(), 'list restarted again, backing off', error);
          continue;
        }
        if (!isRetryable(error) && !isGone(error)) {
          tracker.abandonList();
          throw error;
        }
        await pause(backoff.next((error as KubeApiError).retryAfterMs), 'list page failed, retrying', error);
        continue;
      }
      if (!isObj(page) || !Array.isArray(page['items'])) {
        await pause(backoff.next(), 'list answer has no items, retrying');
        continue;
      }
      const meta = isObj(page['metadata']) ? page['metadata'] : {};
      const pageRv = typeof meta['resourceVersion'] === 'string' ? meta['resourceVersion'] : null;
      if (listRv === null) {
        if (pageRv === null || pageRv === '') {
          tracker.abandonList();
          throw new KubeApiError(`list of ${path} has no resourceVersion`, 'protocol');
        }
        listRv = pageRv;
      }
      for (const item of page['items'] as unknown[]) {
        if (signal.aborted) throw signal.reason;
        if (!isObj(item)) continue;
        withKind(item);
        const ident = identityOf(item);
        if (!ident) {
          // malformed (no uid/name/resourceVersion): pass it on for the consumer's dead letters
          log.warn('listed object without metadata.uid/name/resourceVersion');
          emit({ type: 'ADDED', object: item, resourceVersion: '', fromList: true });
          continue;
        }
        const change = tracker.observeListed(ident.id, ident.rv);
        if (change) {
          changed += 1;
          emit({ type: change, object: item, resourceVersion: ident.rv, fromList: true });
        }
      }
      const next = typeof meta['continue'] === 'string' && meta['continue'] !== '' ? meta['continue'] : undefined;
      if (next === undefined) break;
      cont = next;
    }
    for (const gone of tracker.endList()) {
      if (signal.aborted) throw signal.reason;
      changed += 1;
      const metadata: Obj = { name: gone.name, uid: gone.uid, resourceVersion: listRv };
      if (gone.namespace !== undefined) metadata['namespace'] = gone.namespace;
      emit({
        type: 'DELETED',
        object: { apiVersion, kind: resource.kind, metadata },
        resourceVersion: listRv,
        fromList: true,
        inferred: true,
      });
    }
    return { rv: listRv, changed };
  };

  interface Outcome {
    error: unknown; // undefined: clean close
    opened: boolean;
    durationMs: number;
    /** Object changes received (emitted or not). */
    changes: number;
    /** Lines received, bookmarks included. */
    lines: number;
  }

  const watchOnce = async (from: string): Promise<Outcome> => {
    const local = new AbortController();
    const forward = (): void => local.abort(signal.reason);
    signal.addEventListener('abort', forward, { once: true });
    let opened = false;
    let openedAt = 0;
    let changes = 0;
    let lines = 0;
    const onEvent = (ev: RawWatchEvent): void => {
      lines += 1;
      const type = ev.type;
      if (type === 'BOOKMARK') {
        const m = isObj(ev.object) && isObj(ev.object['metadata']) ? ev.object['metadata'] : null;
        const brv = m && typeof m['resourceVersion'] === 'string' && m['resourceVersion'] !== '' ? m['resourceVersion'] : null;
        if (brv !== null) rv = laterResourceVersion(rv, brv);
        return;
      }
      if (type === 'ERROR') {
        const s = readStatus(ev.object);
        const code = s.code ?? 500;
        local.abort(
          new KubeApiError(
            `watch ERROR event: ${code} ${s.reason ?? ''}: ${s.message ?? ''}`.trim(),
            'http',
            code,
            s.reason,
            s.retryAfterSeconds !== null ? s.retryAfterSeconds * 1000 : null,
          ),
        );
        return;
      }
      if (type !== 'ADDED' && type !== 'MODIFIED' && type !== 'DELETED') {
        log.warn({ type }, 'ignoring watch event of unknown type');
        return;
      }
      if (!isObj(ev.object)) {
        local.abort(new KubeApiError(`watch ${type} event without an object`, 'protocol'));
        return;
      }
      const obj = withKind(ev.object);
      const ident = identityOf(obj);
      changes += 1;
      if (!ident) {
        log.warn({ type }, 'watched object without metadata.uid/name/resourceVersion');
        emit({ type, object: obj, resourceVersion: '' });
        return;
      }
      rv = laterResourceVersion(rv, ident.rv);
      lastChangeAt = now();
      if (tracker.observeWatch(type as ChangeType, ident.id, ident.rv)) {
        emit({ type: type as ChangeType, object: obj, resourceVersion: ident.rv });
      }
    };
    const timeoutSeconds = timings.watchTimeoutSeconds > 0 ? Math.floor(timings.watchTimeoutSeconds * (1 + random())) : undefined;
    log.debug({ resourceVersion: from }, 'watching');
    try {
      await streamWatch(kc, path, { resourceVersion: from, allowWatchBookmarks: 'true', timeoutSeconds, ...selectors }, onEvent, {
        signal: local.signal,
        connectTimeoutMs: timings.connectTimeoutMs,
        idleTimeoutMs: timings.stallTimeoutMs,
        onOpen: () => {
          opened = true;
          openedAt = now();
        },
      });
      return { error: undefined, opened, durationMs: opened ? now() - openedAt : 0, changes, lines };
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      return { error: error ?? new Error('watch failed'), opened, durationMs: opened ? now() - openedAt : 0, changes, lines };
    } finally {
      signal.removeEventListener('abort', forward);
    }
  };

  while (!signal.aborted) {
    if (relist !== null) {
      const cause = relist;
      const fromRv = rv;
      const fromTime = lastChangeAt;
      log.info({ cause, fromResourceVersion: fromRv }, cause === 'initial' ? 'listing' : 'relisting');
      const result = await listAll();
      if (fromRv !== null && (cause === 'checkpoint-expired' || (cause === 'watch-expired' && result.changed > 0))) {
        const gap: GapMarker = {
          type: 'GAP',
          resource: scopeName,
          fromResourceVersion: fromRv,
          toResourceVersion: result.rv,
          detectedAt: now(),
          fromTime,
          reason:
            cause === 'checkpoint-expired'
              ? `checkpoint resourceVersion ${fromRv} is older than the API's history (410 Gone); relisted at ${result.rv}: changes in between may be lost`
              : `watch expired (410 Gone) after resourceVersion ${fromRv}; relisted at ${result.rv}: intermediate versions in between were not seen`,
          cause,
        };
        log.warn({ gap }, 'gap in the change stream');
        emit(gap);
      }
      emit({ type: 'SYNCED', resourceVersion: result.rv });
      rv = result.rv;
      listedOnce = true;
      relist = null;
      relistedAt = now();
      continue;
    }

    const outcome = await watchOnce(rv as string);
    if (outcome.opened) backoff.healthyFor(outcome.durationMs);
    if (outcome.changes > 0 || outcome.durationMs >= timings.backoff.resetAfterMs) emptyGones = 0;
    const error = outcome.error;
    if (error === undefined) {
      if (outcome.lines === 0 && outcome.durationMs < timings.quickCloseMs) {
        quickCloses += 1;
        if (quickCloses >= timings.quickCloseLimit) {
          log.warn({ resourceVersion: rv, quickCloses }, 'watch keeps closing at once without events: treating as 410 Gone');
          quickCloses = 0;
          relist = gapCause();
          continue;
        }
        await pause(backoff.next(), 'watch closed at once without events, re-watching');
        continue;
      }
      quickCloses = 0;
      log.debug({ resourceVersion: rv }, 'watch closed by the server, re-watching');
      continue;
    }
    quickCloses = 0;
    if (isGone(error)) {
      relist = gapCause();
      log.info({ resourceVersion: rv, cause: relist }, 'watch expired (410 Gone)');
      if (outcome.changes === 0) {
        // flapping is an expiry right after a relist; one long after it (an apiserver restarted again) is not
        if (relistedAt === null || now() - relistedAt >= timings.relistFlapMs) emptyGones = 0;
        emptyGones += 1;
        if (emptyGones > 1) await pause(backoff.next(), 'watch expired again right after a relist, backing off', error);
      }
      continue;
    }
    if (!isRetryable(error)) {
      log.error({ err: error instanceof Error ? error.message : error }, 'watch failed, giving up');
      throw error;
    }
    await pause(backoff.next(error instanceof KubeApiError ? error.retryAfterMs : null), 'watch failed, retrying', error);
  }
}
