/**
 * What the object caches keep of a Pod, ReplicaSet, Deployment, StatefulSet, DaemonSet, Job,
 * CronJob or Node: exactly the fields the enrich stage reads (src/operators/enrich.ts) and the cache
 * itself needs, in the API's shape, so every ObjectLookup reader works on it unchanged.
 *
 * - every kind: `kind`; `metadata.name`, `namespace`, `uid`, `resourceVersion` (the cache's
 *   stale-version check), `labels` (all of them: a pipeline may copy any, `labels: '*'`), and the
 *   one ownerReference an owner chain follows (the controller one, else the first: controllerRef)
 *   with its `kind`, `name`, `uid`, `controller`;
 * - Pods also: `spec.nodeName`, `status.phase`, and per init and app container status its `name`,
 *   `ready`, `restartCount`, `state.waiting.reason/message`, `state.terminated` and
 *   `lastState.terminated` `reason/exitCode/finishedAt`.
 *
 * A Node's images, conditions and addresses, a Pod's spec, volumes and conditions, annotations,
 * managedFields: none of it is kept. Memory then follows the number of objects, not their size
 * (a kwok Node of 5,000 is ~4 KB as listed, ~0.3 KB projected; see bench/README.md, cluster).
 *
 * test/unit/sources/projection.test.ts checks that enrichment from projections equals enrichment from
 * the whole objects, over the bundled recording and the benchmark generator's cluster.
 */
import { controllerRef, type KubeObject, type KubeOwnerReference } from './object-lookup.js';

type Raw = Record<string, unknown>;

const isRecord = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Objects made by projectForEnrichment (so a second projection is skipped). */
const projections = new WeakSet<object>();

/**
 * One copy of each repeated value (owner names and uids, node names, namespaces, phases, reasons,
 * and whole label sets: the Pods of one ReplicaSet carry the same ones). Bounded: the table is
 * emptied when it reaches `max` entries (values already shared stay shared).
 */
class Interner<T> {
  private readonly table = new Map<string, T>();
  constructor(private readonly max: number) {}
  get(key: string, value: T): T {
    const held = this.table.get(key);
    if (held !== undefined) return held;
    if (this.table.size >= this.max) this.table.clear();
    this.table.set(key, value);
    return value;
  }
}

const strings = new Interner<string>(100_000);
const labelSets = new Interner<Record<string, string>>(50_000);

/** The shared copy of a short string (other values as they are). */
function s<T>(v: T): T {
  return typeof v === 'string' && v.length <= 256 ? (strings.get(v, v) as T) : v;
}

function internLabels(labels: unknown): unknown {
  if (!isRecord(labels)) return labels;
  let key = '';
  for (const k in labels) {
    const v = labels[k];
    if (typeof v !== 'string') return labels; // not as the API serves them: kept as they are
    key += `${k}\u0000${v}\u0000`;
  }
  if (key.length > 4096) return labels;
  return labelSets.get(key, labels as Record<string, string>);
}

/** Whether `obj` is already a projection (projecting it again would give an equal copy). */
export function isProjection(obj: unknown): boolean {
  return typeof obj === 'object' && obj !== null && projections.has(obj);
}

function pick<T extends Raw>(from: Raw, keys: readonly string[]): T | undefined {
  let out: Raw | undefined;
  for (const k of keys) {
    const v = from[k];
    if (v !== undefined) (out ??= {})[k] = k === 'message' ? v : s(v);
  }
  return out as T | undefined;
}

const TERMINATED_KEYS = ['reason', 'exitCode', 'finishedAt'] as const;
const WAITING_KEYS = ['reason', 'message'] as const;

function projectState(state: unknown, withWaiting: boolean): Raw | undefined {
  if (!isRecord(state)) return undefined;
  let out: Raw | undefined;
  if (withWaiting && isRecord(state['waiting'])) (out ??= {})['waiting'] = pick(state['waiting'], WAITING_KEYS) ?? {};
  if (isRecord(state['terminated'])) (out ??= {})['terminated'] = pick(state['terminated'], TERMINATED_KEYS) ?? {};
  return out;
}

function projectContainerStatuses(list: unknown): Raw[] | undefined {
  if (!Array.isArray(list)) return undefined;
  const out: Raw[] = [];
  for (const cs of list) {
    if (!isRecord(cs) || typeof cs['name'] !== 'string' || cs['name'] === '') continue; // enrichment skips these
    const c: Raw = { name: s(cs['name']) };
    if (cs['ready'] !== undefined) c['ready'] = cs['ready'];
    if (cs['restartCount'] !== undefined) c['restartCount'] = cs['restartCount'];
    const state = projectState(cs['state'], true);
    if (state) c['state'] = state;
    const last = projectState(cs['lastState'], false);
    if (last) c['lastState'] = last;
    out.push(c);
  }
  return out;
}

function projectOwner(ref: KubeOwnerReference): KubeOwnerReference {
  const out = { kind: s(ref.kind), name: s(ref.name), uid: s(ref.uid) } as KubeOwnerReference;
  if (ref.controller !== undefined) out.controller = ref.controller;
  return out;
}

/**
 * The projection of `obj` (of `kind`) the caches hold: a new object sharing only its strings and
 * its labels object with `obj` (never mutated). An object that is already a projection is returned as it is.
 */
export function projectForEnrichment(obj: KubeObject, kind: string): KubeObject {
  if (!isRecord(obj) || !isRecord(obj.metadata)) return obj; // malformed: the cache reports and skips it
  if (projections.has(obj) && obj.kind === kind) return obj;
  const meta = obj.metadata;
  const metadata = { name: meta.name } as KubeObject['metadata'];
  if (meta.namespace !== undefined) metadata.namespace = s(meta.namespace);
  if (meta.uid !== undefined) metadata.uid = meta.uid;
  if (meta.resourceVersion !== undefined) metadata.resourceVersion = meta.resourceVersion;
  if (meta.labels !== undefined) metadata.labels = internLabels(meta.labels) as Record<string, string>;
  const owner = controllerRef(obj);
  if (owner !== null && isRecord(owner)) metadata.ownerReferences = [projectOwner(owner)];
  const out: KubeObject = { kind, metadata };
  if (kind === 'Pod') {
    if (isRecord(obj.spec) && obj.spec['nodeName'] !== undefined) out.spec = { nodeName: s(obj.spec['nodeName']) };
    if (isRecord(obj.status)) {
      const status: Raw = {};
      if (obj.status['phase'] !== undefined) status['phase'] = s(obj.status['phase']);
      const init = projectContainerStatuses(obj.status['initContainerStatuses']);
      if (init) status['initContainerStatuses'] = init;
      const app = projectContainerStatuses(obj.status['containerStatuses']);
      if (app) status['containerStatuses'] = app;
      out.status = status;
    }
  }
  projections.add(out);
  return out;
}
