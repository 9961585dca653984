import { filter, type OperatorFunction } from 'rxjs';
import { labelsFingerprint } from '../model/alert.js';
import { CORRELATION_KINDS, incidentIdempotencyKey, type CorrelationKind, type Incident, type IncidentMember, type IncidentStatus } from '../model/incident.js';
import { objectKey, type Category, type KubeEvent, type OwnerRef, type Severity } from '../model/kube-event.js';
import { describeObject, maxSeverity, nodeOf, objectNamespace, severityRank } from './alert-builder.js';
import { eventTimeStage, isOccurrence, positive, type StageContext, type StageOptions } from './event-time.js';

export interface CorrelateOptions extends StageOptions {
  /** An incident closes when no member arrived for this long, ms of event time. Default 5 minutes. */
  window?: number;
  /** An incident closes at the latest this long after its first member. Default 1 hour. */
  maxDuration?: number;
  /** Members an incident needs before it is emitted (open and closed). Default 2. */
  minMembers?: number;
  /** Member events kept in the record (memberCount counts all). Default 50. */
  maxMembers?: number;
  /** Correlations to use. Default all: node, then owner, then object. */
  kinds?: readonly CorrelationKind[];
  /** Events taking part. Default: classified severity >= warning, or type Warning when unclassified. */
  filter?: (event: KubeEvent) => boolean;
  /**
   * Reasons of Node events that mark the node down: its incident stays open (up to maxDuration)
   * until an up event. Default NodeNotReady, NodeNotReachable.
   */
  nodeDownReasons?: readonly string[];
  /**
   * Reasons of Node events that mark the node back (they join its incident even when the filter
   * would skip them); the incident then closes after `window`. Default NodeReady.
   */
  nodeUpReasons?: readonly string[];
  /** Emit an `open` record when an incident reaches minMembers (besides `closed`). Default true. */
  emitOpen?: boolean;
  /** Default 10,000 open incidents. */
  maxKeys?: number;
  /** Default maxDuration + window. */
  idleTtl?: number;
}

/** Default filter: warnings and worse. */
export function isProblem(e: KubeEvent): boolean {
  if (e.classification) return severityRank(e.classification.severity) >= severityRank('warning');
  return e.type === 'Warning';
}

const TOP_WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'CronJob']);
const WORKLOAD_KINDS = new Set([...TOP_WORKLOAD_KINDS, 'ReplicaSet', 'Job', 'ReplicationController']);

/** How far upstream the regarding object is: Node 0, a top workload 1, an owned workload (ReplicaSet, Job) 2, anything else (Pods...) 3. */
function upstreamRank(e: KubeEvent): number {
  const kind = e.regarding.kind;
  if (kind === 'Node') return 0;
  if (kind === null || !WORKLOAD_KINDS.has(kind)) return 3;
  if (e.enrichment) return e.enrichment.ownerChain.length === 0 ? 1 : 2;
  return TOP_WORKLOAD_KINDS.has(kind) ? 1 : 2;
}

interface Root {
  event: KubeEvent;
  rank: number;
}

interface IncidentState {
  correlation: CorrelationKind;
  subject: string;
  cluster: string;
  incidentId: string;
  firstTime: number;
  lastTime: number;
  members: IncidentMember[];
  memberCount: number;
  root: Root;
  severity: Severity;
  namespaces: Set<string | null>;
  nodes: Set<string | null>;
  workloads: Map<string, OwnerRef>;
  objects: Set<string>;
  opened: boolean;
  /** Node incidents: the node is down (NotReady) and no up event came yet. */
  down: boolean;
}

function member(e: KubeEvent): IncidentMember {
  return {
    idempotencyKey: e.idempotencyKey,
    reason: e.reason,
    type: e.type,
    kind: e.regarding.kind,
    namespace: objectNamespace(e),
    name: e.regarding.name,
    time: e.lastTimestamp,
    message: e.message,
    category: e.classification?.category ?? null,
    severity: e.classification?.severity ?? null,
  };
}

/** The one value of a set, or null when it holds none or several. */
function only<T>(values: Iterable<T>): T | null {
  let found: T | null = null;
  let n = 0;
  for (const v of values) {
    if (++n > 1) return null;
    found = v;
  }
  return found;
}

const severityOf = (e: KubeEvent): Severity => e.classification?.severity ?? (e.type === 'Warning' ? 'warning' : 'info');
const ownerKey = (w: OwnerRef): string => `${w.kind}/${w.name}`;

/**
 * Gathers the problem events (default: warning or worse) of related objects into incidents:
 *
 * - node: an event about a Node (e.g. NodeNotReady, NodeHasDiskPressure) opens a node incident;
 *   while it is open, problem events of Pods on that node (enrichment.node, the related Node, or
 *   the reporting kubelet) join it: failures and evictions after a node goes NotReady are one
 *   incident, not twenty alerts;
 * - owner: otherwise, events of objects with the same owning workload (enrichment.workload)
 *   join one incident;
 * - object: otherwise, events of the same object.
 *
 * An incident stays open while members keep arriving within `window` of the last one (at most
 * `maxDuration`); a node incident stays open while its node is down (a NodeNotReady without a
 * NodeReady since: pods tolerate a NotReady node for 5 minutes before they are evicted), then for
 * `window` after the NodeReady, which joins it. The root cause is the most upstream member (Node, then the workload, then an
 * intermediate owner, then anything else), earliest first. With at least `minMembers` members it
 * is emitted as `open` when it reaches minMembers (unless emitOpen is false) and as `closed` with
 * all members when it closes; smaller groups are dropped silently. The incidentId is stable: a
 * fingerprint of cluster, correlation, subject and first member time.
 *
 * Event time: membership and closing follow event time and the watermark, so the output is the
 * same at any replay speed; on completion every open incident closes. When maxKeys open incidents
 * are held, the least recently active one is closed early (emitted if it qualifies).
 * DELETED changes (the API expiring an Event) are not occurrences and are ignored.
 *
 * ```
 * window 5; event time = frame; N = NodeNotReady on node n1, p = pod failure on n1,
 * q = failure of an unrelated pod elsewhere
 * source:    -N-p-p-q--p-------------|
 * correlate: ---O-----------C--------|   O open {N,p}; C closed {N,p,p,p} at 15 (10 + 5), root cause N;
 *                                        q alone is under minMembers: dropped
 * ```
 */
export function correlate(options: CorrelateOptions = {}): OperatorFunction<KubeEvent, Incident> {
  const window = positive('window', options.window, 5 * 60_000);
  const maxDuration = positive('maxDuration', options.maxDuration, 60 * 60_000);
  const minMembers = Math.max(1, Math.trunc(options.minMembers ?? 2));
  const maxMembers = Math.max(1, Math.trunc(options.maxMembers ?? 50));
  const kinds = new Set(options.kinds ?? CORRELATION_KINDS);
  for (const k of kinds) if (!CORRELATION_KINDS.includes(k)) throw new RangeError(`kinds: unknown correlation ${String(k)}`);
  const accept = options.filter ?? isProblem;
  const emitOpen = options.emitOpen !== false;
  const downReasons = new Set(options.nodeDownReasons ?? ['NodeNotReady', 'NodeNotReachable']);
  const upReasons = new Set(options.nodeUpReasons ?? ['NodeReady']);

  const stage = eventTimeStage<KubeEvent, Incident, IncidentState>(
    {
      operator: 'correlate',
      timestamp: (e) => e.lastTimestamp,
      options,
      defaultMaxKeys: 10_000,
      defaultIdleTtl: maxDuration + window,
    },
    () => {
      const record = (s: IncidentState, status: IncidentStatus, now: number): Incident => {
        const root = s.root.event;
        const others = s.memberCount - 1;
        const objects = s.objects.size - 1;
        const tail =
          others > 0
            ? ` (+${others} related event${others === 1 ? '' : 's'}${objects > 0 ? ` on ${objects} other object${objects === 1 ? '' : 's'}` : ''})`
            : '';
        const known = new Map([...s.workloads.values()].filter((w): w is OwnerRef => w !== null).map((w) => [ownerKey(w), w]));
        const workload = known.size === 1 ? { ...[...known.values()][0]! } : null;
        const incident: Incident = {
          incidentId: s.incidentId,
          correlation: s.correlation,
          status,
          cluster: s.cluster,
          namespace: only(s.namespaces),
          subject: s.subject,
          node: only(s.nodes),
          workload,
          rootCause: `${root.reason} on ${describeObject(root)}: ${root.message}${tail}`,
          rootEventKey: root.idempotencyKey,
          rootReason: root.reason,
          severity: s.severity,
          category: (root.classification?.category ?? 'Other') as Category,
          firstTime: s.firstTime,
          lastTime: s.lastTime,
          memberCount: s.memberCount,
          members: s.members.map((m) => ({ ...m })),
          updatedAt: now,
          idempotencyKey: '',
        };
        incident.idempotencyKey = incidentIdempotencyKey(incident);
        return incident;
      };

      const close = (key: string, s: IncidentState, ctx: StageContext<Incident, IncidentState>): void => {
        ctx.state.delete(key);
        ctx.clearTimer(key);
        if (s.memberCount >= minMembers) ctx.emit(record(s, 'closed', ctx.now));
      };

      const add = (key: string, s: IncidentState, e: KubeEvent, ctx: StageContext<Incident, IncidentState>): void => {
        s.memberCount++;
        if (s.members.length < maxMembers) s.members.push(member(e));
        s.lastTime = Math.max(s.lastTime, ctx.now);
        s.severity = maxSeverity(s.severity, severityOf(e));
        s.namespaces.add(objectNamespace(e));
        if (e.regarding.kind === 'Node' || s.correlation !== 'node') s.nodes.add(nodeOf(e));
        const w = e.enrichment?.workload ?? null;
        if (w && e.regarding.kind !== 'Node') s.workloads.set(ownerKey(w), w);
        s.objects.add(objectKey(e));
        const rank = upstreamRank(e);
        if (rank < s.root.rank) s.root = { event: e, rank };
        if (s.correlation === 'node' && e.regarding.kind === 'Node') {
          if (downReasons.has(e.reason)) s.down = true;
          else if (upReasons.has(e.reason)) s.down = false;
        }
        ctx.state.set(key, s);
        ctx.setTimer(key, s.down ? s.firstTime + maxDuration : Math.min(s.lastTime + window, s.firstTime + maxDuration));
        if (!s.opened && s.memberCount >= minMembers) {
          s.opened = true;
          if (emitOpen) ctx.emit(record(s, 'open', ctx.now));
        }
      };

      const create = (key: string, correlation: CorrelationKind, subject: string, e: KubeEvent, ctx: StageContext<Incident, IncidentState>): IncidentState => {
        const s: IncidentState = {
          correlation,
          subject,
          cluster: e.cluster,
          incidentId: labelsFingerprint({ cluster: e.cluster, correlation, subject, firstTime: String(ctx.now) }),
          firstTime: ctx.now,
          lastTime: ctx.now,
          members: [],
          memberCount: 0,
          root: { event: e, rank: upstreamRank(e) },
          severity: severityOf(e),
          namespaces: new Set(),
          nodes: new Set(),
          workloads: new Map(),
          objects: new Set(),
          opened: false,
          down: false,
        };
        ctx.state.set(key, s);
        return s;
      };

      return {
        onEvent(e, ctx) {
          const cluster = e.cluster;
          const r = e.regarding;
          if (r.kind === 'Node' && r.name && upReasons.has(e.reason)) {
            // the node is back: that ends (after the window) its incident, if there is one
            const key = `node:${cluster}/${r.name}`;
            const s = ctx.state.get(key);
            if (s && kinds.has('node')) add(key, s, e, ctx);
            return;
          }
          if (!accept(e)) return;
          let target: [string, CorrelationKind, string] | null = null;
          if (kinds.has('node')) {
            if (r.kind === 'Node' && r.name) {
              target = [`node:${cluster}/${r.name}`, 'node', `Node/${r.name}`];
            } else {
              const node = nodeOf(e);
              const key = node ? `node:${cluster}/${node}` : null;
              if (key && ctx.state.has(key)) target = [key, 'node', `Node/${node}`];
            }
          }
          const w = e.enrichment?.workload;
          if (!target && kinds.has('owner') && w && !(w.kind === r.kind && w.name === r.name)) {
            const ns = objectNamespace(e) ?? '';
            target = [`owner:${cluster}/${ns}/${w.kind}/${w.name}`, 'owner', `${w.kind}/${ns ? `${ns}/` : ''}${w.name}`];
          }
          if (!target && kinds.has('object')) {
            const ns = objectNamespace(e);
            target = [`object:${objectKey(e)}`, 'object', `${r.kind ?? 'object'}/${ns ? `${ns}/` : ''}${r.name ?? r.uid ?? '?'}`];
          }
          if (!target) return;
          const [key, correlation, subject] = target;
          const s = ctx.state.get(key) ?? create(key, correlation, subject, e, ctx);
          add(key, s, e, ctx);
        },
        onTimer(key, ctx) {
          const s = ctx.state.get(key);
          if (s) close(key, s, ctx);
        },
        onEvict(_key, s, _reason, ctx) {
          // closed early (maxKeys) rather than lost
          if (s.memberCount >= minMembers) ctx.emit(record(s, 'closed', ctx.now));
        },
      };
    },
  );
  return (source) =>
    source.pipe(
      filter((e) => isOccurrence(e)),
      stage,
    );
}
