/**
 * DESIGN.md stories 1-4, end to end on the bundled recording (recordings/recorded-cluster.jsonl,
 * facts in recordings/README.md): replay -> object cache + normalize -> enrich -> classify ->
 * dedupe / rate / group / spike / correlate.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { filter, lastValueFrom, map, merge, share, toArray, type Observable } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { Alert } from '../../../src/model/alert.js';
import type { Incident } from '../../../src/model/incident.js';
import type { KubeEvent } from '../../../src/model/kube-event.js';
import { normalizeEvent } from '../../../src/model/normalize.js';
import { classify } from '../../../src/operators/classify.js';
import { correlate } from '../../../src/operators/correlate.js';
import { dedupe, type Deduped } from '../../../src/operators/dedupe.js';
import { enrich } from '../../../src/operators/enrich.js';
import { group } from '../../../src/operators/group.js';
import { rate } from '../../../src/operators/rate.js';
import { spike } from '../../../src/operators/spike.js';
import { packageRoot } from '../../../src/core/paths.js';
import { ObjectCache } from '../../../src/sources/object-cache.js';
import { replayText, type RecordedChange } from '../../../src/sources/replay.js';
import { testScheduler } from './helpers.js';

const FIXTURE = join(packageRoot(), 'recordings', 'recorded-cluster.jsonl');
const text = readFileSync(FIXTURE, 'utf8');
const MIN = 60_000;

/** Event time on the recording's day: '10:02:24.150' -> epoch ms. */
const t = (hms: string): number => Date.parse(`2026-11-01T${hms}Z`);

/** uid of the (one) Event object with this reason regarding an object whose name starts with `name`. */
function eventUid(reason: string, name: string): string {
  for (const line of text.split('\n')) {
    if (!line) continue;
    const { object } = JSON.parse(line) as { object: { kind: string; reason?: string; regarding?: { name: string }; metadata: { uid: string } } };
    if (object.kind === 'Event' && object.reason === reason && object.regarding?.name.startsWith(name)) return object.metadata.uid;
  }
  throw new Error(`no ${reason} Event for ${name}`);
}

type Output =
  | { story: 'dedupe'; record: Deduped<KubeEvent> }
  | { story: 'unschedulable' | 'unschedulable-group' | 'crashloop' | 'spike'; record: Alert }
  | { story: 'incident'; record: Incident };

const quiet = { registry: new Registry(), logger: pino({ level: 'silent' }) };

/** The story pipelines over a replayed recording. */
function pipelines(changes$: Observable<RecordedChange>): Observable<Output> {
  const cache = new ObjectCache({ prune: false });
  const events$ = changes$.pipe(
    filter((c) => {
      if (c.kind === 'Event') return true;
      cache.apply(c.event); // Pods, ReplicaSets, Deployments, Nodes: the enrichment context, as of this moment
      return false;
    }),
    map((c) => normalizeEvent(c.event.object, c.event.type, { cluster: 'recorded' })),
    enrich(cache),
    classify(),
    share(),
  );

  // story 1: >= 5 FailedScheduling of one Pod within 3 minutes; resolved when the Pod is scheduled
  const scheduling$ = events$.pipe(
    filter((e) => e.reason === 'FailedScheduling' || e.reason === 'Scheduled'),
    share(),
  );
  const unschedulable$ = scheduling$.pipe(
    rate({
      threshold: 5,
      window: 3 * MIN,
      hold: 6 * MIN,
      holdUntilQuiet: true,
      resolveOn: (e) => e.reason === 'Scheduled',
      alertname: 'PodUnschedulable',
      ...quiet,
    }),
    share(),
  );
  // story 2: crash loops (BackOff Warnings of CrashLoop/OOM category), with container context
  const crashloop$ = events$.pipe(
    filter((e) => e.type === 'Warning' && e.reason === 'BackOff' && ['CrashLoop', 'OOM'].includes(e.classification?.category ?? '')),
    rate({ threshold: 3, window: 5 * MIN, hold: 5 * MIN, holdUntilQuiet: true, alertname: 'PodCrashLooping', ...quiet }),
  );
  // story 3: related events into incidents (node NotReady -> evictions)
  const incidents$ = events$.pipe(correlate({ window: 5 * MIN, ...quiet }));
  // story 4: a namespace's Warning rate against its own baseline
  const spikes$ = events$.pipe(
    filter((e) => e.type === 'Warning'),
    spike({ interval: MIN, factor: 5, minCount: 20, warmup: 5, ...quiet }),
  );

  return merge(
    scheduling$.pipe(
      filter((e) => e.reason === 'FailedScheduling'),
      dedupe({ window: 5 * MIN, ...quiet }),
      map((record) => ({ story: 'dedupe' as const, record })),
    ),
    unschedulable$.pipe(map((record) => ({ story: 'unschedulable' as const, record }))),
    unschedulable$.pipe(
      group({ groupBy: ['alertname', 'namespace'], groupWait: 30_000, groupInterval: 5 * MIN, ...quiet }),
      map((record) => ({ story: 'unschedulable-group' as const, record })),
    ),
    crashloop$.pipe(map((record) => ({ story: 'crashloop' as const, record }))),
    incidents$.pipe(map((record) => ({ story: 'incident' as const, record }))),
    spikes$.pipe(map((record) => ({ story: 'spike' as const, record }))),
  );
}

interface Records {
  dedupe: Deduped<KubeEvent>;
  unschedulable: Alert;
  'unschedulable-group': Alert;
  crashloop: Alert;
  spike: Alert;
  incident: Incident;
}

function of<S extends keyof Records>(outputs: Output[], story: S): Array<Records[S]> {
  return outputs.filter((o) => o.story === story).map((o) => o.record as Records[S]);
}

const outputs = await lastValueFrom(pipelines(replayText(text, FIXTURE).changes$).pipe(toArray()));

const FAILED_SCHEDULING = '0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.';

describe('story 1: a Pod that cannot be scheduled', () => {
  const pod = 'api-7d9f8b6c5-x2x9q';
  const uid = eventUid('FailedScheduling', pod);

  it('raises one alert at the 5th FailedScheduling within 3 minutes, with the Deployment and the scheduler\u2019s message, and resolves it when the Pod is scheduled', () => {
    const alerts = of(outputs, 'unschedulable');
    expect(alerts.map((a) => a.status)).toEqual(['firing', 'resolved']);
    const [firing, resolved] = alerts as [Alert, Alert];
    const labels = { alertname: 'PodUnschedulable', cluster: 'recorded', kind: 'Pod', name: pod, namespace: 'payments', reason: 'FailedScheduling' };
    expect(firing).toMatchObject({
      status: 'firing',
      labels,
      annotations: { workload: 'Deployment/api', message: FAILED_SCHEDULING, threshold: '5', window: '3m' },
      category: 'Scheduling',
      severity: 'warning',
      namespace: 'payments',
      startsAt: t('10:02:24.150'),
      endsAt: null,
      updatedAt: t('10:02:24.150'),
      count: 5,
      windowMs: 3 * MIN,
      firstSeen: t('10:01:30.310'),
      lastSeen: t('10:02:24.150'),
      workload: { kind: 'Deployment', name: 'api' },
      node: null,
      containers: [],
      sampleMessages: [FAILED_SCHEDULING],
      memberKeys: [1, 2, 3, 4, 5].map((n) => `${uid}/${n}`),
    });
    expect(firing.summary).toBe(
      `5 FailedScheduling within 3m (between 10:01:30 and 10:02:24 UTC) on Pod payments/${pod} (Deployment api): ${FAILED_SCHEDULING}`,
    );
    // occurrences 6-10 (10:03:02.700 ... 10:12:36.800) do not re-alert; Scheduled at 10:14:23.700 resolves it
    expect(resolved).toMatchObject({
      alertId: firing.alertId,
      status: 'resolved',
      startsAt: t('10:02:24.150'),
      endsAt: t('10:14:23.700'),
      updatedAt: t('10:14:23.700'),
      count: 10,
      lastSeen: t('10:12:36.800'),
    });
    // ten events over eleven minutes: said as such, not as a rate "within 3m"
    expect(resolved.summary).toBe(`resolved: 10 FailedScheduling between 10:01:30 and 10:12:36 UTC on Pod payments/${pod} (Deployment api)`);
  });

  it('is notified once after group_wait and resolved at the next group_interval', () => {
    const notifications = of(outputs, 'unschedulable-group');
    expect(notifications.map((a) => [a.status, new Date(a.updatedAt).toISOString(), a.sequence])).toEqual([
      ['firing', '2026-11-01T10:02:54.150Z', 0],
      ['resolved', '2026-11-01T10:17:54.150Z', 1],
    ]);
    expect(notifications[1]).toMatchObject({
      labels: { alertname: 'PodUnschedulable', namespace: 'payments' },
      startsAt: t('10:02:24.150'),
      endsAt: t('10:14:23.700'),
    });
  });

  it('dedupes the repeats within the 5-minute window and reports how many were suppressed', () => {
    expect(of(outputs, 'dedupe').map((e) => [e.idempotencyKey, new Date(e.lastTimestamp).toISOString(), e.dedupe])).toEqual([
      [`${uid}/1`, '2026-11-01T10:01:30.310Z', { suppressed: 0, firstSuppressedAt: null, lastSuppressedAt: null }],
      [`${uid}/9`, '2026-11-01T10:07:36.200Z', { suppressed: 7, firstSuppressedAt: t('10:01:31.420'), lastSuppressedAt: t('10:04:19.500') }],
      [`${uid}/10`, '2026-11-01T10:12:36.800Z', { suppressed: 0, firstSuppressedAt: null, lastSuppressedAt: null }],
    ]);
  });
});

describe('story 2: crash loops, with container, owner and node context', () => {
  const alerts = of(outputs, 'crashloop');
  const byPod = (name: string): Alert[] => alerts.filter((a) => a.labels['name'] === name);

  it('alerts on each crash-looping Pod once, and resolves it when the BackOffs stop', () => {
    expect(
      alerts.map((a) => [
        a.status,
        `${a.labels['namespace']}/${a.labels['name']}`,
        a.category,
        new Date(a.status === 'firing' ? a.startsAt : a.endsAt!).toISOString().slice(11, 23),
      ]),
    ).toEqual([
      ['firing', 'shop/checkout-xw4b57qj7-9r6hx', 'CrashLoop', '10:05:55.872'],
      ['firing', 'batch/worker-w4gxj592v-wbpjx', 'CrashLoop', '10:20:48.831'],
      ['firing', 'batch/worker-w4gxj592v-rtwtd', 'CrashLoop', '10:20:51.265'],
      ['firing', 'batch/worker-w4gxj592v-wxjzc', 'CrashLoop', '10:21:32.582'],
      ['firing', 'shop/cart-5955546v-fqtwj', 'OOM', '10:30:27.370'],
      ['resolved', 'shop/checkout-xw4b57qj7-9r6hx', 'CrashLoop', '10:26:29.990'],
      ['resolved', 'batch/worker-w4gxj592v-wbpjx', 'CrashLoop', '10:29:53.681'],
      ['resolved', 'batch/worker-w4gxj592v-rtwtd', 'CrashLoop', '10:29:56.093'],
      ['resolved', 'batch/worker-w4gxj592v-wxjzc', 'CrashLoop', '10:29:57.284'],
      ['resolved', 'shop/cart-5955546v-fqtwj', 'OOM', '10:36:51.810'],
    ]);
  });

  it('shop/checkout: container app waiting in CrashLoopBackOff, restarts, last termination Error exit 1, Deployment checkout, node-b', () => {
    const [firing] = byPod('checkout-xw4b57qj7-9r6hx');
    expect(firing).toMatchObject({
      severity: 'error',
      workload: { kind: 'Deployment', name: 'checkout' },
      node: 'node-b',
      annotations: { workload: 'Deployment/checkout', node: 'node-b' },
      containers: [
        {
          name: 'app',
          ready: false,
          restartCount: 3,
          waitingReason: 'CrashLoopBackOff',
          waitingMessage: 'back-off 40s restarting failed container=app pod=checkout-xw4b57qj7-9r6hx_shop(b58623c5-190a-4f39-9148-a2b230027b73)',
          lastTerminationReason: 'Error',
          lastExitCode: 1,
          lastFinishedAt: t('10:05:55'),
        },
      ],
      sampleMessages: ['Back-off restarting failed container app in pod checkout-xw4b57qj7-9r6hx_shop(b58623c5-190a-4f39-9148-a2b230027b73)'],
    });
    expect(firing!.summary).toMatch(
      /^3 BackOff within 5m \(between 10:05:16 and 10:05:55 UTC\) on Pod shop\/checkout-xw4b57qj7-9r6hx \(Deployment checkout\): Back-off restarting failed container app/,
    );
  });

  it('shop/cart: OOMKilled exit 137 makes it an OOM alert, Deployment cart, node-c', () => {
    const [firing] = byPod('cart-5955546v-fqtwj');
    expect(firing).toMatchObject({
      category: 'OOM',
      workload: { kind: 'Deployment', name: 'cart' },
      node: 'node-c',
      containers: [{ name: 'app', waitingReason: 'CrashLoopBackOff', lastTerminationReason: 'OOMKilled', lastExitCode: 137, restartCount: 3 }],
    });
  });
});

describe('story 3: a node going NotReady, then evictions on it', () => {
  const incidents = of(outputs, 'incident');
  const nodeIncidents = incidents.filter((i) => i.correlation === 'node');

  it('is one correlated incident, rooted in the NodeNotReady of node-a, with the pods\u2019 NotReady and eviction events as members', () => {
    expect(nodeIncidents.map((i) => [i.status, i.subject])).toEqual([
      ['open', 'Node/node-a'],
      ['closed', 'Node/node-a'],
    ]);
    const closed = nodeIncidents[1]!;
    expect(closed.incidentId).toBe(nodeIncidents[0]!.incidentId);
    const pods = [
      'payments/ledger-lwgqk9gq2-kggqk',
      'shop/search-wzcx96qk4j-vhkk8',
      'shop/search-wzcx96qk4j-57fj2',
      'monitoring/kube-state-metrics-f8wqd464ln-z6d97',
      'monitoring/grafana-ct7l5ffkx-pscdr',
    ];
    expect(closed).toMatchObject({
      correlation: 'node',
      cluster: 'recorded',
      namespace: null,
      node: 'node-a',
      rootReason: 'NodeNotReady',
      rootEventKey: `${eventUid('NodeNotReady', 'node-a')}/1`,
      rootCause: 'NodeNotReady on Node node-a: Node node-a status is now: NodeNotReady (+12 related events on 5 other objects)',
      severity: 'critical',
      category: 'Node',
      firstTime: t('10:26:42.314'),
      lastTime: t('10:34:20.000'),
      memberCount: 13,
      updatedAt: t('10:39:20.000'),
    });
    expect(closed.members.map((m) => `${m.kind} ${m.namespace ? `${m.namespace}/` : ''}${m.name} ${m.reason}`)).toEqual([
      'Node node-a NodeNotReady',
      ...pods.map((p) => `Pod ${p} NodeNotReady`),
      ...pods.map((p) => `Pod ${p} TaintManagerEviction`),
      'Node node-a Rebooted',
      'Node node-a NodeReady',
    ]);
  });

  it('leaves no other incident about those pods (not twenty alerts)', () => {
    const others = incidents.filter((i) => i.correlation !== 'node');
    for (const i of others)
      for (const m of i.members)
        expect(m.name).not.toMatch(/^(ledger-lwgqk9gq2-kggqk|search-wzcx96qk4j-(vhkk8|57fj2)|kube-state-metrics-f8wqd464ln-z6d97|grafana-ct7l5ffkx-pscdr)$/);
  });
});

describe('story 4: a Warning storm in namespace batch', () => {
  it('raises one rate anomaly for batch, from the 10:19 minute until the rate falls back at 10:25', () => {
    const spikes = of(outputs, 'spike');
    expect(spikes.map((a) => [a.status, a.labels['namespace'], a.startsAt, a.endsAt, a.updatedAt, a.count])).toEqual([
      ['firing', 'batch', t('10:19:00'), null, t('10:20:00'), 40],
      // 40 + 47 + 48 + 46 + 46 + 36 Warnings in the minutes 10:19 to 10:24
      ['resolved', 'batch', t('10:19:00'), t('10:25:00'), t('10:26:00'), 263],
    ]);
    expect(spikes[0]).toMatchObject({
      labels: { alertname: 'KubeEventRateSpike', cluster: 'recorded', namespace: 'batch' },
      windowMs: MIN,
      annotations: { current: '40' },
    });
    expect(Number(spikes[0]!.annotations['baseline'])).toBeLessThan(1);
  });
});

describe('replay speed', () => {
  it('at recorded pace gives exactly the output of full speed', () => {
    let paced: Output[] = [];
    testScheduler().run(() => {
      const out: Output[] = [];
      pipelines(replayText(text, FIXTURE, { speed: 1 }).changes$).subscribe((o) => out.push(o));
      paced = out;
    });
    const byStory = (xs: Output[]): Record<string, unknown[]> => {
      const r: Record<string, unknown[]> = {};
      for (const o of xs) (r[o.story] ??= []).push(o.record);
      return r;
    };
    expect(paced.length).toBe(outputs.length);
    expect(byStory(paced)).toEqual(byStory(outputs));
  });
});
