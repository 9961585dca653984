/**
 * The one sink contract. Kafka, Avro container files, stdout and the console implement it; the
 * router (router.ts) dispatches records to the sink they name, and a job pauses its input while
 * any registered sink is not writable.
 *
 * A sink keeps the order of the writes it accepts. It retains the source positions of a record at
 * once (on every path: a refused record keeps its positions retained and never acked, so the
 * checkpoint stays before it) and acks them once the record is durable.
 */
import type { Observable } from 'rxjs';
import type { OutRecord } from '../model/out-record.js';

export interface CloseResult {
  /** true when everything accepted was made durable before the deadline */
  flushed: boolean;
  /** records given up on at the deadline (their positions are never acked: a restart replays them) */
  abandoned: number;
}

export interface Sink {
  /** For logs and messages: `kafka`, `files out/`, `stdout`, `console`. */
  readonly name: string;
  /**
   * Accepts a record. Resolves once it is accepted (there was room), rejects when it is refused:
   * the sink is closed (SinkClosedError), too many writes wait (SinkOverflowError), or it cannot be
   * written at all.
   */
  write(record: OutRecord): Promise<void>;
  /** false while writes have to wait for room: the input should pause. */
  readonly writable$: Observable<boolean>;
  /** true when a paused input may resume (the buffer drained well below its cap). */
  drained(): boolean;
  /** Stops accepting writes, makes what was accepted durable within the deadline. */
  close(deadlineMs: number): Promise<CloseResult>;
}

export class SinkClosedError extends Error {
  override name = 'SinkClosedError';
}

export class SinkOverflowError extends Error {
  override name = 'SinkOverflowError';
}
