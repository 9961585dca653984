/**
 * Smoke test of the integration-test Kubernetes environment (test/env/kube.sh, started by the
 * vitest global setup): the real kube-apiserver, kube-scheduler and kube-controller-manager emit
 * real Events, seen through @kubernetes/client-node's typed list and its Watch class; kwok's fake
 * kubelets (test/env/kwok/ stages) run pods, crash-loop them and take nodes down.
 */
import { CoreV1Api, VersionApi, Watch, type CoreV1Event } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  createDeployment,
  createKwokNode,
  createNamespace,
  createPod,
  createUnschedulablePod,
  deleteNamespace,
  deleteNode,
  describeEvent,
  eventMatches,
  kubeConfigFor,
  makeNodeNotReady,
  makePodCrashLoop,
  uniqueName,
  waitFor,
  waitForEvent,
  waitForPodsRunning,
} from '../env/scenarios.js';

const env = inject('kubeEnv');
const kc = kubeConfigFor(env);
const core = kc.makeApiClient(CoreV1Api);
const ns = uniqueName('smoke');
const node = uniqueName('kwok-a');

/** Watches core/v1 Events in `namespace` from `resourceVersion` until one matches. */
function watchForEvent(
  namespace: string,
  resourceVersion: string | undefined,
  predicate: (e: CoreV1Event) => boolean,
  timeoutMs: number,
): Promise<CoreV1Event> {
  return new Promise((resolve, reject) => {
    const seen: string[] = [];
    let controller: AbortController | undefined;
    let settled = false;
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      controller?.abort();
      fn();
    };
    const timer = setTimeout(() => settle(() => reject(new Error(`no matching event within ${timeoutMs} ms; saw:\n${seen.join('\n')}`))), timeoutMs);
    new Watch(kc)
      .watch(
        `/api/v1/namespaces/${namespace}/events`,
        { resourceVersion, allowWatchBookmarks: true },
        (type: string, obj: unknown) => {
          if (type !== 'ADDED' && type !== 'MODIFIED') return;
          const e = obj as CoreV1Event;
          seen.push(`${type} ${describeEvent(e)}`);
          if (predicate(e)) settle(() => resolve(e));
        },
        (err: unknown) => settle(() => reject(new Error(`watch ended: ${String(err)}`))),
      )
      .then(
        (c) => {
          controller = c;
          if (settled) c.abort();
        },
        (err: unknown) => settle(() => reject(err instanceof Error ? err : new Error(String(err)))),
      );
  });
}

describe('kube test environment', () => {
  beforeAll(async () => {
    await createNamespace(kc, ns);
    await createKwokNode(kc, node, { 'kubevents.test/pool': 'smoke' });
  });

  afterAll(async () => {
    await deleteNamespace(kc, ns).catch(() => undefined);
    await deleteNode(kc, node).catch(() => undefined);
  });

  it('serves the pinned Kubernetes version with token auth', async () => {
    const version = await kc.makeApiClient(VersionApi).getCode();
    expect(version.gitVersion).toMatch(/^v1\.\d+\.\d+/);
    expect(env.server).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(env.etcdEndpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const list = await core.listEventForAllNamespaces({ limit: 50 });
    expect(list.metadata?.resourceVersion).toMatch(/^\d+$/);
  });

  it('watch sees FailedScheduling from the real kube-scheduler for an unschedulable pod', async () => {
    const pod = 'unschedulable';
    const list = await core.listNamespacedEvent({ namespace: ns });
    const seen = watchForEvent(ns, list.metadata?.resourceVersion, (e) => e.reason === 'FailedScheduling' && e.involvedObject.name === pod, 30_000);
    await createUnschedulablePod(kc, ns, pod);
    const event = await seen;
    expect(event.type).toBe('Warning');
    expect(event.involvedObject.kind).toBe('Pod');
    expect(event.reportingComponent || event.source?.component).toBe('default-scheduler');
    expect(event.message).toMatch(/0\/\d+ nodes are available/);
    expect(event.message).toMatch(/didn't match Pod's node affinity\/selector/);
  });

  it('a Deployment on a kwok node gets Running pods, with ScalingReplicaSet, SuccessfulCreate and Scheduled events', async () => {
    await createDeployment(kc, ns, 'web', 2);
    const pods = await waitForPodsRunning(kc, ns, 'web', 2, 30_000);
    for (const pod of pods) expect(pod.spec?.nodeName).toBe(node);

    await waitForEvent(kc, eventMatches({ reason: 'ScalingReplicaSet', kind: 'Deployment', name: 'web' }), 10_000, {
      namespace: ns,
    });
    await waitForEvent(kc, eventMatches({ reason: 'SuccessfulCreate', kind: 'ReplicaSet' }), 10_000, {
      namespace: ns,
    });
    for (const pod of pods) {
      const scheduled = await waitForEvent(kc, eventMatches({ reason: 'Scheduled', kind: 'Pod', name: pod.metadata?.name ?? '' }), 10_000, { namespace: ns });
      expect(scheduled.message).toContain(`to ${node}`);
    }
  });

  it('kwok crash-loop stage: BackOff Warning events and a rising restartCount', async () => {
    await createPod(kc, ns, 'crasher', { containers: ['app'] });
    await waitForPodsRunning(kc, ns, 'crasher', 1, 20_000);
    await makePodCrashLoop(kc, ns, 'crasher', { reason: 'OOMKilled', exitCode: 137 });
    const backOff = await waitForEvent(kc, eventMatches({ reason: 'BackOff', type: 'Warning', kind: 'Pod', name: 'crasher' }), 20_000, { namespace: ns });
    expect(backOff.source?.component).toBe('kwok_controller');
    const pod = await waitFor(
      async () => {
        const p = await core.readNamespacedPod({ namespace: ns, name: 'crasher' });
        const status = p.status?.containerStatuses?.[0];
        return status && status.restartCount >= 2 ? status : undefined;
      },
      20_000,
      'restartCount >= 2',
    );
    expect(pod.lastState?.terminated?.reason).toBe('OOMKilled');
    expect(pod.lastState?.terminated?.exitCode).toBe(137);
  });

  it('kwok not-ready stage: NodeNotReady, not-ready:NoExecute taint and TaintManagerEviction of its pod', async () => {
    const sick = uniqueName('kwok-sick');
    await createKwokNode(kc, sick);
    try {
      await createPod(kc, ns, 'on-sick-node', { nodeSelector: { 'kubernetes.io/hostname': sick } });
      await waitForPodsRunning(kc, ns, 'on-sick-node', 1, 20_000);
      await makeNodeNotReady(kc, sick);
      const nodeEvent = await waitForEvent(kc, eventMatches({ reason: 'NodeNotReady', kind: 'Node', name: sick }), 10_000, {
        namespace: 'default',
      });
      expect(nodeEvent.source?.component).toBe('kwok_controller');
      await waitFor(
        async () => {
          const n = await core.readNode({ name: sick });
          return n.spec?.taints?.some((t) => t.key === 'node.kubernetes.io/not-ready' && t.effect === 'NoExecute');
        },
        10_000,
        'not-ready:NoExecute taint',
      );
      // kube-apiserver --default-not-ready-toleration-seconds=10
      const eviction = await waitForEvent(kc, eventMatches({ reason: 'TaintManagerEviction', kind: 'Pod', name: 'on-sick-node' }), 25_000, { namespace: ns });
      expect(eviction.message).toContain('Marking for deletion');
    } finally {
      await deleteNode(kc, sick).catch(() => undefined);
    }
  });
});
