/**
 * Where a record came from in its source: the checkpoint may pass a position only once every
 * record derived from it is durable (src/checkpoint/tracker.ts keeps the books). A sink retains
 * the positions of each record it accepts and acks them once the record is durable (Kafka acks=all,
 * an fsync'd file).
 */
export interface PositionTracker {
  retain(position: SourcePosition): void;
  ack(position: SourcePosition): void;
}

export interface SourcePosition {
  readonly tracker: PositionTracker;
  /** Emission order within the tracker's source, from 1. */
  readonly seq: number;
  readonly resourceVersion: string;
}
