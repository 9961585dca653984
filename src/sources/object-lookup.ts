/**
 * Read-only view of the watched object caches (Pods, ReplicaSets, Deployments, StatefulSets,
 * DaemonSets, Jobs, CronJobs, Nodes), used by the enrich stage. Keep this file small and stable:
 * other modules depend on it. The live implementation is ObjectCache (object-cache.ts);
 * `createStaticObjectLookup` below is a plain in-memory one for tests and fixtures.
 *
 * Objects are plain-JSON-shaped, as the API serves them (`metadata`, `spec`, `status`; times are
 * RFC 3339 strings), possibly pruned (no managedFields, no last-applied-configuration annotation).
 * Treat them as read-only: they are shared with the cache.
 */
import type { OwnerRef } from '../model/kube-event.js';

/** Kinds the object caches hold. */
export const CACHED_KINDS = ['Pod', 'ReplicaSet', 'Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'Node'] as const;
export type CachedKind = (typeof CACHED_KINDS)[number];

export interface KubeOwnerReference {
  apiVersion?: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface KubeObjectMeta {
  name: string;
  /** Absent (or empty) for cluster-scoped objects such as Nodes. */
  namespace?: string;
  uid: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: KubeOwnerReference[];
  [key: string]: unknown;
}

/** A Kubernetes object as plain JSON. `spec`/`status` are left loosely typed on purpose. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: KubeObjectMeta;
  spec?: Record<string, any>;
  status?: Record<string, any>;
  [key: string]: unknown;
}

export interface ObjectLookup {
  /**
   * The cached object of `kind` ('Pod', 'Deployment', ... as in ObjectRef.kind) named `name` in
   * `namespace` (null or '' for cluster-scoped kinds such as Node), or undefined.
   */
  get(kind: string, namespace: string | null | undefined, name: string): KubeObject | undefined;
  /** The cached object with this metadata.uid, of any cached kind, or undefined. */
  getByUid(uid: string): KubeObject | undefined;
  /**
   * Owner chain from `obj` upwards, following the controller ownerReference (or the first one
   * when none is marked controller), e.g. Pod -> [ReplicaSet, Deployment], Pod -> [Job, CronJob].
   * `obj` itself is not included. An owner that is not cached still appears (from the reference)
   * but ends the chain. Cycles and chains deeper than 10 are cut.
   */
  ownerChain(obj: KubeObject): OwnerRef[];
  /**
   * Whether the cache for `kind` has completed its initial list (or, without `kind`, whether
   * every cache has). Before that, a miss does not mean the object doesn't exist.
   */
  isSynced(kind?: string): boolean;
}

const MAX_OWNER_DEPTH = 10;

/** The controller ownerReference of `obj`, or its first ownerReference, or null. */
export function controllerRef(obj: KubeObject): KubeOwnerReference | null {
  const refs = obj.metadata?.ownerReferences;
  if (!Array.isArray(refs) || refs.length === 0) return null;
  return refs.find((r) => r?.controller === true) ?? refs[0] ?? null;
}

/** One resolved step of an owner chain: the reference followed and the cached owner it led to. */
export interface OwnerStep {
  ref: OwnerRef;
  /** Namespace the by-name fallback looked in (the referring object's). */
  namespace: string | null;
  /** The cached owner, or undefined (not cached: the chain ends here). */
  owner: KubeObject | undefined;
}

/**
 * The cached owner a reference leads to: by uid, falling back to kind/namespace/name when the uid
 * lookup misses (but never to an object whose uid contradicts the reference: that owner was
 * deleted and recreated).
 */
export function lookupOwner(lookup: Pick<ObjectLookup, 'get' | 'getByUid'>, ref: OwnerRef, namespace: string | null): KubeObject | undefined {
  const owner = ref.uid !== null ? lookup.getByUid(ref.uid) : undefined;
  if (owner) return owner;
  const byName = lookup.get(ref.kind, namespace, ref.name);
  return byName && (ref.uid === null || byName.metadata.uid === ref.uid) ? byName : undefined;
}

/**
 * Owner chain resolution shared by every ObjectLookup implementation, with the owner object each
 * step resolved to (see lookupOwner). The chain is a function of `obj` and those owner objects:
 * while lookupOwner gives the same objects again, the chain is the same.
 */
export function resolveOwnerSteps(obj: KubeObject, lookup: Pick<ObjectLookup, 'get' | 'getByUid'>): OwnerStep[] {
  const steps: OwnerStep[] = [];
  const seen = new Set<string>();
  if (obj.metadata?.uid) seen.add(obj.metadata.uid);
  let current: KubeObject | undefined = obj;
  while (current && steps.length < MAX_OWNER_DEPTH) {
    const ref = controllerRef(current);
    if (!ref || typeof ref.kind !== 'string' || typeof ref.name !== 'string') break;
    const uid = typeof ref.uid === 'string' && ref.uid.length > 0 ? ref.uid : null;
    if (uid !== null && seen.has(uid)) break;
    const step: OwnerStep = { ref: { kind: ref.kind, name: ref.name, uid }, namespace: current.metadata.namespace ?? null, owner: undefined };
    steps.push(step);
    if (uid !== null) seen.add(uid);
    step.owner = lookupOwner(lookup, step.ref, step.namespace);
    current = step.owner;
  }
  return steps;
}

/** Owner chain resolution shared by every ObjectLookup implementation: the references of resolveOwnerSteps. */
export function resolveOwnerChain(obj: KubeObject, lookup: Pick<ObjectLookup, 'get' | 'getByUid'>): OwnerRef[] {
  return resolveOwnerSteps(obj, lookup).map((s) => s.ref);
}

/** Key for by-name lookups: kind/namespace/name, namespace '' for cluster-scoped objects. */
export function objectNameKey(kind: string, namespace: string | null | undefined, name: string): string {
  return `${kind}/${namespace ?? ''}/${name}`;
}

/**
 * A fixed, always-synced lookup over the given objects (each must carry `kind`). For tests and
 * fixtures; the live cache is ObjectCache.
 */
export function createStaticObjectLookup(objects: Iterable<KubeObject>): ObjectLookup {
  const byName = new Map<string, KubeObject>();
  const byUid = new Map<string, KubeObject>();
  for (const o of objects) {
    if (typeof o.kind !== 'string') throw new Error(`object ${o.metadata?.name ?? '?'} has no kind`);
    byName.set(objectNameKey(o.kind, o.metadata.namespace, o.metadata.name), o);
    if (o.metadata.uid) byUid.set(o.metadata.uid, o);
  }
  const lookup: ObjectLookup = {
    get: (kind, namespace, name) => byName.get(objectNameKey(kind, namespace, name)),
    getByUid: (uid) => byUid.get(uid),
    ownerChain: (obj) => resolveOwnerChain(obj, lookup),
    isSynced: () => true,
  };
  return lookup;
}

/** A lookup that knows nothing (enrichment then yields only what the event itself says). */
export const EMPTY_OBJECT_LOOKUP: ObjectLookup = createStaticObjectLookup([]);
