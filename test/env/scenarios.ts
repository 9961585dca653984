/**
 * Scenario helpers for integration tests: make the real control plane (kube-scheduler,
 * kube-controller-manager) and kwok's fake kubelets (Stages in test/env/kwok/) emit real Events.
 *
 * Uses @kubernetes/client-node 1.4.x (object-parameter API). Every helper takes a KubeConfig; build
 * one with `kubeConfigFor(inject('kubeEnv'))`.
 *
 * Conventions (see test/env/kwok/README.md):
 * - kwok manages only nodes annotated `kwok.x-k8s.io/node=fake` (createKwokNode does that);
 * - node label `kubevents.test/not-ready=true` makes a node report Ready=False;
 * - pod annotation `kubevents.test/crash=true` makes its containers crash-loop (Warning BackOff);
 * - pod annotation `kubevents.test/image-pull-error=true` (at creation) gives ImagePullBackOff.
 */
import {
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  Watch,
  setHeaderOptions,
  type CoreV1Event,
  type V1Deployment,
  type V1Namespace,
  type V1Node,
  type V1Pod,
} from '@kubernetes/client-node';
import type { KubeEnv } from './types.js';

export const KWOK_NODE_ANNOTATION = 'kwok.x-k8s.io/node';
export const NOT_READY_LABEL = 'kubevents.test/not-ready';
export const CRASH_ANNOTATION = 'kubevents.test/crash';
export const CRASH_REASON_ANNOTATION = 'kubevents.test/crash-reason';
export const CRASH_EXIT_CODE_ANNOTATION = 'kubevents.test/crash-exit-code';
export const IMAGE_PULL_ERROR_ANNOTATION = 'kubevents.test/image-pull-error';
/** never pulled: kwok runs no containers */
export const FAKE_IMAGE = 'registry.k8s.io/pause:3.10';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export function kubeConfigFor(env: KubeEnv): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(env.kubeconfigPath);
  return kc;
}

/** A DNS-1123 name unique enough for one test run: `${prefix}-<base36 time><random>`. */
export function uniqueName(prefix: string): string {
  const suffix = `${Date.now().toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`;
  return `${prefix}-${suffix}`.toLowerCase().slice(0, 63);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` every `intervalMs` until it returns a value other than undefined/false. */
export async function waitFor<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs: number,
  description: string,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}${why}`);
    }
    await sleep(intervalMs);
  }
}

export async function createNamespace(kc: KubeConfig, name: string): Promise<V1Namespace> {
  return kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name } } });
}

export async function deleteNamespace(kc: KubeConfig, name: string): Promise<void> {
  await kc.makeApiClient(CoreV1Api).deleteNamespace({ name });
}

function nodeReady(node: V1Node): boolean {
  return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/**
 * Creates a Node managed by kwok and waits until it is Ready and schedulable (the
 * node.kubernetes.io/not-ready taint that new nodes get is removed by the node-lifecycle controller).
 */
export async function createKwokNode(kc: KubeConfig, name: string, labels: Record<string, string> = {}, timeoutMs = 30_000): Promise<V1Node> {
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNode({
    body: {
      metadata: {
        name,
        labels: {
          'kubernetes.io/arch': 'amd64',
          'kubernetes.io/hostname': name,
          'kubernetes.io/os': 'linux',
          'node-role.kubernetes.io/agent': '',
          type: 'kwok',
          ...labels,
        },
        annotations: { [KWOK_NODE_ANNOTATION]: 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      },
      spec: {},
    },
  });
  if (labels[NOT_READY_LABEL] === 'true') return core.readNode({ name });
  return waitFor(
    async () => {
      const node = await core.readNode({ name });
      const tainted = node.spec?.taints?.some((t) => t.key.startsWith('node.kubernetes.io/')) ?? false;
      return nodeReady(node) && !tainted ? node : undefined;
    },
    timeoutMs,
    `kwok node ${name} to be Ready and untainted`,
  );
}

export async function deleteNode(kc: KubeConfig, name: string): Promise<void> {
  await kc.makeApiClient(CoreV1Api).deleteNode({ name });
}

/**
 * A Pod that no node can take (nodeSelector matching no node): kube-scheduler emits Warning
 * FailedScheduling ("0/N nodes are available: ... didn't match Pod's node affinity/selector").
 */
export async function createUnschedulablePod(kc: KubeConfig, ns: string, name: string): Promise<V1Pod> {
  return kc.makeApiClient(CoreV1Api).createNamespacedPod({
    namespace: ns,
    body: {
      metadata: { name, labels: { app: name } },
      spec: {
        nodeSelector: { 'kubevents.test/no-such-node': 'true' },
        containers: [{ name: 'main', image: FAKE_IMAGE }],
      },
    },
  });
}

export interface PodOptions {
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
  nodeSelector?: Record<string, string>;
  /** container names (default ["main"]) */
  containers?: string[];
}

/** A plain Pod (scheduled onto a kwok node by the real scheduler; kwok makes it Running). */
export async function createPod(kc: KubeConfig, ns: string, name: string, options: PodOptions = {}): Promise<V1Pod> {
  return kc.makeApiClient(CoreV1Api).createNamespacedPod({
    namespace: ns,
    body: {
      metadata: {
        name,
        labels: { app: name, ...options.labels },
        ...(options.annotations ? { annotations: options.annotations } : {}),
      },
      spec: {
        ...(options.nodeSelector ? { nodeSelector: options.nodeSelector } : {}),
        containers: (options.containers ?? ['main']).map((c) => ({ name: c, image: FAKE_IMAGE })),
      },
    },
  });
}

/**
 * A Deployment of `replicas` fake pods: the deployment controller emits ScalingReplicaSet, the
 * replicaset controller SuccessfulCreate, the scheduler Scheduled (needs a kwok node), and kwok
 * makes the pods Running.
 */
export async function createDeployment(kc: KubeConfig, ns: string, name: string, replicas: number, options: PodOptions = {}): Promise<V1Deployment> {
  const labels = { app: name, ...options.labels };
  return kc.makeApiClient(AppsV1Api).createNamespacedDeployment({
    namespace: ns,
    body: {
      metadata: { name, labels },
      spec: {
        replicas,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels, ...(options.annotations ? { annotations: options.annotations } : {}) },
          spec: {
            ...(options.nodeSelector ? { nodeSelector: options.nodeSelector } : {}),
            containers: (options.containers ?? ['main']).map((c) => ({ name: c, image: FAKE_IMAGE })),
          },
        },
      },
    },
  });
}

/** The Deployment's pods (by its `app` label). */
export async function listPods(kc: KubeConfig, ns: string, labelSelector?: string): Promise<V1Pod[]> {
  const list = await kc.makeApiClient(CoreV1Api).listNamespacedPod({
    namespace: ns,
    ...(labelSelector ? { labelSelector } : {}),
  });
  return list.items;
}

/** Waits until `replicas` pods with label app=NAME are Running and Ready. */
export async function waitForPodsRunning(kc: KubeConfig, ns: string, app: string, replicas: number, timeoutMs = 30_000): Promise<V1Pod[]> {
  return waitFor(
    async () => {
      const pods = (await listPods(kc, ns, `app=${app}`)).filter(
        (p) =>
          !p.metadata?.deletionTimestamp &&
          p.status?.phase === 'Running' &&
          (p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false),
      );
      return pods.length >= replicas ? pods : undefined;
    },
    timeoutMs,
    `${replicas} Running pods with app=${app} in ${ns}`,
  );
}

/** kube-controller-manager --node-monitor-period (test/env/kube.sh) */
const NODE_MONITOR_PERIOD_MS = 2_000;

/**
 * Waits until the node-lifecycle controller has seen `node` Ready in one of its periodic passes
 * (its RegisteredNode event, plus one --node-monitor-period). Only a Ready -> NotReady transition
 * that the controller observed makes it mark the node's pods NotReady (Warning NodeNotReady);
 * a node that goes NotReady right after creation is simply "not ready" to it.
 */
export async function waitForNodeLifecycleObserved(kc: KubeConfig, node: string, timeoutMs = 20_000): Promise<void> {
  const registered = await waitForEvent(
    kc,
    (e) => e.reason === 'RegisteredNode' && e.involvedObject.kind === 'Node' && e.involvedObject.name === node,
    timeoutMs,
    { namespace: 'default', fieldSelector: `involvedObject.name=${node}`, description: `RegisteredNode for ${node}` },
  );
  const at = Date.parse(String(registered.firstTimestamp ?? registered.eventTime ?? registered.metadata.creationTimestamp));
  // timestamps have 1 s precision: allow one monitor period plus that precision after the event
  const waitMs = (Number.isFinite(at) ? at : Date.now()) + NODE_MONITOR_PERIOD_MS + 1_500 - Date.now();
  if (waitMs > 0) await sleep(waitMs);
}

/**
 * "The kubelet reports NotReady": a kwok stage (kubevents-node-not-ready) posts Ready=False
 * (reason KubeletNotReady) and kwok emits a Normal NodeNotReady event on the node. The
 * node-lifecycle controller taints the node node.kubernetes.io/not-ready:NoExecute and the
 * taint-eviction controller deletes its pods after 10 s (Normal TaintManagerEviction "Marking for
 * deletion Pod ..."); kwok completes the deletions, Deployment pods are recreated elsewhere or fail
 * scheduling (untolerated taint).
 * The controller's own NodeNotReady events and pod NotReady marking happen only when a node stops
 * heart-beating: see makeNodeUnreachable.
 * Evictions need at least one other Ready node (and < 55% NotReady): when all nodes are NotReady the
 * controller enters "master disruption mode" and evicts nothing.
 */
export async function makeNodeNotReady(kc: KubeConfig, node: string, timeoutMs = 20_000): Promise<V1Node> {
  const core = kc.makeApiClient(CoreV1Api);
  await core.patchNode({ name: node, body: { metadata: { labels: { [NOT_READY_LABEL]: 'true' } } } }, mergePatch);
  return waitFor(
    async () => {
      const n = await core.readNode({ name: node });
      return n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'False') ? n : undefined;
    },
    timeoutMs,
    `node ${node} to report Ready=False`,
  );
}

/** Undoes makeNodeNotReady: kwok's node-initialize stage reports Ready=True again. */
export async function makeNodeReady(kc: KubeConfig, node: string, timeoutMs = 20_000): Promise<V1Node> {
  const core = kc.makeApiClient(CoreV1Api);
  await core.patchNode({ name: node, body: { metadata: { labels: { [NOT_READY_LABEL]: null } } } }, mergePatch);
  return waitFor(
    async () => {
      const n = await core.readNode({ name: node });
      return nodeReady(n) ? n : undefined;
    },
    timeoutMs,
    `node ${node} to report Ready=True`,
  );
}

/** metav1.MicroTime wants exactly 6 fractional digits */
function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** Holder written into a node's Lease by makeNodeUnreachable. */
export const UNREACHABLE_LEASE_HOLDER = 'kubevents-test/unreachable';

/**
 * "The node died": its Lease in kube-node-lease is taken over by another holder for a day, so kwok
 * stops renewing it and stops managing the node and its pods (kwok manages a node only while it
 * holds its lease). After --node-monitor-grace-period (20 s) the node-lifecycle controller sets the
 * node's conditions to Unknown ("Kubelet stopped posting node status."), emits Normal NodeNotReady
 * on the node and Warning NodeNotReady ("Node is not ready") on each of its pods, taints it
 * node.kubernetes.io/unreachable:NoExecute, and 10 s later the taint-eviction controller marks its
 * pods for deletion (TaintManagerEviction); with no kubelet they stay Terminating, as on a real
 * dead node, while their ReplicaSets create replacements. Resolves once Ready is Unknown.
 * Needs another Ready node for evictions (see makeNodeNotReady).
 */
export async function makeNodeUnreachable(kc: KubeConfig, node: string, timeoutMs = 60_000): Promise<V1Node> {
  const core = kc.makeApiClient(CoreV1Api);
  await waitForNodeLifecycleObserved(kc, node, timeoutMs);
  await kc.makeApiClient(CoordinationV1Api).patchNamespacedLease(
    {
      name: node,
      namespace: 'kube-node-lease',
      body: {
        spec: {
          holderIdentity: UNREACHABLE_LEASE_HOLDER,
          leaseDurationSeconds: 86_400,
          renewTime: microTime(new Date()),
        },
      },
    },
    mergePatch,
  );
  return waitFor(
    async () => {
      const n = await core.readNode({ name: node });
      return n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'Unknown') ? n : undefined;
    },
    timeoutMs,
    `node ${node} to become Ready=Unknown (heartbeats stopped)`,
    500,
  );
}

/**
 * Undoes makeNodeUnreachable: the Lease is made expired, kwok takes it back within its renew
 * interval (5 s), reports the node Ready again and finishes the deletion of its Terminating pods.
 */
export async function makeNodeReachable(kc: KubeConfig, node: string, timeoutMs = 30_000): Promise<V1Node> {
  const core = kc.makeApiClient(CoreV1Api);
  await kc.makeApiClient(CoordinationV1Api).patchNamespacedLease(
    {
      name: node,
      namespace: 'kube-node-lease',
      body: { spec: { leaseDurationSeconds: 1, renewTime: microTime(new Date(Date.now() - 60_000)) } },
    },
    mergePatch,
  );
  return waitFor(
    async () => {
      const n = await core.readNode({ name: node });
      return nodeReady(n) ? n : undefined;
    },
    timeoutMs,
    `node ${node} to report Ready=True`,
  );
}

/**
 * Makes a Running pod crash-loop (kwok stages kubevents-pod-crash / -restart): every ~5 s its
 * containers terminate (lastState.terminated reason/exitCode), restartCount goes up, state is
 * waiting CrashLoopBackOff and kwok emits a Warning BackOff event on the pod.
 * `reason` / `exitCode` set the termination reason (e.g. "OOMKilled", 137); default Error / 1.
 */
export async function makePodCrashLoop(kc: KubeConfig, ns: string, pod: string, options: { reason?: string; exitCode?: number } = {}): Promise<V1Pod> {
  const annotations: Record<string, string> = { [CRASH_ANNOTATION]: 'true' };
  if (options.reason) annotations[CRASH_REASON_ANNOTATION] = options.reason;
  if (options.exitCode !== undefined) annotations[CRASH_EXIT_CODE_ANNOTATION] = String(options.exitCode);
  return kc.makeApiClient(CoreV1Api).patchNamespacedPod({ name: pod, namespace: ns, body: { metadata: { annotations } } }, mergePatch);
}

export type EventPredicate = (event: CoreV1Event) => boolean;

/** Matches events by any of: reason, type, involved object kind/name/namespace, reporting component. */
export function eventMatches(match: { reason?: string; type?: string; kind?: string; name?: string; namespace?: string; component?: string }): EventPredicate {
  return (e) =>
    (match.reason === undefined || e.reason === match.reason) &&
    (match.type === undefined || e.type === match.type) &&
    (match.kind === undefined || e.involvedObject.kind === match.kind) &&
    (match.name === undefined || e.involvedObject.name === match.name) &&
    (match.namespace === undefined || e.involvedObject.namespace === match.namespace) &&
    (match.component === undefined || e.source?.component === match.component || e.reportingComponent === match.component);
}

/** One line per event, for failure messages. */
export function describeEvent(e: CoreV1Event): string {
  const o = e.involvedObject;
  const source = e.reportingComponent || e.source?.component || '?';
  const count = e.series?.count ?? e.count ?? 1;
  return `${e.type ?? '?'} ${e.reason ?? '?'} ${o.kind ?? '?'} ${o.namespace ? `${o.namespace}/` : ''}${o.name ?? '?'} x${count} [${source}]: ${e.message ?? ''}`;
}

export interface WaitForEventOptions {
  /** only this namespace (default: all namespaces) */
  namespace?: string;
  /** server-side field selector, e.g. "involvedObject.name=my-pod,reason=BackOff" */
  fieldSelector?: string;
  /** what is awaited, for the timeout message */
  description?: string;
}

/**
 * Resolves with the first core/v1 Event (already stored, or ADDED/MODIFIED later) that matches.
 * Lists, then watches from the list's resourceVersion with client-node's Watch, relisting when the
 * watch ends. On timeout rejects with the last events seen.
 */
export async function waitForEvent(kc: KubeConfig, predicate: EventPredicate, timeoutMs = 60_000, options: WaitForEventOptions = {}): Promise<CoreV1Event> {
  const core = kc.makeApiClient(CoreV1Api);
  const deadline = Date.now() + timeoutMs;
  const seen = new Map<string, CoreV1Event>();
  const remember = (e: CoreV1Event): void => {
    const key = e.metadata.uid ?? `${e.metadata.namespace ?? ''}/${e.metadata.name ?? ''}`;
    seen.delete(key);
    seen.set(key, e);
    if (seen.size > 200) {
      const oldest = seen.keys().next();
      if (!oldest.done) seen.delete(oldest.value);
    }
  };
  const path = options.namespace ? `/api/v1/namespaces/${options.namespace}/events` : '/api/v1/events';
  const selector = options.fieldSelector ? { fieldSelector: options.fieldSelector } : {};

  while (Date.now() < deadline) {
    const list = options.namespace
      ? await core.listNamespacedEvent({ namespace: options.namespace, ...selector })
      : await core.listEventForAllNamespaces(selector);
    for (const e of list.items) {
      remember(e);
      if (predicate(e)) return e;
    }
    const found = await new Promise<CoreV1Event | undefined>((resolve) => {
      let settled = false;
      let controller: AbortController | undefined;
      const finish = (value: CoreV1Event | undefined): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        controller?.abort();
        resolve(value);
      };
      const timer = setTimeout(() => finish(undefined), Math.max(0, deadline - Date.now()));
      new Watch(kc)
        .watch(
          path,
          { resourceVersion: list.metadata?.resourceVersion, allowWatchBookmarks: true, ...selector },
          (type: string, obj: unknown) => {
            if (type !== 'ADDED' && type !== 'MODIFIED') {
              if (type === 'ERROR') finish(undefined); // e.g. 410 Gone: relist
              return;
            }
            const e = obj as CoreV1Event;
            remember(e);
            if (predicate(e)) finish(e);
          },
          () => finish(undefined),
        )
        .then(
          (c) => {
            controller = c;
            if (settled) c.abort();
          },
          () => finish(undefined),
        );
    });
    if (found) return found;
    if (Date.now() < deadline) await sleep(200);
  }
  const last = [...seen.values()].slice(-25).map(describeEvent).join('\n  ');
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${options.description ?? 'a matching event'}; last events seen:\n  ${last || '(none)'}`);
}
