import { describe, expect, it } from 'vitest';
import { alertNotification, containerState, formatTime, humanDuration, incidentNotification, notificationOf } from '../../../src/alerting/notification.js';
import { receiversFor, buildRoute } from '../../../src/alerting/routing.js';
import { parseMatcher } from '../../../src/alerting/matchers.js';
import { resolvedAlert, sampleAlert, sampleIncident, T0 } from './fixtures.js';

describe('notifications from records', () => {
  it('give route matchers the labels plus record, status, severity, category, cluster, namespace', () => {
    const n = alertNotification(sampleAlert({ labels: { alertname: 'PodCrashLooping', team: 'payments', severity: 'label-wins-not' } }));
    expect(n.matchLabels).toEqual({
      alertname: 'PodCrashLooping',
      team: 'payments',
      severity: 'error',
      category: 'CrashLoop',
      cluster: 'prod-1',
      namespace: 'shop',
      record: 'Alert',
      status: 'firing',
    });
    const i = incidentNotification(sampleIncident({ status: 'closed' }));
    expect(i.status).toBe('resolved');
    expect(i.matchLabels).toMatchObject({
      alertname: 'KubeIncident',
      correlation: 'node',
      subject: 'Node/node-3',
      reason: 'NodeNotReady',
      node: 'node-3',
      record: 'Incident',
      status: 'resolved',
      severity: 'critical',
      category: 'Node',
    });
    expect(i.matchLabels['namespace']).toBeUndefined();
    const route = buildRoute({
      receiver: 'default',
      routes: [{ matchers: [parseMatcher('record="Incident"'), parseMatcher('status="resolved"')], receiver: 'closed-incidents' }],
    });
    expect(receiversFor(route, i.matchLabels)).toEqual(['closed-incidents']);
    expect(notificationOf('KubeEvent', {})).toBeNull();
  });

  it('carry the context operators need: workload, node, containers, count and window, times, samples', () => {
    const v = alertNotification(resolvedAlert(), { timeZone: 'Asia/Shanghai', maxSamples: 1 }).view;
    expect(v).toMatchObject({
      status: 'resolved',
      statusText: 'RESOLVED',
      title: 'PodCrashLooping: Pod shop/web-7d9f-abcde',
      object: 'Pod shop/web-7d9f-abcde',
      workload: 'Deployment/web',
      node: 'node-1',
      count: 6,
      // resolved: the count is the whole episode (first to last seen), not a window's
      window: null,
      firstSeen: '2025-01-15 16:26:00 GMT+8',
      endsAt: '2025-01-15 16:40:00 GMT+8',
      duration: '10m',
      samples: ['Container app exceeded its memory limit'],
    });
    expect(v.containers[0]?.state).toBe('CrashLoopBackOff, last terminated OOMKilled (exit code 137), 12 restarts, not ready');
    expect(JSON.parse(v.json)).toEqual(resolvedAlert());
    const i = incidentNotification(sampleIncident()).view;
    expect(i).toMatchObject({
      title: 'Incident on Node/node-3: NodeNotReady',
      summary: 'NodeNotReady: Node node-3 status is now: NodeNotReady',
      count: 3,
      correlation: 'node',
      hasMembers: true,
    });
    expect(i.members[1]).toMatchObject({ reason: 'Evicted', object: 'Pod shop/web-1' });
  });

  it('formats times, durations and container states', () => {
    expect(formatTime(T0)).toBe('2025-01-15 08:30:00 UTC');
    expect(formatTime(T0, 'Europe/Berlin')).toBe('2025-01-15 09:30:00 GMT+1');
    expect(humanDuration(90_500)).toBe('1m31s');
    expect(humanDuration(26 * 3600_000)).toBe('1d2h');
    expect(
      containerState({
        name: 'a',
        ready: true,
        restartCount: 1,
        waitingReason: null,
        waitingMessage: null,
        lastTerminationReason: null,
        lastExitCode: 1,
        lastFinishedAt: null,
      }),
    ).toBe('last terminated (exit code 1), 1 restart, ready');
  });
});
