/**
 * A large cluster on the test control plane (kwok fakes the kubelets): `--nodes` Nodes and `--pods`
 * Pods bound to them, then kubevents itself (`kubevents run --source kube`, the CLI in its own
 * process, publishing to the broker) measured from the outside:
 *
 * - the apiserver's own rate: Nodes and Pods created per second (concurrent POSTs), in this run;
 * - initial sync: process start -> the "live job running" log line (every object cache listed,
 *   the Event watch started), and the process's peak RSS (/proc VmHWM) and CPU seconds;
 * - an event storm: `--storm` Warning Events (BackOff, one per distinct Pod, "Pods failing at
 *   once") POSTed as fast as `--concurrency` allows, each with a microsecond eventTime taken just
 *   before its POST; lag = the record read back from the events topic by a consumer - eventTime
 *   (an upper bound of creation -> Kafka ack), p50/p99/max, and the time until the last arrived;
 * - a Node going NotReady (its Lease taken from kwok: the node-lifecycle controller marks it and its
 *   Pods NotReady after its grace period, then evicts the Pods):
 *   the records, alerts and incidents (the default pipeline's node-not-ready branch) that follow within `--notready-seconds`;
 * - every alert record on the alerts topic during the run, by alertname.
 *
 * Objects are created only when missing (a cached run reuses them: pass --kubeconfig of a control
 * plane started with `bash test/env/kube.sh start DIR`, whose etcd keeps them).
 *
 *   node dist/bench/cluster.js --kubeconfig FILE --brokers HOST:PORT [--nodes 5000] [--pods 100000]
 *        [--storm 5000] [--concurrency 48] [--heap-mb 307] [--notready-seconds 40] [--result-file FILE]
 *
 * --heap-mb: --max-old-space-size for kubevents (default 307: what deploy/entrypoint.sh gives the
 * manifests' 512 MiB limit); 0 leaves Node's default.
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createKafka, headersToStrings } from '../src/kafka/client.js';
import { HEADERS } from '../src/avro/encodings.js';
import { microTimeNow } from './kube-load.js';
import { ClusterLayout, createAll, ensureCluster } from './kube-objects.js';
import { kubeventsConfig, procStats, spawnKubevents } from './kubevents-proc.js';
import { KubeConfig } from '@kubernetes/client-node';
import { connectKubeApi } from './kube-api.js';
import { calibrate, clusterArgs, intArg, loadAverage, parseArgs, percentile, progress, round2, sleep, writeResult } from './lib.js';

const args = parseArgs(process.argv.slice(2));
const { kubeconfig, brokers } = clusterArgs(args);
const nodes = intArg(args, 'nodes', 5_000);
const pods = intArg(args, 'pods', 100_000);
const storm = Math.min(intArg(args, 'storm', 5_000), pods);
const concurrency = intArg(args, 'concurrency', 48);
const heapMb = Number(args.get('heap-mb') ?? 307);
const notReadySeconds = intArg(args, 'notready-seconds', 40);
const NAMESPACES = 10;

const loadStart = loadAverage();
const calibrationCpuMs = calibrate();
const kc = new KubeConfig();
kc.loadFromFile(kubeconfig);
const api = await connectKubeApi(kc, concurrency);
const request = api.request;

const layout = new ClusterLayout('scale', nodes, pods, NAMESPACES);
const nodeName = (i: number): string => layout.nodeName(i);
const podNamespace = (i: number): string => layout.podNamespace(i);
const podName = (i: number): string => layout.podName(i);

// ---- the cluster's objects (created when missing)
progress(`cluster: ensuring ${nodes.toLocaleString('en')} Nodes and ${pods.toLocaleString('en')} Pods`);
const { nodesCreated: nodeCreate, podsCreated: podCreate, existingNodes, existingPods } = await ensureCluster(kc, api, layout, concurrency);
progress(
  `cluster: nodes ${nodeCreate ? `${nodeCreate.created} created at ${nodeCreate.perSec}/s` : `${existingNodes} cached`}, pods ${podCreate ? `${podCreate.created} created at ${podCreate.perSec}/s` : `${existingPods} cached`}`,
);

// ---- kubevents, in its own process
const run = randomUUID().slice(0, 8);
const topics = { events: `scale.events.${run}`, alerts: `scale.alerts.${run}`, incidents: `scale.incidents.${run}` };
const configFile = join(dirname(kubeconfig), `kubevents-scale-${run}.yaml`);
writeFileSync(
  configFile,
  kubeventsConfig(brokers, {
    events: topics.events,
    alerts: topics.alerts,
    incidents: topics.incidents,
    gaps: `scale.gaps.${run}`,
    deadLetters: `scale.deadletter.${run}`,
  }),
);
const consumerKafka = createKafka({ brokers, clientId: 'kubevents-bench-cluster' });
const admin = consumerKafka.admin();
await admin.connect();
await admin.createTopics({ topics: Object.values(topics).map((topic) => ({ topic, numPartitions: 6, replicationFactor: 1 })) });
await admin.disconnect();

/** Records read back: receive time per idempotency key, alerts by name, node incidents. */
const received = new Map<string, number>();
const alerts = new Map<string, number>();
let alertRecords = 0;
interface IncidentSeen {
  correlation: string;
  status: string;
  node: string | null;
  memberCount: number;
  rootReason: string;
  receivedAt: number;
}
const incidents: IncidentSeen[] = [];
const consumer = consumerKafka.consumer({ groupId: `bench-cluster-${run}`, maxWaitTimeInMs: 50 });
await consumer.connect();
await consumer.subscribe({ topics: Object.values(topics), fromBeginning: true });
const { RecordDecoder } = await import('../src/avro/encodings.js');
const decoder = new RecordDecoder();
await consumer.run({
  eachMessage: async ({ topic, message }) => {
    const now = Date.now();
    const h = headersToStrings(message.headers);
    if (topic === topics.events) {
      const key = h[HEADERS.idempotencyKey];
      if (key && !received.has(key)) received.set(key, now);
    } else if (topic === topics.incidents && message.value) {
      const d = await decoder.decode<Omit<IncidentSeen, 'receivedAt'>>(message.value, h);
      const { correlation, status, node, memberCount, rootReason } = d.value;
      incidents.push({ correlation, status, node, memberCount, rootReason, receivedAt: now });
    } else if (message.value) {
      const d = await decoder.decode<{ alertname?: string; labels?: Record<string, string> }>(message.value, h);
      const name = (d.value as { alertname?: string }).alertname ?? '?';
      alerts.set(name, (alerts.get(name) ?? 0) + 1);
      alertRecords++;
    }
  },
});

const procStart = performance.now();
const child = spawnKubevents({
  kubeconfig,
  configFile,
  checkpointFile: join(dirname(kubeconfig), `kubevents-scale-${run}.checkpoint.json`),
  cluster: 'scale',
  heapMb,
  stdio: ['ignore', 'ignore', 'pipe'],
});
let syncedMs: number | null = null;
let stderrTail = '';
child.stderr!.setEncoding('utf8');
child.stderr!.on('data', (chunk: string) => {
  stderrTail = (stderrTail + chunk).slice(-4000);
  if (syncedMs === null && chunk.includes('live job running')) syncedMs = performance.now() - procStart;
});

let peak = { rssMB: 0, hwmMB: 0, cpuS: 0 };
const sampler = setInterval(() => {
  const s = child.pid ? procStats(child.pid) : null;
  if (s) peak = s;
}, 200);

const deadline = performance.now() + 30 * 60_000;
while (syncedMs === null && child.exitCode === null && performance.now() < deadline) await sleep(100);
if (syncedMs === null) throw new Error(`kubevents did not start: ${stderrTail}`);
const atSync = child.pid ? procStats(child.pid) : null;
progress(`cluster: kubevents synced in ${(syncedMs / 1000).toFixed(2)} s, RSS ${atSync?.rssMB} MB (peak ${atSync?.hwmMB} MB), ${atSync?.cpuS} CPU-s`);
await sleep(5_000);

// ---- the storm: `storm` Pods failing at once
const stormPrefix = `storm-${run}`;
const eventTimes = new Map<string, number>();
const stormStart = performance.now();
const stormCreate = await createAll(storm, concurrency, async (i) => {
  const p = Math.floor((i * pods) / storm);
  const now = microTimeNow();
  const r = await request('POST', `/apis/events.k8s.io/v1/namespaces/${podNamespace(p)}/events`, {
    metadata: { name: `${stormPrefix}-${i}` },
    eventTime: now.text,
    reportingController: 'kubelet',
    reportingInstance: nodeName(p % nodes),
    action: 'Backoff',
    reason: 'BackOff',
    type: 'Warning',
    note: `Back-off restarting failed container app in pod ${podName(p)}`,
    regarding: { kind: 'Pod', apiVersion: 'v1', namespace: podNamespace(p), name: podName(p), fieldPath: 'spec.containers{app}' },
  });
  if (r.status === 201) eventTimes.set(`${r.json.metadata.uid}/1`, now.ms);
  return r.status;
});
const stormDeadline = performance.now() + 120_000;
const stormDone = (): boolean => [...eventTimes.keys()].every((k) => received.has(k));
while (!stormDone() && performance.now() < stormDeadline) await sleep(100);
const lags = [...eventTimes].filter(([k]) => received.has(k)).map(([k, t]) => received.get(k)! - t);
lags.sort((a, b) => a - b);
const stormAllMs = Math.max(...[...eventTimes.keys()].map((k) => received.get(k) ?? NaN)) - (performance.timeOrigin + stormStart);
const afterStorm = child.pid ? procStats(child.pid) : null;
progress(`cluster: storm of ${stormCreate.created} at ${stormCreate.perSec}/s, lag p50 ${percentile(lags, 50)} ms p99 ${percentile(lags, 99)} ms`);

// ---- a Node going NotReady, its Pods evicted
const victim = nodeName(1);
const recordsBefore = received.size;
const alertsBefore = alertRecords;
const incidentsBefore = incidents.length;
const notReadyAt = Date.now();
// the node dies (test/env/scenarios.ts makeNodeUnreachable): its Lease is taken from kwok, so after
// the controller's grace period (20 s here) it is NotReady (Unknown), its Pods get Warning
// NodeNotReady and are then evicted. (kwok's not-ready label only posts Ready=False: the controller
// then taints the node but marks no Pod, so the node-not-ready incident, 2 members, may not open.)
const microTime = (ms: number): string => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
const lease = `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${victim}`;
await request('PATCH', lease, { spec: { holderIdentity: 'kubevents-bench/unreachable', leaseDurationSeconds: 86_400, renewTime: microTime(Date.now()) } });
await sleep(notReadySeconds * 1000);
await request('PATCH', lease, { spec: { leaseDurationSeconds: 1, renewTime: microTime(Date.now() - 60_000) } });
progress(
  `cluster: Node ${victim} NotReady for ${notReadySeconds} s: ${received.size - recordsBefore} records, ${incidents.length - incidentsBefore} incident records`,
);
const end = child.pid ? procStats(child.pid) : null;

clearInterval(sampler);
child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));
await consumer.disconnect();
api.close();

const result = {
  bench: 'cluster',
  nodes,
  pods,
  heapMb: heapMb > 0 ? heapMb : null,
  apiserver: {
    nodesCreated: nodeCreate,
    podsCreated: podCreate,
    nodesCached: nodeCreate ? null : existingNodes,
    podsCached: podCreate ? null : existingPods,
    stormCreatesPerSec: stormCreate.perSec,
  },
  sync: { ms: Math.round(syncedMs), rssMB: atSync?.rssMB ?? null, peakRssMB: atSync?.hwmMB ?? null, cpuS: atSync?.cpuS ?? null },
  storm: {
    requested: storm,
    created: stormCreate.created,
    failed: stormCreate.failed,
    receivedBack: lags.length,
    lagMs: { p50: round2(percentile(lags, 50)), p99: round2(percentile(lags, 99)), max: round2(lags.at(-1) ?? NaN) },
    allReceivedAfterMs: Number.isFinite(stormAllMs) ? Math.round(stormAllMs) : null,
    peakRssMB: afterStorm?.hwmMB ?? null,
    cpuS: afterStorm && atSync ? round2(afterStorm.cpuS - atSync.cpuS) : null,
  },
  notReady: {
    node: victim,
    seconds: notReadySeconds,
    records: received.size - recordsBefore,
    alerts: alertRecords - alertsBefore,
    // the default pipeline's node-not-ready branch makes incidents (correlate), not alerts
    incidents: incidents.slice(incidentsBefore).map(({ receivedAt, ...incident }) => ({ ...incident, afterMs: receivedAt - notReadyAt })),
  },
  incidents: incidents.length,
  alertsByName: Object.fromEntries(alerts),
  process: { peakRssMB: Math.max(peak.hwmMB, end?.hwmMB ?? 0), cpuS: end?.cpuS ?? peak.cpuS },
  calibrationCpuMs,
  loadavgStart: loadStart,
  loadavgEnd: loadAverage(),
};
writeResult(args, result);
process.exit(0);
