/**
 * Event window records: what the window stage emits (src/operators/window.ts), one per key and
 * window, for data teams that want counts rather than raw events. schemas/EventWindow.avsc is the
 * Avro twin; test/unit/operators/records.test.ts keeps the two in step.
 *
 * Times are epoch milliseconds (number) in memory; Avro carries them as timestamp-millis.
 */

export interface ReasonCount {
  reason: string;
  count: number;
}

export interface EventWindow {
  /** Stable identity of this key's window: FNV-1a 64 of stage, labels and start, 16 hex digits. */
  windowId: string;
  /** The pipeline stage that counted (`<pipeline>/<branch>/window`). */
  stage: string;
  cluster: string;
  /** The key: the values of the stage's `by` fields. */
  labels: Record<string, string>;
  /** Event time the window covers: [start, end). */
  start: number;
  end: number;
  /** Occurrences counted (a repeated Event counts once per repeat). */
  count: number;
  /** Of them, type Warning. */
  warnings: number;
  /** Event time of the first and last counted occurrence. */
  firstTime: number;
  lastTime: number;
  /** Distinct regarding objects (kind/namespace/name); a lower bound when distinctObjectsCapped. */
  distinctObjects: number;
  /** More distinct objects came than the stage keeps per window (maxObjects). */
  distinctObjectsCapped: boolean;
  /** The most frequent reasons, most frequent first (ties by name). */
  topReasons: ReasonCount[];
  /** `${windowId}`: one record per window; upsert downstream on it. */
  idempotencyKey: string;
}
