/**
 * `kubevents run --source kube` as deployed (deploy/base): started with `--config FILE` enabling
 * the metrics/health server and Lease leader election, on the real stack (test/env: kube-apiserver
 * and a Kafka broker). The CLI runs as a child process (transpiled with test/support/transpile.ts).
 *
 * - /healthz 200 at once, /readyz 200 once it leads and the job runs (sink connected, caches
 *   synced), /metrics serves kubevents_* metrics;
 * - the Lease names this replica (holderIdentity);
 * - SIGTERM: exit 0, and the lease is released (holderIdentity "", see LeaderElector.release()).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoordinationV1Api, type V1Lease } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createKafka, ensureTopics } from '../../src/kafka/client.js';
import { createNamespace, deleteNamespace, kubeConfigFor, uniqueName, waitFor } from '../env/scenarios.js';
import { transpileTree } from '../support/transpile.js';

const kubeEnv = inject('kubeEnv');
const kafkaEnv = inject('kafkaEnv');
const kc = kubeConfigFor(kubeEnv);
const coordination = kc.makeApiClient(CoordinationV1Api);

let cli: string;
let workDir: string;
let namespace: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  cli = transpileTree('src/cli/main.ts');
  workDir = mkdtempSync(join(tmpdir(), 'kv-kube-probes-'));
  namespace = uniqueName('kv-probes');
  await createNamespace(kc, namespace);
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  if (namespace) await deleteNamespace(kc, namespace).catch(() => undefined);
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function get(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(3_000) });
  return { status: res.status, body: await res.text() };
}

async function readLease(name: string): Promise<V1Lease | undefined> {
  try {
    return await coordination.readNamespacedLease({ name, namespace });
  } catch {
    return undefined;
  }
}

describe('run --source kube with --config: probes, metrics and leader election', () => {
  it('serves /healthz, /readyz and /metrics, leads the Lease, and releases it on SIGTERM', async () => {
    const id = randomUUID().slice(0, 8);
    const topics = {
      events: `probes-${id}.events`,
      alerts: `probes-${id}.alerts`,
      incidents: `probes-${id}.incidents`,
      gaps: `probes-${id}.gaps`,
      deadLetters: `probes-${id}.deadletter`,
    };
    const kafka = createKafka({ brokers: kafkaEnv.brokers, clientId: 'kube-run-probes-test' });
    const admin = kafka.admin();
    await admin.connect();
    try {
      await ensureTopics(
        admin,
        Object.values(topics).map((topic) => ({ topic, partitions: 1, replicationFactor: 1 })),
      );
    } finally {
      await admin.disconnect();
    }

    const port = await freePort();
    const leaseName = 'kubevents-probes';
    const identity = `probes-test-${id}`;
    const configFile = join(workDir, 'kubevents.yaml');
    // JSON is YAML
    writeFileSync(
      configFile,
      JSON.stringify({
        cluster: 'probes',
        source: { kube: { kubeconfig: kubeEnv.kubeconfigPath, namespaces: [namespace] } },
        kafka: { brokers: kafkaEnv.brokers },
        encoding: 'avro-binary',
        topics,
        checkpoint: { store: 'file', path: join(workDir, 'checkpoints') },
        metrics: { address: '127.0.0.1', port },
        leaderElection: {
          enabled: true,
          leaseName,
          leaseNamespace: namespace,
          identity,
          leaseDurationSeconds: 15,
          renewDeadlineSeconds: 10,
          retryPeriodSeconds: 2,
        },
      }),
    );

    const stderr: string[] = [];
    const proc = spawn(process.execPath, [cli, 'run', '--source', 'kube', `--config=${configFile}`, '--shutdown-timeout', '10'], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, KUBEVENTS_CONFIG: '' },
    });
    children.push(proc);
    proc.stderr!.setEncoding('utf8');
    proc.stderr!.on('data', (chunk: string) => stderr.push(chunk));
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    const tail = () => stderr.join('').split('\n').slice(-30).join('\n');
    const alive = () => {
      if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`the CLI exited (${proc.exitCode ?? proc.signalCode}):\n${tail()}`);
    };
    const base = `http://127.0.0.1:${port}`;

    try {
      // liveness: as soon as the server listens
      const health = await waitFor(
        async () => {
          alive();
          const r = await get(`${base}/healthz`);
          return r.status === 200 ? r : undefined;
        },
        30_000,
        '/healthz 200',
      );
      expect(health.status).toBe(200);

      // the Lease names this replica
      const lease = await waitFor(
        async () => {
          alive();
          const l = await readLease(leaseName);
          return l?.spec?.holderIdentity === identity ? l : undefined;
        },
        30_000,
        'the Lease to be held by the CLI',
      );
      expect(lease.spec?.holderIdentity).toBe(identity);

      // readiness: leading, sink connected, caches synced
      const ready = await waitFor(
        async () => {
          alive();
          const r = await get(`${base}/readyz`);
          return r.status === 200 ? r : undefined;
        },
        60_000,
        '/readyz 200',
      ).catch((error: unknown) => {
        throw new Error(`${(error as Error).message}\n${tail()}`);
      });
      expect(ready.body).toContain('readyz check passed');

      const metrics = await get(`${base}/metrics`);
      expect(metrics.status).toBe(200);
      expect(metrics.body).toMatch(/^kubevents_/m);
      expect(metrics.body).toContain('kubevents_leader');

      // SIGTERM: the job shuts down cleanly, then the lease is released
      proc.kill('SIGTERM');
      const code = await Promise.race([exited, new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 30_000))]);
      expect(code, tail()).toBe(0);
      const released = await readLease(leaseName);
      expect(released?.spec?.holderIdentity ?? '').toBe('');
      expect(tail()).toContain('released the lease');
    } finally {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    }
  }, 180_000);
});
