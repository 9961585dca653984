/**
 * In-memory twins of schemas/Gap.avsc and schemas/DeadLetter.avsc (times are epoch ms).
 * test/unit/avro keeps each pair in step.
 */
import type { GapMarker } from './watch-event.js';

export interface GapRecord {
  resource: string;
  fromResourceVersion: string;
  toResourceVersion: string;
  detectedAt: number;
  fromTime: number | null;
  reason: string;
  cluster: string;
  /** cluster/resource/fromResourceVersion/toResourceVersion */
  idempotencyKey: string;
}

export function gapRecordOf(marker: GapMarker, cluster: string): GapRecord {
  return {
    resource: marker.resource,
    fromResourceVersion: marker.fromResourceVersion,
    toResourceVersion: marker.toResourceVersion,
    detectedAt: marker.detectedAt,
    fromTime: marker.fromTime,
    reason: marker.reason,
    cluster,
    idempotencyKey: `${cluster}/${marker.resource}/${marker.fromResourceVersion}/${marker.toResourceVersion}`,
  };
}

/** Partition key of a gap: all gaps of one resource stay ordered. */
export function gapKey(gap: Pick<GapRecord, 'cluster' | 'resource'>): string {
  return `${gap.cluster}/${gap.resource}`;
}

export interface DeadLetterRecord {
  reason: string;
  /** a resource (kind ns/name@rv) or file:line */
  source: string;
  /** raw input as text, cut to maxPayloadChars */
  payload: string;
  truncated: boolean;
  error: string;
  stage: string;
  pipeline: string | null;
  cluster: string;
  time: number;
}

export const DEFAULT_MAX_DEAD_LETTER_PAYLOAD_CHARS = 64 * 1024;

export interface DeadLetterInput {
  reason: string;
  source?: string;
  /** Anything: strings are kept as-is, Buffers decoded as UTF-8, other values JSON-encoded. */
  payload: unknown;
  error: unknown;
  stage: string;
  pipeline?: string | null;
  cluster: string;
  time?: number;
  maxPayloadChars?: number;
}

function payloadText(payload: unknown): string {
  if (typeof payload === 'string') return payload;
  if (Buffer.isBuffer(payload)) return payload.toString('utf8');
  try {
    const text = JSON.stringify(payload, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
    return text ?? String(payload);
  } catch {
    return String(payload);
  }
}

function errorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  return typeof error === 'string' ? error : payloadText(error);
}

export function deadLetterOf(input: DeadLetterInput): DeadLetterRecord {
  const max = input.maxPayloadChars ?? DEFAULT_MAX_DEAD_LETTER_PAYLOAD_CHARS;
  const full = payloadText(input.payload);
  const truncated = full.length > max;
  return {
    reason: input.reason,
    source: input.source ?? '',
    payload: truncated ? full.slice(0, max) : full,
    truncated,
    error: errorText(input.error),
    stage: input.stage,
    pipeline: input.pipeline ?? null,
    cluster: input.cluster,
    time: input.time ?? Date.now(),
  };
}
