/**
 * The example pipelines (pipelines/examples/*.yaml) and the embedded default (pipelines/default.yaml)
 * run on the recorded cluster (recordings/recorded-cluster.jsonl; story facts in
 * recordings/README.md), in embedded mode, as `kubevents run` does.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastValueFrom, tap } from 'rxjs';
import { afterAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../../src/model/alert.js';
import type { EventWindow } from '../../../src/model/event-window.js';
import type { Incident } from '../../../src/model/incident.js';
import type { KubeEvent } from '../../../src/model/kube-event.js';
import type { OutRecord } from '../../../src/model/out-record.js';
import { loadPipelines } from '../../../src/pipeline/load.js';
import { PipelineSet } from '../../../src/pipeline/hot-swap.js';
import { ConsoleSink } from '../../../src/sinks/console.js';
import { FileSink } from '../../../src/sinks/file-sink.js';
import { SinkRouter } from '../../../src/sinks/router.js';
import { StdoutSink } from '../../../src/sinks/stdout.js';
import { PassThrough } from 'node:stream';
import { iso, load, PIPELINES, replayFixture, runAll, silent } from './helpers.js';

const at = (time: string): number => Date.parse(`2026-11-01T${time}Z`);

async function runExample(name: string): Promise<OutRecord[]> {
  const pipelines = await load(join(PIPELINES, 'examples', `${name}.yaml`));
  const { events$, cache } = replayFixture();
  return runAll(pipelines, events$, cache);
}

const records = <T>(outputs: OutRecord[], targetId: string): T[] =>
  outputs
    .filter((o) => (o.target !== undefined && (o.sink === 'kafka' || o.sink === 'file') ? `${o.sink}:${o.target}` : o.sink) === targetId)
    .map((o) => o.value as T);

const SCHEDULER_MESSAGE = '0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.';

describe('example pipelines on the recorded cluster', () => {
  it('every file in pipelines/ is valid', async () => {
    const result = await loadPipelines([join(PIPELINES, 'default.yaml'), join(PIPELINES, 'examples')]);
    expect(result.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(result.pipelines.map((p) => p.name).sort()).toEqual([
      'all-events-to-kafka',
      'crash-loop',
      'default',
      'failed-scheduling',
      'node-not-ready',
      'oom-kills',
      'throttled-warnings',
      'warning-counts',
      'warning-storm',
    ]);
  });

  it('all-events-to-kafka: every occurrence once, enriched and classified, on k8s.events', async () => {
    const out = await runExample('all-events-to-kafka');
    expect(out).toHaveLength(668); // README: 668 occurrences (ADDED + MODIFIED)
    expect(new Set(out.map((o) => o.sink === 'kafka' && o.target))).toEqual(new Set(['k8s.events']));
    const events = out.map((o) => o.value as KubeEvent);
    expect(new Set(events.map((e) => e.idempotencyKey)).size).toBe(668);
    expect(events.every((e) => e.classification !== null)).toBe(true);
    expect(events.filter((e) => e.type === 'Warning')).toHaveLength(386);
    expect(
      out.every(
        (o) =>
          o.kind === 'KubeEvent' &&
          o.key ===
            `default/${(o.value as KubeEvent).regarding.kind}/${(o.value as KubeEvent).regarding.namespace ?? (o.value as KubeEvent).namespace}/${(o.value as KubeEvent).regarding.name}`,
      ),
    ).toBe(true);
    const checkoutBackOff = events.find((e) => e.reason === 'BackOff' && e.regarding.name === 'checkout-xw4b57qj7-9r6hx');
    expect(checkoutBackOff?.enrichment?.workload).toMatchObject({ kind: 'Deployment', name: 'checkout' });
  });

  it('failed-scheduling (story 1): one alert at the 5th FailedScheduling within 3m, resolved when the Pod is scheduled', async () => {
    const out = await runExample('failed-scheduling');
    const alerts = records<Alert>(out, 'kafka:k8s.alerts');
    expect(records<Alert>(out, 'console')).toEqual(alerts);
    expect(alerts.map((a) => [a.status, iso(a.startsAt), iso(a.endsAt), a.count])).toEqual([
      ['firing', '2026-11-01T10:02:24.150Z', null, 5],
      ['resolved', '2026-11-01T10:02:24.150Z', '2026-11-01T10:14:23.700Z', 10],
    ]);
    const [firing, resolved] = alerts as [Alert, Alert];
    expect(firing).toMatchObject({
      labels: {
        alertname: 'PodUnschedulable',
        cluster: 'default',
        kind: 'Pod',
        name: 'api-7d9f8b6c5-x2x9q',
        namespace: 'payments',
        reason: 'FailedScheduling',
      },
      namespace: 'payments',
      category: 'Scheduling',
      severity: 'warning',
      workload: { kind: 'Deployment', name: 'api' },
      node: null,
      firstSeen: at('10:01:30.310'),
      lastSeen: at('10:02:24.150'),
      windowMs: 3 * 60_000,
      sampleMessages: [SCHEDULER_MESSAGE],
      annotations: {
        workload: 'Deployment/api',
        message: SCHEDULER_MESSAGE,
        runbook: 'https://kubernetes.io/docs/concepts/scheduling-eviction/',
        threshold: '5',
        window: '3m',
      },
    });
    expect(firing.summary).toContain('Deployment api');
    expect(firing.summary).toContain(SCHEDULER_MESSAGE);
    expect(resolved.alertId).toBe(firing.alertId);
    expect(resolved.lastSeen).toBe(at('10:12:36.800'));
  });

  it('crash-loop (story 2): one alert per crash-looping Pod, with container state, workload and node', async () => {
    const out = await runExample('crash-loop');
    const alerts = records<Alert>(out, 'kafka:k8s.alerts');
    const firing = alerts.filter((a) => a.status === 'firing');
    // one firing and one resolved record per Pod: no re-alerting
    expect(
      alerts
        .filter((a) => a.status === 'resolved')
        .map((a) => a.alertId)
        .sort(),
    ).toEqual(firing.map((a) => a.alertId).sort());
    expect(firing.map((a) => [a.labels['namespace'], a.labels['name'], a.category])).toEqual([
      ['shop', 'checkout-xw4b57qj7-9r6hx', 'CrashLoop'],
      ['batch', 'worker-w4gxj592v-wbpjx', 'CrashLoop'],
      ['batch', 'worker-w4gxj592v-rtwtd', 'CrashLoop'],
      ['batch', 'worker-w4gxj592v-wxjzc', 'CrashLoop'],
      ['shop', 'cart-5955546v-fqtwj', 'OOM'],
    ]);
    const checkout = firing[0]!;
    expect(checkout).toMatchObject({
      labels: { alertname: 'PodCrashLooping', cluster: 'default', kind: 'Pod', name: 'checkout-xw4b57qj7-9r6hx', namespace: 'shop' },
      severity: 'error',
      count: 3,
      firstSeen: at('10:05:16.560'),
      workload: { kind: 'Deployment', name: 'checkout' },
      node: 'node-b',
      summary: 'Pod shop/checkout-xw4b57qj7-9r6hx (Deployment/checkout) on node-b: 3 restart back-offs between 10:05:16 and 10:05:55 UTC',
    });
    expect(checkout.containers).toEqual([
      expect.objectContaining({ name: 'app', ready: false, waitingReason: 'CrashLoopBackOff', lastTerminationReason: 'Error', lastExitCode: 1 }),
    ]);
    expect(checkout.containers[0]!.restartCount).toBeGreaterThanOrEqual(1);
    const resolvedCheckout = alerts.find((a) => a.alertId === checkout.alertId && a.status === 'resolved')!;
    expect(resolvedCheckout.count).toBe(29); // README: 29 BackOff occurrences
    expect(resolvedCheckout.lastSeen).toBe(at('10:22:40.365'));
    const cart = firing[4]!;
    expect(cart).toMatchObject({ workload: { kind: 'Deployment', name: 'cart' }, node: 'node-c' });
    expect(cart.containers).toEqual([
      expect.objectContaining({ name: 'app', waitingReason: 'CrashLoopBackOff', lastTerminationReason: 'OOMKilled', lastExitCode: 137 }),
    ]);
    expect(alerts.find((a) => a.alertId === cart.alertId && a.status === 'resolved')!.count).toBe(7); // README: 7 BackOff
  });

  it("oom-kills: counts OOM kills of a Deployment's pods (restarts after OOMKilled), not the back-offs between them", async () => {
    const out = await runExample('oom-kills');
    const alerts = records<Alert>(out, 'kafka:k8s.alerts');
    expect(alerts.map((a) => [a.status, a.labels['namespace'], a.labels['workload']])).toEqual([
      ['firing', 'shop', 'Deployment/cart'],
      ['resolved', 'shop', 'Deployment/cart'],
    ]);
    const [firing, resolved] = alerts as [Alert, Alert];
    // the recording: cart's container app is OOM-killed 5 times (Pod status, exit code 137), restarted 4
    // times (Started, count 1-4, 10:27:32-10:31:07), with 7 BackOff occurrences in between; the 5th kill
    // is never restarted. The crash-loop example above counts the 7 back-offs of the same Pod.
    expect(firing).toMatchObject({
      labels: { alertname: 'WorkloadOOMKills', cluster: 'default', namespace: 'shop', workload: 'Deployment/cart' },
      severity: 'error',
      category: 'OOM',
      count: 4,
      startsAt: at('10:31:07.798'),
      firstSeen: at('10:27:32.209'),
      summary: '4 OOM kills of Deployment/cart pods between 10:27:32 and 10:31:07 UTC',
    });
    const reasonOf = new Map<string, string>();
    await lastValueFrom(replayFixture().events$.pipe(tap((e) => reasonOf.set(e.idempotencyKey, e.reason))));
    expect(firing.memberKeys.map((k) => reasonOf.get(k))).toEqual(['Started', 'Started', 'Started', 'Started']);
    expect(resolved.count).toBe(4);
    expect([...reasonOf.values()].filter((r) => r === 'OOMKilled')).toEqual([]); // no Event carries the container's reason
  });

  it('node-not-ready (story 3): one incident for the Node and the failures and evictions of its Pods', async () => {
    const out = await runExample('node-not-ready');
    const incidents = records<Incident>(out, 'kafka:k8s.incidents');
    expect(incidents.map((i) => [i.status, i.subject, i.memberCount])).toEqual([
      ['open', 'Node/node-a', 2],
      ['closed', 'Node/node-a', 13],
    ]);
    const closed = incidents[1]!;
    expect(new Set(incidents.map((i) => i.incidentId)).size).toBe(1);
    expect(closed).toMatchObject({
      correlation: 'node',
      node: 'node-a',
      namespace: null,
      rootReason: 'NodeNotReady',
      severity: 'critical',
      category: 'Node',
      firstTime: at('10:26:42.314'),
    });
    expect(closed.rootCause).toMatch(/^NodeNotReady on Node node-a: Node node-a status is now: NodeNotReady/);
    const pods = [
      'ledger-lwgqk9gq2-kggqk',
      'search-wzcx96qk4j-vhkk8',
      'search-wzcx96qk4j-57fj2',
      'kube-state-metrics-f8wqd464ln-z6d97',
      'grafana-ct7l5ffkx-pscdr',
    ];
    expect(closed.members.map((m) => [m.reason, m.kind, m.name])).toEqual([
      ['NodeNotReady', 'Node', 'node-a'],
      ...pods.map((p) => ['NodeNotReady', 'Pod', p]),
      ...pods.map((p) => ['TaintManagerEviction', 'Pod', p]),
      ['Rebooted', 'Node', 'node-a'],
      ['NodeReady', 'Node', 'node-a'],
    ]);
  });

  it('warning-storm (story 4): one rate anomaly for namespace batch, 10:19 to 10:25', async () => {
    const out = await runExample('warning-storm');
    const alerts = records<Alert>(out, 'kafka:k8s.alerts');
    expect(alerts.map((a) => [a.status, a.labels['namespace'], iso(a.startsAt), iso(a.endsAt), a.count])).toEqual([
      ['firing', 'batch', '2026-11-01T10:19:00.000Z', null, 40], // README: 40 Warnings in minute 10:19
      ['resolved', 'batch', '2026-11-01T10:19:00.000Z', '2026-11-01T10:25:00.000Z', 40 + 47 + 48 + 46 + 46 + 36],
    ]);
    expect(alerts[0]).toMatchObject({
      labels: { alertname: 'NamespaceWarningStorm', cluster: 'default', namespace: 'batch' },
      severity: 'warning',
      windowMs: 60_000,
    });
  });

  it('warning-counts (window): every Warning counted once, per namespace and reason and minute', async () => {
    const out = await runExample('warning-counts');
    const windows = records<EventWindow>(out, 'kafka:k8s.event-windows');
    expect(windows.reduce((n, w) => n + w.count, 0)).toBe(386);
    expect(windows.every((w) => w.warnings === w.count && w.end - w.start === 60_000 && w.start % 60_000 === 0)).toBe(true);
    expect(new Set(windows.map((w) => w.windowId)).size).toBe(windows.length);
    // the storm of story 4: namespace batch, Unhealthy, in the minute from 10:19
    const storm = windows.find((w) => w.labels['namespace'] === 'batch' && w.labels['reason'] === 'Unhealthy' && w.start === at('10:19:00'));
    expect(storm).toMatchObject({ topReasons: [{ reason: 'Unhealthy', count: storm!.count }] });
    expect(storm!.count).toBeGreaterThan(10);
  });

  it('throttled-warnings (throttle): at most one line per object and reason in 5 minutes, with the repeats dropped in between', async () => {
    const out = await runExample('throttled-warnings');
    const lines = out.filter((o) => o.sink === 'stdout').map((o) => o.value as KubeEvent & { throttle: { dropped: number } });
    expect(lines.length).toBeGreaterThan(10);
    expect(lines.length).toBeLessThan(386);
    const lastAt = new Map<string, number>();
    for (const e of lines) {
      const key = `${e.regarding.uid}/${e.reason}`;
      const before = lastAt.get(key);
      if (before !== undefined) expect(e.lastTimestamp - before).toBeGreaterThanOrEqual(5 * 60_000);
      lastAt.set(key, e.lastTimestamp);
    }
    const reported = lines.reduce((n, e) => n + e.throttle.dropped, 0);
    expect(reported).toBeGreaterThan(0);
    expect(lines.length + reported).toBeLessThanOrEqual(386);
  });

  it('default: every event to the events topic, the stories to the alerts and incidents topics and the console', async () => {
    const pipelines = await load(join(PIPELINES, 'default.yaml'));
    const { events$, cache } = replayFixture();
    const out = await runAll(pipelines, events$, cache);
    expect(records<KubeEvent>(out, 'kafka:k8s.events')).toHaveLength(668);
    const alerts = records<Alert>(out, 'kafka:k8s.alerts');
    const incidents = records<Incident>(out, 'kafka:k8s.incidents');
    expect(records(out, 'console')).toEqual(out.filter((o) => o.kind !== 'KubeEvent' && o.sink === 'console').map((o) => o.value));
    expect(records(out, 'console')).toHaveLength(alerts.length + incidents.length);
    const brief = (a: Alert) => [a.labels['alertname'], a.labels['name'] ?? a.labels['namespace'], a.status, a.startsAt, a.endsAt, a.count];
    const story = async (name: string) => records<Alert>(await runExample(name), 'kafka:k8s.alerts').map(brief);
    const expected = [...(await story('failed-scheduling')), ...(await story('crash-loop')), ...(await story('warning-storm'))];
    expect(alerts.map(brief).sort()).toEqual(expected.sort());
    expect(incidents.map((i) => [i.status, i.subject, i.memberCount])).toEqual([
      ['open', 'Node/node-a', 2],
      ['closed', 'Node/node-a', 13],
    ]);
  });

  describe('embedded mode end to end (PipelineSet + the router with the files registered for kafka)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kubevents-pipelines-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('writes Avro files per topic (kafka sinks fall back to <topic>.avro) and console lines', async () => {
      const pipelines = await load(join(PIPELINES, 'examples'));
      const { events$, cache } = replayFixture();
      const files = new FileSink(dir, { rollIntervalMs: null, cluster: 'c' });
      const lines: string[] = [];
      const errors: Error[] = [];
      const stream = new PassThrough();
      let stdoutLines = 0;
      stream.on('data', (chunk: Buffer) => (stdoutLines += chunk.toString().split('\n').length - 1));
      const router = new SinkRouter(
        { kafka: files, file: files, stdout: new StdoutSink({ stream, terminal: false }), console: new ConsoleSink((line) => lines.push(line)) },
        (e) => errors.push(e),
      );
      const routes = new Set<string>();
      await lastValueFrom(
        new PipelineSet({ lookup: cache, pipelines, logger: silent, replay: true }).run(events$).pipe(
          tap((o) => {
            routes.add(o.target !== undefined && (o.sink === 'kafka' || o.sink === 'file') ? `${o.sink}:${o.target}` : o.sink!);
            router.write(o);
          }),
        ),
        { defaultValue: undefined },
      );
      await router.close(10_000);
      expect(errors).toEqual([]);
      const summary = files.files;
      expect([...routes].sort()).toEqual(['console', 'kafka:k8s.alerts', 'kafka:k8s.event-windows', 'kafka:k8s.events', 'kafka:k8s.incidents', 'stdout']);
      expect(stdoutLines).toBeGreaterThan(10);
      expect(Object.fromEntries(summary.map((s) => [s.topic, [s.schema, s.records]]))).toEqual({
        'k8s.events': ['KubeEvent', 668],
        'k8s.alerts': ['Alert', 16], // 14 of the stories, 2 of oom-kills
        'k8s.incidents': ['Incident', 2],
        'k8s.event-windows': ['EventWindow', 90],
      });
      expect(lines).toHaveLength(18);
      expect(lines.filter((l) => l.includes('FIRING'))).toHaveLength(8);
      expect(lines.some((l) => l.includes('INCIDENT CLOSED [critical] Node/node-a'))).toBe(true);
    });
  });
});
