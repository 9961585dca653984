/**
 * The canonical event model. Both Kubernetes Event APIs (core/v1 and events.k8s.io/v1) are
 * normalized into this one shape (see normalize.ts); schemas/KubeEvent.avsc is its Avro twin and
 * test/unit/avro tests keep the two in step.
 *
 * Times are epoch milliseconds (number) in memory; Avro carries them as timestamp-millis.
 */

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

export const CHANGE_TYPES: readonly ChangeType[] = ['ADDED', 'MODIFIED', 'DELETED'];

export type SourceApi = 'core/v1' | 'events.k8s.io/v1';

export interface ObjectRef {
  apiVersion: string | null;
  kind: string | null;
  namespace: string | null;
  name: string | null;
  uid: string | null;
  fieldPath: string | null;
}

export interface OwnerRef {
  kind: string;
  name: string;
  uid: string | null;
}

export interface ContainerContext {
  name: string;
  ready: boolean;
  restartCount: number;
  waitingReason: string | null;
  waitingMessage: string | null;
  lastTerminationReason: string | null;
  lastExitCode: number | null;
  lastFinishedAt: number | null;
}

/**
 * Reasons of a container's state in Pod status (waiting or terminated) that no Event carries: an
 * OOM kill shows as the container's termination reason OOMKilled, and the Events around it are
 * BackOff, Pulled, Created, Started. (Error, Completed, DeadlineExceeded and CrashLoopBackOff are
 * left out: controllers do write Events with those reasons.)
 */
export const CONTAINER_STATE_REASONS: readonly string[] = [
  'OOMKilled',
  'ContainerCannotRun',
  'StartError',
  'ContainerStatusUnknown',
  'ContainerCreating',
  'PodInitializing',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
  'PreCreateHookError',
  'PostStartHookError',
];

/** Context attached by the enrich stage from the watched object caches. Every part may be absent. */
export interface Enrichment {
  /** Top of the owner chain: the Deployment, StatefulSet, DaemonSet, CronJob... (or the object itself). */
  workload: OwnerRef | null;
  /** Owner chain from the regarding object upwards, e.g. [ReplicaSet, Deployment]. */
  ownerChain: OwnerRef[];
  node: string | null;
  podPhase: string | null;
  containers: ContainerContext[];
  labels: Record<string, string>;
}

export const CATEGORIES = [
  'Scheduling',
  'Image',
  'CrashLoop',
  'OOM',
  'Probe',
  'Storage',
  'Network',
  'Node',
  'Eviction',
  'Scaling',
  'Lifecycle',
  'Other',
] as const;
export type Category = (typeof CATEGORIES)[number];

export const SEVERITIES = ['info', 'warning', 'error', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface Classification {
  category: Category;
  severity: Severity;
  /** Name of the rule that matched, for explainability. */
  rule: string | null;
}

export interface KubeEvent {
  uid: string;
  name: string;
  namespace: string | null;
  resourceVersion: string;
  change: ChangeType;
  /** Normal or Warning (free text in the API; kept as-is). */
  type: string;
  reason: string;
  message: string;
  action: string | null;
  regarding: ObjectRef;
  related: ObjectRef | null;
  reportingController: string | null;
  reportingInstance: string | null;
  /** When this event (series) was first observed. */
  firstTimestamp: number | null;
  /** When this occurrence happened: the event time that drives windows. */
  lastTimestamp: number;
  /** events.k8s.io eventTime (MicroTime) when set. */
  eventTime: number | null;
  /** Occurrences so far: series.count / deprecatedCount / count, at least 1. */
  count: number;
  cluster: string;
  /** Stable for one occurrence: `${uid}/${count}`. Downstream upserts on it. */
  idempotencyKey: string;
  sourceApi: SourceApi;
  enrichment: Enrichment | null;
  classification: Classification | null;
}

/** The object key used to partition and order records: one object's records stay together. */
export function objectKey(event: Pick<KubeEvent, 'cluster' | 'regarding' | 'namespace'>): string {
  const r = event.regarding;
  return `${event.cluster}/${r.kind ?? ''}/${r.namespace ?? event.namespace ?? ''}/${r.name ?? ''}`;
}

export function idempotencyKeyOf(uid: string, count: number): string {
  return `${uid}/${count}`;
}

const CONTAINER_FIELD_PATH = /^spec\.(?:initContainers|containers|ephemeralContainers)\{([^}]+)\}/;

/**
 * The enriched containers an event is about: the one its regarding.fieldPath names
 * (`spec.containers{app}`, as the kubelet writes it), or every container of the Pod when it names
 * none. A sidecar's restart then does not count as the app container's.
 */
export function eventContainers(e: KubeEvent): ContainerContext[] {
  const containers = e.enrichment?.containers ?? [];
  const named = e.regarding.fieldPath ? CONTAINER_FIELD_PATH.exec(e.regarding.fieldPath)?.[1] : undefined;
  return named === undefined ? containers : containers.filter((c) => c.name === named);
}
