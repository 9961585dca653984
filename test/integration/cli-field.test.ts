/**
 * The built CLI the way users run it, on inputs and deployments the happy path does not take:
 * stdout piped into another tool, unwritable --out, options that do not belong to a replay, an API
 * server that cannot be reached. Runs `node dist/src/cli/main.js` (npm test builds first).
 */
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const exec = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const cli = join(root, 'dist', 'src', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'kubevents-field-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

async function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Result> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [cli, ...args], { cwd: root, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const lastLine = (text: string): string => text.trimEnd().split('\n').at(-1) ?? '';

const STDOUT_PIPELINE = `apiVersion: kubevents/v1
kind: Pipeline
metadata: {name: warnings-out}
spec:
  stages: [{filter: {type: Warning}}]
  sinks: [stdout]
`;

describe('kubevents run, replaying, as users pipe and deploy it', () => {
  it('stdout carries only JSON Lines (the summary goes to stderr)', async () => {
    const pipeline = join(dir, 'stdout.yaml');
    writeFileSync(pipeline, STDOUT_PIPELINE);
    const r = await run(['run', '--pipelines', pipeline, '--out', join(dir, 'out-1'), '--log-level', 'warn']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(386);
    for (const line of lines) expect(JSON.parse(line)).toMatchObject({ type: 'Warning' });
    expect(r.stderr).toMatch(/│ warnings-out +│ stdout auto +│ 386 +│/);
  });

  it('| head -1: the run ends quietly with exit 0 when the reader goes away', async () => {
    const child = spawn(process.execPath, [cli, 'run', '--print-events', '--out', join(dir, 'out-2')], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const first = await new Promise<string>((resolve) => child.stdout.once('data', (c: Buffer) => resolve(c.toString().split('\n')[0]!)));
    child.stdout.destroy(); // what `head -1` does after its line
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(JSON.parse(first)).toHaveProperty('idempotencyKey');
    expect(code).toBe(0);
    expect(stderr).not.toMatch(/EPIPE|MaxListenersExceededWarning|Error:/);
  });

  it('an unwritable --out is one line and exit 2 before anything starts; a file that cannot be written fails the run with one line', async () => {
    writeFileSync(join(dir, 'a-file'), '');
    const under = await run(['run', '--out', join(dir, 'a-file', 'out')]);
    expect(under.code).toBe(2);
    expect(under.stderr).toBe(`kubevents: cannot write to --out ${join(dir, 'a-file', 'out')}: a part of the path is a file, not a folder (ENOTDIR)\n`);
    const out = join(dir, 'out-3');
    mkdirSync(join(out, 'k8s.events.avro'), { recursive: true }); // a folder where the events file goes
    const blocked = await run(['run', '--out', out, '--log-level', 'warn']);
    expect(blocked.code).toBe(1);
    expect(lastLine(blocked.stderr)).toMatch(new RegExp(`^kubevents: the replay failed: cannot write ${out}/k8s.events.avro: EISDIR`));
    expect(blocked.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('options of the live run are refused with a replay; an invalid --config is never ignored', async () => {
    const live = await run(['run', '--kafka-brokers', 'k:9092', '--create-topics']);
    expect(live.code).toBe(2);
    expect(live.stderr).toMatch(/^kubevents: --kafka-brokers, --create-topics apply to --source kube only/);
    const config = join(dir, 'bad-config.yaml');
    writeFileSync(config, 'clustr: x\n');
    const bad = await run(['run', '--config', config, '--out', join(dir, 'out-4')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`${config}:1:1: clustr: unknown setting`);
  });

  it('--namespace and KUBEVENTS_PIPELINES apply to a replay; a replay writes fresh files', async () => {
    const out = join(dir, 'out-5');
    mkdirSync(out);
    writeFileSync(join(out, 'k8s.incidents.avro'), 'stale'); // an earlier run's file
    const r = await run(['run', '--namespace', 'payments', '--out', out, '--log-level', 'warn'], {
      KUBEVENTS_PIPELINES: join(root, 'pipelines', 'default.yaml'),
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/│ payments +│ 37 +│/);
    expect(r.stderr).not.toMatch(/│ batch +│/);
    // no incident in payments: no incidents file, and the summary says 0
    expect(readdirSync(out).sort()).toEqual(['k8s.alerts.avro', 'k8s.events.avro']);
    expect(r.stderr).toMatch(/│ default\/node-not-ready +│ kafka k8s.incidents +│ 0 +│/);
  });
});

describe('small things a new user meets', () => {
  it('run --help shows the --source default and a numeric --speed default', async () => {
    const r = await run(['run', '--help']);
    expect(r.code).toBe(0);
    const help = r.stdout.replace(/\s+/g, ' ');
    expect(help).toContain('(default: the bundled recording, replay:recordings/recorded-cluster.jsonl)');
    expect(help).toMatch(/ten times faster \(default: 0\)/);
  });

  it('config print says where checkpoints go; config validate names a CA file that is not there', async () => {
    const print = await run(['config', 'print'], { KUBEVENTS_CONFIG: '' });
    expect(print.stdout).toContain("# checkpoints: <out>/checkpoints.json (<out>: the run's --out directory, default out)");
    const config = join(dir, 'tls.yaml');
    writeFileSync(config, `kafka:\n  brokers: k:9093\n  tls:\n    enabled: true\n    caFile: ${join(dir, 'no-ca.crt')}\nencoding: avro-binary\n`);
    const validate = await run(['config', 'validate', '--config', config]);
    expect(validate.code).toBe(2);
    expect(validate.stderr).toContain(`${config}:5:13: kafka.tls.caFile: cannot read the CA certificate ${join(dir, 'no-ca.crt')}: no such file`);
  });

  it('alerts --check prints the same warnings as --send-test; the webhook request says User-Agent kubevents/<version>', async () => {
    const seen: Array<string | undefined> = [];
    const receiver = createHttpServer((req, res) => {
      seen.push(req.headers['user-agent']);
      req.resume();
      req.on('end', () => res.writeHead(200).end('ok'));
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const port = (receiver.address() as { port: number }).port;
    try {
      const config = join(dir, 'alerts.yaml');
      writeFileSync(
        config,
        `kafka:\n  brokers: [127.0.0.1:1]\nreceivers:\n  - name: hook\n    type: webhook\n    url: http://127.0.0.1:${port}/hook\n  - name: spare\n    type: webhook\n    url: http://127.0.0.1:${port}/spare\nroute:\n  receiver: hook\n`,
      );
      const check = await run(['alerts', '--config', config, '--check', '--log-level', 'warn']);
      const sendTest = await run(['alerts', '--config', config, '--send-test', 'hook', '--log-level', 'warn']);
      expect([check.code, sendTest.code]).toEqual([0, 0]);
      const warnings = (r: Result) => r.stderr.split('\n').filter((l) => l.includes('warning'));
      expect(warnings(check)).toEqual([`${config}:7:11: warning: receiver "spare" is not used by any route`]);
      expect(warnings(sendTest)).toEqual(warnings(check));
      expect(sendTest.stdout).toMatch(/^test notification delivered to webhook "hook"/);
      const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
      expect(seen).toEqual([`kubevents/${version}`]);
    } finally {
      receiver.closeAllConnections();
      await new Promise((resolve) => receiver.close(resolve));
    }
  });

  it('a replay at full speed prints its console lines in event-time order', async () => {
    const r = await run(['run', '--out', join(dir, 'out-6'), '--log-level', 'warn']);
    expect(r.code).toBe(0);
    const times = r.stderr
      .split('\n')
      .filter((l) => /^\d{4}-\d\d-\d\dT.* (FIRING|RESOLVED|INCIDENT) /.test(l))
      .map((l) => l.slice(0, 24));
    expect(times.length).toBe(16);
    expect(times).toEqual([...times].sort());
  });
});

describe('kubevents run --source kube, with an API server that does not answer', () => {
  it('--fail-after: exit 1 with one line naming the server and why; /readyz said "connecting to the API server" meanwhile', async () => {
    // a port that refuses connections
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(
      kubeconfig,
      `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:${port}", insecure-skip-tls-verify: true}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n`,
    );
    const metrics = createServer();
    await new Promise<void>((resolve) => metrics.listen(0, '127.0.0.1', resolve));
    const metricsPort = (metrics.address() as { port: number }).port;
    await new Promise<void>((resolve) => metrics.close(() => resolve()));
    const started = Date.now();
    const child = spawn(
      process.execPath,
      [cli, 'run', '--source', 'kube', '--kubeconfig', kubeconfig, '--out', join(dir, 'out-kube'), '--fail-after', '6s', '--log-level', 'warn'],
      {
        cwd: root,
        env: { ...process.env, KUBEVENTS_METRICS_ADDRESS: '127.0.0.1', KUBEVENTS_METRICS_PORT: String(metricsPort), KUBEVENTS_KUBE_CONNECT_TIMEOUT: '3s' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    // poll until the probe says why it is not ready (a fixed wait failed when the start was slow)
    let ready: { status: number; body: string } | null = null;
    try {
      for (let deadline = Date.now() + 5_500; Date.now() < deadline && !ready?.body.includes('connecting to the API server');) {
        ready = await fetch(`http://127.0.0.1:${metricsPort}/readyz`).then(
          async (res) => ({ status: res.status, body: await res.text() }),
          () => null,
        );
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      if (!ready) child.kill('SIGKILL');
    }
    const code = await closed;
    expect(ready, stderr).not.toBeNull();
    expect(ready!.status).toBe(503);
    expect(ready!.body).toContain(`[-]job not ready: connecting to the API server https://127.0.0.1:${port} (GET /version: connect ECONNREFUSED`);
    expect(code).toBe(1);
    expect(Date.now() - started).toBeLessThan(20_000);
    // the error line after connectTimeout, then the exit line
    expect(stderr).toMatch(
      /no successful list from the Kubernetes API server https:\/\/127\.0\.0\.1:\d+ for \d+ s: .*ECONNREFUSED.*; still retrying with backoff/,
    );
    expect(lastLine(stderr)).toMatch(
      new RegExp(
        `^kubevents: no successful list from the Kubernetes API server https://127\\.0\\.0\\.1:${port} for \\d+ s: .*ECONNREFUSED.*; giving up \\(--fail-after\\)$`,
      ),
    );
  }, 60_000);
});
