/**
 * The apiVersion and kind of an object that does not say (many tools write watch events that way:
 * a client that decodes into typed structs drops them, as the API does inside typed lists), told
 * from its fields. Covers Events (core/v1 and events.k8s.io/v1) and the kinds enrichment caches
 * (Pods, ReplicaSets, Deployments, StatefulSets, DaemonSets, Jobs, CronJobs, Nodes), with the
 * fields the API server always fills in for them (defaults included), so that an object served by
 * the API is told apart without guessing. Anything else is not inferred.
 */

type Raw = Record<string, unknown>;

function isRecord(value: unknown): value is Raw {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export interface InferredType {
  apiVersion: string;
  kind: string;
}

export type Inference = { ok: true; type: InferredType } | { ok: false; reason: string };

/** The apiVersion of kinds that live in one API group version only. */
const API_VERSION_OF_KIND: Record<string, string> = {
  Pod: 'v1',
  Node: 'v1',
  Namespace: 'v1',
  ConfigMap: 'v1',
  Service: 'v1',
  PersistentVolumeClaim: 'v1',
  PersistentVolume: 'v1',
  ReplicaSet: 'apps/v1',
  Deployment: 'apps/v1',
  StatefulSet: 'apps/v1',
  DaemonSet: 'apps/v1',
  Job: 'batch/v1',
  CronJob: 'batch/v1',
};

/** Fields only a core/v1 Event has, and fields only an events.k8s.io/v1 Event has. */
const CORE_EVENT_FIELDS = ['involvedObject', 'message', 'count', 'source', 'firstTimestamp', 'lastTimestamp', 'reportingComponent'];
const EVENTS_API_FIELDS = [
  'regarding',
  'note',
  'reportingController',
  'deprecatedSource',
  'deprecatedCount',
  'deprecatedFirstTimestamp',
  'deprecatedLastTimestamp',
];

function has(object: Raw, field: string): boolean {
  return object[field] !== undefined && object[field] !== null;
}

/** 'core/v1', 'events.k8s.io/v1' or null (not an Event), or a conflict. */
function eventApiOf(object: Raw): Inference | null {
  const core = CORE_EVENT_FIELDS.filter((f) => has(object, f));
  const events = EVENTS_API_FIELDS.filter((f) => has(object, f));
  // involvedObject and regarding decide; the other fields only when neither is there
  const decisiveCore = isRecord(object['involvedObject']);
  const decisiveEvents = isRecord(object['regarding']);
  if (decisiveCore && decisiveEvents) {
    return { ok: false, reason: 'it has both involvedObject (core/v1 Event) and regarding (events.k8s.io/v1 Event), so its API cannot be told' };
  }
  if (decisiveCore) return { ok: true, type: { apiVersion: 'v1', kind: 'Event' } };
  if (decisiveEvents) return { ok: true, type: { apiVersion: 'events.k8s.io/v1', kind: 'Event' } };
  const looksLikeEvent = has(object, 'reason') || has(object, 'series') || has(object, 'eventTime') || has(object, 'message') || has(object, 'note');
  if (!looksLikeEvent && core.length + events.length === 0) return null;
  if (core.length > 0 && events.length > 0) {
    return {
      ok: false,
      reason: `it has fields of both Event APIs (${core.join(', ')} of core/v1; ${events.join(', ')} of events.k8s.io/v1), so its API cannot be told`,
    };
  }
  if (events.length > 0) return { ok: true, type: { apiVersion: 'events.k8s.io/v1', kind: 'Event' } };
  if (core.length > 0) return { ok: true, type: { apiVersion: 'v1', kind: 'Event' } };
  return null;
}

function workloadKindOf(spec: Raw, status: Raw | null): string | null {
  if (typeof spec['schedule'] === 'string' && isRecord(spec['jobTemplate'])) return 'CronJob';
  if (!isRecord(spec['template'])) return null;
  // defaults the API server sets: Job backoffLimit/completions/parallelism/completionMode,
  // StatefulSet serviceName/podManagementPolicy, Deployment strategy/progressDeadlineSeconds,
  // DaemonSet updateStrategy without replicas, ReplicaSet replicas and nothing of the others
  if (has(spec, 'backoffLimit') || has(spec, 'completionMode') || has(spec, 'completions') || has(spec, 'parallelism')) return 'Job';
  if (has(spec, 'serviceName') || has(spec, 'podManagementPolicy') || has(spec, 'volumeClaimTemplates')) return 'StatefulSet';
  if (has(spec, 'strategy') || has(spec, 'progressDeadlineSeconds') || has(spec, 'paused')) return 'Deployment';
  if (has(spec, 'updateStrategy') || (status !== null && (has(status, 'desiredNumberScheduled') || has(status, 'currentNumberScheduled')))) {
    return 'DaemonSet';
  }
  if (has(spec, 'replicas') || has(spec, 'selector')) return 'ReplicaSet';
  return null;
}

/** Pod, Node or a workload from spec/status, or null. */
function objectKindOf(object: Raw): string | null {
  const spec = isRecord(object['spec']) ? object['spec'] : null;
  const status = isRecord(object['status']) ? object['status'] : null;
  const metadata = isRecord(object['metadata']) ? object['metadata'] : null;
  if (spec && Array.isArray(spec['containers'])) return 'Pod';
  if (spec) {
    const workload = workloadKindOf(spec, status);
    if (workload) return workload;
  }
  const namespaced = metadata !== null && typeof metadata['namespace'] === 'string' && metadata['namespace'] !== '';
  if (!namespaced) {
    if (status && (isRecord(status['nodeInfo']) || (Array.isArray(status['addresses']) && isRecord(status['capacity'])))) return 'Node';
    if (spec && (typeof spec['podCIDR'] === 'string' || typeof spec['providerID'] === 'string')) return 'Node';
  }
  return null;
}

/**
 * The apiVersion and kind of `object` from whichever of the two it has and its fields. `ok: false`
 * says why it cannot be told.
 */
export function inferObjectType(object: Raw, given: { apiVersion: string | null; kind: string | null }): Inference {
  const { apiVersion, kind } = given;
  const quote = (text: string): string => JSON.stringify(text.length > 100 ? `${text.slice(0, 100)}…` : text);
  if (kind === 'Event' || (kind === null && apiVersion !== null && apiVersion.startsWith('events.k8s.io/'))) {
    if (apiVersion !== null) return { ok: true, type: { apiVersion, kind: 'Event' } };
    const event = eventApiOf(object);
    return event ?? { ok: true, type: { apiVersion: 'v1', kind: 'Event' } };
  }
  if (kind !== null) {
    const known = API_VERSION_OF_KIND[kind];
    if (known !== undefined) return { ok: true, type: { apiVersion: known, kind } };
    return { ok: false, reason: `kind ${quote(kind)} has no apiVersion, and its API group cannot be told` };
  }
  const event = eventApiOf(object);
  if (event !== null) {
    if (!event.ok || apiVersion === null || apiVersion === event.type.apiVersion) return event;
  }
  const objectKind = objectKindOf(object);
  if (objectKind !== null) {
    const expected = API_VERSION_OF_KIND[objectKind] as string;
    if (apiVersion === null || apiVersion === expected) return { ok: true, type: { apiVersion: expected, kind: objectKind } };
  }
  return {
    ok: false,
    reason:
      apiVersion === null
        ? 'it has no apiVersion and kind, and its fields match none of the kinds replay knows (Event, Pod, Node, ReplicaSet, Deployment, StatefulSet, DaemonSet, Job, CronJob)'
        : `it has apiVersion ${quote(apiVersion)} but no kind, and its fields match no kind of that API`,
  };
}
