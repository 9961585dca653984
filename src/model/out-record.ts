/**
 * The one envelope of every record on its way out: what a pipeline emits for each of its sinks,
 * what a job writes itself (gaps, dead letters), what every sink takes (src/sinks/sink.ts) and the
 * router dispatches (src/sinks/router.ts).
 */
import { objectKey, type KubeEvent } from './kube-event.js';
import type { SourcePosition } from './position.js';
import { gapKey, type DeadLetterRecord, type GapRecord } from './records.js';

export interface OutRecord<T = unknown> {
  /** The Avro schema the value follows (schemas/<kind>.avsc: KubeEvent, Alert, ...), or `Projection` for selected fields. */
  kind: string;
  /** The in-memory record. */
  value: T;
  /** Partition key: the stable object key, so one object's records stay ordered in a partition ('' when none). */
  key: string;
  /** Stable identity of the occurrence, for downstream upserts ('' when none). */
  idempotencyKey: string;
  /** Event time (Kafka record timestamp, epoch ms); default: now. */
  timestamp?: number;
  /** The registered sink that takes it (`kafka`, `file`, `stdout`, `console`); default `kafka`, the run's main output. */
  sink?: string;
  /**
   * The sink's address for this record: a Kafka topic or file name (one record schema per topic;
   * default: the kind's topic), a stdout format.
   */
  target?: string;
  /** The pipeline (and branch path) that emitted it, for logs and dead letters. */
  origin?: { pipeline: string; branch: string | null };
  /** Source positions it derives from: retained by the sink that accepts it, acked once it is durable. */
  positions?: readonly SourcePosition[];
  /** Extra headers (Kafka). */
  headers?: Record<string, string>;
}

// Envelopes of the records a job writes itself (alerts, incidents and windows come from pipelines).

export function kubeEventRecord(event: KubeEvent, positions?: readonly SourcePosition[]): OutRecord<KubeEvent> {
  return { kind: 'KubeEvent', value: event, key: objectKey(event), idempotencyKey: event.idempotencyKey, timestamp: event.lastTimestamp, positions };
}

export function gapRecord(gap: GapRecord, positions?: readonly SourcePosition[]): OutRecord<GapRecord> {
  return { kind: 'Gap', value: gap, key: gapKey(gap), idempotencyKey: gap.idempotencyKey, timestamp: gap.detectedAt, positions };
}

export function deadLetterRecord(
  letter: DeadLetterRecord,
  key: string,
  idempotencyKey: string,
  positions?: readonly SourcePosition[],
): OutRecord<DeadLetterRecord> {
  return { kind: 'DeadLetter', value: letter, key, idempotencyKey, timestamp: letter.time, positions };
}
