/**
 * Alert records: what the rate, spike and group operators emit (src/operators/). schemas/Alert.avsc
 * is the Avro twin; test/unit/operators/records.test.ts keeps the two in step.
 *
 * Times are epoch milliseconds (number) in memory; Avro carries them as timestamp-millis.
 */
import type { Category, ContainerContext, OwnerRef, Severity } from './kube-event.js';

export const ALERT_STATUSES = ['firing', 'resolved'] as const;
export type AlertStatus = (typeof ALERT_STATUSES)[number];

export interface Alert {
  /** Fingerprint of `labels` (Alertmanager's FNV-1a 64 over the sorted label set, 16 hex digits). */
  alertId: string;
  status: AlertStatus;
  /** Identity of the alert: the same labels give the same alertId. Always has `alertname`. */
  labels: Record<string, string>;
  /** Context that does not identify the alert: workload, node, message, baseline... */
  annotations: Record<string, string>;
  severity: Severity;
  category: Category;
  cluster: string;
  namespace: string | null;
  summary: string;
  /** Event time the condition started (the threshold crossing). Stable across one firing episode. */
  startsAt: number;
  /** Event time the condition ended; null while firing. */
  endsAt: number | null;
  /** Event time this record was produced (the watermark-driven decision time). Drives downstream windows. */
  updatedAt: number;
  /** Events counted (in the window at the crossing / over the episode). */
  count: number;
  /** Window the count refers to, ms; null when not windowed (e.g. a group notification mixing windows). */
  windowMs: number | null;
  /** Event time of the first and last contributing event. */
  firstSeen: number;
  lastSeen: number;
  workload: OwnerRef | null;
  node: string | null;
  /** The relevant containers of the regarding Pod (not ready / waiting / restarted ones first). */
  containers: ContainerContext[];
  /** A few distinct recent messages, newest last. */
  sampleMessages: string[];
  /** idempotencyKeys of (a bounded number of) the contributing KubeEvents, oldest first. */
  memberKeys: string[];
  /** For group notifications: alertIds of the alerts in the notification; empty otherwise. */
  memberAlertIds: string[];
  /** Number of this record within one firing episode (0 for the first notification). */
  sequence: number;
  /** `${alertId}/${status}/${startsAt}/${sequence}`: upsert downstream on it. */
  idempotencyKey: string;
}

export function alertIdempotencyKey(a: Pick<Alert, 'alertId' | 'status' | 'startsAt' | 'sequence'>): string {
  return `${a.alertId}/${a.status}/${a.startsAt}/${a.sequence}`;
}

// FNV-1a 64 in two unsigned 32-bit halves (no BigInt): offset basis 0xcbf29ce484222325,
// prime 2^40 + 0x1b3. Multiplying (hi·2^32 + lo) by the prime modulo 2^64 gives
//   lo' = (lo·0x1b3) mod 2^32
//   hi' = (hi·0x1b3 + floor(lo·0x1b3 / 2^32) + (lo << 8)) mod 2^32
// (lo·0x1b3 < 2^41, exact in a double; the lo·2^40 term only reaches the high half).
const FNV_OFFSET_HI = 0xcbf29ce4;
const FNV_OFFSET_LO = 0x84222325;
const FNV_PRIME_LO = 0x1b3;
const TWO_32 = 4294967296;
const SEPARATOR = 0xff;
const encoder = new TextEncoder();

// eslint-disable-next-line no-control-regex -- the ASCII range starts at NUL
const ASCII = /^[\x00-\x7f]*$/;
const hex8 = (n: number): string => n.toString(16).padStart(8, '0');

/**
 * Fingerprint of a label set, computed like Prometheus/Alertmanager (model.LabelSet.Fingerprint):
 * FNV-1a 64 over name, 0xff, value, 0xff for each label in name order (names and values as UTF-8,
 * by TextEncoder: lone surrogates as U+FFFD); 16 lower-case hex digits. Empty-valued labels are
 * ignored, as in Alertmanager.
 */
export function labelsFingerprint(labels: Record<string, string>): string {
  let hi = FNV_OFFSET_HI;
  let lo = FNV_OFFSET_LO;
  for (const name of Object.keys(labels).sort()) {
    const value = labels[name];
    if (value === undefined || value === '') continue;
    for (let part = 0; part < 2; part++) {
      const s = part === 0 ? name : value;
      // ASCII strings are their own UTF-8 bytes; others go through TextEncoder
      const bytes = ASCII.test(s) ? null : encoder.encode(s);
      const length = bytes === null ? s.length : bytes.length;
      for (let i = 0; i <= length; i++) {
        const byte = i === length ? SEPARATOR : bytes === null ? s.charCodeAt(i) : bytes[i]!;
        lo = (lo ^ byte) >>> 0;
        const a = lo * FNV_PRIME_LO;
        hi = (Math.imul(hi, FNV_PRIME_LO) + Math.floor(a / TWO_32) + (lo << 8)) >>> 0;
        lo = a >>> 0;
      }
    }
  }
  return hex8(hi) + hex8(lo);
}

/** Labels without empty values, keys sorted (a canonical form for records and comparisons). */
export function cleanLabels(labels: Record<string, string | null | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of Object.keys(labels).sort()) {
    const value = labels[name];
    if (typeof value === 'string' && value !== '') out[name] = value;
  }
  return out;
}
