/**
 * Incident records: what the correlate operator emits (src/operators/correlate.ts).
 * schemas/Incident.avsc is the Avro twin; test/unit/operators/records.test.ts keeps the two in step.
 *
 * Times are epoch milliseconds (number) in memory; Avro carries them as timestamp-millis.
 */
import type { Category, OwnerRef, Severity } from './kube-event.js';

export const CORRELATION_KINDS = ['object', 'owner', 'node'] as const;
/** What the members share: the same object, the same owning workload, or the same node. */
export type CorrelationKind = (typeof CORRELATION_KINDS)[number];

export const INCIDENT_STATUSES = ['open', 'closed'] as const;
export type IncidentStatus = (typeof INCIDENT_STATUSES)[number];

/** A compact copy of one member KubeEvent. */
export interface IncidentMember {
  idempotencyKey: string;
  reason: string;
  /** Normal or Warning. */
  type: string;
  kind: string | null;
  namespace: string | null;
  name: string | null;
  /** The member's event time (KubeEvent.lastTimestamp). */
  time: number;
  message: string;
  category: Category | null;
  severity: Severity | null;
}

export interface Incident {
  /** Stable id: fingerprint of cluster, correlation kind, subject and the first member's time. */
  incidentId: string;
  correlation: CorrelationKind;
  status: IncidentStatus;
  cluster: string;
  /** Namespace shared by the members; null for node incidents spanning namespaces. */
  namespace: string | null;
  /** What the members share, e.g. `Node/worker-1`, `Deployment/shop/web`, `Pod/shop/web-1`. */
  subject: string;
  node: string | null;
  workload: OwnerRef | null;
  /** One line: the probable root cause (most upstream, then earliest member). */
  rootCause: string;
  /** idempotencyKey of the root-cause member event. */
  rootEventKey: string;
  rootReason: string;
  /** Highest member severity. */
  severity: Severity;
  /** Category of the root-cause event. */
  category: Category;
  firstTime: number;
  lastTime: number;
  /** All members counted, including those beyond the `members` cap. */
  memberCount: number;
  /** Member events in event-time order (the first `maxMembers`). */
  members: IncidentMember[];
  /** Event time this record was produced. */
  updatedAt: number;
  /** `${incidentId}/${status}`: upsert downstream on it. */
  idempotencyKey: string;
}

export function incidentIdempotencyKey(i: Pick<Incident, 'incidentId' | 'status'>): string {
  return `${i.incidentId}/${i.status}`;
}
