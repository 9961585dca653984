import { map, Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { labelsFingerprint } from '../../../src/model/alert.js';
import type { Incident } from '../../../src/model/incident.js';
import type { Category, Enrichment, KubeEvent, Severity } from '../../../src/model/kube-event.js';
import { correlate, type CorrelateOptions } from '../../../src/operators/correlate.js';
import { MIN, SEC, T0, ev, letters, quiet, testScheduler, type EvInput } from './helpers.js';

const web = { kind: 'Deployment', name: 'web', uid: 'd-web' };
const rs = { kind: 'ReplicaSet', name: 'web-5d8f', uid: 'rs-web' };

function enr(node: string | null, workload: typeof web | null = web): Enrichment {
  return { workload, ownerChain: workload ? [rs, workload] : [], node, podPhase: 'Running', containers: [], labels: {} };
}

const cls = (category: Category, severity: Severity) => ({ category, severity, rule: 'test' });

const nodeNotReady = (at: number, node = 'n1'): KubeEvent =>
  ev({
    at,
    kind: 'Node',
    name: node,
    namespace: null,
    reason: 'NodeNotReady',
    type: 'Normal',
    message: `Node ${node} status is now: NodeNotReady`,
    classification: cls('Node', 'critical'),
  });
const podEvent = (at: number, name: string, node: string | null, reason = 'TaintManagerEviction', extra: Partial<EvInput> = {}): KubeEvent =>
  ev({ at, name, reason, message: `${reason} ${name}`, enrichment: enr(node), classification: cls('Eviction', 'warning'), ...extra });

const brief = (i: Incident): string => `${i.status}:${i.correlation}:${i.subject}:${i.memberCount}`;

function runCorrelate(events: KubeEvent[], options: CorrelateOptions = {}): Incident[] {
  const out: Incident[] = [];
  const subject = new Subject<KubeEvent>();
  subject.pipe(correlate({ ...quiet(), ...options })).subscribe((i) => out.push(i));
  events.forEach((e) => subject.next(e));
  subject.complete();
  return out;
}

describe('correlate', () => {
  it('gathers a NotReady node and the pod failures on it into one incident, root cause the node', () => {
    const events = [
      nodeNotReady(0),
      podEvent(30 * SEC, 'web-1', 'n1'),
      podEvent(40 * SEC, 'web-2', 'n1'),
      podEvent(50 * SEC, 'api-1', 'n2', 'BackOff', { enrichment: enr('n2', { kind: 'Deployment', name: 'api', uid: 'd-api' }) }),
      podEvent(3 * MIN, 'web-3', 'n1', 'Evicted'),
    ];
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('abcde|', letters(events)).pipe(correlate({ window: 5 * MIN, ...quiet() }), map(brief))).toBe('-x---(y|)', {
        x: 'open:node:Node/n1:2',
        y: 'closed:node:Node/n1:4',
      });
    });
    const [open, closed] = runCorrelate(events, { window: 5 * MIN });
    const incidentId = labelsFingerprint({ cluster: 'c1', correlation: 'node', subject: 'Node/n1', firstTime: String(T0) });
    expect(open).toMatchObject({ incidentId, status: 'open', idempotencyKey: `${incidentId}/open`, memberCount: 2, updatedAt: T0 + 30 * SEC });
    expect(closed).toEqual({
      incidentId,
      correlation: 'node',
      status: 'closed',
      cluster: 'c1',
      namespace: null,
      subject: 'Node/n1',
      node: 'n1',
      workload: web,
      rootCause: 'NodeNotReady on Node n1: Node n1 status is now: NodeNotReady (+3 related events on 3 other objects)',
      rootEventKey: events[0]!.idempotencyKey,
      rootReason: 'NodeNotReady',
      severity: 'critical',
      category: 'Node',
      firstTime: T0,
      lastTime: T0 + 3 * MIN,
      memberCount: 4,
      members: [0, 1, 2, 4].map((i) => {
        const e = events[i]!;
        return {
          idempotencyKey: e.idempotencyKey,
          reason: e.reason,
          type: e.type,
          kind: e.regarding.kind,
          namespace: e.regarding.namespace,
          name: e.regarding.name,
          time: e.lastTimestamp,
          message: e.message,
          category: e.classification!.category,
          severity: e.classification!.severity,
        };
      }),
      updatedAt: T0 + 60 * MIN, // the node never came back: open until maxDuration (flushed at completion)
      idempotencyKey: `${incidentId}/closed`,
    });
  });

  it('keeps a node incident open while the node is down, and closes it a window after NodeReady', () => {
    const nodeReady = (at: number): KubeEvent =>
      ev({
        at,
        kind: 'Node',
        name: 'n1',
        namespace: null,
        reason: 'NodeReady',
        type: 'Normal',
        message: 'Node n1 status is now: NodeReady',
        classification: cls('Node', 'info'),
      });
    // evictions 6 minutes after NotReady (beyond the 5m window): still the same incident
    const events = [
      nodeNotReady(0),
      podEvent(10 * SEC, 'web-1', 'n1', 'NodeNotReady'),
      podEvent(6 * MIN, 'web-1', 'n1'),
      nodeReady(8 * MIN),
      podEvent(9 * MIN, 'web-2', 'n1'),
    ];
    const incidents = runCorrelate(events, { window: 5 * MIN });
    expect(incidents.map(brief)).toEqual(['open:node:Node/n1:2', 'closed:node:Node/n1:5']);
    expect(incidents[1]).toMatchObject({ lastTime: T0 + 9 * MIN, updatedAt: T0 + 14 * MIN });
    expect(incidents[1]!.members.map((m) => m.reason)).toEqual(['NodeNotReady', 'NodeNotReady', 'TaintManagerEviction', 'NodeReady', 'TaintManagerEviction']);
    // a NodeReady without an incident is nothing
    expect(runCorrelate([nodeReady(0)])).toEqual([]);
  });

  it('finds the node of a pod event from the reporting kubelet when the pod is gone from the cache', () => {
    const events = [nodeNotReady(0), ev({ at: 10 * SEC, reason: 'Evicted', reportingController: 'kubelet', reportingInstance: 'n1' })];
    expect(runCorrelate(events).map(brief)).toEqual(['open:node:Node/n1:2', 'closed:node:Node/n1:2']);
  });

  it('gathers events of one workload, root cause the most upstream object even when it is not the earliest', () => {
    const events = [
      podEvent(0, 'web-1', 'n1', 'BackOff'),
      podEvent(10 * SEC, 'web-2', 'n2', 'BackOff'),
      ev({
        at: 20 * SEC,
        kind: 'ReplicaSet',
        name: rs.name,
        reason: 'FailedCreate',
        message: 'exceeded quota',
        enrichment: { ...enr(null), ownerChain: [web] },
      }),
    ];
    const [, closed] = runCorrelate(events);
    expect(closed).toMatchObject({
      correlation: 'owner',
      subject: 'Deployment/shop/web',
      namespace: 'shop',
      node: null,
      workload: web,
      rootReason: 'FailedCreate',
      rootEventKey: events[2]!.idempotencyKey,
      rootCause: 'FailedCreate on ReplicaSet shop/web-5d8f: exceeded quota (+2 related events on 2 other objects)',
      memberCount: 3,
    });
  });

  it('gathers events of one object when there is no owner or node incident', () => {
    const bare = enr('n1', null);
    const events = [
      ev({ at: 0, reason: 'BackOff', enrichment: bare }),
      ev({ at: 5 * SEC, reason: 'Unhealthy', enrichment: bare }),
      ev({ at: 6 * SEC, name: 'other', reason: 'BackOff' }),
    ];
    const incidents = runCorrelate(events);
    expect(incidents.map(brief)).toEqual(['open:object:Pod/shop/web-1:2', 'closed:object:Pod/shop/web-1:2']);
    expect(incidents[1]).toMatchObject({ node: 'n1', workload: null, rootReason: 'BackOff' });
  });

  it('closes after a quiet window and starts a new incident (new id) afterwards; also closes at maxDuration', () => {
    const a = [0, 1, 7, 8].map((m) => podEvent(m * MIN, `web-${m}`, null));
    const incidents = runCorrelate(a, { window: 5 * MIN });
    expect(incidents.map(brief)).toEqual([
      'open:owner:Deployment/shop/web:2',
      'closed:owner:Deployment/shop/web:2',
      'open:owner:Deployment/shop/web:2',
      'closed:owner:Deployment/shop/web:2',
    ]);
    expect(incidents[1]!.updatedAt).toBe(T0 + 6 * MIN);
    expect(incidents[0]!.incidentId).not.toBe(incidents[2]!.incidentId);
    // a steady trickle never leaves a 5m gap: maxDuration cuts it
    const trickle = Array.from({ length: 12 }, (_, i) => podEvent(i * 4 * MIN, `web-${i}`, null));
    const cut = runCorrelate(trickle, { window: 5 * MIN, maxDuration: 20 * MIN }).filter((i) => i.status === 'closed');
    expect(cut.map((i) => [i.firstTime - T0, i.lastTime - T0, i.updatedAt - T0])).toEqual([
      [0, 16 * MIN, 20 * MIN],
      [20 * MIN, 36 * MIN, 40 * MIN],
      [40 * MIN, 44 * MIN, 49 * MIN],
    ]);
  });

  it('ignores non-problem events, drops incidents under minMembers, can skip the open record', () => {
    const normal = ev({ at: 0, type: 'Normal', reason: 'Pulled', enrichment: enr('n1') });
    expect(runCorrelate([normal, podEvent(SEC, 'web-1', null)])).toEqual([]);
    const three = [0, 1, 2].map((s) => podEvent(s * SEC, `web-${s}`, null));
    expect(runCorrelate(three, { minMembers: 3, emitOpen: false }).map(brief)).toEqual(['closed:owner:Deployment/shop/web:3']);
    expect(runCorrelate(three, { kinds: ['object'] })).toEqual([]);
  });

  it('keeps at most maxMembers members but counts all', () => {
    const many = Array.from({ length: 10 }, (_, s) => podEvent(s * SEC, `web-${s}`, null));
    const closed = runCorrelate(many, { maxMembers: 3 }).at(-1)!;
    expect(closed.memberCount).toBe(10);
    expect(closed.members.map((m) => m.name)).toEqual(['web-0', 'web-1', 'web-2']);
  });

  it('closes the least recently active incident early at maxKeys instead of losing it', () => {
    const other = { kind: 'Deployment', name: 'api', uid: 'd-api' };
    const events = [podEvent(0, 'web-1', null), podEvent(SEC, 'web-2', null), podEvent(2 * SEC, 'api-1', null, 'BackOff', { enrichment: enr(null, other) })];
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('abc|', letters(events)).pipe(correlate({ maxKeys: 1, ...quiet() }), map(brief))).toBe('-xy|', {
        x: 'open:owner:Deployment/shop/web:2',
        y: 'closed:owner:Deployment/shop/web:2',
      });
    });
  });
});
