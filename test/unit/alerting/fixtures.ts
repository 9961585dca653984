/** Sample Alert and Incident records for the alerting tests. */
import { alertIdempotencyKey, labelsFingerprint, type Alert } from '../../../src/model/alert.js';
import { incidentIdempotencyKey, type Incident } from '../../../src/model/incident.js';

export const T0 = Date.UTC(2025, 0, 15, 8, 30, 0);

export function sampleAlert(overrides: Partial<Alert> = {}): Alert {
  const labels = overrides.labels ?? {
    alertname: 'PodCrashLooping',
    cluster: 'prod-1',
    namespace: 'shop',
    kind: 'Pod',
    name: 'web-7d9f-abcde',
    reason: 'BackOff',
  };
  const alert: Alert = {
    alertId: labelsFingerprint(labels),
    status: 'firing',
    labels,
    annotations: { workload: 'Deployment/web', node: 'node-1', message: 'Back-off restarting failed container app' },
    severity: 'error',
    category: 'CrashLoop',
    cluster: 'prod-1',
    namespace: 'shop',
    summary: '6 BackOff within 5m (between 08:26:00 and 08:30:00 UTC) on Pod shop/web-7d9f-abcde (Deployment web): Back-off restarting failed container app',
    startsAt: T0,
    endsAt: null,
    updatedAt: T0 + 60_000,
    count: 6,
    windowMs: 300_000,
    firstSeen: T0 - 240_000,
    lastSeen: T0,
    workload: { kind: 'Deployment', name: 'web', uid: 'uid-web' },
    node: 'node-1',
    containers: [
      {
        name: 'app',
        ready: false,
        restartCount: 12,
        waitingReason: 'CrashLoopBackOff',
        waitingMessage: 'back-off 5m0s restarting failed container=app',
        lastTerminationReason: 'OOMKilled',
        lastExitCode: 137,
        lastFinishedAt: T0 - 5_000,
      },
    ],
    sampleMessages: ['Back-off restarting failed container app in pod web-7d9f-abcde', 'Container app exceeded its memory limit'],
    memberKeys: ['ev-1/1', 'ev-1/2'],
    memberAlertIds: [],
    sequence: 0,
    idempotencyKey: '',
    ...overrides,
  };
  alert.idempotencyKey = overrides.idempotencyKey ?? alertIdempotencyKey(alert);
  return alert;
}

export function resolvedAlert(overrides: Partial<Alert> = {}): Alert {
  return sampleAlert({ status: 'resolved', endsAt: T0 + 600_000, updatedAt: T0 + 600_000, sequence: 1, ...overrides });
}

export function sampleIncident(overrides: Partial<Incident> = {}): Incident {
  const incident: Incident = {
    incidentId: 'inc-0001',
    correlation: 'node',
    status: 'open',
    cluster: 'prod-1',
    namespace: null,
    subject: 'Node/node-3',
    node: 'node-3',
    workload: null,
    rootCause: 'NodeNotReady: Node node-3 status is now: NodeNotReady',
    rootEventKey: 'ev-9/1',
    rootReason: 'NodeNotReady',
    severity: 'critical',
    category: 'Node',
    firstTime: T0,
    lastTime: T0 + 30_000,
    memberCount: 3,
    members: [
      {
        idempotencyKey: 'ev-9/1',
        reason: 'NodeNotReady',
        type: 'Warning',
        kind: 'Node',
        namespace: null,
        name: 'node-3',
        time: T0,
        message: 'Node node-3 status is now: NodeNotReady',
        category: 'Node',
        severity: 'critical',
      },
      {
        idempotencyKey: 'ev-10/1',
        reason: 'Evicted',
        type: 'Warning',
        kind: 'Pod',
        namespace: 'shop',
        name: 'web-1',
        time: T0 + 20_000,
        message: 'The node was low on resource: memory.',
        category: 'Eviction',
        severity: 'error',
      },
    ],
    updatedAt: T0 + 30_000,
    idempotencyKey: '',
    ...overrides,
  };
  incident.idempotencyKey = overrides.idempotencyKey ?? incidentIdempotencyKey(incident);
  return incident;
}

import { parseAlertsConfig, type AlertsConfig } from '../../../src/alerting/load-config.js';
import { formatDiagnostic } from '../../../src/core/diagnostics.js';

/** A configuration from YAML text (kafka and a route added when missing); throws with the diagnostics on errors. */
export function configFrom(yaml: string, env: Record<string, string> = {}): AlertsConfig {
  const text = /^kafka:/m.test(yaml) ? yaml : `kafka:\n  brokers: [127.0.0.1:9092]\n${yaml}`;
  const result = parseAlertsConfig(text, 'test.yaml', { env });
  const errors = result.diagnostics.filter((d) => d.severity === 'error');
  if (!result.config || errors.length) throw new Error(errors.map(formatDiagnostic).join('\n'));
  return result.config;
}
