import { map, Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { labelsFingerprint, type Alert, type AlertStatus } from '../../../src/model/alert.js';
import type { Severity } from '../../../src/model/kube-event.js';
import { buildAlert } from '../../../src/operators/alert-builder.js';
import { group, type GroupOptions } from '../../../src/operators/group.js';
import { MIN, SEC, T0, letters, quiet, testScheduler } from './helpers.js';

const HOUR = 60 * MIN;

/** An input alert `name` of alertname `alertname`, updated at T0 + at. */
function alert(
  name: string,
  status: AlertStatus,
  at: number,
  extra: { startsAt?: number; severity?: Severity; alertname?: string; namespace?: string } = {},
): Alert {
  const startsAt = T0 + (extra.startsAt ?? (status === 'firing' ? at : 0));
  return buildAlert({
    status,
    labels: { alertname: extra.alertname ?? 'KubeEventRate', cluster: 'c1', namespace: extra.namespace ?? 'shop', name, reason: 'BackOff' },
    annotations: { message: `${name} crashed`, workload: 'Deployment/web' },
    severity: extra.severity ?? 'warning',
    category: 'CrashLoop',
    cluster: 'c1',
    namespace: extra.namespace ?? 'shop',
    summary: `BackOff on ${name}`,
    startsAt,
    endsAt: status === 'resolved' ? T0 + at : null,
    updatedAt: T0 + at,
    count: 5,
    windowMs: 3 * MIN,
    firstSeen: startsAt - MIN,
    lastSeen: T0 + at,
    workload: { kind: 'Deployment', name: 'web', uid: null },
    node: 'n1',
    containers: [],
    sampleMessages: [`${name} crashed`],
    memberKeys: [`${name}/1`],
    sequence: 0,
  });
}

/** `F2@30s#0`: status, number of members, updatedAt offset, sequence. */
const brief = (a: Alert): string => {
  return `${a.status === 'firing' ? 'F' : 'R'}${a.memberAlertIds.length}@${(a.updatedAt - T0) / SEC}s#${a.sequence}`;
};

function runGroup(alerts: Alert[], options: GroupOptions = {}): Alert[] {
  const out: Alert[] = [];
  const subject = new Subject<Alert>();
  subject.pipe(group({ ...quiet(), ...options })).subscribe((a) => out.push(a));
  alerts.forEach((a) => subject.next(a));
  subject.complete();
  return out;
}

const opts: GroupOptions = { groupWait: 30 * SEC, groupInterval: 5 * MIN, repeatInterval: 4 * HOUR };

describe('group', () => {
  it('waits group_wait, batches the group, notifies changes at group_interval and resolves', () => {
    const inputs = [
      alert('a', 'firing', 0),
      alert('b', 'firing', 10 * SEC),
      alert('c', 'firing', 60 * SEC), // after the first notification: next check at 30s + 5m
      alert('a', 'resolved', 7 * MIN, { startsAt: 0 }),
      alert('b', 'resolved', 8 * MIN, { startsAt: 10 * SEC }),
      alert('c', 'resolved', 12 * MIN, { startsAt: 60 * SEC }),
      alert('x', 'firing', 20 * MIN, { alertname: 'Other' }), // drives the watermark
    ];
    testScheduler().run(({ cold, expectObservable }) => {
      // F2 at 30s {a,b}; F3 at 5m30s (c new); F1 at 10m30s (a, b resolved: firing {c}); R1 at 15m30s; then Other's group at completion
      expectObservable(cold('abcdefg|', letters(inputs)).pipe(group({ ...opts, ...quiet() }), map(brief))).toBe('--xy-zw(v|)', {
        x: 'F2@30s#0',
        y: 'F3@330s#1',
        z: 'F1@630s#2',
        w: 'R1@930s#3',
        v: 'F1@1230s#0',
      });
    });
    const out = runGroup(inputs, opts);
    const groupId = labelsFingerprint({ alertname: 'KubeEventRate' });
    expect(out[0]).toMatchObject({
      alertId: groupId,
      status: 'firing',
      labels: { alertname: 'KubeEventRate', cluster: 'c1', namespace: 'shop', reason: 'BackOff' },
      annotations: { workload: 'Deployment/web', alertsFiring: '2', alertsResolved: '0' },
      startsAt: T0,
      endsAt: null,
      count: 10,
      summary: '[2 firing] BackOff on a',
      memberAlertIds: [inputs[0]!.alertId, inputs[1]!.alertId].sort(),
      sampleMessages: ['a crashed', 'b crashed'],
      idempotencyKey: `${groupId}/firing/${T0}/0`,
    });
    expect(out[3]).toMatchObject({
      alertId: groupId,
      status: 'resolved',
      startsAt: T0,
      endsAt: T0 + 12 * MIN,
      memberAlertIds: [inputs[2]!.alertId],
      idempotencyKey: `${groupId}/resolved/${T0}/3`,
    });
  });

  it('groups by the groupBy labels; [...] keeps every alert apart', () => {
    const inputs = [alert('a', 'firing', 0), alert('b', 'firing', 0, { namespace: 'other' }), alert('c', 'firing', 0)];
    expect(runGroup(inputs, { ...opts, groupBy: ['alertname', 'namespace'] }).map((a) => `${a.labels['namespace']}:${brief(a)}`)).toEqual([
      'shop:F2@30s#0',
      'other:F1@30s#0',
    ]);
    const each = runGroup(inputs, { ...opts, groupBy: ['...'] });
    expect(each.map(brief)).toEqual(['F1@30s#0', 'F1@30s#0', 'F1@30s#0']);
    expect(each.map((a) => a.alertId)).toEqual(inputs.map((a) => a.alertId)); // group labels = all labels: same fingerprint
  });

  it('repeats an unchanged firing notification after repeat_interval (checked at group_interval ticks)', () => {
    const inputs = [alert('a', 'firing', 0), alert('x', 'firing', 5 * HOUR, { alertname: 'Other' })];
    // notifications at 30s, then the first tick after 30s + 4h: 30s + 49 x 5m = 4h05m30s
    expect(
      runGroup(inputs, opts)
        .filter((a) => a.labels['alertname'] === 'KubeEventRate')
        .map(brief),
    ).toEqual(['F1@30s#0', `F1@${30 + 49 * 300}s#1`]);
  });

  it('does not repeat after the stream completed, and keeps unresolved alerts without a resolve timeout', () => {
    expect(runGroup([alert('a', 'firing', 0)], opts).map(brief)).toEqual(['F1@30s#0']);
  });

  it('resolves alerts not updated within resolve_timeout', () => {
    const inputs = [alert('a', 'firing', 0), alert('a', 'firing', 4 * MIN), alert('x', 'firing', HOUR, { alertname: 'Other' })];
    // a was last updated at 4m: resolved at 9m; seen at the 10m30s tick
    const out = runGroup(inputs, { ...opts, resolveTimeout: 5 * MIN }).filter((a) => a.labels['alertname'] === 'KubeEventRate');
    expect(out.map(brief)).toEqual(['F1@30s#0', 'R1@630s#1']);
    expect(out[1]!.endsAt).toBe(T0 + 9 * MIN);
    // the same at completion (no other events)
    expect(runGroup(inputs.slice(0, 2), { ...opts, resolveTimeout: 5 * MIN }).map(brief)).toEqual(['F1@30s#0', 'R1@630s#1']);
  });

  it('notifies an alert that started more than group_wait ago at once; never notifies a group that only resolved', () => {
    expect(runGroup([alert('a', 'firing', 2 * MIN, { startsAt: 0 })], opts).map(brief)).toEqual(['F1@120s#0']);
    expect(runGroup([alert('a', 'firing', 0), alert('a', 'resolved', 10 * SEC, { startsAt: 0 })], opts)).toEqual([]);
    expect(runGroup([alert('a', 'firing', 0), alert('a', 'resolved', 10 * MIN, { startsAt: 0 })], { ...opts, sendResolved: false }).map(brief)).toEqual([
      'F1@30s#0',
    ]);
  });

  it('picks the most severe member as representative', () => {
    const out = runGroup([alert('a', 'firing', 0), alert('b', 'firing', 0, { severity: 'critical' })], opts);
    expect(out[0]).toMatchObject({ severity: 'critical', summary: '[2 firing] BackOff on b' });
  });
});
