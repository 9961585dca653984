#!/usr/bin/env node
/**
 * Deterministic generator of recordings/recorded-cluster.jsonl (and test/fixtures/kubectl-get-events.json):
 * ~40 minutes of a 3-node cluster's watch stream from 2026-11-01T10:00:00Z, in the shapes
 * kube-apiserver v1.34 serves (field names, reasons, reporting controllers and message texts as
 * Kubernetes writes them). Generated, not captured: see README.md for the stories and their facts.
 *
 *   node scripts/generate-recorded-cluster.mjs > recordings/recorded-cluster.jsonl
 *   node scripts/generate-recorded-cluster.mjs --kubectl-events > test/fixtures/kubectl-get-events.json
 *
 * Plain Node ESM, no dependencies. Same seed, same bytes.
 */

// ---------------------------------------------------------------- randomness (seeded)

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const rand = mulberry32(20261101);
const randInt = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));

function hexDigits(n) {
  let s = '';
  for (let i = 0; i < n; i++) s += '0123456789abcdef'[Math.floor(rand() * 16)];
  return s;
}

/** RFC 4122 version 4 UUID from the seeded PRNG. */
function uuid() {
  const h = hexDigits(32).split('');
  h[12] = '4';
  h[16] = '89ab'[Math.floor(rand() * 4)];
  const s = h.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
}

/** The alphabet of generated names (k8s.io/apimachinery rand.SafeEncodeString): pod-template-hash, pod suffixes. */
const SAFE = 'bcdfghjklmnpqrstvwxz2456789';
function safeString(n) {
  let s = '';
  for (let i = 0; i < n; i++) s += SAFE[Math.floor(rand() * SAFE.length)];
  return s;
}

// ---------------------------------------------------------------- time

const T0 = Date.parse('2026-11-01T10:00:00Z');
/** Event time from "mm:ss" (or "mm:ss.SSS") after 10:00:00Z, or seconds after 10:00:00Z. */
function at(mmss) {
  if (typeof mmss === 'number') return T0 + Math.round(mmss * 1000);
  const [m, s] = mmss.split(':');
  return T0 + Math.round((Number(m) * 60 + Number(s)) * 1000);
}
/** metav1.Time: RFC 3339, whole seconds. */
const isoSec = (ms) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

/** metav1.MicroTime: RFC 3339 with microseconds (the sub-millisecond digits are random). */
const isoMicro = (ms) => new Date(ms).toISOString().replace('Z', `${String(randInt(0, 999)).padStart(3, '0')}Z`);

// ---------------------------------------------------------------- the stream

/** Every change, in the order generated; sorted by time (stable) and given resourceVersions at the end. */
const changes = [];
let seq = 0;
const clone = (o) => JSON.parse(JSON.stringify(o));

/** While the initial list is emitted: the observedAt of the next listed object (ms), else null. */
let listClock = null;

function emit(t, type, obj) {
  if (listClock !== null) {
    t = listClock;
    listClock += 2;
  }
  changes.push({ t, seq: seq++, type, obj: clone(obj) });
}

const containerId = () => `containerd://${hexDigits(64)}`;
const imageId = (image) => `${image.split(':')[0]}@sha256:${hexDigits(64)}`;

// ---------------------------------------------------------------- context objects

const NODES = {};
const NODE_IPS = { 'node-a': '10.0.1.11', 'node-b': '10.0.2.12', 'node-c': '10.0.3.13' };
const POD_CIDR = { 'node-a': '10.244.0', 'node-b': '10.244.1', 'node-c': '10.244.2' };
const ZONES = { 'node-a': 'eu-west-1a', 'node-b': 'eu-west-1b', 'node-c': 'eu-west-1c' };
const podIpCounters = { 'node-a': 10, 'node-b': 10, 'node-c': 10 };
const nextPodIp = (node) => `${POD_CIDR[node]}.${(podIpCounters[node] += randInt(1, 7))}`;

function readyConditions(t) {
  const hb = isoSec(t);
  const since = isoSec(at(-86400 * 12));
  return [
    {
      type: 'MemoryPressure',
      status: 'False',
      lastHeartbeatTime: hb,
      lastTransitionTime: since,
      reason: 'KubeletHasSufficientMemory',
      message: 'kubelet has sufficient memory available',
    },
    {
      type: 'DiskPressure',
      status: 'False',
      lastHeartbeatTime: hb,
      lastTransitionTime: since,
      reason: 'KubeletHasNoDiskPressure',
      message: 'kubelet has no disk pressure',
    },
    {
      type: 'PIDPressure',
      status: 'False',
      lastHeartbeatTime: hb,
      lastTransitionTime: since,
      reason: 'KubeletHasSufficientPID',
      message: 'kubelet has sufficient PID available',
    },
    { type: 'Ready', status: 'True', lastHeartbeatTime: hb, lastTransitionTime: since, reason: 'KubeletReady', message: 'kubelet is posting ready status' },
  ];
}

function makeNode(name, t) {
  const node = {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      uid: uuid(),
      resourceVersion: '',
      creationTimestamp: isoSec(at(-86400 * 40)),
      labels: {
        'beta.kubernetes.io/arch': 'amd64',
        'beta.kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'node.kubernetes.io/instance-type': 'm6i.xlarge',
        'topology.kubernetes.io/region': 'eu-west-1',
        'topology.kubernetes.io/zone': ZONES[name],
        'node-pool': 'general',
      },
      annotations: {
        'node.alpha.kubernetes.io/ttl': '0',
        'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
      },
    },
    spec: { podCIDR: `${POD_CIDR[name]}.0/24`, podCIDRs: [`${POD_CIDR[name]}.0/24`], providerID: `aws:///${ZONES[name]}/i-0${hexDigits(16)}` },
    status: {
      capacity: { cpu: '4', 'ephemeral-storage': '83873772Ki', memory: '16082928Ki', pods: '58' },
      allocatable: { cpu: '3920m', 'ephemeral-storage': '76224326324', memory: '15063024Ki', pods: '58' },
      conditions: readyConditions(t),
      addresses: [
        { type: 'InternalIP', address: NODE_IPS[name] },
        { type: 'Hostname', address: name },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        machineID: hexDigits(32),
        systemUUID: uuid(),
        bootID: uuid(),
        kernelVersion: '6.1.112-124.190.amzn2023.x86_64',
        osImage: 'Amazon Linux 2023.6.20241212',
        containerRuntimeVersion: 'containerd://2.0.5',
        kubeletVersion: 'v1.34.1',
        kubeProxyVersion: '',
        operatingSystem: 'linux',
        architecture: 'amd64',
      },
    },
  };
  NODES[name] = node;
  return node;
}

/** An ObjectReference in the API's field order (resourceVersion is filled in when the stream is written). */
const ref = (obj, fieldPath) => {
  const r = { kind: obj.kind };
  if (obj.metadata.namespace) r.namespace = obj.metadata.namespace;
  r.name = obj.metadata.name;
  r.uid = obj.metadata.uid;
  r.apiVersion = obj.apiVersion;
  if (fieldPath) r.fieldPath = fieldPath;
  return r;
};

const ownerRef = (obj) => ({
  apiVersion: obj.apiVersion,
  kind: obj.kind,
  name: obj.metadata.name,
  uid: obj.metadata.uid,
  controller: true,
  blockOwnerDeletion: true,
});

/**
 * A Deployment. `spec` fields: replicas, image, container, cpu (request), memory (limit), port,
 * probes (bool), volume (NFS volume name or null).
 */
function makeDeployment(ns, name, spec, created) {
  const labels = { app: name, 'app.kubernetes.io/name': name, 'app.kubernetes.io/part-of': ns };
  const container = {
    name: spec.container ?? 'app',
    image: spec.image,
    ports: [{ containerPort: spec.port ?? 8080, name: 'http', protocol: 'TCP' }],
    resources: {
      requests: { cpu: spec.cpu ?? '250m', memory: spec.memoryRequest ?? '256Mi' },
      limits: { memory: spec.memory ?? '512Mi' },
    },
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
    imagePullPolicy: 'IfNotPresent',
  };
  if (spec.probes) {
    container.readinessProbe = {
      httpGet: { path: '/ready', port: 8080, scheme: 'HTTP' },
      periodSeconds: 5,
      timeoutSeconds: 1,
      failureThreshold: 3,
      successThreshold: 1,
    };
    container.livenessProbe = {
      httpGet: { path: '/healthz', port: 8080, scheme: 'HTTP' },
      periodSeconds: 10,
      timeoutSeconds: 1,
      failureThreshold: 3,
      successThreshold: 1,
    };
  }
  const template = {
    metadata: { labels: { ...labels } },
    spec: {
      containers: [container],
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      dnsPolicy: 'ClusterFirst',
      schedulerName: 'default-scheduler',
      serviceAccountName: 'default',
    },
  };
  if (spec.volume) {
    container.volumeMounts = [{ name: spec.volume, mountPath: '/data' }];
    template.spec.volumes = [{ name: spec.volume, nfs: { server: 'nfs.storage.svc.cluster.local', path: '/exports/batch' } }];
  }
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name,
      namespace: ns,
      uid: uuid(),
      resourceVersion: '',
      generation: spec.generation ?? 1,
      creationTimestamp: isoSec(created),
      labels,
      annotations: { 'deployment.kubernetes.io/revision': String(spec.revision ?? 1) },
    },
    spec: {
      replicas: spec.replicas,
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
      selector: { matchLabels: { app: name } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
      template,
    },
    status: {
      observedGeneration: spec.generation ?? 1,
      replicas: spec.replicas,
      updatedReplicas: spec.replicas,
      readyReplicas: spec.replicas,
      availableReplicas: spec.replicas,
      conditions: [
        {
          type: 'Available',
          status: 'True',
          lastUpdateTime: isoSec(created),
          lastTransitionTime: isoSec(created),
          reason: 'MinimumReplicasAvailable',
          message: 'Deployment has minimum availability.',
        },
        {
          type: 'Progressing',
          status: 'True',
          lastUpdateTime: isoSec(created),
          lastTransitionTime: isoSec(created),
          reason: 'NewReplicaSetAvailable',
          message: `ReplicaSet "${name}-?" has successfully progressed.`,
        },
      ],
    },
  };
}

function setProgressing(dep, rs, t, reason) {
  const c = dep.status.conditions.find((x) => x.type === 'Progressing');
  const messages = {
    NewReplicaSetAvailable: `ReplicaSet "${rs.metadata.name}" has successfully progressed.`,
    NewReplicaSetCreated: `Created new replica set "${rs.metadata.name}"`,
    ReplicaSetUpdated: `ReplicaSet "${rs.metadata.name}" is progressing.`,
    ProgressDeadlineExceeded: `ReplicaSet "${rs.metadata.name}" has timed out progressing.`,
  };
  if (c.reason !== reason && (reason === 'ProgressDeadlineExceeded' || c.status !== 'True')) c.lastTransitionTime = isoSec(t);
  c.status = reason === 'ProgressDeadlineExceeded' ? 'False' : 'True';
  c.reason = reason;
  c.message = messages[reason];
  c.lastUpdateTime = isoSec(t);
}

function makeReplicaSet(dep, hash, replicas, revision, created) {
  const template = clone(dep.spec.template);
  template.metadata.labels['pod-template-hash'] = hash;
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name: `${dep.metadata.name}-${hash}`,
      namespace: dep.metadata.namespace,
      uid: uuid(),
      resourceVersion: '',
      generation: 1,
      creationTimestamp: isoSec(created),
      labels: { ...dep.metadata.labels, 'pod-template-hash': hash },
      annotations: {
        'deployment.kubernetes.io/desired-replicas': String(dep.spec.replicas),
        'deployment.kubernetes.io/max-replicas': String(dep.spec.replicas + Math.ceil(dep.spec.replicas / 4)),
        'deployment.kubernetes.io/revision': String(revision),
      },
      ownerReferences: [ownerRef(dep)],
    },
    spec: { replicas, selector: { matchLabels: { app: dep.metadata.name, 'pod-template-hash': hash } }, template },
    status: { replicas, fullyLabeledReplicas: replicas, readyReplicas: replicas, availableReplicas: replicas, observedGeneration: 1 },
  };
}

function setRsReplicas(rs, spec, ready) {
  rs.spec.replicas = spec;
  rs.metadata.generation += 1;
  rs.status = { replicas: spec, fullyLabeledReplicas: spec, readyReplicas: ready, availableReplicas: ready, observedGeneration: rs.metadata.generation };
  if (spec === 0) rs.status = { replicas: 0, observedGeneration: rs.metadata.generation };
}

// ---------------------------------------------------------------- pods

const COND_ORDER = ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled', 'DisruptionTarget'];

function setCond(pod, type, status, t, reason, message) {
  const cs = (pod.status.conditions ??= []);
  let c = cs.find((x) => x.type === type);
  if (!c) {
    c = { type, status: '' };
    cs.push(c);
    cs.sort((a, b) => COND_ORDER.indexOf(a.type) - COND_ORDER.indexOf(b.type));
  }
  if (c.status !== status) c.lastTransitionTime = isoSec(t);
  c.status = status;
  c.lastProbeTime = null;
  if (reason) c.reason = reason;
  else delete c.reason;
  if (message) c.message = message;
  else delete c.message;
  // keep the field order of the API: type, status, lastProbeTime, lastTransitionTime, reason, message
  const { lastProbeTime, lastTransitionTime, reason: r, message: m } = c;
  for (const k of Object.keys(c)) if (k !== 'type' && k !== 'status') delete c[k];
  Object.assign(c, { lastProbeTime, lastTransitionTime }, r ? { reason: r } : {}, m ? { message: m } : {});
}

const podKey = (pod) => `${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`;
const containerName = (pod) => pod.spec.containers[0].name;
const imageOf = (pod) => pod.spec.containers[0].image;

function makePod(rs, created, suffix = safeString(5)) {
  const spec = clone(rs.spec.template.spec);
  spec.tolerations = [
    { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
    { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
  ];
  spec.enableServiceLinks = true;
  spec.preemptionPolicy = 'PreemptLowerPriority';
  spec.priority = 0;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `${rs.metadata.name}-${suffix}`,
      generateName: `${rs.metadata.name}-`,
      namespace: rs.metadata.namespace,
      uid: uuid(),
      resourceVersion: '',
      creationTimestamp: isoSec(created),
      labels: { ...rs.spec.template.metadata.labels },
      ownerReferences: [ownerRef(rs)],
    },
    spec,
    status: { phase: 'Pending', qosClass: 'Burstable' },
  };
}

/** The scheduler could not place the pod. */
function podUnschedulable(pod, t, message) {
  setCond(pod, 'PodScheduled', 'False', t, 'Unschedulable', message);
}

/** Bound to a node, sandbox and containers being created. */
function podBound(pod, node, t) {
  pod.spec.nodeName = node;
  setCond(pod, 'PodReadyToStartContainers', 'False', t);
  setCond(pod, 'Initialized', 'True', t);
  setCond(pod, 'Ready', 'False', t, 'ContainersNotReady', `containers with unready status: [${containerName(pod)}]`);
  setCond(pod, 'ContainersReady', 'False', t, 'ContainersNotReady', `containers with unready status: [${containerName(pod)}]`);
  setCond(pod, 'PodScheduled', 'True', t);
  pod.status.hostIP = NODE_IPS[node];
  pod.status.hostIPs = [{ ip: NODE_IPS[node] }];
  pod.status.startTime = isoSec(t);
  pod.status.containerStatuses = [
    {
      name: containerName(pod),
      state: { waiting: { reason: 'ContainerCreating' } },
      lastState: {},
      ready: false,
      restartCount: 0,
      image: imageOf(pod),
      imageID: '',
      started: false,
    },
  ];
  orderPodStatus(pod);
}

function orderPodStatus(pod) {
  const s = pod.status;
  const order = ['phase', 'conditions', 'hostIP', 'hostIPs', 'podIP', 'podIPs', 'startTime', 'containerStatuses', 'qosClass'];
  pod.status = {};
  for (const k of order) if (s[k] !== undefined) pod.status[k] = s[k];
}

function containerStatus(pod) {
  return pod.status.containerStatuses[0];
}

/** Sandbox ready, pod IP assigned. */
function podSandbox(pod, t) {
  setCond(pod, 'PodReadyToStartContainers', 'True', t);
  if (!pod.status.podIP) {
    const ip = nextPodIp(pod.spec.nodeName);
    pod.status.podIP = ip;
    pod.status.podIPs = [{ ip }];
  }
  orderPodStatus(pod);
}

/** The container is running (and ready unless `ready` is false). */
function podRunning(pod, t, ready = true) {
  podSandbox(pod, t);
  pod.status.phase = 'Running';
  const cs = containerStatus(pod);
  cs.state = { running: { startedAt: isoSec(t) } };
  cs.ready = ready;
  cs.started = true;
  cs.containerID = containerId();
  if (!cs.imageID) cs.imageID = imageId(cs.image);
  setReady(pod, ready, t);
  orderContainerStatus(pod);
}

function setReady(pod, ready, t) {
  const msg = ready ? undefined : `containers with unready status: [${containerName(pod)}]`;
  setCond(pod, 'Ready', ready ? 'True' : 'False', t, ready ? undefined : 'ContainersNotReady', msg);
  setCond(pod, 'ContainersReady', ready ? 'True' : 'False', t, ready ? undefined : 'ContainersNotReady', msg);
  containerStatus(pod).ready = ready;
}

function orderContainerStatus(pod) {
  const cs = containerStatus(pod);
  const order = ['containerID', 'image', 'imageID', 'lastState', 'name', 'ready', 'restartCount', 'started', 'state'];
  const out = {};
  for (const k of order) if (cs[k] !== undefined) out[k] = cs[k];
  pod.status.containerStatuses[0] = out;
}

/** The current container exited: state.terminated (kubelet reports this before it backs off). */
function podContainerExited(pod, t, reason, exitCode) {
  const cs = containerStatus(pod);
  const startedAt = cs.state.running?.startedAt ?? isoSec(t - 3000);
  cs.state = { terminated: { containerID: cs.containerID, exitCode, finishedAt: isoSec(t), reason, startedAt } };
  cs.started = false;
  setReady(pod, false, t);
  orderContainerStatus(pod);
}

/** Back-off after an exit: state.waiting CrashLoopBackOff, lastState.terminated = the exit. */
function podCrashLoopBackOff(pod, t, backoffSeconds) {
  const cs = containerStatus(pod);
  if (cs.state.terminated) cs.lastState = { terminated: cs.state.terminated };
  const b = backoffSeconds >= 60 ? `${Math.floor(backoffSeconds / 60)}m${backoffSeconds % 60 ? `${backoffSeconds % 60}s` : '0s'}` : `${backoffSeconds}s`;
  cs.state = { waiting: { message: `back-off ${b} restarting failed container=${cs.name} pod=${podKey(pod)}`, reason: 'CrashLoopBackOff' } };
  cs.started = false;
  setReady(pod, false, t);
  orderContainerStatus(pod);
}

/** The kubelet restarted the container after its back-off. */
function podRestarted(pod, t) {
  const cs = containerStatus(pod);
  if (cs.state.terminated) cs.lastState = { terminated: cs.state.terminated };
  cs.restartCount += 1;
  cs.state = { running: { startedAt: isoSec(t) } };
  cs.started = true;
  cs.containerID = containerId();
  orderContainerStatus(pod);
}

function podWaiting(pod, t, reason, message) {
  const cs = containerStatus(pod);
  cs.state = { waiting: message ? { message, reason } : { reason } };
  cs.ready = false;
  orderContainerStatus(pod);
}

/** A pod already running when the recording starts (created days ago). */
function existingPod(rs, node, createdAgoSeconds) {
  const created = at(-createdAgoSeconds);
  const pod = makePod(rs, created);
  podBound(pod, node, created);
  podRunning(pod, created + 4000);
  return pod;
}

// ---------------------------------------------------------------- events

const CONTROL_PLANE = 'control-plane-1';
/** reportingController and reportingInstance as each component writes them. */
const BY = {
  scheduler: { controller: 'default-scheduler', instance: `default-scheduler-${CONTROL_PLANE}` },
  kubelet: (node) => ({ controller: 'kubelet', instance: node }),
  deployment: { controller: 'deployment-controller', instance: `deployment-controller-kube-controller-manager-${CONTROL_PLANE}` },
  replicaset: { controller: 'replicaset-controller', instance: `replicaset-controller-kube-controller-manager-${CONTROL_PLANE}` },
  node: { controller: 'node-controller', instance: `node-controller-kube-controller-manager-${CONTROL_PLANE}` },
  taint: { controller: 'taint-eviction-controller', instance: `taint-eviction-controller-kube-controller-manager-${CONTROL_PLANE}` },
  hpa: { controller: 'horizontal-pod-autoscaler', instance: `horizontal-pod-autoscaler-kube-controller-manager-${CONTROL_PLANE}` },
};

/** Every Event object generated (events.k8s.io/v1 and core/v1), live state; `deleted` once TTL-expired. */
const EVENTS = [];
const eventsByKey = new Map();

function eventName(objName, t) {
  const nanos = BigInt(t) * 1000000n + BigInt(randInt(0, 999999));
  return `${objName}.${nanos.toString(16)}`;
}

function buildEvent(e) {
  const o = { apiVersion: 'events.k8s.io/v1', kind: 'Event', metadata: e.metadata, eventTime: e.eventTime };
  if (e.count > 1) o.series = { count: e.count, lastObservedTime: e.lastObservedTime };
  o.reportingController = e.by.controller;
  o.reportingInstance = e.by.instance;
  if (e.action) o.action = e.action;
  o.reason = e.reason;
  o.regarding = e.regarding;
  o.note = e.note;
  o.type = e.type;
  return o;
}

/**
 * One occurrence of an Event, the way the events.k8s.io/v1 recorder writes it: the first one
 * creates the Event (ADDED), a repeat (same regarding, reason, note, reporter) updates it in place
 * with series.count bumped (MODIFIED).
 */
function record(t, obj, { reason, type = 'Normal', note, by, fieldPath, action, seed }) {
  const regarding = ref(obj, fieldPath);
  const key = [regarding.uid, fieldPath ?? '', reason, note, by.controller, action ?? ''].join('|');
  let e = eventsByKey.get(key);
  if (!e) {
    e = {
      api: 'events.k8s.io/v1',
      metadata: {
        name: eventName(regarding.name, t),
        namespace: obj.metadata.namespace ?? 'default',
        uid: uuid(),
        resourceVersion: '',
        creationTimestamp: isoSec(t),
      },
      eventTime: isoMicro(t),
      by,
      action,
      reason,
      regarding,
      note,
      type,
      count: 1,
      first: t,
      last: t,
      lastObservedTime: null,
      times: [t],
      deleted: null,
    };
    if (seed) {
      // an Event that already had `seed.count` occurrences since seed.first when the recording starts
      e.count = seed.count;
      e.first = seed.first;
      e.eventTime = isoMicro(seed.first);
      e.metadata.name = eventName(regarding.name, seed.first);
      e.metadata.creationTimestamp = isoSec(seed.first);
      e.lastObservedTime = isoMicro(t);
      e.times = [];
    }
    eventsByKey.set(key, e);
    EVENTS.push(e);
    e.object = buildEvent(e);
    emit(t, 'ADDED', e.object);
    return e;
  }
  e.count += 1;
  e.last = t;
  e.times.push(t);
  e.lastObservedTime = isoMicro(t);
  e.object = buildEvent(e);
  emit(t, 'MODIFIED', e.object);
  return e;
}

/** An Event in the core/v1 shape (kubelet's legacy recorder, as a core/v1 watch shows it). */
function recordCoreV1(t, node, { reason, type = 'Normal', message }) {
  const e = {
    api: 'v1',
    metadata: { name: eventName(node, t), namespace: 'default', uid: uuid(), resourceVersion: '', creationTimestamp: isoSec(t) },
    reason,
    type,
    note: message,
    by: BY.kubelet(node),
    // the kubelet's node reference carries the node name as its UID
    regarding: { kind: 'Node', name: node, uid: node },
    count: 1,
    first: t,
    last: t,
    times: [t],
    deleted: null,
  };
  e.object = {
    kind: 'Event',
    apiVersion: 'v1',
    metadata: e.metadata,
    involvedObject: e.regarding,
    reason,
    message,
    source: { component: 'kubelet', host: node },
    firstTimestamp: isoSec(t),
    lastTimestamp: isoSec(t),
    count: 1,
    type,
    eventTime: null,
    reportingComponent: 'kubelet',
    reportingInstance: node,
  };
  EVENTS.push(e);
  emit(t, 'ADDED', e.object);
  return e;
}

/** TTL expiry (--event-ttl, 1h after the last write): the API deletes the Event. */
function expire(e, t) {
  e.deleted = t;
  emit(t, 'DELETED', e.object);
}

// ---------------------------------------------------------------- shared story helpers

/** Workloads by "namespace/name": { dep, rs, pods, oldRs }. */
const W = {};

function existingWorkload(ns, name, spec, nodes, ageDays) {
  const created = at(-86400 * ageDays);
  const dep = makeDeployment(ns, name, { ...spec, generation: spec.revision ?? 1 }, created);
  const rsCreated = created + (spec.revision ?? 1) * 3600_000;
  const rs = makeReplicaSet(dep, spec.hash ?? safeString(randInt(8, 10)), spec.replicas, spec.revision ?? 1, rsCreated);
  setProgressing(dep, rs, rsCreated, 'NewReplicaSetAvailable');
  const pods = nodes.map((n) => existingPod(rs, n, Math.round((T0 - rsCreated) / 1000) - randInt(60, 3600)));
  W[`${ns}/${name}`] = { dep, rs, pods };
  return W[`${ns}/${name}`];
}

const fp = (pod) => `spec.containers{${containerName(pod)}}`;

function setDeploymentStatus(dep, { replicas, updated, ready, available }) {
  const unavailable = Math.max(0, replicas - available);
  const s = { observedGeneration: dep.metadata.generation, replicas, updatedReplicas: updated, readyReplicas: ready, availableReplicas: available };
  if (unavailable > 0) s.unavailableReplicas = unavailable;
  if (ready === 0) delete s.readyReplicas;
  if (available === 0) delete s.availableReplicas;
  const av = dep.status.conditions.find((c) => c.type === 'Available');
  s.conditions = dep.status.conditions;
  dep.status = s;
  return av;
}

/** deployment-controller scales a ReplicaSet: ScalingReplicaSet on the Deployment, the RS updated. */
function scaleRs(t, w, rs, from, to, readyNow) {
  const up = to > from;
  record(t, w.dep, {
    reason: 'ScalingReplicaSet',
    note: `Scaled ${up ? 'up' : 'down'} replica set ${rs.metadata.name} from ${from} to ${to}`,
    by: BY.deployment,
  });
  rs.metadata.annotations['deployment.kubernetes.io/desired-replicas'] = String(w.dep.spec.replicas);
  setRsReplicas(rs, to, readyNow ?? Math.min(rs.status.readyReplicas ?? 0, to));
  emit(t + 3, 'MODIFIED', rs);
}

/** replicaset-controller creates a pod (unscheduled). */
function createPod(t, w, rs, suffix) {
  const pod = makePod(rs, t, suffix);
  emit(t, 'ADDED', pod);
  record(t + 2, rs, { reason: 'SuccessfulCreate', note: `Created pod: ${pod.metadata.name}`, by: BY.replicaset });
  return pod;
}

/**
 * Scheduled → sandbox → (pull) → Created → Started → ready. Returns the time the pod became ready.
 * `pull`: null = image already present, else { seconds, bytes }.
 */
function startPod(t, pod, node, pull = null, readyAfterMs = 6000) {
  record(t, pod, {
    reason: 'Scheduled',
    note: `Successfully assigned ${pod.metadata.namespace}/${pod.metadata.name} to ${node}`,
    by: BY.scheduler,
    action: 'Binding',
  });
  podBound(pod, node, t);
  emit(t + 5, 'MODIFIED', pod);
  const kubelet = BY.kubelet(node);
  let u = t + randInt(700, 1400);
  const image = imageOf(pod);
  if (pull) {
    record(u, pod, { reason: 'Pulling', note: `Pulling image "${image}"`, by: kubelet, fieldPath: fp(pod) });
    const took = pull.seconds.toFixed(3).replace(/\.?0+$/, '');
    u += Math.round(pull.seconds * 1000);
    record(u, pod, {
      reason: 'Pulled',
      note: `Successfully pulled image "${image}" in ${took}s (${took}s including waiting). Image size: ${pull.bytes} bytes.`,
      by: kubelet,
      fieldPath: fp(pod),
    });
  } else {
    record(u, pod, { reason: 'Pulled', note: `Container image "${image}" already present on machine`, by: kubelet, fieldPath: fp(pod) });
  }
  u += randInt(60, 250);
  record(u, pod, { reason: 'Created', note: `Created container: ${containerName(pod)}`, by: kubelet, fieldPath: fp(pod) });
  u += randInt(150, 400);
  record(u, pod, { reason: 'Started', note: `Started container: ${containerName(pod)}`, by: kubelet, fieldPath: fp(pod) });
  podRunning(pod, u, false);
  emit(u + 300, 'MODIFIED', pod);
  const ready = u + readyAfterMs;
  setReady(pod, true, ready);
  emit(ready, 'MODIFIED', pod);
  return ready;
}

/** Graceful deletion by a controller: deletionTimestamp set, kubelet stops the container, object deleted. */
function deletePod(t, pod, { by = null, rs = null, kill = true } = {}) {
  if (rs) record(t, rs, { reason: 'SuccessfulDelete', note: `Deleted pod: ${pod.metadata.name}`, by: BY.replicaset });
  pod.metadata.deletionTimestamp = isoSec(t + 30_000);
  pod.metadata.deletionGracePeriodSeconds = 30;
  emit(t + 4, 'MODIFIED', pod);
  const node = pod.spec.nodeName;
  const done = t + randInt(1200, 2600);
  if (kill) {
    // a running container is stopped; a crash-looping one has nothing to stop
    record(t + 40, pod, { reason: 'Killing', note: `Stopping container ${containerName(pod)}`, by: by ?? BY.kubelet(node), fieldPath: fp(pod) });
    podContainerExited(pod, done, 'Completed', 0);
    pod.status.phase = 'Succeeded';
    orderPodStatus(pod);
    emit(done, 'MODIFIED', pod);
  }
  emit(done + randInt(20, 90), 'DELETED', pod);
}

// ---------------------------------------------------------------- the cluster at 10:00:00 (initial list)

function initialState() {
  for (const n of ['node-a', 'node-b', 'node-c']) makeNode(n, at(-randInt(5, 60)));
  existingWorkload(
    'payments',
    'ledger',
    { replicas: 2, image: 'registry.example.com/payments-ledger:v3.9.2', cpu: '500m', revision: 4 },
    ['node-a', 'node-b'],
    61,
  );
  existingWorkload('shop', 'checkout', { replicas: 1, image: 'registry.example.com/shop-checkout:v1.8.0', cpu: '300m', revision: 7 }, ['node-b'], 90);
  existingWorkload(
    'shop',
    'cart',
    { replicas: 1, image: 'registry.example.com/shop-cart:v2.0.3', cpu: '200m', memory: '256Mi', memoryRequest: '128Mi', revision: 3 },
    ['node-c'],
    90,
  );
  existingWorkload(
    'shop',
    'search',
    { replicas: 3, image: 'registry.example.com/shop-search:v5.1.0', cpu: '1000m', memory: '2Gi', memoryRequest: '1Gi', revision: 12 },
    ['node-a', 'node-a', 'node-c'],
    120,
  );
  existingWorkload('web', 'frontend', { replicas: 2, image: 'registry.example.com/frontend:v2.3.0', cpu: '250m', revision: 18 }, ['node-b', 'node-c'], 200);
  const batch = existingWorkload(
    'batch',
    'worker',
    {
      replicas: 6,
      image: 'registry.example.com/batch-worker:2.14.0',
      container: 'worker',
      cpu: '250m',
      memory: '1Gi',
      probes: true,
      volume: 'data',
      revision: 5,
    },
    ['node-b', 'node-c', 'node-b', 'node-c', 'node-b', 'node-c'],
    30,
  );
  // batch workers are replaced two at a time (no surge: the nodes are full)
  batch.dep.spec.strategy.rollingUpdate = { maxSurge: 0, maxUnavailable: '50%' };
  existingWorkload(
    'monitoring',
    'kube-state-metrics',
    { replicas: 1, image: 'registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.15.0', container: 'kube-state-metrics', cpu: '100m', revision: 2 },
    ['node-a'],
    300,
  );
  existingWorkload(
    'monitoring',
    'grafana',
    { replicas: 1, image: 'docker.io/grafana/grafana:11.4.0', container: 'grafana', cpu: '200m', port: 3000, revision: 6 },
    ['node-a'],
    300,
  );

  // kube-state-metrics was rolled out at 09:37: its pod is young, and the rollout's Events are still
  // stored (they expire at ~10:37, an hour after their last write)
  const ksm = W['monitoring/kube-state-metrics'];
  const ksmPod = ksm.pods[0];
  const t = at(-(22 * 60 + 58));
  ksm.oldRsName = `kube-state-metrics-${safeString(9)}`;
  ksm.rs.metadata.creationTimestamp = isoSec(t);
  ksmPod.metadata.creationTimestamp = isoSec(t + 100);
  ksmPod.status.startTime = isoSec(t + 150);
  ksmPod.status.containerStatuses[0].state.running.startedAt = isoSec(t + 3900);
  for (const c of ksmPod.status.conditions) c.lastTransitionTime = isoSec(t + 4000);
  const node = ksmPod.spec.nodeName;
  const image = imageOf(ksmPod);
  return { ksm, ksmPod, node, image, t, old: [] };
}

function emitInitialList() {
  const ctx = initialState();
  listClock = T0;
  for (const n of Object.values(NODES)) emit(0, 'ADDED', n);
  for (const w of Object.values(W)) emit(0, 'ADDED', w.dep);
  for (const w of Object.values(W)) emit(0, 'ADDED', w.rs);
  for (const w of Object.values(W)) for (const p of w.pods) emit(0, 'ADDED', p);

  // Events stored before the recording started
  const { ksm, ksmPod, node, image, t, old } = ctx;
  old.push(record(t, ksm.dep, { reason: 'ScalingReplicaSet', note: `Scaled up replica set ${ksm.rs.metadata.name} from 0 to 1`, by: BY.deployment }));
  old.push(record(t + 60, ksm.rs, { reason: 'SuccessfulCreate', note: `Created pod: ${ksmPod.metadata.name}`, by: BY.replicaset }));
  old.push(
    record(t + 95, ksmPod, {
      reason: 'Scheduled',
      note: `Successfully assigned monitoring/${ksmPod.metadata.name} to ${node}`,
      by: BY.scheduler,
      action: 'Binding',
    }),
  );
  old.push(
    record(t + 3710, ksmPod, {
      reason: 'Pulled',
      note: `Successfully pulled image "${image}" in 2.91s (2.91s including waiting). Image size: 16087424 bytes.`,
      by: BY.kubelet(node),
      fieldPath: fp(ksmPod),
    }),
  );
  old.push(record(t + 3890, ksmPod, { reason: 'Started', note: `Started container: ${containerName(ksmPod)}`, by: BY.kubelet(node), fieldPath: fp(ksmPod) }));
  old.push(record(t + 16_200, ksm.dep, { reason: 'ScalingReplicaSet', note: `Scaled down replica set ${ksm.oldRsName} from 1 to 0`, by: BY.deployment }));

  // batch/worker-0's readiness probe has been timing out every few minutes for a while
  const w0 = W['batch/worker'].pods[0];
  ctx.batchBaseline = record(at(-(1 * 60 + 20)), w0, {
    reason: 'Unhealthy',
    type: 'Warning',
    note: `Readiness probe failed: Get "http://${w0.status.podIP}:8080/ready": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`,
    by: BY.kubelet(w0.spec.nodeName),
    fieldPath: fp(w0),
    seed: { count: 41, first: at(-(3 * 3600 + 12 * 60 + 7)) },
  });
  listClock = null;
  return ctx;
}

// ---------------------------------------------------------------- story: monitoring/grafana rollout (normal)

function grafanaRollout() {
  const w = W['monitoring/grafana'];
  const t = at('03:05');
  w.dep.spec.template.spec.containers[0].image = 'docker.io/grafana/grafana:11.5.2';
  w.dep.metadata.generation += 1;
  w.dep.metadata.annotations['deployment.kubernetes.io/revision'] = '7';
  emit(t, 'MODIFIED', w.dep);
  const oldRs = w.rs;
  const rs = makeReplicaSet(w.dep, safeString(9), 0, 7, t + 20);
  rs.status = { replicas: 0, observedGeneration: 1 };
  emit(t + 20, 'ADDED', rs);
  setProgressing(w.dep, rs, t + 25, 'NewReplicaSetCreated');
  scaleRs(t + 30, w, rs, 0, 1, 0);
  const pod = createPod(t + 60, w, rs);
  setDeploymentStatus(w.dep, { replicas: 2, updated: 1, ready: 1, available: 1 });
  emit(t + 70, 'MODIFIED', w.dep);
  const ready = startPod(t + 90, pod, 'node-a', { seconds: 4.871, bytes: 147093544 }, 9000);
  setRsReplicas(rs, 1, 1);
  emit(ready + 10, 'MODIFIED', rs);
  scaleRs(ready + 40, w, oldRs, 1, 0, 0);
  deletePod(ready + 60, w.pods[0], { rs: oldRs });
  setProgressing(w.dep, rs, ready + 80, 'NewReplicaSetAvailable');
  setDeploymentStatus(w.dep, { replicas: 1, updated: 1, ready: 1, available: 1 });
  emit(ready + 2500, 'MODIFIED', w.dep);
  w.rs = rs;
  w.pods = [pod];
}

// ---------------------------------------------------------------- story 1: payments/api cannot be scheduled

const FAILED_SCHEDULING_NOTE =
  '0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.';

function paymentsApiStory() {
  const t = at('01:30');
  const dep = makeDeployment(
    'payments',
    'api',
    { replicas: 3, image: 'registry.example.com/payments-api:v4.2.0', cpu: '1200m', memory: '1Gi', memoryRequest: '768Mi' },
    t,
  );
  dep.status = {};
  emit(t, 'ADDED', dep);
  const rs = makeReplicaSet(dep, '7d9f8b6c5', 0, 1, t + 30);
  rs.status = { replicas: 0, observedGeneration: 1 };
  emit(t + 30, 'ADDED', rs);
  const w = { dep, rs, pods: [] };
  W['payments/api'] = w;
  scaleRs(t + 35, w, rs, 0, 3, 0);
  dep.status = {
    observedGeneration: 1,
    replicas: 0,
    conditions: [
      {
        type: 'Available',
        status: 'False',
        lastUpdateTime: isoSec(t),
        lastTransitionTime: isoSec(t),
        reason: 'MinimumReplicasUnavailable',
        message: 'Deployment does not have minimum availability.',
      },
      {
        type: 'Progressing',
        status: 'True',
        lastUpdateTime: isoSec(t),
        lastTransitionTime: isoSec(t),
        reason: 'NewReplicaSetCreated',
        message: `Created new replica set "${rs.metadata.name}"`,
      },
    ],
  };
  emit(t + 40, 'MODIFIED', dep);
  const p1 = createPod(t + 60, w, rs);
  const p2 = createPod(t + 75, w, rs);
  const p3 = createPod(t + 88, w, rs, 'x2x9q');
  w.pods = [p1, p2, p3];
  w.stuck = p3;
  setDeploymentStatus(dep, { replicas: 3, updated: 3, ready: 0, available: 0 });
  setProgressing(dep, rs, t + 120, 'ReplicaSetUpdated');
  emit(t + 120, 'MODIFIED', dep);
  const r1 = startPod(t + 140, p1, 'node-b', { seconds: 2.314, bytes: 48213345 }, 11000);
  const r2 = startPod(t + 190, p2, 'node-c', { seconds: 2.957, bytes: 48213345 }, 12500);

  // the third pod does not fit anywhere: the scheduler retries on every cluster change
  const failures = ['01:30.310', '01:31.420', '01:33.650', '01:48.900', '02:24.150', '03:02.700', '03:41.050', '04:19.500', '07:36.200', '12:36.800'];
  let first = true;
  for (const f of failures) {
    const u = at(f);
    record(u, p3, { reason: 'FailedScheduling', type: 'Warning', note: FAILED_SCHEDULING_NOTE, by: BY.scheduler, action: 'Scheduling' });
    if (first) {
      podUnschedulable(p3, u, FAILED_SCHEDULING_NOTE);
      emit(u + 3, 'MODIFIED', p3);
      first = false;
    }
  }
  setRsReplicas(rs, 3, 2);
  emit(Math.max(r1, r2) + 20, 'MODIFIED', rs);
  setDeploymentStatus(dep, { replicas: 3, updated: 3, ready: 2, available: 2 });
  dep.status.conditions[0] = {
    type: 'Available',
    status: 'True',
    lastUpdateTime: isoSec(r2 + 30),
    lastTransitionTime: isoSec(r2 + 30),
    reason: 'MinimumReplicasAvailable',
    message: 'Deployment has minimum availability.',
  };
  emit(Math.max(r1, r2) + 30, 'MODIFIED', dep);

  // 10:14:20 shop/search is scaled down 3 -> 2: its pod on node-c goes, freeing the cpu
  const s = W['shop/search'];
  s.dep.spec.replicas = 2;
  s.dep.metadata.generation += 1;
  const d = at('14:20');
  emit(d, 'MODIFIED', s.dep);
  scaleRs(d + 15, s, s.rs, 3, 2, 2);
  const victim = s.pods.find((p) => p.spec.nodeName === 'node-c');
  deletePod(d + 40, victim, { rs: s.rs });
  s.pods = s.pods.filter((p) => p !== victim);
  setDeploymentStatus(s.dep, { replicas: 2, updated: 2, ready: 2, available: 2 });
  emit(d + 3000, 'MODIFIED', s.dep);

  // the scheduler places the pending api pod on node-c
  const placed = at('14:23.700');
  const ready = startPod(placed, p3, 'node-c', { seconds: 1.804, bytes: 48213345 }, 12000);
  w.scheduledAt = placed;
  setRsReplicas(rs, 3, 3);
  emit(ready + 15, 'MODIFIED', rs);
  setDeploymentStatus(dep, { replicas: 3, updated: 3, ready: 3, available: 3 });
  setProgressing(dep, rs, ready + 20, 'NewReplicaSetAvailable');
  emit(ready + 20, 'MODIFIED', dep);
}

// ---------------------------------------------------------------- a rollout that replaces a single-replica Deployment's pod

function replaceSinglePod(t, w, revision, mutate, node, pull) {
  mutate(w.dep.spec.template.spec.containers[0]);
  w.dep.metadata.generation += 1;
  w.dep.metadata.annotations['deployment.kubernetes.io/revision'] = String(revision);
  emit(t, 'MODIFIED', w.dep);
  const oldRs = w.rs;
  const rs = makeReplicaSet(w.dep, safeString(randInt(9, 10)), 0, revision, t + 20);
  rs.status = { replicas: 0, observedGeneration: 1 };
  emit(t + 20, 'ADDED', rs);
  scaleRs(t + 30, w, rs, 0, 1, 0);
  const pod = createPod(t + 50, w, rs);
  const ready = startPod(t + 80, pod, node, pull, 5000);
  setRsReplicas(rs, 1, 1);
  emit(ready + 10, 'MODIFIED', rs);
  scaleRs(ready + 30, w, oldRs, 1, 0, 0);
  deletePod(ready + 50, w.pods[0], { rs: oldRs, kill: false });
  setProgressing(w.dep, rs, ready + 60, 'NewReplicaSetAvailable');
  setDeploymentStatus(w.dep, { replicas: 1, updated: 1, ready: 1, available: 1 });
  w.dep.status.conditions[0] = {
    ...w.dep.status.conditions[0],
    status: 'True',
    reason: 'MinimumReplicasAvailable',
    message: 'Deployment has minimum availability.',
    lastUpdateTime: isoSec(ready),
    lastTransitionTime: isoSec(ready),
  };
  emit(ready + 2400, 'MODIFIED', w.dep);
  w.rs = rs;
  w.pods = [pod];
  return ready;
}

function markUnavailable(t, w) {
  setRsReplicas(w.rs, w.rs.spec.replicas, 0);
  emit(t, 'MODIFIED', w.rs);
  setDeploymentStatus(w.dep, { replicas: 1, updated: 1, ready: 0, available: 0 });
  const av = w.dep.status.conditions[0];
  Object.assign(av, {
    status: 'False',
    reason: 'MinimumReplicasUnavailable',
    message: 'Deployment does not have minimum availability.',
    lastUpdateTime: isoSec(t),
    lastTransitionTime: isoSec(t),
  });
  emit(t + 5, 'MODIFIED', w.dep);
}

/**
 * A container that keeps dying: `exits` = [{ at, reason, exitCode }]: the first restart is
 * immediate, later ones wait the kubelet's back-off (10s doubling, max 5m) in CrashLoopBackOff with
 * BackOff Warnings every `repeat` seconds. Returns the count of restarts.
 */
function crashLoop(pod, exits, { runSeconds, repeat, until }) {
  const node = pod.spec.nodeName;
  const kubelet = BY.kubelet(node);
  const note = `Back-off restarting failed container ${containerName(pod)} in pod ${podKey(pod)}`;
  let t = exits.start;
  for (let k = 0; ; k++) {
    podContainerExited(pod, t, exits.reason, exits.exitCode);
    emit(t, 'MODIFIED', pod);
    const backoff = k === 0 ? 0 : Math.min(10 * 2 ** (k - 1), 300);
    let restart;
    if (backoff === 0) {
      restart = t + randInt(900, 1400);
    } else {
      podCrashLoopBackOff(pod, t + 600, backoff);
      emit(t + 600, 'MODIFIED', pod);
      restart = t + 600 + backoff * 1000 + randInt(200, 900);
      for (let u = t + 650; u < Math.min(restart, until); u += repeat[0] * 1000 + randInt(0, (repeat[1] - repeat[0]) * 1000)) {
        record(u, pod, { reason: 'BackOff', type: 'Warning', note, by: kubelet, fieldPath: fp(pod) });
      }
    }
    if (restart >= until || containerStatus(pod).restartCount >= exits.maxRestarts) return containerStatus(pod).restartCount;
    podRestarted(pod, restart);
    emit(restart + 300, 'MODIFIED', pod);
    record(restart - 400, pod, { reason: 'Pulled', note: `Container image "${imageOf(pod)}" already present on machine`, by: kubelet, fieldPath: fp(pod) });
    record(restart - 200, pod, { reason: 'Created', note: `Created container: ${containerName(pod)}`, by: kubelet, fieldPath: fp(pod) });
    record(restart, pod, { reason: 'Started', note: `Started container: ${containerName(pod)}`, by: kubelet, fieldPath: fp(pod) });
    t = restart + (runSeconds[0] * 1000 + randInt(0, (runSeconds[1] - runSeconds[0]) * 1000));
  }
}

// ---------------------------------------------------------------- story 2: shop/checkout crash loop (node-b), shop/cart OOMKilled (node-c)

function checkoutCrashLoop() {
  const w = W['shop/checkout'];
  const pod = w.pods[0];
  const start = at('05:10.400');
  const restarts = crashLoop(pod, { start, reason: 'Error', exitCode: 1, maxRestarts: 8 }, { runSeconds: [3, 5], repeat: [25, 55], until: at('23:10') });
  markUnavailable(start + 900, w);
  w.crash = { pod, restarts };
  // 10:23:10 the team ships v1.8.1: the new pod runs, the crash-looping one goes
  replaceSinglePod(at('23:10'), w, 8, (c) => (c.image = 'registry.example.com/shop-checkout:v1.8.1'), 'node-b', { seconds: 1.92, bytes: 61533190 });
}

function cartOomKilled() {
  const w = W['shop/cart'];
  const pod = w.pods[0];
  const start = at('27:31.200');
  const restarts = crashLoop(
    pod,
    { start, reason: 'OOMKilled', exitCode: 137, maxRestarts: 4 },
    { runSeconds: [38, 55], repeat: [20, 40], until: at('33:00') },
  );
  markUnavailable(start + 700, w);
  w.oom = { pod, restarts };
  // 10:33:00 memory limit raised to 512Mi
  replaceSinglePod(at('33:00'), w, 4, (c) => (c.resources.limits.memory = '512Mi'), 'node-c', null);
}

// ---------------------------------------------------------------- story: web/frontend v2.3.1 cannot be pulled

const FRONTEND_IMAGE = 'registry.example.com/frontend:v2.3.1';
const PULL_ERROR = `rpc error: code = NotFound desc = failed to pull and unpack image "${FRONTEND_IMAGE}": failed to resolve reference "${FRONTEND_IMAGE}": ${FRONTEND_IMAGE}: not found`;

function frontendImagePull() {
  const w = W['web/frontend'];
  const t = at('08:00');
  w.dep.spec.template.spec.containers[0].image = FRONTEND_IMAGE;
  w.dep.metadata.generation += 1;
  w.dep.metadata.annotations['deployment.kubernetes.io/revision'] = '19';
  emit(t, 'MODIFIED', w.dep);
  const rs = makeReplicaSet(w.dep, safeString(10), 0, 19, t + 20);
  rs.status = { replicas: 0, observedGeneration: 1 };
  emit(t + 20, 'ADDED', rs);
  setProgressing(w.dep, rs, t + 25, 'NewReplicaSetCreated');
  scaleRs(t + 30, w, rs, 0, 1, 0);
  const pod = createPod(t + 50, w, rs);
  setDeploymentStatus(w.dep, { replicas: 3, updated: 1, ready: 2, available: 2 });
  setProgressing(w.dep, rs, t + 60, 'ReplicaSetUpdated');
  emit(t + 60, 'MODIFIED', w.dep);
  record(t + 80, pod, { reason: 'Scheduled', note: `Successfully assigned web/${pod.metadata.name} to node-b`, by: BY.scheduler, action: 'Binding' });
  podBound(pod, 'node-b', t + 80);
  emit(t + 85, 'MODIFIED', pod);
  podSandbox(pod, t + 900);
  emit(t + 900, 'MODIFIED', pod);
  const kubelet = BY.kubelet('node-b');
  const opts = { by: kubelet, fieldPath: fp(pod) };
  const end = at('40:00');
  let attempt = t + 1300;
  let deadlineReported = false;
  for (let k = 0; attempt < end; k++) {
    record(attempt, pod, { ...opts, reason: 'Pulling', note: `Pulling image "${FRONTEND_IMAGE}"` });
    const failed = attempt + randInt(400, 1100);
    record(failed, pod, { ...opts, reason: 'Failed', type: 'Warning', note: `Failed to pull image "${FRONTEND_IMAGE}": ${PULL_ERROR}` });
    record(failed + 2, pod, { ...opts, reason: 'Failed', type: 'Warning', note: 'Error: ErrImagePull' });
    podWaiting(pod, failed, 'ErrImagePull', PULL_ERROR);
    emit(failed + 30, 'MODIFIED', pod);
    const backoff = Math.min(10 * 2 ** k, 300);
    const next = failed + backoff * 1000 + randInt(300, 1500);
    let u = failed + randInt(900, 1600);
    podWaiting(pod, u, 'ImagePullBackOff', `Back-off pulling image "${FRONTEND_IMAGE}"`);
    emit(u + 20, 'MODIFIED', pod);
    for (; u < next - 2000 && u < end; u += randInt(50, 95) * 1000) {
      record(u, pod, { ...opts, reason: 'BackOff', note: `Back-off pulling image "${FRONTEND_IMAGE}"` });
      record(u + 3, pod, { ...opts, reason: 'Failed', type: 'Warning', note: 'Error: ImagePullBackOff' });
    }
    if (!deadlineReported && next > t + 600_000) {
      // progressDeadlineSeconds (600) passed without the new ReplicaSet becoming available
      setProgressing(w.dep, rs, t + 600_400, 'ProgressDeadlineExceeded');
      emit(t + 600_400, 'MODIFIED', w.dep);
      deadlineReported = true;
    }
    attempt = next;
  }
  w.pull = { pod, rs };
}

// ---------------------------------------------------------------- story 4: Warning storm in namespace batch

const readinessNote = (pod) =>
  `Readiness probe failed: Get "http://${pod.status.podIP}:8080/ready": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`;
const livenessNote = (pod) =>
  `Liveness probe failed: Get "http://${pod.status.podIP}:8080/healthz": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`;

function unhealthy(t, pod, note) {
  return record(t, pod, { reason: 'Unhealthy', type: 'Warning', note, by: BY.kubelet(pod.spec.nodeName), fieldPath: fp(pod) });
}

/** A worker whose /data hangs from `from` to `to`: probes time out, liveness kills, crash loop back-off. */
function probeStorm(pod, from, to, stop) {
  const kubelet = BY.kubelet(pod.spec.nodeName);
  const backOffNote = `Back-off restarting failed container ${containerName(pod)} in pod ${podKey(pod)}`;
  let runStart = from;
  let readyShown = true;
  for (let k = 0; ; k++) {
    // running: readiness every 5s, liveness every 10s; the 3rd liveness failure kills the container
    let readinessFailures = 0;
    let killAt = null;
    for (let i = 0; i < 6; i++) {
      const rt = runStart + i * 5000 + randInt(0, 300);
      if (rt >= to || rt >= stop) break;
      unhealthy(rt, pod, readinessNote(pod));
      readinessFailures++;
      if (readyShown && readinessFailures >= 3) {
        setReady(pod, false, rt);
        emit(rt + 15, 'MODIFIED', pod);
        readyShown = false;
      }
      if (i % 2 === 1) {
        const lt = rt + 1200 + randInt(0, 400);
        if (lt >= to) break;
        unhealthy(lt, pod, livenessNote(pod));
        if (i === 5) killAt = lt + 150;
      }
    }
    if (killAt === null) {
      // the storm ended while the container was running: the next readiness probe passes
      const ok = Math.max(to, runStart) + randInt(1000, 5000);
      if (ok < stop) {
        setReady(pod, true, ok);
        emit(ok, 'MODIFIED', pod);
      }
      return;
    }
    record(killAt, pod, {
      reason: 'Killing',
      note: `Container ${containerName(pod)} failed liveness probe, will be restarted`,
      by: kubelet,
      fieldPath: fp(pod),
    });
    podContainerExited(pod, killAt + 600, 'Error', 137);
    emit(killAt + 600, 'MODIFIED', pod);
    const backoff = k === 0 ? 0 : Math.min(10 * 2 ** (k - 1), 300);
    let restart = killAt + 600 + randInt(800, 1300);
    if (backoff > 0) {
      podCrashLoopBackOff(pod, killAt + 1200, backoff);
      emit(killAt + 1200, 'MODIFIED', pod);
      restart = killAt + 1200 + backoff * 1000 + randInt(200, 900);
      for (let u = killAt + 1300; u < Math.min(restart - 1000, stop); u += randInt(3500, 6500)) {
        record(u, pod, { reason: 'BackOff', type: 'Warning', note: backOffNote, by: kubelet, fieldPath: fp(pod) });
      }
    }
    if (restart + 250 >= stop) return;
    record(restart - 400, pod, { reason: 'Pulled', note: `Container image "${imageOf(pod)}" already present on machine`, by: kubelet, fieldPath: fp(pod) });
    record(restart - 200, pod, { reason: 'Created', note: `Created container: ${containerName(pod)}`, by: kubelet, fieldPath: fp(pod) });
    record(restart, pod, { reason: 'Started', note: `Started container: ${containerName(pod)}`, by: kubelet, fieldPath: fp(pod) });
    podRestarted(pod, restart);
    emit(restart + 250, 'MODIFIED', pod);
    runStart = restart + 10_000;
  }
}

const mountNote = (pod) =>
  `MountVolume.SetUp failed for volume "data" : mount failed: exit status 32\nMounting command: mount\nMounting arguments: -t nfs nfs.storage.svc.cluster.local:/exports/batch /var/lib/kubelet/pods/${pod.metadata.uid}/volumes/kubernetes.io~nfs/data\nOutput: mount.nfs: Connection refused`;

/** A new worker pod that cannot mount the NFS volume until `to`; then it starts. Returns when it is ready. */
function mountStorm(pod, node, from, to) {
  const kubelet = BY.kubelet(node);
  let delay = 500;
  let u = from;
  let nextUnable = from + 123_000;
  while (u < to) {
    record(u, pod, { reason: 'FailedMount', type: 'Warning', note: mountNote(pod), by: kubelet });
    if (u + delay >= nextUnable && nextUnable < to) {
      record(nextUnable, pod, {
        reason: 'FailedMount',
        type: 'Warning',
        note: 'Unable to attach or mount volumes: unmounted volumes=[data], unattached volumes=[], failed to process volumes=[]: timed out waiting for the condition',
        by: kubelet,
      });
      nextUnable += 123_000;
    }
    u += delay + randInt(0, 400);
    delay = Math.min(delay * 2, 122_000);
  }
  // the mount succeeds: sandbox, pull, start
  podSandbox(pod, u + 500);
  emit(u + 520, 'MODIFIED', pod);
  const image = imageOf(pod);
  record(u + 700, pod, { reason: 'Pulling', note: `Pulling image "${image}"`, by: kubelet, fieldPath: fp(pod) });
  record(u + 3900, pod, {
    reason: 'Pulled',
    note: `Successfully pulled image "${image}" in 3.156s (3.156s including waiting). Image size: 93412876 bytes.`,
    by: kubelet,
    fieldPath: fp(pod),
  });
  record(u + 4100, pod, { reason: 'Created', note: `Created container: ${containerName(pod)}`, by: kubelet, fieldPath: fp(pod) });
  record(u + 4400, pod, { reason: 'Started', note: `Started container: ${containerName(pod)}`, by: kubelet, fieldPath: fp(pod) });
  podRunning(pod, u + 4400, false);
  emit(u + 4600, 'MODIFIED', pod);
  setReady(pod, true, u + 10_400);
  emit(u + 10_400, 'MODIFIED', pod);
  return u + 10_400;
}

function batchStory() {
  const w = W['batch/worker'];
  const old = w.pods;
  const half = old.length / 2;
  const kept = old.slice(0, half);
  const replacedFirst = old.slice(half);
  const o0 = old[0];
  const outageFrom = at('19:32');
  const outageTo = at('25:10');
  const nodes = (i) => (i % 2 === 0 ? 'node-b' : 'node-c');

  // baseline: worker-0's readiness probe times out once every 2-3 minutes
  for (let t = at('00:40') + randInt(0, 60_000); t < outageFrom; t += randInt(120, 180) * 1000) unhealthy(t, o0, readinessNote(o0));

  // 10:19:40 rollout of worker 2.15.0, half of the pods at a time
  const t = at('19:40');
  w.dep.spec.template.spec.containers[0].image = 'registry.example.com/batch-worker:2.15.0';
  w.dep.metadata.generation += 1;
  w.dep.metadata.annotations['deployment.kubernetes.io/revision'] = '6';
  emit(t, 'MODIFIED', w.dep);
  const oldRs = w.rs;
  const rs = makeReplicaSet(w.dep, safeString(9), 0, 6, t + 20);
  rs.status = { replicas: 0, observedGeneration: 1 };
  emit(t + 20, 'ADDED', rs);
  scaleRs(t + 30, w, oldRs, old.length, half, half);
  replacedFirst.forEach((p, i) => deletePod(t + 50 + i * 10, p, { rs: oldRs }));
  scaleRs(t + 2600, w, rs, 0, half, 0);
  const fresh = kept.map((_, i) => createPod(t + 2620 + i * 20, w, rs));
  setProgressing(w.dep, rs, t + 2700, 'ReplicaSetUpdated');
  setDeploymentStatus(w.dep, { replicas: old.length, updated: half, ready: half, available: half });
  emit(t + 2700, 'MODIFIED', w.dep);
  fresh.forEach((pod, i) => {
    const node = nodes(i);
    record(t + 2700 + i * 20, pod, {
      reason: 'Scheduled',
      note: `Successfully assigned batch/${pod.metadata.name} to ${node}`,
      by: BY.scheduler,
      action: 'Binding',
    });
    podBound(pod, node, t + 2700 + i * 20);
    emit(t + 2705 + i * 20, 'MODIFIED', pod);
  });

  // the NFS server behind volume "data" refuses connections from 10:19:32 to 10:25:10: the new
  // pods cannot mount it, the old ones hang on it (probes time out, liveness restarts, back-off)
  const readyAt = fresh.map((pod, i) => mountStorm(pod, nodes(i), t + 3400 + i * 100, outageTo));
  // the rollout goes on once the new pods are available: the other old pods are replaced
  const c = Math.max(...readyAt) + 1000;
  kept.forEach((p, i) => probeStorm(p, outageFrom + 1800 + i * 1900, outageTo, c + 40 + i * 10));

  setRsReplicas(rs, half, half);
  emit(c, 'MODIFIED', rs);
  scaleRs(c + 20, w, oldRs, half, 0, 0);
  kept.forEach((p, i) => deletePod(c + 40 + i * 10, p, { rs: oldRs }));
  scaleRs(c + 2500, w, rs, half, old.length, half);
  const more = replacedFirst.map((_, i) => createPod(c + 2520 + i * 20, w, rs));
  const ready = Math.max(...more.map((pod, i) => startPod(c + 2600 + i * 50, pod, nodes(i), null, 8000)));
  setRsReplicas(rs, old.length, old.length);
  emit(ready + 10, 'MODIFIED', rs);
  setProgressing(w.dep, rs, ready + 20, 'NewReplicaSetAvailable');
  setDeploymentStatus(w.dep, { replicas: old.length, updated: old.length, ready: old.length, available: old.length });
  emit(ready + 20, 'MODIFIED', w.dep);
  w.rs = rs;
  w.pods = [...fresh, ...more];
  w.storm = { outageFrom, outageTo };

  // baseline again, now on a new worker
  const n1 = fresh[0];
  for (let u = ready + randInt(60, 120) * 1000; u < at('40:00'); u += randInt(120, 180) * 1000) unhealthy(u, n1, readinessNote(n1));
}

// ---------------------------------------------------------------- nodes: status reports, story 3: node-a goes NotReady

/** The kubelet reports node status every 5 minutes when nothing changed (the Lease carries the heartbeat). */
function heartbeats(node, from, to) {
  let t = from;
  for (; t < to; t += 300_000 + randInt(0, 900)) {
    for (const c of node.status.conditions) c.lastHeartbeatTime = isoSec(t);
    emit(t, 'MODIFIED', node);
  }
  return t;
}

const lastHeartbeat = (node) => Date.parse(node.status.conditions[0].lastHeartbeatTime);

function nodeNotReady() {
  const node = NODES['node-a'];
  const down = at('26:00');
  heartbeats(node, lastHeartbeat(node) + 300_000, down);

  // node-monitor-grace-period (50s) after the last Lease renewal: the node lifecycle controller steps in
  const t = at('26:42.310');
  for (const c of node.status.conditions) {
    Object.assign(c, { status: 'Unknown', lastTransitionTime: isoSec(t), reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.' });
  }
  emit(t, 'MODIFIED', node);
  record(t + 4, node, { reason: 'NodeNotReady', note: 'Node node-a status is now: NodeNotReady', by: BY.node });
  node.spec.taints = [{ key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule', timeAdded: isoSec(t + 70) }];
  emit(t + 70, 'MODIFIED', node);
  const noExecuteAt = t + 180;
  node.spec.taints.push({ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: isoSec(noExecuteAt) });
  emit(noExecuteAt, 'MODIFIED', node);

  const victims = [];
  for (const w of Object.values(W)) for (const p of w.pods) if (p.spec.nodeName === 'node-a') victims.push([w, p]);
  let u = t + 240;
  for (const [, p] of victims) {
    setCond(p, 'Ready', 'False', u);
    emit(u, 'MODIFIED', p);
    record(u + 6, p, { reason: 'NodeNotReady', type: 'Warning', note: 'Node is not ready', by: BY.node });
    u += randInt(15, 60);
  }

  // the pods tolerate node.kubernetes.io/unreachable:NoExecute for 300s, then they are evicted
  let e = Date.parse(isoSec(noExecuteAt)) + 300_000 + randInt(400, 900);
  const targets = ['node-b', 'node-c'];
  const evicted = [];
  victims.forEach(([w, p], i) => {
    record(e, p, { reason: 'TaintManagerEviction', note: `Marking for deletion Pod ${p.metadata.namespace}/${p.metadata.name}`, by: BY.taint });
    setCond(p, 'DisruptionTarget', 'True', e, 'DeletionByTaintManager', 'Taint manager: deleting due to NoExecute taint');
    emit(e + 6, 'MODIFIED', p);
    p.metadata.deletionTimestamp = isoSec(e + 30_000);
    p.metadata.deletionGracePeriodSeconds = 30;
    emit(e + 14, 'MODIFIED', p);
    const replacement = createPod(e + 45, w, w.rs);
    startPod(
      e + 260 + randInt(0, 200),
      replacement,
      targets[i % 2],
      { seconds: 1 + rand() * 4, bytes: randInt(20_000_000, 160_000_000) },
      randInt(5000, 15000),
    );
    w.pods = w.pods.filter((x) => x !== p).concat(replacement);
    evicted.push({ pod: p, replacement, node: targets[i % 2] });
    e += randInt(8, 40);
  });

  // 10:34 the machine is back (it rebooted): the kubelet registers again, the node is Ready, the
  // pods marked for deletion are confirmed gone
  const back = at('34:18.500');
  const bootId = uuid();
  recordCoreV1(back, 'node-a', { reason: 'Starting', message: 'Starting kubelet.' });
  recordCoreV1(back + 1100, 'node-a', { reason: 'Rebooted', type: 'Warning', message: `Node node-a has been rebooted, boot id: ${bootId}` });
  node.status.nodeInfo.bootID = bootId;
  const fresh = readyConditions(back + 1500);
  for (const c of fresh) c.lastTransitionTime = isoSec(back + 1500);
  node.status.conditions = fresh;
  emit(back + 1500, 'MODIFIED', node);
  recordCoreV1(back + 1600, 'node-a', { reason: 'NodeReady', message: 'Node node-a status is now: NodeReady' });
  delete node.spec.taints;
  emit(back + 2300, 'MODIFIED', node);
  let d = back + 3800;
  for (const { pod } of evicted) {
    emit(d, 'DELETED', pod);
    d += randInt(80, 400);
  }
  heartbeats(node, back + 1500 + 300_000, at('40:00'));
  return { t, noExecuteAt, evicted, back };
}

// ---------------------------------------------------------------- Events expire an hour after their last write

function ttlExpiry(ctx) {
  for (const e of ctx.old) expire(e, e.last + 3600_000 + randInt(300, 2500));
}

// ---------------------------------------------------------------- output

function reorder(obj) {
  const { kind, apiVersion, ...rest } = obj;
  return { kind, apiVersion, ...rest };
}

/** Sorts by time (stable), gives every change the next resourceVersion, returns the JSON lines. */
function writeStream() {
  changes.sort((a, b) => a.t - b.t || a.seq - b.seq);
  let rv = 100000;
  const objectRv = new Map();
  const regardingRv = new Map();
  const lines = [];
  for (const c of changes) {
    rv += randInt(1, 9); // other writes (Leases, Endpoints...) share the revision counter
    const o = c.obj;
    o.metadata.resourceVersion = String(rv);
    if (o.kind === 'Event') {
      const r = o.regarding ?? o.involvedObject;
      if (c.type === 'ADDED' && objectRv.has(r.uid)) regardingRv.set(o.metadata.uid, objectRv.get(r.uid));
      const captured = regardingRv.get(o.metadata.uid);
      if (captured !== undefined) {
        const { fieldPath, ...head } = r;
        const withRv = { ...head, resourceVersion: captured, ...(fieldPath ? { fieldPath } : {}) };
        if (o.regarding) o.regarding = withRv;
        else o.involvedObject = withRv;
      }
    } else {
      objectRv.set(o.metadata.uid, String(rv));
    }
    c.rv = rv;
    lines.push(JSON.stringify({ type: c.type, object: reorder(o), observedAt: new Date(c.t).toISOString() }));
  }
  return lines;
}

function sortKeys(v) {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sortKeys(v[k])]),
    );
  return v;
}

/**
 * `kubectl get events -A -o json` at 10:40:00 for namespaces web and default plus the payments
 * FailedScheduling Event: the core/v1 view of the same stored Events (events written through
 * events.k8s.io/v1 show eventTime/series/reportingComponent and no count, firstTimestamp,
 * lastTimestamp or source).
 */
function kubectlEvents(lines) {
  const latest = new Map();
  for (const line of lines) {
    const { type, object } = JSON.parse(line);
    if (object.kind !== 'Event') continue;
    if (type === 'DELETED') latest.delete(object.metadata.uid);
    else latest.set(object.metadata.uid, object);
  }
  const items = [];
  for (const o of latest.values()) {
    const keep = ['web', 'default'].includes(o.metadata.namespace) || o.reason === 'FailedScheduling';
    if (!keep) continue;
    if (o.apiVersion === 'v1') {
      items.push(sortKeys(o));
      continue;
    }
    const item = {
      action: o.action,
      apiVersion: 'v1',
      eventTime: o.eventTime,
      firstTimestamp: null,
      involvedObject: o.regarding,
      kind: 'Event',
      lastTimestamp: null,
      message: o.note,
      metadata: o.metadata,
      reason: o.reason,
      reportingComponent: o.reportingController,
      reportingInstance: o.reportingInstance,
      series: o.series,
      source: {},
      type: o.type,
    };
    if (!item.action) delete item.action;
    if (!item.series) delete item.series;
    items.push(sortKeys(item));
  }
  items.sort((a, b) => a.metadata.namespace.localeCompare(b.metadata.namespace) || a.metadata.name.localeCompare(b.metadata.name));
  return JSON.stringify({ apiVersion: 'v1', items, kind: 'List', metadata: { resourceVersion: '' } }, null, 4);
}

// ---------------------------------------------------------------- main

const ctx = emitInitialList();
paymentsApiStory();
grafanaRollout();
checkoutCrashLoop();
frontendImagePull();
batchStory();
for (const n of ['node-b', 'node-c']) heartbeats(NODES[n], lastHeartbeat(NODES[n]) + 300_000, at('40:00'));
nodeNotReady();
cartOomKilled();
ttlExpiry(ctx);

const lines = writeStream();
const arg = process.argv[2];
if (arg === '--kubectl-events') {
  process.stdout.write(`${kubectlEvents(lines)}\n`);
} else if (arg === undefined) {
  process.stdout.write(`${lines.join('\n')}\n`);
} else {
  process.stderr.write(`unknown argument ${arg} (expected none or --kubectl-events)\n`);
  process.exit(2);
}
