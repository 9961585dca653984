/**
 * Resource descriptors: enough to build list and watch paths for the resources we watch. We talk
 * to raw paths rather than client-node's typed list calls, see kube-http.ts for why.
 */

export interface ResourceDescriptor {
  /** API group, '' for the core group. */
  group: string;
  version: string;
  /** Resource name in paths, e.g. 'pods'. */
  plural: string;
  /** Kind of the objects, e.g. 'Pod'. */
  kind: string;
  namespaced: boolean;
}

function descriptor(group: string, version: string, plural: string, kind: string, namespaced = true): ResourceDescriptor {
  return Object.freeze({ group, version, plural, kind, namespaced });
}

export const RESOURCES = Object.freeze({
  Pod: descriptor('', 'v1', 'pods', 'Pod'),
  Node: descriptor('', 'v1', 'nodes', 'Node', false),
  ReplicaSet: descriptor('apps', 'v1', 'replicasets', 'ReplicaSet'),
  Deployment: descriptor('apps', 'v1', 'deployments', 'Deployment'),
  StatefulSet: descriptor('apps', 'v1', 'statefulsets', 'StatefulSet'),
  DaemonSet: descriptor('apps', 'v1', 'daemonsets', 'DaemonSet'),
  Job: descriptor('batch', 'v1', 'jobs', 'Job'),
  CronJob: descriptor('batch', 'v1', 'cronjobs', 'CronJob'),
  /** events.k8s.io/v1 Events (preferred view of Events). */
  EventV1: descriptor('events.k8s.io', 'v1', 'events', 'Event'),
  /** core/v1 Events: the same stored objects, older view; used where events.k8s.io/v1 is not served. */
  CoreEvent: descriptor('', 'v1', 'events', 'Event'),
});

export function apiVersionOf(r: ResourceDescriptor): string {
  return r.group === '' ? r.version : `${r.group}/${r.version}`;
}

/** '/api/v1' or '/apis/apps/v1'. */
export function groupVersionPath(r: ResourceDescriptor): string {
  return r.group === '' ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`;
}

/**
 * Collection path, e.g. '/api/v1/namespaces/default/pods' or '/apis/apps/v1/deployments'.
 * `namespace` null (or a cluster-scoped resource) means all namespaces.
 */
export function collectionPath(r: ResourceDescriptor, namespace: string | null): string {
  const ns = r.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${groupVersionPath(r)}${ns}/${r.plural}`;
}

/** Stable identity of a resource, e.g. 'apps/v1/deployments' or 'core/v1/pods'. */
export function resourceId(r: ResourceDescriptor): string {
  return `${r.group === '' ? 'core' : r.group}/${r.version}/${r.plural}`;
}
