/** Deterministic, fully-populated records for the Avro / Kafka sink tests. */
import { idempotencyKeyOf, type KubeEvent } from '../../src/model/kube-event.js';
import type { DeadLetterRecord, GapRecord } from '../../src/model/records.js';

export const T0 = Date.UTC(2025, 0, 15, 8, 30, 0, 123);

/** Event number i: objects cycle over `objects` Pods, every third one enriched and classified. */
export function sampleEvent(i: number, options: { cluster?: string; objects?: number; uidPrefix?: string } = {}): KubeEvent {
  const objects = options.objects ?? 7;
  const pod = `web-${i % objects}`;
  const uid = `${options.uidPrefix ?? 'ev'}-${i}`;
  const count = 1 + (i % 4);
  const rich = i % 3 === 0;
  return {
    uid,
    name: `${pod}.${uid}`,
    namespace: 'shop',
    resourceVersion: String(5000 + i),
    change: count > 1 ? 'MODIFIED' : 'ADDED',
    type: i % 2 ? 'Warning' : 'Normal',
    reason: i % 2 ? 'BackOff' : 'Pulled',
    message: `message ${i}: ünïcödé ✓`,
    action: i % 5 === 0 ? null : 'Pulling',
    regarding: { apiVersion: 'v1', kind: 'Pod', namespace: 'shop', name: pod, uid: `uid-${pod}`, fieldPath: rich ? 'spec.containers{app}' : null },
    related: rich ? { apiVersion: 'v1', kind: 'Node', namespace: null, name: 'node-1', uid: 'uid-node-1', fieldPath: null } : null,
    reportingController: 'kubelet',
    reportingInstance: rich ? 'node-1' : null,
    firstTimestamp: i % 4 === 0 ? null : T0 + i * 1000 - 60_000,
    lastTimestamp: T0 + i * 1000,
    eventTime: i % 2 ? T0 + i * 1000 + 7 : null,
    count,
    cluster: options.cluster ?? 'c1',
    idempotencyKey: idempotencyKeyOf(uid, count),
    sourceApi: i % 2 ? 'events.k8s.io/v1' : 'core/v1',
    enrichment: rich
      ? {
          workload: { kind: 'Deployment', name: 'web', uid: 'uid-deploy-web' },
          ownerChain: [
            { kind: 'ReplicaSet', name: 'web-5d9f', uid: null },
            { kind: 'Deployment', name: 'web', uid: 'uid-deploy-web' },
          ],
          node: 'node-1',
          podPhase: 'Running',
          containers: [
            {
              name: 'app',
              ready: false,
              restartCount: i,
              waitingReason: 'CrashLoopBackOff',
              waitingMessage: 'back-off 5m0s restarting failed container',
              lastTerminationReason: 'OOMKilled',
              lastExitCode: 137,
              lastFinishedAt: T0 - 5_000,
            },
          ],
          labels: { app: 'web', tier: 'frontend' },
        }
      : null,
    classification: rich ? { category: 'CrashLoop', severity: 'error', rule: 'crashloop' } : null,
  };
}

export function sampleGap(i = 0): GapRecord {
  return {
    resource: 'events.k8s.io/v1/events',
    fromResourceVersion: String(100 + i),
    toResourceVersion: String(900 + i),
    detectedAt: T0 + i,
    fromTime: i % 2 ? null : T0 - 3_600_000,
    reason: 'checkpoint older than the API history (410 Gone)',
    cluster: 'c1',
    idempotencyKey: `c1/events.k8s.io/v1/events/${100 + i}/${900 + i}`,
  };
}

export function sampleDeadLetter(i = 0): DeadLetterRecord {
  return {
    reason: 'MalformedObject',
    source: `events.k8s.io/v1/events shop/bad-${i}@${700 + i}`,
    payload: JSON.stringify({ metadata: { name: `bad-${i}` }, reason: 42 }),
    truncated: false,
    error: 'reason: expected string',
    stage: 'normalize',
    pipeline: i % 2 ? 'crashloops' : null,
    cluster: 'c1',
    time: T0 + i,
  };
}
