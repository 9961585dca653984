/**
 * `kubevents record` (the built CLI) on the real control plane (test/env): it records while the
 * scheduler, the controllers and kwok's kubelets make Events, next to a live run of the same
 * pipeline; the recording replayed through that pipeline gives every occurrence the live run saw,
 * enriched the same way (owner chain, workload, node). Then its limits, stdout and its one-line
 * failures. Needs `npm run build` (npm test builds first).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  CRASH_ANNOTATION,
  createDeployment,
  createKwokNode,
  createNamespace,
  createUnschedulablePod,
  deleteNamespace,
  deleteNode,
  kubeConfigFor,
  uniqueName,
  waitFor,
} from '../env/scenarios.js';

const root = join(import.meta.dirname, '..', '..');
const cli = join(root, 'dist', 'src', 'cli', 'main.js');
const env = inject('kubeEnv');
const kc = kubeConfigFor(env);

/** A CLI child process with its stdout lines, its stderr lines and its JSON log lines. */
class Child {
  readonly proc: ChildProcess;
  readonly stdout: string[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<number | null>;

  constructor(args: string[]) {
    this.proc = spawn(process.execPath, [cli, ...args], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, KUBEVENTS_METRICS_ADDRESS: '127.0.0.1', KUBEVENTS_METRICS_PORT: '0' },
    });
    this.exited = new Promise((resolve) => this.proc.once('exit', (code) => resolve(code)));
    lines(this.proc.stdout!, (l) => this.stdout.push(l));
    lines(this.proc.stderr!, (l) => this.stderr.push(l));
  }

  logs(): Array<{ msg: string; [k: string]: unknown }> {
    return this.stderr.flatMap((l) => {
      try {
        return [JSON.parse(l) as { msg: string }];
      } catch {
        return [];
      }
    });
  }

  async waitForLog(msg: string | RegExp, timeoutMs = 60_000): Promise<void> {
    await waitFor(
      () => {
        if (this.proc.exitCode !== null) throw new Error(`exited ${this.proc.exitCode} before logging ${String(msg)}:\n${this.stderr.slice(-20).join('\n')}`);
        return this.logs().some((l) => (typeof msg === 'string' ? l.msg === msg : msg.test(l.msg)));
      },
      timeoutMs,
      `the log line ${String(msg)}`,
      100,
    );
  }

  kill(signal: NodeJS.Signals): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill(signal);
  }
}

function lines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let buffer = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffer += chunk;
    for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
      onLine(buffer.slice(0, i));
      buffer = buffer.slice(i + 1);
    }
  });
  stream.on('end', () => {
    if (buffer) onLine(buffer);
  });
}

interface Enriched {
  idempotencyKey: string;
  reason: string;
  regarding: { kind: string; name: string };
  enrichment: { ownerChain: Array<{ kind: string; name: string }>; workload: { kind: string; name: string } | null; node: string | null } | null;
}

function enrichedOf(stdout: string[]): Map<string, Enriched> {
  const out = new Map<string, Enriched>();
  for (const l of stdout) {
    if (!l.trim()) continue;
    const e = JSON.parse(l) as Enriched;
    out.set(e.idempotencyKey, e);
  }
  return out;
}

const children: Child[] = [];
const start = (args: string[]): Child => {
  const child = new Child(args);
  children.push(child);
  return child;
};

let work: string;
let pipeline: string;
const ns = uniqueName('record');
const node = uniqueName('kwok-rec');

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'kubevents-record-'));
  pipeline = join(work, 'enriched.yaml');
  writeFileSync(
    pipeline,
    [
      'apiVersion: kubevents/v1',
      'kind: Pipeline',
      'metadata: {name: enriched}',
      'spec:',
      '  stages: [enrich]',
      '  sinks:',
      '    - stdout: {format: json}',
      '',
    ].join('\n'),
  );
  await createNamespace(kc, ns);
  await createKwokNode(kc, node, { 'kubevents.test/pool': ns });
});

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await Promise.allSettled(children.map((c) => c.exited));
  await deleteNamespace(kc, ns).catch(() => undefined);
  await deleteNode(kc, node).catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
});

describe('kubevents record on the real control plane', () => {
  let recording: string;
  let live: Child;
  let recorder: Child;

  it('records Events and the objects enrichment needs while they happen; SIGTERM ends it cleanly (exit 0) with a summary', async () => {
    recording = join(work, 'cluster.jsonl');
    recorder = start(['record', '-o', recording, '--namespace', ns, '--kubeconfig', env.kubeconfigPath, '--duration', '10m']);
    live = start(['run', '--source', 'kube', '--kubeconfig', env.kubeconfigPath, '--namespace', ns, '--pipelines', pipeline, '--out', join(work, 'live-out')]);
    await Promise.all([recorder.waitForLog('Event: initial list recorded'), live.waitForLog('live job running')]);

    // a crash-looping Deployment on our node (ScalingReplicaSet, SuccessfulCreate, Scheduled, BackOff) and a Pod no node takes
    await createDeployment(kc, ns, 'checkout', 2, { annotations: { [CRASH_ANNOTATION]: 'true' }, nodeSelector: { 'kubernetes.io/hostname': node } });
    await createUnschedulablePod(kc, ns, 'api-pending');
    await waitFor(
      () => {
        const seen = [...enrichedOf(live.stdout).values()];
        const backOffs = new Set(seen.filter((e) => e.reason === 'BackOff').map((e) => e.regarding.name));
        return backOffs.size === 2 && seen.some((e) => e.reason === 'FailedScheduling');
      },
      90_000,
      'the live run to see BackOff on both Pods and FailedScheduling',
      250,
    );
    // the live run stops first, so that the recording holds everything it saw
    live.kill('SIGTERM');
    expect(await live.exited).toBe(0);
    // progress every 5 s on stderr
    await recorder.waitForLog(/^recording: \d+ Event changes?, \d+ object changes? .*elapsed, .* left$/, 15_000);
    recorder.kill('SIGTERM');
    expect(await recorder.exited, recorder.stderr.join('\n')).toBe(0);
    const summary = recorder.stderr.find((l) => l.startsWith('recorded '));
    expect(summary).toMatch(
      new RegExp(
        `^recorded \\d+ Event changes and \\d+ object changes \\(.*Pod \\d+.*\\) to ${recording.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(\\d+ KiB\\) in .*: stopped$`,
      ),
    );
    expect(recorder.stderr).toContain(`replay it: kubevents run --source replay:${recording}`);

    // JSON Lines of watch events with observedAt, in the order seen; objects before the first Event
    const records = readFileSync(recording, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; object: { kind: string; metadata: { namespace?: string; managedFields?: unknown } }; observedAt: string });
    const kinds = new Set(records.map((r) => r.object.kind));
    for (const k of ['Event', 'Pod', 'ReplicaSet', 'Deployment', 'Node']) expect(kinds, k).toContain(k);
    const times = records.map((r) => Date.parse(r.observedAt));
    expect(times.every((t, i) => Number.isFinite(t) && (i === 0 || t >= times[i - 1]!))).toBe(true);
    const firstEvent = records.findIndex((r) => r.object.kind === 'Event');
    expect(records.slice(0, firstEvent).some((r) => r.object.kind === 'Node')).toBe(true);
    // namespaced objects of our namespace only; pruned like the live caches
    expect(records.filter((r) => r.object.kind !== 'Node').every((r) => r.object.metadata.namespace === ns)).toBe(true);
    expect(records.every((r) => r.object.metadata.managedFields === undefined)).toBe(true);
  }, 240_000);

  it('replayed through the same pipeline, it gives every occurrence the live run saw, with the same owner chain, workload and node', async () => {
    const replay = start(['run', '--source', `replay:${recording}`, '--pipelines', pipeline, '--out', join(work, 'replay-out'), '--log-level', 'warn']);
    expect(await replay.exited, replay.stderr.join('\n')).toBe(0);
    const replayed = enrichedOf(replay.stdout);
    const seenLive = enrichedOf(live.stdout);
    expect(seenLive.size).toBeGreaterThan(5);
    const comparedPods = new Set<string>();
    for (const [key, liveEvent] of seenLive) {
      const r = replayed.get(key);
      expect(r, `${key} ${liveEvent.reason} ${liveEvent.regarding.name} is missing from the replay`).toBeDefined();
      // BackOff comes seconds after its Pod settled: both the live run's caches and the recording
      // hold the Pod, its ReplicaSet and Deployment by then. The Events that come milliseconds after
      // their object is created (Scheduled, SuccessfulCreate, FailedScheduling of a new Pod) race the
      // object on a separate watch, in the live run and in the recorder each on their own (seen in
      // full runs: the live run without the Pod, or the recorder with the Pod after the Event):
      // those are compared only where both had the object
      const settled = liveEvent.reason === 'BackOff';
      if (!settled && (liveEvent.reason !== 'FailedScheduling' || liveEvent.enrichment == null || r!.enrichment == null)) continue;
      if (settled) {
        expect(liveEvent.enrichment, `${key}: the live run enriched ${liveEvent.regarding.name}`).not.toBeNull();
        comparedPods.add(liveEvent.regarding.name);
      }
      expect(r!.enrichment?.ownerChain, key).toEqual(liveEvent.enrichment?.ownerChain);
      expect(r!.enrichment?.workload, key).toEqual(liveEvent.enrichment?.workload);
      expect(r!.enrichment?.node, key).toEqual(liveEvent.enrichment?.node);
    }
    // the BackOff of both crash-looping Pods (waited for above) compared
    expect(comparedPods.size).toBe(2);
    // and the enrichment is there: the crash-looping Pods' Deployment and node
    const backOff = [...replayed.values()].find((e) => e.reason === 'BackOff');
    expect(backOff?.enrichment).toMatchObject({
      ownerChain: [{ kind: 'ReplicaSet' }, { kind: 'Deployment', name: 'checkout' }],
      workload: { kind: 'Deployment', name: 'checkout' },
      node,
    });
    expect(replay.stderr.find((l) => l.startsWith('recording '))).toMatch(
      /\(JSON Lines\): \d+ records \((?=.*\bevents \d+)(?=.*\bpods \d+)(?=.*\bnodes \d+).*\)$/,
    );
  }, 120_000);

  it('--max-events to stdout (-o -): stops after that many Event changes, the lines piped on as JSON Lines; Events only with --events-only', async () => {
    const child = start(['record', '-o', '-', '--max-events', '3', '--events-only', '--namespace', ns, '--kubeconfig', env.kubeconfigPath]);
    expect(await child.exited, child.stderr.join('\n')).toBe(0);
    const written = child.stdout.filter((l) => l.trim()).map((l) => JSON.parse(l) as { type: string; object: { kind: string } });
    expect(written).toHaveLength(3);
    expect(written.every((w) => w.object.kind === 'Event' && w.type === 'ADDED')).toBe(true);
    expect(child.stderr.at(-1)).toMatch(/^recorded 3 Event changes and 0 object changes to stdout \(\d+ KiB\) in .*: --max-events reached$/);
  }, 60_000);

  it('-o - piped into a reader that goes away (`head -c 0`, as `| head -1` once it has its line): ends quietly, exit 0', async () => {
    const child = spawn(
      'bash',
      [
        '-c',
        `set -o pipefail; "${process.execPath}" "${cli}" record -o - --namespace ${ns} --kubeconfig "${env.kubeconfigPath}" --duration 60s 2>"${join(work, 'head.err')}" | head -c 0`,
      ],
      { cwd: root },
    );
    const started = Date.now();
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    const stderr = readFileSync(join(work, 'head.err'), 'utf8').trim().split('\n');
    expect(code, stderr.join('\n')).toBe(0);
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(stderr.find((l) => l.startsWith('recorded '))).toMatch(/ to stdout \(\d+ KiB\) in .*: the reader of stdout went away$/);
  }, 90_000);

  it('--duration ends the recording on time', async () => {
    const file = join(work, 'short.jsonl');
    const started = Date.now();
    const child = start(['record', '-o', file, '--duration', '3s', '--namespace', ns, '--kubeconfig', env.kubeconfigPath]);
    expect(await child.exited, child.stderr.join('\n')).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(3_000);
    expect(child.stderr.find((l) => l.startsWith('recorded '))).toMatch(/: --duration reached$/);
    expect(readFileSync(file, 'utf8').trim().split('\n').length).toBeGreaterThan(3);
  }, 60_000);
});

describe('kubevents record: one line and an exit code when it cannot', () => {
  const lastLine = async (args: string[]): Promise<{ code: number | null; line: string; lines: string[] }> => {
    const child = start(args);
    const code = await child.exited;
    const plain = child.stderr.filter((l) => l.trim() && !l.startsWith('{"level":30'));
    return { code, line: plain.at(-1) ?? '', lines: plain };
  };

  it('an API server that does not answer: exit 1', async () => {
    const dead = join(work, 'dead.kubeconfig');
    writeFileSync(dead, readFileSync(env.kubeconfigPath, 'utf8').replace(/server: \S+/, 'server: https://127.0.0.1:1'));
    const r = await lastLine(['record', '-o', join(work, 'x.jsonl'), '--kubeconfig', dead]);
    expect(r.code).toBe(1);
    expect(r.lines).toHaveLength(1);
    expect(r.line).toMatch(/^kubevents: cannot reach the API server https:\/\/127\.0\.0\.1:1: .*ECONNREFUSED/);
  }, 60_000);

  it('credentials the API server refuses: exit 1', async () => {
    const bad = join(work, 'bad-token.kubeconfig');
    writeFileSync(bad, readFileSync(env.kubeconfigPath, 'utf8').replace(env.token, 'not-the-token'));
    const r = await lastLine(['record', '-o', join(work, 'x.jsonl'), '--kubeconfig', bad]);
    expect(r.code).toBe(1);
    expect(r.line).toMatch(/^kubevents: the API server https:\/\/127\.0\.0\.1:\d+ refused the credentials of the kubeconfig \(401/);
  }, 60_000);

  it('an output that cannot be written: exit 2 before connecting', async () => {
    const readOnly = join(work, 'read-only');
    mkdirSync(readOnly);
    chmodSync(readOnly, 0o500);
    const target = process.getuid?.() === 0 ? join(work, 'no-such-dir', 'x.jsonl') : join(readOnly, 'x.jsonl');
    const r = await lastLine(['record', '-o', target, '--kubeconfig', env.kubeconfigPath]);
    expect(r.code).toBe(2);
    expect(r.lines).toEqual([
      expect.stringMatching(new RegExp(`^kubevents: cannot write the recording to ${target.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `)),
    ]);
  }, 60_000);

  it('bad limits and no output: exit 2', async () => {
    expect(await lastLine(['record', '-o', '-', '--duration', '10 minutes'])).toMatchObject({
      code: 2,
      line: expect.stringMatching(/^kubevents: --duration "10 minutes" is not a duration/),
    });
    expect(await lastLine(['record', '-o', '-', '--max-events', '0'])).toMatchObject({
      code: 2,
      line: 'kubevents: --max-events "0" must be a whole number >= 1',
    });
    expect(await lastLine(['record', '--duration', '1m'])).toMatchObject({ code: 2, line: 'kubevents: kubevents record needs -o FILE (or -o - for stdout)' });
  }, 60_000);
});
