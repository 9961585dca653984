/**
 * The live job's state checkpoints end to end in one process (issue #20): runLiveJob against the
 * fake apiserver (test/support/fake-apiserver.ts), Avro files and a checkpoint file; a job stopped
 * and started again (gracefully, or without its last save: a lost Lease) resumes the windows.
 * The real stack (kill -9, Lease takeovers, Kafka) is in test/integration/restart-semantics.test.ts.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runLiveJob, type LiveJob } from '../../../src/jobs/live-job.js';
import type { Alert } from '../../../src/model/alert.js';
import type { KubeEvent } from '../../../src/model/kube-event.js';
import { loadPipelineTexts } from '../../../src/pipeline/load.js';
import { FAKE_RESOURCES, startFakeApiServer, type FakeApiServer } from '../../support/fake-apiserver.js';
import { captureLogger } from '../operators/helpers.js';
import { waitFor } from '../sources/support.js';

const EVENTS = FAKE_RESOURCES.events!;
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

const PIPELINE = `apiVersion: kubevents/v1
kind: Pipeline
metadata: {name: scheduling}
spec:
  stages:
    - fork:
        - name: unschedulable
          stages:
            - filter: {reason: FailedScheduling}
            - rate: {alertname: PodUnschedulable, threshold: 5, window: 3m, hold: 10m, holdUntilQuiet: true}
          sinks: [console]
  sinks: [console]
`;

let server: FakeApiServer;
let dir: string;

beforeEach(async () => {
  server = await startFakeApiServer();
  dir = mkdtempSync(join(tmpdir(), 'kv-live-state-'));
});
afterEach(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

function start(logger = captureLogger('info').logger): { job: LiveJob; alerts: Alert[]; events: KubeEvent[] } {
  const pipelines = loadPipelineTexts({ 'p.yaml': PIPELINE });
  if (!pipelines.ok) throw new Error('pipeline');
  const alerts: Alert[] = [];
  const events: KubeEvent[] = [];
  const job = runLiveJob({
    cluster: 'c1',
    kube: { kubeConfig: server.kubeConfig(), namespaces: ['shop'], cacheKinds: [], eventApi: 'events.k8s.io/v1' },
    output: { type: 'files', outDir: join(dir, 'out'), rollIntervalMs: 50 },
    checkpoint: { type: 'file', path: join(dir, 'checkpoints.json') },
    checkpointIntervalMs: 50,
    pipelines: pipelines.pipelines,
    logger,
    onAlert: (a) => alerts.push(a),
    onConsole: (_line, record) => {
      if (record.kind === 'KubeEvent') events.push(record.value as KubeEvent);
    },
  });
  return { job, alerts, events };
}

/** The n-th FailedScheduling of Pod web-1 (n = 1: created; later: a series bump), n * 5 s after T0. */
function failedScheduling(n: number): void {
  const at = new Date(T0 + n * 5_000).toISOString();
  if (n === 1) {
    server.create(EVENTS, {
      metadata: { name: 'web-1.fs', namespace: 'shop' },
      eventTime: at,
      reason: 'FailedScheduling',
      type: 'Warning',
      note: '0/3 nodes are available',
      reportingController: 'default-scheduler',
      regarding: { apiVersion: 'v1', kind: 'Pod', namespace: 'shop', name: 'web-1', uid: 'pod-web-1' },
    });
  } else {
    server.update(EVENTS, 'shop', 'web-1.fs', (o) => (o['series'] = { count: n, lastObservedTime: at }));
  }
}

/** Waits until the job has handled the n-th occurrence and its state is committed past it. */
async function committed(events: KubeEvent[], n: number): Promise<void> {
  await waitFor(() => events.some((e) => e.count === n), 10_000);
  const rv = events.find((e) => e.count === n)!.resourceVersion;
  await waitFor(() => {
    try {
      const file = JSON.parse(readFileSync(join(dir, 'checkpoints.json'), 'utf8')) as {
        states?: Record<string, { positions: Record<string, { resourceVersion: string }> }>;
      };
      return Number(file.states?.['c1/default/state']?.positions['events@shop']?.resourceVersion) >= Number(rv);
    } catch {
      return false;
    }
  }, 10_000);
}

describe('live job: the windows survive a restart', () => {
  for (const how of ['graceful stop', 'lost Lease (no last save)'] as const) {
    it(`six FailedScheduling within 30 s raise PodUnschedulable across a ${how} after the third`, async () => {
      const { logger: firstLogger, lines: firstLines } = captureLogger('info');
      const first = start(firstLogger);
      await waitFor(() => firstLines.some((l) => l['msg'] === 'live job running'), 10_000);
      for (let n = 1; n <= 3; n++) {
        failedScheduling(n);
        await waitFor(() => first.events.some((e) => e.count === n), 10_000);
      }
      await committed(first.events, 3);
      await first.job.stop(how === 'graceful stop' ? {} : { saveCheckpoints: false });
      await first.job.done;
      expect(first.alerts).toEqual([]);

      const { logger, lines } = captureLogger('info');
      const second = start(logger);
      await waitFor(() => lines.some((l) => l['msg'] === 'live job running'), 10_000);
      expect(lines.find((l) => l['msg'] === 'operator state loaded')).toMatchObject({ keys: 1 });
      for (let n = 4; n <= 6; n++) {
        failedScheduling(n);
        await waitFor(() => second.events.some((e) => e.count === n), 10_000);
      }
      expect(second.events.map((e) => e.count)).toEqual([4, 5, 6]);
      expect(second.alerts.map((a) => `${a.labels['alertname']}:${a.status}:${a.count}`)).toEqual(['PodUnschedulable:firing:5']);
      await second.job.stop();
      await second.job.done;
    });
  }
});
