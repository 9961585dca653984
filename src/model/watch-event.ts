import type { ChangeType } from './kube-event.js';

/** A change to one object as seen by a watch (or replayed from a recording). */
export interface ObjectChange<T> {
  type: ChangeType;
  object: T;
  /** resourceVersion of `object` (metadata.resourceVersion), kept here so ordering code needn't dig. */
  resourceVersion: string;
  /**
   * True when the change comes from a (re)list rather than a watch event. Listed objects are not in
   * resourceVersion order, so such a change is not a resume point: the SYNCED marker that ends the
   * list is. Absent (undefined) for watch events and recordings.
   */
  fromList?: boolean;
  /**
   * True for a DELETED inferred by a relist (the object vanished while the watch was down): its
   * `object` is a tombstone (apiVersion, kind, metadata name/namespace/uid/resourceVersion) and its
   * resourceVersion is the relist's, not the deletion's (which was never seen).
   */
  inferred?: boolean;
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
  /**
   * 'checkpoint-expired': the caller's resume point was older than the API's history (changes
   * before `toResourceVersion` may be lost); 'watch-expired': a running watch got 410 Gone and the
   * relist showed changes, whose intermediate versions (and objects created and deleted in the gap)
   * were not seen. Optional for compatibility with recordings.
   */
  cause?: 'checkpoint-expired' | 'watch-expired';
}

export type WatchEvent<T> = ObjectChange<T> | SyncedMarker | GapMarker;

export function isObjectChange<T>(e: WatchEvent<T>): e is ObjectChange<T> {
  return e.type === 'ADDED' || e.type === 'MODIFIED' || e.type === 'DELETED';
}
