/** Shared pieces for the operators that emit Alerts (rate, spike, group). */
import { alertIdempotencyKey, labelsFingerprint, type Alert, type AlertStatus } from '../model/alert.js';
import { SEVERITIES, type Category, type ContainerContext, type KubeEvent, type OwnerRef, type Severity } from '../model/kube-event.js';

export const severityRank = (s: Severity): number => SEVERITIES.indexOf(s);

export function maxSeverity(a: Severity, b: Severity): Severity {
  return severityRank(a) >= severityRank(b) ? a : b;
}

/** Containers worth showing: not ready, waiting or restarted ones; all of them when none is. At most 10. */
export function relevantContainers(containers: readonly ContainerContext[]): ContainerContext[] {
  const troubled = containers.filter((c) => !c.ready || c.waitingReason !== null || c.restartCount > 0 || c.lastTerminationReason !== null);
  return (troubled.length > 0 ? troubled : containers).slice(0, 10).map((c) => ({ ...c }));
}

/** Node of an event: from the enrichment, the related Node, or the reporting kubelet's host. */
export function nodeOf(e: KubeEvent): string | null {
  if (e.enrichment?.node) return e.enrichment.node;
  if (e.regarding.kind === 'Node' && e.regarding.name) return e.regarding.name;
  if (e.related?.kind === 'Node' && e.related.name) return e.related.name;
  if (e.reportingController === 'kubelet' && e.reportingInstance) return e.reportingInstance;
  return null;
}

/** Kinds whose objects have no namespace (their events live in `default`). */
const CLUSTER_SCOPED = new Set([
  'Node',
  'PersistentVolume',
  'Namespace',
  'StorageClass',
  'CSINode',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'PriorityClass',
  'VolumeAttachment',
]);

/** Namespace of the regarding object (null for cluster-scoped kinds). */
export function objectNamespace(e: KubeEvent): string | null {
  if (e.regarding.namespace) return e.regarding.namespace;
  return e.regarding.kind !== null && CLUSTER_SCOPED.has(e.regarding.kind) ? null : e.namespace;
}

/** `Pod shop/web-1`, `Node n1`. */
export function describeObject(e: KubeEvent): string {
  const ns = objectNamespace(e);
  return `${e.regarding.kind ?? 'object'} ${ns ? `${ns}/` : ''}${e.regarding.name ?? e.regarding.uid ?? '?'}`;
}

export function workloadLabel(w: OwnerRef | null): string | null {
  return w ? `${w.kind}/${w.name}` : null;
}

/** A bounded list of distinct recent strings, newest last. */
export function pushBounded(list: string[], value: string, max: number, distinct = true): void {
  if (max <= 0) return;
  if (distinct) {
    const i = list.indexOf(value);
    if (i >= 0) list.splice(i, 1);
  }
  list.push(value);
  if (list.length > max) list.splice(0, list.length - max);
}

export interface AlertDraft {
  status: AlertStatus;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  severity: Severity;
  category: Category;
  cluster: string;
  namespace: string | null;
  summary: string;
  startsAt: number;
  endsAt: number | null;
  updatedAt: number;
  count: number;
  windowMs: number | null;
  firstSeen: number;
  lastSeen: number;
  workload: OwnerRef | null;
  node: string | null;
  containers: ContainerContext[];
  sampleMessages: string[];
  memberKeys: string[];
  memberAlertIds?: string[];
  sequence: number;
  /** Defaults to the fingerprint of labels. */
  alertId?: string;
}

/** A complete Alert: alertId (fingerprint of labels unless given) and idempotencyKey filled in, arrays copied. */
export function buildAlert(d: AlertDraft): Alert {
  const alertId = d.alertId ?? labelsFingerprint(d.labels);
  const alert: Alert = {
    alertId,
    status: d.status,
    labels: { ...d.labels },
    annotations: { ...d.annotations },
    severity: d.severity,
    category: d.category,
    cluster: d.cluster,
    namespace: d.namespace,
    summary: d.summary,
    startsAt: d.startsAt,
    endsAt: d.endsAt,
    updatedAt: d.updatedAt,
    count: d.count,
    windowMs: d.windowMs,
    firstSeen: d.firstSeen,
    lastSeen: d.lastSeen,
    workload: d.workload ? { ...d.workload } : null,
    node: d.node,
    containers: d.containers.map((c) => ({ ...c })),
    sampleMessages: [...d.sampleMessages],
    memberKeys: [...d.memberKeys],
    memberAlertIds: [...(d.memberAlertIds ?? [])],
    sequence: d.sequence,
    idempotencyKey: '',
  };
  alert.idempotencyKey = alertIdempotencyKey(alert);
  return alert;
}

/** Workload/node/container context of an event, for alert annotations. */
export function eventContext(e: KubeEvent | null): { workload: OwnerRef | null; node: string | null; containers: ContainerContext[] } {
  if (!e) return { workload: null, node: null, containers: [] };
  return {
    workload: e.enrichment?.workload ?? null,
    node: nodeOf(e),
    containers: relevantContainers(e.enrichment?.containers ?? []),
  };
}

/** Annotations derived from an event's context: workload, node, message. */
export function contextAnnotations(e: KubeEvent | null): Record<string, string> {
  if (!e) return {};
  const out: Record<string, string> = {};
  const workload = workloadLabel(e.enrichment?.workload ?? null);
  if (workload) out['workload'] = workload;
  const node = nodeOf(e);
  if (node) out['node'] = node;
  if (e.message) out['message'] = e.message;
  return out;
}

/** `between 10:01:30 and 10:12:36 UTC` (dates added when the span crosses midnight; `at 10:01:30 UTC` for one instant). */
export function formatSpan(first: number, last: number): string {
  const iso = (ms: number) => new Date(ms).toISOString();
  const day = (ms: number) => iso(ms).slice(0, 10);
  const time = (ms: number) => iso(ms).slice(11, 19);
  if (Math.floor(first / 1000) === Math.floor(last / 1000)) return `at ${time(first)} UTC`;
  const sameDay = day(first) === day(last);
  return sameDay ? `between ${time(first)} and ${time(last)} UTC` : `between ${day(first)} ${time(first)} and ${day(last)} ${time(last)} UTC`;
}
