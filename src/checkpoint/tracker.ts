/**
 * Which source position may be checkpointed: the highest position P such that every record derived
 * from events at positions <= P has been acknowledged by Kafka.
 *
 * resourceVersions are opaque (compare only for equality), so positions are ordered by the order
 * the source emitted them: `open(resourceVersion)` hands out a position with the next sequence
 * number. A position is done when
 *   - the pipeline has finished with the event (`close`: no more records will derive from it), and
 *   - every record derived from it (`retain`, one per record handed to a sink) has been acked (`ack`).
 * Acks may arrive in any order (different partitions, retried batches): the committed position only
 * moves over a contiguous run of done positions, so it never passes an unacked record.
 *
 *   const p = tracker.open(rv);      // source emitted an event at rv
 *   sink.write({ ..., positions: [p] }); // the sink calls p.tracker.retain(p) / .ack(p)
 *   tracker.close(p);                // the event went through the synchronous pipeline
 */
import type { PositionTracker, SourcePosition } from '../model/position.js';

interface Entry {
  position: SourcePosition;
  /** 1 for the open hold + one per retained record not yet acked */
  pending: number;
  closed: boolean;
}

export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

export class CheckpointTracker implements PositionTracker {
  /** entries[i] has seq = base + i; entries before `head` are done and committed */
  private entries: Entry[] = [];
  private base = 1;
  private head = 0;
  private nextSeq = 1;
  private committedSeq = 0;
  private committedRv: string | null;
  private readonly listeners = new Set<(resourceVersion: string) => void>();

  /**
   * @param source name of the source (resource), for messages
   * @param initial the resourceVersion loaded from the checkpoint store, reported as committed until
   *   a newer position is done
   */
  constructor(
    readonly source: string,
    initial: string | null = null,
  ) {
    this.committedRv = initial;
  }

  /** The source emitted an event (or a marker) at this resourceVersion; positions must be opened in emission order. */
  open(resourceVersion: string): SourcePosition {
    const position: SourcePosition = { tracker: this, seq: this.nextSeq++, resourceVersion };
    this.entries.push({ position, pending: 1, closed: false });
    return position;
  }

  private entry(position: SourcePosition, action: string): Entry {
    if (position.tracker !== this) throw new CheckpointError(`${action}: position of another source than ${this.source}`);
    const entry = this.entries[position.seq - this.base];
    if (!entry || position.seq <= this.committedSeq) {
      throw new CheckpointError(`${action}: ${this.source} position ${position.seq} (rv ${position.resourceVersion}) is already done`);
    }
    return entry;
  }

  /** A record derived from `position` was handed to a sink. Only before the position is closed or while records are pending. */
  retain(position: SourcePosition): void {
    const entry = this.entry(position, 'retain');
    if (entry.pending === 0) throw new CheckpointError(`retain: ${this.source} position ${position.seq} is already done`);
    entry.pending += 1;
  }

  /** A record derived from `position` was acknowledged by Kafka. */
  ack(position: SourcePosition): void {
    const entry = this.entry(position, 'ack');
    if (entry.pending <= (entry.closed ? 0 : 1)) {
      throw new CheckpointError(`ack: ${this.source} position ${position.seq} has no unacked record`);
    }
    entry.pending -= 1;
    if (entry.pending === 0) this.advance();
  }

  /** No more records will derive from `position` (the pipeline is done with its event). */
  close(position: SourcePosition): void {
    const entry = this.entry(position, 'close');
    if (entry.closed) throw new CheckpointError(`close: ${this.source} position ${position.seq} closed twice`);
    entry.closed = true;
    entry.pending -= 1;
    if (entry.pending === 0) this.advance();
  }

  private advance(): void {
    let moved = false;
    while (this.head < this.entries.length) {
      const entry = this.entries[this.head] as Entry;
      if (entry.pending !== 0) break;
      this.committedSeq = entry.position.seq;
      this.committedRv = entry.position.resourceVersion;
      this.head += 1;
      moved = true;
    }
    // drop done entries from the front once they are a good share of the array
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.base += this.head;
      this.head = 0;
    }
    if (moved && this.committedRv !== null) {
      for (const listener of this.listeners) listener(this.committedRv);
    }
  }

  /** resourceVersion safe to resume from, or the initial one (null when none). */
  get committed(): string | null {
    return this.committedRv;
  }

  /** Sequence number of the committed position (0 before any). */
  get committedPosition(): number {
    return this.committedSeq;
  }

  /** Sequence number of the last position opened (0 before any). */
  get lastOpened(): number {
    return this.nextSeq - 1;
  }

  /** Positions opened and not yet done. */
  get outstanding(): number {
    return this.entries.length - this.head;
  }

  /** Called (synchronously) whenever the committed position moves. Returns an unsubscribe function. */
  onCommit(listener: (resourceVersion: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
