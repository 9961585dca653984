/**
 * Startup on the real control plane with many existing Events:
 *   1. creates `--existing` (default 50,000) Events with bounded concurrency (not measured);
 *   2. list: a fresh process runs the project's watchResource on events.k8s.io/v1 (paged, 500 per
 *      page) until SYNCED: time, peak RSS, objects emitted;
 *   3. creates `--after` (default 1,000) more Events, after the checkpoint (SYNCED's resourceVersion);
 *   4. resume: a fresh process runs watchResource with resumeFrom = the checkpoint: time until the
 *      Events created after it have all arrived (no list), peak RSS.
 * Each measured phase is its own process (bench/startup.ts --phase list|resume), so its RSS is its own.
 *
 *   node dist/bench/startup.js --kubeconfig FILE [--existing 50000] [--after 1000] [--concurrency 32]
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import type { Subscription } from 'rxjs';
import type { WatchEvent } from '../src/model/watch-event.js';
import { silentLogger } from '../src/core/logger.js';
import { RESOURCES } from '../src/sources/resources.js';
import { watchResource } from '../src/sources/watch-resource.js';
import { calibrate, intArg, loadAverage, mb, parseArgs, peakRss, progress, round2, RssSampler, writeResult } from './lib.js';
import { createEvents, deleteNamespace, ensureNamespace } from './kube-load.js';

const args = parseArgs(process.argv.slice(2));
const kubeconfig = args.get('kubeconfig');
if (!kubeconfig) throw new Error('--kubeconfig FILE is required');
const kc = new KubeConfig();
kc.loadFromFile(kubeconfig);
const phase = args.get('phase') ?? 'all';

interface PhaseResult {
  phase: 'list' | 'resume';
  ms: number;
  /** list: to SYNCED; resume: from subscribe to the first expected event */
  firstEventMs: number | null;
  objects: number;
  syncedResourceVersion: string | null;
  peakRssMB: number;
  rssAtStartMB: number;
  cpuMs: number;
}

/** One measured phase, in this (fresh) process. */
async function measure(): Promise<PhaseResult> {
  const namespace = args.get('namespace')!;
  const rssAtStart = process.memoryUsage.rss();
  const rss = new RssSampler(20).start();
  const resumeRv = args.get('resume-from');
  const expect = intArg(args, 'expect', 1);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let objects = 0;
  let firstEventMs: number | null = null;
  let syncedRv: string | null = null;
  // emitted objects are counted and dropped: the RSS is the source's own (pages, JSON parsing,
  // the emitted-versions tracker), not a consumer's
  await new Promise<void>((resolve, reject) => {
    let sub: Subscription | undefined = undefined;
    const done = () => {
      queueMicrotask(() => sub?.unsubscribe());
      resolve();
    };
    sub = watchResource(kc, RESOURCES.EventV1, {
      namespaces: [namespace],
      resumeFrom: resumeRv ? { resourceVersion: resumeRv } : null,
      timings: { pageSize: 500 },
      logger: silentLogger,
    }).subscribe({
      next: (e: WatchEvent<unknown>) => {
        if (e.type === 'SYNCED') {
          syncedRv = e.resourceVersion;
          if (!resumeRv) done();
          return;
        }
        if (e.type === 'GAP') return;
        objects++;
        firstEventMs ??= performance.now() - t0;
        if (resumeRv && objects >= expect) done();
      },
      error: reject,
    });
  });
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  rss.stop();
  return {
    phase: resumeRv ? 'resume' : 'list',
    ms: Math.round(ms),
    firstEventMs: firstEventMs === null ? null : Math.round(firstEventMs),
    objects,
    syncedResourceVersion: syncedRv,
    peakRssMB: mb(Math.max(peakRss(), rss.max)),
    rssAtStartMB: mb(rssAtStart),
    cpuMs: Math.round((cpu.user + cpu.system) / 1000),
  };
}

function runPhase(extra: string[]): Promise<PhaseResult> {
  const dir = mkdtempSync(join(tmpdir(), 'kubevents-bench-'));
  const file = join(dir, 'phase.json');
  return new Promise<PhaseResult>((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--kubeconfig', kubeconfig!, ...extra, '--result-file', file], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('error', reject);
    child.on('close', (code) => {
      try {
        if (code !== 0) throw new Error(`startup phase ${extra.join(' ')} exited with ${code}`);
        resolve(JSON.parse(readFileSync(file, 'utf8')) as PhaseResult);
      } catch (error) {
        reject(error);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

if (phase === 'measure') {
  writeResult(args, await measure());
  process.exit(0);
}

const existing = intArg(args, 'existing', 50_000);
const after = intArg(args, 'after', 1_000);
const concurrency = intArg(args, 'concurrency', 32);
const loadStart = loadAverage();
const calibrationCpuMs = calibrate();
const namespace = `bench-startup-${randomUUID().slice(0, 8)}`;
await ensureNamespace(kc, namespace);
progress(`startup: creating ${existing.toLocaleString('en')} Events in ${namespace} (concurrency ${concurrency})`);
const seeded = await createEvents({ kc, namespace, count: existing, rate: null, concurrency, prefix: 'seed' });
progress(`startup: created ${seeded.created} in ${(seeded.wallMs / 1000).toFixed(1)}s (${seeded.achievedPerSec}/s, ${seeded.failed} failed); listing`);
const loadList = loadAverage();
const list = await runPhase(['--phase', 'measure', '--namespace', namespace]);
progress(`startup: listed ${list.objects} to SYNCED in ${list.ms} ms (peak RSS ${list.peakRssMB} MB); creating ${after} after the checkpoint`);
const more = await createEvents({ kc, namespace, count: after, rate: null, concurrency, prefix: 'after' });
const loadResume = loadAverage();
const resume = await runPhase([
  '--phase',
  'measure',
  '--namespace',
  namespace,
  '--resume-from',
  list.syncedResourceVersion ?? '',
  '--expect',
  String(more.created),
]);
progress(`startup: resumed, ${resume.objects} Events after the checkpoint in ${resume.ms} ms (peak RSS ${resume.peakRssMB} MB)`);
await deleteNamespace(kc, namespace);
writeResult(args, {
  bench: 'startup',
  existing,
  seeded: { created: seeded.created, failed: seeded.failed, perSec: seeded.achievedPerSec, firstError: seeded.firstError },
  list: { ...list, objectsPerSec: round2(list.objects / (list.ms / 1000)), loadavg: loadList },
  after: { created: more.created, failed: more.failed },
  resume: { ...resume, loadavg: loadResume },
  calibrationCpuMs,
  loadavgStart: loadStart,
  loadavgEnd: loadAverage(),
});
process.exit(0);
