/**
 * A fast, deterministic generator of a realistic Kubernetes event stream, for the benchmarks.
 *
 * - `buildWorld()` makes the objects the events are about (Nodes, Deployments, ReplicaSets, Pods),
 *   shaped as the API serves them (metadata with labels, annotations, ownerReferences and
 *   managedFields; spec; status with conditions and container statuses), for the warm cache.
 * - `EventStream` yields raw events.k8s.io/v1 Event objects as a watch delivers them
 *   (`ObjectChange`): ADDED for a new Event, MODIFIED for a repeat (the same object with its
 *   series.count / deprecatedCount bumped), DELETED when an Event has not been updated for an hour
 *   of event time (the API's TTL). New-API reporters (scheduler, controllers) set eventTime and
 *   series; kubelet-style reporters fill the deprecated* fields, as the API shows core/v1 Events.
 *
 * Same seed, same options: the same stream, byte for byte. No I/O; about a microsecond per event.
 */
import type { ObjectChange } from '../src/model/watch-event.js';
import type { KubeObject } from '../src/sources/object-lookup.js';

/** mulberry32: small, fast, good enough for workload shapes. */
export class Prng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** uniform in [0, 2^32) */
  u32(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** uniform in [0, 1) */
  next(): number {
    return this.u32() / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
  hex(digits: number): string {
    let s = '';
    while (s.length < digits) s += this.u32().toString(16).padStart(8, '0');
    return s.slice(0, digits);
  }
  uuid(): string {
    const h = this.hex(32);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }
}

// ---------------------------------------------------------------------------------------------
// the world: objects for the cache

export interface WorldOptions {
  /** Total objects (Nodes + Deployments + ReplicaSets + Pods). Default 10,000. */
  objects?: number;
  seed?: number;
  /** Epoch ms the cluster's objects were created around. */
  startTime?: number;
}

export type PodState = 'running' | 'crashing' | 'pending' | 'oom';

export interface PodInfo {
  name: string;
  namespace: string;
  uid: string;
  node: string | null;
  state: PodState;
  container: string;
  rsIndex: number;
}

export interface World {
  nodes: Array<{ name: string; uid: string }>;
  deployments: Array<{ name: string; namespace: string; uid: string }>;
  replicaSets: Array<{ name: string; namespace: string; uid: string; deployment: number }>;
  pods: PodInfo[];
  /** Indexes into pods by state, for picking the Pods a reason is about. */
  podsByState: Record<PodState, number[]>;
  /** The API objects, in an order a cache can load them (owners first). */
  objects: Array<{ kind: 'Node' | 'Deployment' | 'ReplicaSet' | 'Pod'; object: KubeObject }>;
}

export const BENCH_START_TIME = Date.UTC(2026, 10, 1, 0, 0, 0);

const NAMESPACES = ['payments', 'checkout', 'search', 'catalog', 'identity', 'monitoring', 'logging', 'ingress', 'data', 'ml', 'batch', 'web'];
const TEAMS = ['core', 'growth', 'platform', 'data', 'sre'];
const APP_WORDS = ['api', 'worker', 'frontend', 'gateway', 'cache', 'indexer', 'scheduler', 'consumer', 'exporter', 'proxy', 'auth', 'billing'];

function iso(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19) + 'Z';
}

function managedFields(manager: string, time: string, subresource?: string): Record<string, unknown> {
  return {
    manager,
    operation: 'Update',
    apiVersion: 'v1',
    time,
    fieldsType: 'FieldsV1',
    ...(subresource ? { subresource } : {}),
    fieldsV1: {
      'f:metadata': { 'f:labels': { '.': {}, 'f:app': {}, 'f:pod-template-hash': {} }, 'f:ownerReferences': { '.': {}, 'k:{"uid":"x"}': {} } },
      'f:spec': {
        'f:containers': { 'k:{"name":"app"}': { '.': {}, 'f:image': {}, 'f:name': {}, 'f:resources': { '.': {}, 'f:limits': {}, 'f:requests': {} } } },
      },
      'f:status': { 'f:conditions': { 'k:{"type":"Ready"}': { '.': {}, 'f:status': {}, 'f:type': {} } } },
    },
  };
}

function nodeObject(name: string, uid: string, created: string, rng: Prng): KubeObject {
  const images = [];
  for (let i = 0; i < 12; i++) {
    images.push({
      names: [`registry.example.com/team/${rng.pick(APP_WORDS)}@sha256:${rng.hex(64)}`, `registry.example.com/team/${rng.pick(APP_WORDS)}:v1.${i}`],
      sizeBytes: 10_000_000 + rng.int(300_000_000),
    });
  }
  const condition = (type: string, status: string, reason: string, message: string) => ({
    type,
    status,
    lastHeartbeatTime: created,
    lastTransitionTime: created,
    reason,
    message,
  });
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      uid,
      resourceVersion: String(1000 + rng.int(100_000)),
      creationTimestamp: created,
      labels: {
        'beta.kubernetes.io/arch': 'amd64',
        'beta.kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'node.kubernetes.io/instance-type': 'm6i.2xlarge',
        'topology.kubernetes.io/region': 'eu-west-1',
        'topology.kubernetes.io/zone': `eu-west-1${'abc'[rng.int(3)]}`,
        'node-pool': rng.pick(['general', 'memory', 'batch']),
      },
      annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'volumes.kubernetes.io/controller-managed-attach-detach': 'true' },
      managedFields: [managedFields('kubelet', created), managedFields('kube-controller-manager', created)],
    },
    spec: { podCIDR: '10.244.0.0/24', podCIDRs: ['10.244.0.0/24'], providerID: `aws:///eu-west-1a/i-${rng.hex(17)}` },
    status: {
      capacity: { cpu: '8', 'ephemeral-storage': '83873772Ki', memory: '32082928Ki', pods: '110' },
      allocatable: { cpu: '7910m', 'ephemeral-storage': '76224326324', memory: '31063024Ki', pods: '110' },
      conditions: [
        condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
        condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
        condition('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
        condition('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
      ],
      addresses: [
        { type: 'InternalIP', address: `10.0.${rng.int(255)}.${rng.int(255)}` },
        { type: 'Hostname', address: name },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        machineID: rng.hex(32),
        systemUUID: rng.uuid(),
        bootID: rng.uuid(),
        kernelVersion: '6.1.0-18-cloud-amd64',
        osImage: 'Debian GNU/Linux 12 (bookworm)',
        containerRuntimeVersion: 'containerd://1.7.13',
        kubeletVersion: 'v1.34.4',
        kubeProxyVersion: 'v1.34.4',
        operatingSystem: 'linux',
        architecture: 'amd64',
      },
      images,
    },
  };
}

/** Builds the cluster the events are about: ~1% Nodes, ~4.5% Deployments, 2 ReplicaSets each, the rest Pods. */
export function buildWorld(options: WorldOptions = {}): World {
  const total = options.objects ?? 10_000;
  const rng = new Prng((options.seed ?? 42) ^ 0x5eed);
  const start = options.startTime ?? BENCH_START_TIME;
  const created = iso(start - 7 * 24 * 3_600_000);
  const nNodes = Math.max(1, Math.round(total * 0.01));
  const nDeployments = Math.max(1, Math.round(total * 0.045));
  const nReplicaSets = nDeployments * 2;
  const nPods = Math.max(1, total - nNodes - nDeployments - nReplicaSets);
  const world: World = { nodes: [], deployments: [], replicaSets: [], pods: [], podsByState: { running: [], crashing: [], pending: [], oom: [] }, objects: [] };

  for (let i = 0; i < nNodes; i++) {
    const name = `ip-10-0-${Math.floor(i / 250)}-${i % 250}.eu-west-1.compute.internal`;
    const uid = rng.uuid();
    world.nodes.push({ name, uid });
    world.objects.push({ kind: 'Node', object: nodeObject(name, uid, created, rng) });
  }
  for (let i = 0; i < nDeployments; i++) {
    const namespace = NAMESPACES[i % NAMESPACES.length] as string;
    const name = `${rng.pick(APP_WORDS)}-${rng.pick(APP_WORDS)}-${i}`;
    const uid = rng.uuid();
    const team = rng.pick(TEAMS);
    world.deployments.push({ name, namespace, uid });
    world.objects.push({
      kind: 'Deployment',
      object: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: {
          name,
          namespace,
          uid,
          resourceVersion: String(1000 + rng.int(100_000)),
          generation: 3,
          creationTimestamp: created,
          labels: { app: name, 'app.kubernetes.io/name': name, 'app.kubernetes.io/part-of': namespace, team },
          annotations: {
            'deployment.kubernetes.io/revision': '2',
            'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({
              apiVersion: 'apps/v1',
              kind: 'Deployment',
              metadata: { name, namespace },
              spec: { replicas: 3, template: { spec: { containers: [{ name: 'app', image: `registry.example.com/${namespace}/${name}:1.2.3` }] } } },
            }),
          },
          managedFields: [managedFields('kubectl-client-side-apply', created), managedFields('kube-controller-manager', created, 'status')],
        },
        spec: {
          replicas: 3,
          selector: { matchLabels: { app: name } },
          strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
          template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: `registry.example.com/${namespace}/${name}:1.2.3` }] } },
        },
        status: {
          observedGeneration: 3,
          replicas: 3,
          updatedReplicas: 3,
          readyReplicas: 3,
          availableReplicas: 3,
          conditions: [
            { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable' },
            { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' },
          ],
        },
      },
    });
    for (let r = 0; r < 2; r++) {
      const hash = rng.hex(10);
      const rsName = `${name}-${hash}`;
      const rsUid = rng.uuid();
      world.replicaSets.push({ name: rsName, namespace, uid: rsUid, deployment: i });
      world.objects.push({
        kind: 'ReplicaSet',
        object: {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          metadata: {
            name: rsName,
            namespace,
            uid: rsUid,
            resourceVersion: String(1000 + rng.int(100_000)),
            generation: 1,
            creationTimestamp: created,
            labels: { app: name, 'pod-template-hash': hash },
            annotations: {
              'deployment.kubernetes.io/desired-replicas': '3',
              'deployment.kubernetes.io/max-replicas': '4',
              'deployment.kubernetes.io/revision': String(r + 1),
            },
            ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name, uid, controller: true, blockOwnerDeletion: true }],
            managedFields: [managedFields('kube-controller-manager', created)],
          },
          spec: { replicas: r === 1 ? 3 : 0, selector: { matchLabels: { app: name, 'pod-template-hash': hash } } },
          status: { replicas: r === 1 ? 3 : 0, readyReplicas: r === 1 ? 3 : 0, observedGeneration: 1 },
        },
      });
    }
  }
  for (let i = 0; i < nPods; i++) {
    const rsIndex = (i % nDeployments) * 2 + 1; // the current ReplicaSet of each Deployment
    const rs = world.replicaSets[rsIndex]!;
    const dep = world.deployments[rs.deployment]!;
    const name = `${rs.name}-${rng.hex(5)}`;
    const uid = rng.uuid();
    const roll = rng.next();
    const state: PodState = roll < 0.02 ? 'pending' : roll < 0.07 ? 'crashing' : roll < 0.08 ? 'oom' : 'running';
    const node = state === 'pending' ? null : rng.pick(world.nodes).name;
    const pod: PodInfo = { name, namespace: rs.namespace, uid, node, state, container: 'app', rsIndex };
    world.podsByState[state].push(world.pods.length);
    world.pods.push(pod);
    const sidecar = i % 10 === 0;
    const containerStatus = (cname: string) => {
      const base = {
        name: cname,
        image: `registry.example.com/${dep.namespace}/${dep.name}:1.2.3`,
        imageID: `registry.example.com/${dep.namespace}/${dep.name}@sha256:${rng.hex(64)}`,
        containerID: `containerd://${rng.hex(64)}`,
      };
      if (state === 'crashing' && cname === 'app') {
        return {
          ...base,
          ready: false,
          started: false,
          restartCount: 5 + rng.int(200),
          state: { waiting: { reason: 'CrashLoopBackOff', message: `back-off 5m0s restarting failed container=${cname} pod=${name}_${rs.namespace}(${uid})` } },
          lastState: { terminated: { exitCode: 1, reason: 'Error', startedAt: created, finishedAt: created, containerID: `containerd://${rng.hex(64)}` } },
        };
      }
      if (state === 'oom' && cname === 'app') {
        return {
          ...base,
          ready: false,
          started: false,
          restartCount: 1 + rng.int(30),
          state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 40s restarting failed container' } },
          lastState: {
            terminated: { exitCode: 137, reason: 'OOMKilled', startedAt: created, finishedAt: created, containerID: `containerd://${rng.hex(64)}` },
          },
        };
      }
      return { ...base, ready: true, started: true, restartCount: rng.int(3), state: { running: { startedAt: created } }, lastState: {} };
    };
    const containers = [
      {
        name: 'app',
        image: `registry.example.com/${dep.namespace}/${dep.name}:1.2.3`,
        ports: [{ containerPort: 8080, protocol: 'TCP' }],
        resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '512Mi' } },
        env: [
          { name: 'LOG_LEVEL', value: 'info' },
          { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        ],
        volumeMounts: [
          { name: 'config', mountPath: '/etc/app' },
          { name: 'kube-api-access', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true },
        ],
        readinessProbe: { httpGet: { path: '/healthz', port: 8080, scheme: 'HTTP' }, periodSeconds: 10, timeoutSeconds: 1, failureThreshold: 3 },
        imagePullPolicy: 'IfNotPresent',
        terminationMessagePath: '/dev/termination-log',
      },
    ];
    if (sidecar) containers.push({ ...containers[0]!, name: 'proxy', image: 'registry.example.com/mesh/proxy:1.20.0' });
    world.objects.push({
      kind: 'Pod',
      object: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name,
          generateName: `${rs.name}-`,
          namespace: rs.namespace,
          uid,
          resourceVersion: String(1000 + rng.int(1_000_000)),
          creationTimestamp: created,
          labels: { app: dep.name, 'app.kubernetes.io/name': dep.name, 'pod-template-hash': rs.name.slice(-10), team: rng.pick(TEAMS) },
          annotations: { 'kubectl.kubernetes.io/restartedAt': created, 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9090' },
          ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: rs.name, uid: rs.uid, controller: true, blockOwnerDeletion: true }],
          managedFields: [managedFields('kube-controller-manager', created), managedFields('kubelet', created, 'status')],
        },
        spec: {
          containers,
          nodeName: node ?? undefined,
          restartPolicy: 'Always',
          serviceAccountName: 'default',
          schedulerName: 'default-scheduler',
          tolerations: [
            { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
            { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
          ],
          volumes: [
            { name: 'config', configMap: { name: `${dep.name}-config`, defaultMode: 420 } },
            { name: 'kube-api-access', projected: { defaultMode: 420, sources: [{ serviceAccountToken: { expirationSeconds: 3607, path: 'token' } }] } },
          ],
        },
        status:
          state === 'pending'
            ? {
                phase: 'Pending',
                qosClass: 'Burstable',
                conditions: [
                  {
                    type: 'PodScheduled',
                    status: 'False',
                    reason: 'Unschedulable',
                    message: '0/100 nodes are available: 100 Insufficient cpu.',
                    lastTransitionTime: created,
                  },
                ],
              }
            : {
                phase: 'Running',
                qosClass: 'Burstable',
                hostIP: `10.0.${rng.int(255)}.${rng.int(255)}`,
                podIP: `10.244.${rng.int(255)}.${rng.int(255)}`,
                podIPs: [{ ip: `10.244.${rng.int(255)}.${rng.int(255)}` }],
                startTime: created,
                conditions: ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((type) => ({
                  type,
                  status: state === 'running' || (type !== 'Ready' && type !== 'ContainersReady') ? 'True' : 'False',
                  lastTransitionTime: created,
                })),
                containerStatuses: sidecar ? [containerStatus('app'), containerStatus('proxy')] : [containerStatus('app')],
              },
      },
    });
  }
  return world;
}

// ---------------------------------------------------------------------------------------------
// the event stream

export type Target = 'pod-any' | 'pod-running' | 'pod-crashing' | 'pod-pending' | 'pod-oom' | 'rs' | 'deployment' | 'node';

export interface ReasonSpec {
  reason: string;
  type: 'Normal' | 'Warning';
  target: Target;
  /** share of new Event objects */
  weight: number;
  /** how likely a live Event of this reason is picked for a repeat, relative */
  repeat: number;
  /** events.k8s.io/v1 reporter (eventTime, series) or a core/v1 one (deprecated* fields) */
  api: 'new' | 'legacy';
  controller: string;
  action: string | null;
  fieldPath?: boolean;
  note: (s: SeriesTemplate) => string;
}

export interface SeriesTemplate {
  objectName: string;
  namespace: string | null;
  node: string | null;
  container: string;
  uid: string;
}

/** The reason mix: what a busy production cluster's Event stream is made of. */
export const REASONS: readonly ReasonSpec[] = [
  {
    reason: 'Scheduled',
    type: 'Normal',
    target: 'pod-running',
    weight: 8,
    repeat: 0,
    api: 'new',
    controller: 'default-scheduler',
    action: 'Binding',
    note: (s) => `Successfully assigned ${s.namespace}/${s.objectName} to ${s.node}`,
  },
  {
    reason: 'Pulling',
    type: 'Normal',
    target: 'pod-any',
    weight: 8,
    repeat: 1,
    api: 'legacy',
    controller: 'kubelet',
    action: null,
    fieldPath: true,
    note: () => 'Pulling image "registry.example.com/team/app:1.2.3"',
  },
  {
    reason: 'Pulled',
    type: 'Normal',
    target: 'pod-any',
    weight: 8,
    repeat: 1,
    api: 'legacy',
    controller: 'kubelet',
    action: null,
    fieldPath: true,
    note: () => 'Container image "registry.example.com/team/app:1.2.3" already present on machine',
  },
  {
    reason: 'Created',
    type: 'Normal',
    target: 'pod-any',
    weight: 8,
    repeat: 1,
    api: 'legacy',
    controller: 'kubelet',
    action: null,
    fieldPath: true,
    note: (s) => `Created container: ${s.container}`,
  },
  {
    reason: 'Started',
    type: 'Normal',
    target: 'pod-any',
    weight: 8,
    repeat: 1,
    api: 'legacy',
    controller: 'kubelet',
    action: null,
    fieldPath: true,
    note: (s) => `Started container ${s.container}`,
  },
  {
    reason: 'Killing',
    type: 'Normal',
    target: 'pod-running',
    weight: 4,
    repeat: 0,
    api: 'legacy',
    controller: 'kubelet',
    action: null,
    fieldPath: true,
    note: (s) => `Stopping container ${s.container}`,
  },
  {
    reason: 'SuccessfulCreate',
    type: 'Normal',
    target: 'rs',
    weight: 4,
    repeat: 0,
    api: 'legacy',
    controller: 'replicaset-controller',
    action: null,
    note: (s) => `Created pod: ${s.objectName}-x7k2p`,
  },
  {
    reason: 'SuccessfulDelete',
    type: 'Normal',
    target: 'rs',
    weight: 2,
    repeat: 0,
    api: 'legacy',
    controller: 'replicaset-controller',
    action: null,
    note: (s) => `Deleted pod: ${s.objectName}-q9z4m`,
  },
  {
    reason: 'ScalingReplicaSet',
    type: 'Normal',
    target: 'deployment',
    weight: 3,
    repeat: 0,
    api: 'new',
    controller: 'deployment-controller',
    action: 'Scaling',
    note: (s) => `Scaled up replica set ${s.objectName}-6d4cf56db6 from 2 to 3`,
  },
  {
    reason: 'BackOff',
    type: 'Warning',
    target: 'pod-crashing',
    weight: 6,
    repeat: 30,
    api: 'legacy',
    controller: 'kubelet',
    action: null,
    fieldPath: true,
    note: (s) => `Back-off restarting failed container ${s.container} in pod ${s.objectName}_${s.namespace}(${s.uid})`,
  },
  {
    reason: 'BackOff',
    type: 'Warning',
    target: 'pod-oom',
    weight: 1,
    repeat: 20,
    api: 'legacy',
    controller: 'kubelet',
    action: null,
    fieldPath: true,
    note: (s) => `Back-off restarting failed container ${s.container} in pod ${s.objectName}_${s.namespace}(${s.uid})`,
  },
  {
    reason: 'Unhealthy',
    type: 'Warning',
    target: 'pod-running',
    weight: 6,
    repeat: 25,
    api: 'legacy',
    controller: 'kubelet',
    action: null,
    fieldPath: true,
    note: () => 'Readiness probe failed: HTTP probe failed with statuscode: 503',
  },
  {
    reason: 'FailedScheduling',
    type: 'Warning',
    target: 'pod-pending',
    weight: 3,
    repeat: 15,
    api: 'new',
    controller: 'default-scheduler',
    action: 'Scheduling',
    note: () => '0/100 nodes are available: 100 Insufficient cpu. preemption: 0/100 nodes are available: 100 No preemption victims found for incoming pod.',
  },
  {
    reason: 'FailedMount',
    type: 'Warning',
    target: 'pod-pending',
    weight: 2,
    repeat: 10,
    api: 'legacy',
    controller: 'kubelet',
    action: null,
    note: (s) => `MountVolume.SetUp failed for volume "config" : configmap "${s.objectName.split('-')[0]}-config" not found`,
  },
  {
    reason: 'Failed',
    type: 'Warning',
    target: 'pod-any',
    weight: 1,
    repeat: 5,
    api: 'legacy',
    controller: 'kubelet',
    action: null,
    fieldPath: true,
    note: () => 'Failed to pull image "registry.example.com/team/app:1.2.4": rpc error: code = NotFound desc = failed to pull and unpack image: not found',
  },
  {
    reason: 'FailedCreatePodSandBox',
    type: 'Warning',
    target: 'pod-pending',
    weight: 1,
    repeat: 4,
    api: 'legacy',
    controller: 'kubelet',
    action: null,
    note: () =>
      'Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox: plugin type="cni" failed (add): failed to allocate for range 0: no IP addresses available in range set',
  },
  {
    reason: 'FailedCreate',
    type: 'Warning',
    target: 'rs',
    weight: 1,
    repeat: 8,
    api: 'legacy',
    controller: 'replicaset-controller',
    action: null,
    note: (s) =>
      `Error creating: pods "${s.objectName}-" is forbidden: exceeded quota: compute-resources, requested: limits.memory=512Mi, used: limits.memory=20Gi, limited: limits.memory=20Gi`,
  },
  {
    reason: 'OOMKilling',
    type: 'Warning',
    target: 'node',
    weight: 1,
    repeat: 3,
    api: 'legacy',
    controller: 'kernel-monitor',
    action: null,
    note: () =>
      'Memory cgroup out of memory: Killed process 4242 (java) total-vm:8123456kB, anon-rss:524288kB, file-rss:0kB, shmem-rss:0kB, UID:1000 pgtables:2048kB oom_score_adj:999',
  },
  {
    reason: 'NodeNotReady',
    type: 'Normal',
    target: 'node',
    weight: 0.3,
    repeat: 0,
    api: 'legacy',
    controller: 'node-controller',
    action: null,
    note: (s) => `Node ${s.objectName} status is now: NodeNotReady`,
  },
  {
    reason: 'EvictionThresholdMet',
    type: 'Warning',
    target: 'node',
    weight: 0.3,
    repeat: 6,
    api: 'legacy',
    controller: 'kubelet',
    action: null,
    note: () => 'Attempting to reclaim ephemeral-storage',
  },
  {
    reason: 'Evicted',
    type: 'Warning',
    target: 'pod-running',
    weight: 0.5,
    repeat: 0,
    api: 'legacy',
    controller: 'kubelet',
    action: null,
    note: () => 'The node was low on resource: ephemeral-storage. Threshold quantity: 8Gi, available: 7Gi.',
  },
];

export interface StreamOptions {
  /** Watch events to produce. */
  events: number;
  seed?: number;
  /** Event-time pace of the cluster, watch events per second (default 200). */
  ratePerSecond?: number;
  /** Share of emissions that try to repeat a live Event (MODIFIED with a count bump). Default 0.75. */
  repeatShare?: number;
  /** The API's event TTL, ms of event time (default 1 h): an Event not updated this long is DELETED. */
  ttlMs?: number;
  startTime?: number;
}

const REGARDING_API: Record<string, string> = { Pod: 'v1', Node: 'v1', ReplicaSet: 'apps/v1', Deployment: 'apps/v1' };
const MAX_REPEAT = 30;

function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}

/** A 32-bit mix (murmur3 finalizer), to derive more hex digits from a stored seed. */
function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * Iterates watch events (ObjectChange of raw events.k8s.io/v1 Event objects). Live Events are
 * held as struct-of-arrays (~40 bytes each) and rendered afresh on every emission, so the
 * generator's own memory stays small next to what it measures.
 */
export class EventStream implements Iterable<ObjectChange<unknown>> {
  private readonly rng: Prng;
  private readonly rate: number;
  private readonly repeatShare: number;
  private readonly ttl: number;
  private readonly cumulative: number[];
  private readonly totalWeight: number;
  // per live Event (series), by id
  private cap = 0;
  private spec = new Uint8Array(0);
  private target = new Uint32Array(0);
  private seedA = new Uint32Array(0);
  private seedB = new Uint32Array(0);
  private first = new Float64Array(0);
  private last = new Float64Array(0);
  private count = new Uint32Array(0);
  private regRv = new Uint32Array(0);
  private slot = new Int32Array(0);
  private free: number[] = [];
  private nextId = 0;
  /** ids in creation order (re-queued when found updated): the TTL queue */
  private fifo = new Int32Array(1024);
  private fifoHead = 0;
  private fifoLen = 0;
  /** ids of live Events whose reason repeats */
  private repeatable = new Int32Array(1024);
  private repeatableLen = 0;
  private now: number;
  private rv = 5_000_000;
  private emitted = 0;
  private secMs = -1;
  private secStr = '';
  readonly counts = { ADDED: 0, MODIFIED: 0, DELETED: 0 };

  constructor(
    private readonly world: World,
    private readonly options: StreamOptions,
  ) {
    this.rng = new Prng(options.seed ?? 42);
    this.rate = options.ratePerSecond ?? 200;
    this.repeatShare = options.repeatShare ?? 0.75;
    this.ttl = options.ttlMs ?? 3_600_000;
    this.now = options.startTime ?? BENCH_START_TIME;
    let acc = 0;
    this.cumulative = REASONS.map((r) => (acc += r.weight));
    this.totalWeight = acc;
  }

  /** Live Events (what the API would hold now). */
  get live(): number {
    return this.fifoLen;
  }

  /** Event time of the last emission, epoch ms. */
  get eventTime(): number {
    return this.now;
  }

  [Symbol.iterator](): Iterator<ObjectChange<unknown>> {
    return {
      next: () => {
        const value = this.next();
        return value ? { value, done: false } : { value: undefined, done: true };
      },
    };
  }

  next(): ObjectChange<unknown> | undefined {
    if (this.emitted >= this.options.events) return undefined;
    this.emitted += 1;
    this.now += (1000 / this.rate) * 2 * this.rng.next();
    const nowMs = Math.floor(this.now);
    const expired = this.expired(nowMs);
    if (expired >= 0) return this.delete(expired);
    if (this.repeatableLen > 0 && this.rng.next() < this.repeatShare) {
      // pick a live Event in proportion to how repetitive its reason is (rejection sampling)
      for (let tries = 0; tries < 8; tries++) {
        const id = this.repeatable[this.rng.int(this.repeatableLen)]!;
        if (this.rng.next() * MAX_REPEAT < REASONS[this.spec[id]!]!.repeat) return this.repeat(id, nowMs);
      }
    }
    return this.create(nowMs);
  }

  // ---- storage

  private grow(): void {
    const cap = Math.max(1024, this.cap * 2);
    const g = <A extends Uint8Array | Uint32Array | Int32Array | Float64Array>(old: A, make: (n: number) => A): A => {
      const a = make(cap);
      a.set(old);
      return a;
    };
    this.spec = g(this.spec, (n) => new Uint8Array(n));
    this.target = g(this.target, (n) => new Uint32Array(n));
    this.seedA = g(this.seedA, (n) => new Uint32Array(n));
    this.seedB = g(this.seedB, (n) => new Uint32Array(n));
    this.first = g(this.first, (n) => new Float64Array(n));
    this.last = g(this.last, (n) => new Float64Array(n));
    this.count = g(this.count, (n) => new Uint32Array(n));
    this.regRv = g(this.regRv, (n) => new Uint32Array(n));
    this.slot = g(this.slot, (n) => new Int32Array(n));
    this.cap = cap;
  }

  private alloc(): number {
    const id = this.free.pop();
    if (id !== undefined) return id;
    if (this.nextId >= this.cap) this.grow();
    return this.nextId++;
  }

  private fifoPush(id: number): void {
    if (this.fifoLen === this.fifo.length) {
      const a = new Int32Array(this.fifo.length * 2);
      for (let i = 0; i < this.fifoLen; i++) a[i] = this.fifo[(this.fifoHead + i) % this.fifo.length]!;
      this.fifo = a;
      this.fifoHead = 0;
    }
    this.fifo[(this.fifoHead + this.fifoLen) % this.fifo.length] = id;
    this.fifoLen++;
  }

  private fifoShift(): number {
    const id = this.fifo[this.fifoHead]!;
    this.fifoHead = (this.fifoHead + 1) % this.fifo.length;
    this.fifoLen--;
    return id;
  }

  /** The id of an Event past its TTL, or -1. Updated Events found at the front go to the back. */
  private expired(nowMs: number): number {
    for (let guard = 0; guard < 4 && this.fifoLen > 0; guard++) {
      const id = this.fifo[this.fifoHead]!;
      if (this.first[id]! + this.ttl >= nowMs) return -1;
      this.fifoShift();
      if (this.last[id]! + this.ttl < nowMs) return id;
      this.fifoPush(id); // updated since: expires later
    }
    return -1;
  }

  // ---- time strings

  /** RFC 3339 up to the seconds, without the Z; cached per second */
  private seconds(ms: number): string {
    const sec = ms - (ms % 1000);
    if (sec !== this.secMs) {
      this.secMs = sec;
      this.secStr = new Date(sec).toISOString().slice(0, 19);
    }
    return this.secStr;
  }

  private secondsAt(ms: number): string {
    const sec = ms - (ms % 1000);
    return sec === this.secMs ? this.secStr : new Date(sec).toISOString().slice(0, 19);
  }

  private microAt(ms: number, salt: number): string {
    const us = (ms % 1000) * 1000 + (salt % 1000);
    return `${this.secondsAt(ms)}.${String(us).padStart(6, '0')}Z`;
  }

  // ---- emissions

  private pickSpec(): number {
    const x = this.rng.next() * this.totalWeight;
    const c = this.cumulative;
    let i = 0;
    while (i < c.length - 1 && (c[i] as number) <= x) i++;
    return i;
  }

  private pickTarget(spec: ReasonSpec): number {
    const w = this.world;
    switch (spec.target) {
      case 'rs':
        return this.rng.int(w.replicaSets.length);
      case 'deployment':
        return this.rng.int(w.deployments.length);
      case 'node':
        return this.rng.int(w.nodes.length);
      case 'pod-any':
        return this.rng.int(w.pods.length);
      default: {
        const pool = w.podsByState[spec.target.slice(4) as PodState];
        return pool.length > 0 ? pool[this.rng.int(pool.length)]! : this.rng.int(w.pods.length);
      }
    }
  }

  private create(nowMs: number): ObjectChange<unknown> {
    const specIndex = this.pickSpec();
    const spec = REASONS[specIndex]!;
    const id = this.alloc();
    this.spec[id] = specIndex;
    this.target[id] = this.pickTarget(spec);
    this.seedA[id] = this.rng.u32();
    this.seedB[id] = this.rng.u32();
    this.first[id] = nowMs;
    this.last[id] = nowMs;
    this.count[id] = 1;
    this.regRv[id] = 1000 + this.rng.int(1_000_000);
    this.slot[id] = -1;
    this.fifoPush(id);
    if (spec.repeat > 0) {
      if (this.repeatableLen === this.repeatable.length) {
        const a = new Int32Array(this.repeatable.length * 2);
        a.set(this.repeatable);
        this.repeatable = a;
      }
      this.slot[id] = this.repeatableLen;
      this.repeatable[this.repeatableLen++] = id;
    }
    this.counts.ADDED += 1;
    return { type: 'ADDED', object: this.render(id, nowMs), resourceVersion: String(this.rv) };
  }

  private repeat(id: number, nowMs: number): ObjectChange<unknown> {
    this.count[id] = this.count[id]! + 1;
    this.last[id] = nowMs;
    this.counts.MODIFIED += 1;
    return { type: 'MODIFIED', object: this.render(id, nowMs), resourceVersion: String(this.rv) };
  }

  private delete(id: number): ObjectChange<unknown> {
    const slot = this.slot[id]!;
    if (slot >= 0) {
      const lastId = this.repeatable[--this.repeatableLen]!;
      if (lastId !== id) {
        this.repeatable[slot] = lastId;
        this.slot[lastId] = slot;
      }
    }
    this.counts.DELETED += 1;
    const change: ObjectChange<unknown> = { type: 'DELETED', object: this.render(id, this.last[id]!), resourceVersion: String(this.rv) };
    this.free.push(id);
    return change;
  }

  /** The Event object as the watch serves it (a fresh object every time, as after JSON.parse). */
  private render(id: number, nowMs: number): Record<string, unknown> {
    this.rv += 1;
    const spec = REASONS[this.spec[id]!]!;
    const a = this.seedA[id]!;
    const b = this.seedB[id]!;
    const ma = mix(a);
    const mb = mix(b);
    const w = this.world;
    const t = this.target[id]!;
    let kind: string;
    let objectName: string;
    let namespace: string | null;
    let objectUid: string;
    let node: string | null = null;
    let container = '';
    let instance = 'kube-controller-manager-control-plane-1';
    switch (spec.target) {
      case 'rs': {
        const rs = w.replicaSets[t]!;
        kind = 'ReplicaSet';
        objectName = rs.name;
        namespace = rs.namespace;
        objectUid = rs.uid;
        break;
      }
      case 'deployment': {
        const d = w.deployments[t]!;
        kind = 'Deployment';
        objectName = d.name;
        namespace = d.namespace;
        objectUid = d.uid;
        break;
      }
      case 'node': {
        const n = w.nodes[t]!;
        kind = 'Node';
        objectName = n.name;
        namespace = null;
        node = n.name;
        // the kubelet's references to its Node carry the node name as uid
        objectUid = spec.controller === 'kubelet' ? n.name : n.uid;
        instance = n.name;
        break;
      }
      default: {
        const p = w.pods[t]!;
        kind = 'Pod';
        objectName = p.name;
        namespace = p.namespace;
        objectUid = p.uid;
        node = p.node ?? w.nodes[0]!.name;
        container = p.container;
        instance = spec.controller === 'default-scheduler' ? 'default-scheduler-control-plane-1' : (p.node ?? 'control-plane-1');
      }
    }
    const regarding: Record<string, string> = {
      kind,
      namespace: namespace as string,
      name: objectName,
      uid: objectUid,
      apiVersion: REGARDING_API[kind]!,
      resourceVersion: String(this.regRv[id]),
    };
    if (namespace === null) delete regarding['namespace'];
    if (spec.fieldPath) regarding['fieldPath'] = `spec.containers{${container}}`;
    const firstMs = this.first[id]!;
    const created = `${this.secondsAt(firstMs)}Z`;
    const metadata = {
      name: `${objectName}.${hex8(a)}${hex8(b)}`,
      namespace: namespace ?? 'default',
      uid: `${hex8(ma)}-${hex8(mb).slice(0, 4)}-4${hex8(mb).slice(5)}-a${hex8(a ^ b).slice(1, 4)}-${hex8(mix(ma))}${hex8(mix(mb)).slice(0, 4)}`,
      resourceVersion: String(this.rv),
      creationTimestamp: created,
    };
    const note = spec.note({ objectName, namespace, node, container, uid: objectUid });
    if (spec.api === 'new') {
      const o: Record<string, unknown> = {
        kind: 'Event',
        apiVersion: 'events.k8s.io/v1',
        metadata,
        eventTime: this.microAt(firstMs, a),
        reportingController: spec.controller,
        reportingInstance: instance,
        action: spec.action,
        reason: spec.reason,
        regarding,
        note,
        type: spec.type,
      };
      const n = this.count[id]!;
      if (n > 1) o['series'] = { count: n, lastObservedTime: this.microAt(nowMs, b) };
      return o;
    }
    return {
      kind: 'Event',
      apiVersion: 'events.k8s.io/v1',
      metadata,
      eventTime: null,
      reportingController: spec.controller,
      reportingInstance: instance,
      reason: spec.reason,
      regarding,
      note,
      type: spec.type,
      deprecatedSource: { component: spec.controller, host: instance },
      deprecatedFirstTimestamp: created,
      deprecatedLastTimestamp: `${this.seconds(nowMs)}Z`,
      deprecatedCount: this.count[id],
    };
  }
}
