import type { ChangeType } from './kube-event.js';

/** A change to one object as seen by a watch (or replayed from a recording). */
export interface ObjectChange<T> {
  type: ChangeType;
  object: T;
  /** resourceVersion of `object` (metadata.resourceVersion), kept here so ordering code needn't dig. */
  resourceVersion: string;
}

/** The initial list (or a relist) has been fully emitted: caches built from the stream are complete. */
export interface SyncedMarker {
  type: 'SYNCED';
  resourceVersion: string;
}

/**
 * Loss that could not be avoided: the stream resumed from `fromResourceVersion` but the API's
 * history no longer reached back that far, so changes between the two may never have been seen.
 */
export interface GapMarker {
  type: 'GAP';
  resource: string;
  fromResourceVersion: string;
  toResourceVersion: string;
  /** Wall-clock time the gap was detected, epoch ms. */
  detectedAt: number;
  /** Time of the last change seen before the gap, epoch ms, when known. */
  fromTime: number | null;
  reason: string;
}

export type WatchEvent<T> = ObjectChange<T> | SyncedMarker | GapMarker;

export function isObjectChange<T>(e: WatchEvent<T>): e is ObjectChange<T> {
  return e.type === 'ADDED' || e.type === 'MODIFIED' || e.type === 'DELETED';
}
