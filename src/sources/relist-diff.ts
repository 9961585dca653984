/**
 * What a watch stream has emitted so far, per object uid, so that a relist (after 410 Gone, an
 * expired continue token, or a resume from a checkpoint) emits only the difference:
 * no second ADDED for a version already emitted, MODIFIED for changed objects, DELETED for objects
 * that vanished in between. Memory: one small entry per live object (uid, resourceVersion, name,
 * namespace), not the objects themselves, at most `maxTracked` of them: beyond it the entry changed
 * least recently is forgotten (counted in `evicted`). A relist then emits a forgotten object that
 * still exists again (ADDED; for Events the same occurrence, so the same idempotency key) and cannot
 * tell that one that vanished is gone.
 */
import type { ChangeType } from '../model/kube-event.js';
import { isAtOrBefore, isBefore } from './resource-version.js';

/**
 * Live Events whose occurrence count (event-source.ts) and emitted version (here, for the Event
 * watch) are remembered: about 250 bytes of heap each. The apiserver keeps Events for its
 * --event-ttl (1 h by default), so at a steady 500 Events/s a cluster holds 1.8 million of them,
 * which no heap sized for a small container holds (bench steady: a 153 MB heap ran out after 771 s
 * at 500/s). Beyond the cap the Event changed least recently is forgotten: a later count bump of it
 * is still one occurrence, a later change that is not a bump is taken for one (published again, with
 * the idempotency key of its count), and a relist publishes it again if it still exists.
 */
export const MAX_TRACKED_EVENTS = 200_000;

export interface ObjectIdentity {
  uid: string;
  name: string;
  namespace: string | undefined;
}

interface Entry {
  rv: string;
  name: string;
  namespace: string | undefined;
}

export class EmittedVersions {
  /** Insertion order is the order of last change: the first entry is the one changed least recently. */
  private readonly byUid = new Map<string, Entry>();
  private listSeen: Set<string> | null = null;
  /** Entries forgotten to stay within maxTracked. */
  evicted = 0;

  /**
   * @param baseline a checkpoint resourceVersion: objects not yet tracked whose version is at or
   *   before it are taken as emitted by an earlier run (and only tracked, not emitted again).
   * @param maxTracked most objects remembered (see the module comment).
   */
  constructor(
    private readonly baseline: string | null = null,
    private readonly maxTracked = Number.POSITIVE_INFINITY,
  ) {}

  private remember(uid: string, entry: Entry): void {
    this.byUid.delete(uid);
    this.byUid.set(uid, entry);
    if (this.byUid.size > this.maxTracked) {
      const oldest = this.byUid.keys().next().value as string;
      this.byUid.delete(oldest);
      this.evicted++;
    }
  }

  get size(): number {
    return this.byUid.size;
  }

  has(uid: string): boolean {
    return this.byUid.has(uid);
  }

  versionOf(uid: string): string | undefined {
    return this.byUid.get(uid)?.rv;
  }

  /** A watch event. Returns whether it is new (to emit) and records it. */
  observeWatch(type: ChangeType, id: ObjectIdentity, rv: string): boolean {
    const prev = this.byUid.get(id.uid);
    if (type === 'DELETED') {
      if (prev && isBefore(rv, prev.rv)) return false;
      this.byUid.delete(id.uid);
      return true;
    }
    if (prev) {
      if (prev.rv === rv || isBefore(rv, prev.rv)) return false;
    } else if (this.baseline !== null && isAtOrBefore(rv, this.baseline)) {
      this.remember(id.uid, { rv, name: id.name, namespace: id.namespace });
      return false;
    }
    this.remember(id.uid, { rv, name: id.name, namespace: id.namespace });
    return true;
  }

  /** Starts (or restarts, after an expired continue token) a list. */
  beginList(): void {
    this.listSeen = new Set();
  }

  /** A listed object: the change to emit for it, or null when this version was already emitted. */
  observeListed(id: ObjectIdentity, rv: string): ChangeType | null {
    if (this.listSeen === null) throw new Error('observeListed outside a list');
    this.listSeen.add(id.uid);
    const prev = this.byUid.get(id.uid);
    if (!prev) {
      this.remember(id.uid, { rv, name: id.name, namespace: id.namespace });
      if (this.baseline !== null && isAtOrBefore(rv, this.baseline)) return null;
      return 'ADDED';
    }
    if (prev.rv === rv || isBefore(rv, prev.rv)) return null;
    this.remember(id.uid, { rv, name: id.name, namespace: id.namespace });
    return 'MODIFIED';
  }

  /** Ends a complete list: forgets and returns the objects emitted before that the list no longer holds. */
  endList(): ObjectIdentity[] {
    const seen = this.listSeen;
    if (seen === null) throw new Error('endList outside a list');
    this.listSeen = null;
    const vanished: ObjectIdentity[] = [];
    for (const [uid, e] of this.byUid) {
      if (!seen.has(uid)) vanished.push({ uid, name: e.name, namespace: e.namespace });
    }
    for (const v of vanished) this.byUid.delete(v.uid);
    return vanished;
  }

  /** Drops the bookkeeping of an unfinished list (nothing is forgotten). */
  abandonList(): void {
    this.listSeen = null;
  }
}
