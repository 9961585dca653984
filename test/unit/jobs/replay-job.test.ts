import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import avro from 'avsc';
import { afterEach, describe, expect, it } from 'vitest';
import { LOGICAL_TYPES, loadSchema } from '../../../src/avro/schemas.js';
import type { Alert } from '../../../src/model/alert.js';
import type { Incident } from '../../../src/model/incident.js';
import type { KubeEvent } from '../../../src/model/kube-event.js';
import { defaultPipelinePaths, loadPipelines } from '../../../src/pipeline/load.js';
import { silentLogger } from '../../../src/core/logger.js';
import { packageRoot } from '../../../src/core/paths.js';
import { runReplayJob } from '../../../src/jobs/replay-job.js';
import { RunStats } from '../../../src/jobs/run-stats.js';

const recording = join(packageRoot(), 'recordings', 'recorded-cluster.jsonl');

async function decodeAll<T>(path: string, kind: string): Promise<T[]> {
  const out: T[] = [];
  await new Promise<void>((resolve, reject) =>
    avro
      .createFileDecoder(path, { readerSchema: loadSchema(kind).json, logicalTypes: LOGICAL_TYPES } as never)
      .on('data', (r: T) => out.push(r))
      .on('end', resolve)
      .on('error', reject),
  );
  return out;
}

describe('runReplayJob on the bundled recording with pipelines/default.yaml', () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

  async function replay(speed: 'max' | number = 'max') {
    const loaded = await loadPipelines(defaultPipelinePaths());
    expect(loaded.ok).toBe(true);
    const out = mkdtempSync(join(tmpdir(), 'kubevents-job-'));
    dirs.push(out);
    const stats = new RunStats();
    const lines: string[] = [];
    const job = runReplayJob({
      file: recording,
      speed,
      outDir: out,
      cluster: 'replay',
      logger: silentLogger,
      stats,
      pipelines: loaded.pipelines,
      onAlert: (l) => lines.push(l),
    });
    await job.done;
    const files = job.files.files;
    return { out, stats, lines, files };
  }

  it('enriches events from the objects recorded before them, and the story alerts carry that context', async () => {
    const { out, stats, files } = await replay();
    expect(stats.events).toBe(668);
    expect(stats.warnings).toBe(386);
    expect(Object.fromEntries(files.map((f) => [f.topic, f.records]))).toMatchObject({ 'k8s.events': 668 });

    const events = await decodeAll<KubeEvent>(join(out, 'k8s.events.avro'), 'KubeEvent');
    const checkoutBackOffs = events.filter((e) => e.reason === 'BackOff' && e.regarding.name?.startsWith('checkout-xw4b57qj7-'));
    expect(checkoutBackOffs.length).toBe(29);
    for (const e of checkoutBackOffs) {
      expect(e.enrichment?.workload).toMatchObject({ kind: 'Deployment', name: 'checkout' });
      expect(e.enrichment?.node).toBe('node-b');
      expect(e.classification?.category).toBe('CrashLoop');
    }
    // the last BackOff sees the container at its highest restart count
    const last = checkoutBackOffs.at(-1)!;
    expect(last.enrichment?.containers[0]).toMatchObject({ name: 'app', waitingReason: 'CrashLoopBackOff', lastTerminationReason: 'Error', lastExitCode: 1 });

    const alerts = await decodeAll<Alert>(join(out, 'k8s.alerts.avro'), 'Alert');
    const unschedulable = alerts.filter((a) => a.labels['alertname'] === 'PodUnschedulable');
    expect(unschedulable.map((a) => [a.status, new Date(a.status === 'firing' ? a.startsAt : a.endsAt!).toISOString()])).toEqual([
      ['firing', '2026-11-01T10:02:24.150Z'],
      ['resolved', '2026-11-01T10:14:23.700Z'],
    ]);
    expect(unschedulable[0]!.workload).toMatchObject({ kind: 'Deployment', name: 'api' });
    const checkout = alerts.find((a) => a.labels['alertname'] === 'PodCrashLooping' && a.labels['name']?.startsWith('checkout-'));
    expect(checkout?.workload).toMatchObject({ kind: 'Deployment', name: 'checkout' });
    expect(checkout?.node).toBe('node-b');

    const incidents = await decodeAll<Incident>(join(out, 'k8s.incidents.avro'), 'Incident');
    const nodeA = incidents.filter((i) => i.subject === 'Node/node-a');
    expect(nodeA.map((i) => i.status)).toEqual(['open', 'closed']);
    expect(nodeA.at(-1)!.memberCount).toBe(13);
    expect(nodeA.at(-1)!.rootReason).toBe('NodeNotReady');
  });

  it('gives the same console lines at recorded pace x1000 as at full speed: at full speed in time order, at a pace as decided', async () => {
    const fast = await replay('max');
    const paced = await replay(1000);
    expect([...paced.lines].sort()).toEqual([...fast.lines].sort());
    expect(fast.lines).toEqual([...fast.lines].sort()); // each line starts with its ISO time
    // the warning storm's end (10:25) is decided once its 1-minute bucket closes, after the Node incident opened (10:26)
    expect(paced.lines).not.toEqual(fast.lines);
    expect(fast.lines.length).toBeGreaterThan(10);
  }, 60_000);
});
