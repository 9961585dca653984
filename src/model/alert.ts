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

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK = 0xffffffffffffffffn;
const SEPARATOR = 0xff;
const encoder = new TextEncoder();

function fnvAdd(hash: bigint, bytes: Uint8Array): bigint {
  let h = hash;
  for (const b of bytes) {
    h ^= BigInt(b);
    h = (h * FNV_PRIME) & MASK;
  }
  return h;
}

/**
 * Fingerprint of a label set, computed like Prometheus/Alertmanager (model.LabelSet.Fingerprint):
 * FNV-1a 64 over name, 0xff, value, 0xff for each label in name order; 16 lower-case hex digits.
 * Empty-valued labels are ignored, as in Alertmanager.
 */
export function labelsFingerprint(labels: Record<string, string>): string {
  let hash = FNV_OFFSET;
  const sep = new Uint8Array([SEPARATOR]);
  for (const name of Object.keys(labels).sort()) {
    const value = labels[name];
    if (value === undefined || value === '') continue;
    hash = fnvAdd(hash, encoder.encode(name));
    hash = fnvAdd(hash, sep);
    hash = fnvAdd(hash, encoder.encode(value));
    hash = fnvAdd(hash, sep);
  }
  return hash.toString(16).padStart(16, '0');
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
