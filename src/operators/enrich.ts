import { map, type OperatorFunction } from 'rxjs';
import { deepFreeze } from '../core/immutable.js';
import type { ContainerContext, Enrichment, KubeEvent, OwnerRef } from '../model/kube-event.js';
import { lookupOwner, resolveOwnerSteps, type KubeObject, type ObjectLookup, type OwnerStep } from '../sources/object-lookup.js';

/** Labels copied into Enrichment.labels unless `labels` says otherwise. */
export const DEFAULT_ENRICH_LABELS: readonly string[] = [
  'app',
  'k8s-app',
  'app.kubernetes.io/name',
  'app.kubernetes.io/instance',
  'app.kubernetes.io/component',
  'app.kubernetes.io/part-of',
  'app.kubernetes.io/version',
  'team',
  'owner',
  'tier',
];

export interface EnrichOptions {
  /** Label names of the regarding object to copy; '*' copies all. Default DEFAULT_ENRICH_LABELS. */
  labels?: readonly string[] | '*';
}

type Raw = Record<string, any>;

const isRecord = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === 'string' && v.length > 0 ? v : null);
const int = (v: unknown): number | null => (typeof v === 'number' && Number.isInteger(v) ? v : null);

function time(v: unknown): number | null {
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.getTime();
  if (typeof v !== 'string' || v === '') return null;
  const ms = Date.parse(v);
  return Number.isNaN(ms) ? null : ms;
}

function containerContext(status: unknown): ContainerContext | null {
  if (!isRecord(status)) return null;
  const name = str(status['name']);
  if (!name) return null;
  const waiting = isRecord(status['state']) && isRecord(status['state']['waiting']) ? status['state']['waiting'] : null;
  const lastTerminated = isRecord(status['lastState']) && isRecord(status['lastState']['terminated']) ? status['lastState']['terminated'] : null;
  const terminatedNow = isRecord(status['state']) && isRecord(status['state']['terminated']) ? status['state']['terminated'] : null;
  const terminated = lastTerminated ?? terminatedNow;
  return {
    name,
    ready: status['ready'] === true,
    restartCount: int(status['restartCount']) ?? 0,
    waitingReason: waiting ? str(waiting['reason']) : null,
    waitingMessage: waiting ? str(waiting['message']) : null,
    lastTerminationReason: terminated ? str(terminated['reason']) : null,
    lastExitCode: terminated ? int(terminated['exitCode']) : null,
    lastFinishedAt: terminated ? time(terminated['finishedAt']) : null,
  };
}

/** Container states of a Pod: init containers, then app containers, as the API lists them. */
export function podContainers(pod: KubeObject): ContainerContext[] {
  const status = isRecord(pod.status) ? pod.status : {};
  const out: ContainerContext[] = [];
  for (const field of ['initContainerStatuses', 'containerStatuses']) {
    const list: unknown = status[field];
    if (!Array.isArray(list)) continue;
    for (const s of list) {
      const c = containerContext(s);
      if (c) out.push(c);
    }
  }
  return out;
}

function selectLabels(obj: KubeObject, wanted: readonly string[] | '*'): Record<string, string> {
  const labels = isRecord(obj.metadata.labels) ? obj.metadata.labels : {};
  const out: Record<string, string> = {};
  const names = wanted === '*' ? Object.keys(labels).sort() : wanted;
  for (const name of names) {
    const v = labels[name];
    if (typeof v === 'string') out[name] = v;
  }
  return out;
}

/** The cached object an event is about: by uid, else by kind/namespace/name (unless that object is a different incarnation). */
export function regardingObject(event: KubeEvent, lookup: ObjectLookup): KubeObject | undefined {
  const r = event.regarding;
  if (r.uid) {
    const byUid = lookup.getByUid(r.uid);
    if (byUid && (r.kind === null || byUid.kind === undefined || byUid.kind === r.kind)) return byUid;
  }
  if (!r.kind || !r.name) return undefined;
  const namespace = r.kind === 'Node' ? null : (r.namespace ?? event.namespace);
  const byName = lookup.get(r.kind, namespace, r.name);
  if (!byName) return undefined;
  // same name, other uid: the object was deleted and recreated; its state says nothing about this
  // event. Except the kubelet's references to its Node, which carry the node name as the uid.
  const kubeletNodeRef = r.kind === 'Node' && r.uid === r.name;
  if (r.uid && byName.metadata.uid && byName.metadata.uid !== r.uid && !kubeletNodeRef) return undefined;
  return byName;
}

/** Enrichment of one event from the caches, or null when the regarding object is not cached. */
export function enrichmentOf(event: KubeEvent, lookup: ObjectLookup, options: EnrichOptions = {}): Enrichment | null {
  const obj = regardingObject(event, lookup);
  if (!obj) return null;
  const kind = obj.kind ?? event.regarding.kind ?? '';
  return enrichmentFrom(obj, kind, lookup.ownerChain(obj), options);
}

function enrichmentFrom(obj: KubeObject, kind: string, ownerChain: OwnerRef[], options: EnrichOptions): Enrichment {
  const self: OwnerRef = { kind, name: obj.metadata.name, uid: str(obj.metadata.uid) };
  const workload = ownerChain.at(-1) ?? (kind === 'Node' ? null : self);
  const isPod = kind === 'Pod';
  const spec = isRecord(obj.spec) ? obj.spec : {};
  const status = isRecord(obj.status) ? obj.status : {};
  return {
    workload: workload ? { ...workload } : null,
    ownerChain: ownerChain.map((o) => ({ ...o })),
    node: kind === 'Node' ? obj.metadata.name : isPod ? str(spec['nodeName']) : null,
    podPhase: isPod ? str(status['phase']) : null,
    containers: isPod ? podContainers(obj) : [],
    labels: selectLabels(obj, options.labels ?? DEFAULT_ENRICH_LABELS),
  };
}

/** An enrichment computed for one cached object, and what it depended on besides that object. */
interface Memo {
  /** the kind it was computed for (the event's regarding kind when the object carries none) */
  kind: string;
  /** each owner chain step's reference and the cached owner object it resolved to */
  steps: OwnerStep[];
  enrichment: Enrichment;
}

const sameRef = (a: OwnerRef, b: OwnerRef): boolean => a.kind === b.kind && a.name === b.name && a.uid === b.uid;

/**
 * enrichmentOf, memoized per cached object. The caches replace an object on every change (a new
 * object per version; they are never mutated), so an enrichment computed from an object stays
 * right for that object as long as its owner chain resolves to the same cached owner objects
 * (a replaced ReplicaSet or Deployment, an owner that appeared or went away recomputes it). That
 * check costs one lookup per owner instead of the chain, container states and label copies. The
 * memo is keyed weakly: objects dropped by the cache are forgotten with it.
 *
 * The check follows the shared owner chain resolution (resolveOwnerSteps); an ObjectLookup whose
 * ownerChain() resolves otherwise (its chain differs from resolveOwnerSteps') is not memoized.
 * Events on the same object version share one (read-only) Enrichment.
 */
function memoizedEnrichment(lookup: ObjectLookup, options: EnrichOptions): (event: KubeEvent) => Enrichment | null {
  const memo = new WeakMap<KubeObject, Memo>();
  return (event) => {
    const obj = regardingObject(event, lookup);
    if (!obj) return null;
    const kind = obj.kind ?? event.regarding.kind ?? '';
    const hit = memo.get(obj);
    if (hit !== undefined && hit.kind === kind && ownersUnchanged(hit.steps, lookup)) return hit.enrichment;
    const ownerChain = lookup.ownerChain(obj);
    // frozen: shared by every event on this object version, and its Avro bytes are kept (fast-writer.ts)
    const enrichment = deepFreeze(enrichmentFrom(obj, kind, ownerChain, options));
    const steps = resolveOwnerSteps(obj, lookup);
    if (steps.length === ownerChain.length && steps.every((s, i) => sameRef(s.ref, ownerChain[i]!))) memo.set(obj, { kind, steps, enrichment });
    else memo.delete(obj);
    return enrichment;
  };
}

function ownersUnchanged(steps: readonly OwnerStep[], lookup: ObjectLookup): boolean {
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i]!;
    if (lookupOwner(lookup, s.ref, s.namespace) !== s.owner) return false;
  }
  return true;
}

/**
 * Sets `enrichment` on every event from the watched object caches (never an API call): the owner
 * chain and workload (top of the chain, or the object itself), the node (a Pod's spec.nodeName, or
 * the Node itself), the Pod phase, its container states (ready, restarts, waiting reason and
 * message, last termination reason, exit code, finishedAt) and selected labels of the regarding
 * object. When the object is not cached (gone, not a cached kind, or recreated with another uid)
 * the enrichment is null; that is not an error. One output per input, at once.
 *
 * The enrichment is memoized per cached object version (see memoizedEnrichment): events about an
 * unchanged object with unchanged owners share one Enrichment, deeply frozen (core/immutable.ts).
 *
 * ```
 * source:  --a--b--c--|
 * enrich:  --A--B--C--|     A = { ...a, enrichment: { workload, ownerChain, node, ... } | null }
 * ```
 */
export function enrich(lookup: ObjectLookup, options: EnrichOptions = {}): OperatorFunction<KubeEvent, KubeEvent> {
  const enrichmentOfEvent = memoizedEnrichment(lookup, options);
  return map((event) => ({ ...event, enrichment: enrichmentOfEvent(event) }));
}
