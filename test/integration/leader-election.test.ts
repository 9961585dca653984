/**
 * Leader election on the real control plane (test/env: etcd + kube-apiserver): candidates in
 * separate processes (test/integration/support/elector-child.ts, run by plain `node`) compete
 * for one coordination.k8s.io/v1 Lease.
 *
 * - kill -9 the leader: the standby takes over within the lease duration (plus its retry period)
 *   after the last renewal it observed, and leaseTransitions counts the takeover;
 * - SIGTERM the leader: it stops its work, releases the lease, and the standby takes over at its
 *   next retry, long before the lease would have expired; the two never work at the same time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createNamespace, deleteNamespace, kubeConfigFor, uniqueName } from '../env/scenarios.js';
import { transpileTree } from '../support/transpile.js';

const env = inject('kubeEnv');
const kc = kubeConfigFor(env);
const coordination = kc.makeApiClient(CoordinationV1Api);
const ns = uniqueName('leader');
const LEASE = 'kubevents-leader';
const LEASE_MS = 4000;
const RENEW_MS = 3000;
const RETRY_MS = 500;

interface Line {
  event: string;
  identity: string;
  t: number;
  [k: string]: unknown;
}

class Candidate {
  readonly lines: Line[] = [];
  readonly proc: ChildProcess;
  stderr = '';
  exit: Promise<number | null>;

  constructor(
    script: string,
    readonly identity: string,
  ) {
    this.proc = spawn(process.execPath, [script, env.kubeconfigPath, ns, LEASE, identity, String(LEASE_MS), String(RENEW_MS), String(RETRY_MS)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buffer = '';
    this.proc.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (line.trim()) this.lines.push(JSON.parse(line) as Line);
      }
    });
    this.proc.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString('utf8')));
    this.exit = new Promise((resolve) => this.proc.on('exit', (code) => resolve(code)));
  }

  first(event: string): Line | undefined {
    return this.lines.find((l) => l.event === event);
  }

  async waitFor(event: string, timeoutMs: number): Promise<Line> {
    const started = Date.now();
    for (;;) {
      const line = this.first(event);
      if (line) return line;
      if (Date.now() - started > timeoutMs) {
        throw new Error(
          `${this.identity}: no "${event}" within ${timeoutMs} ms; lines: ${JSON.stringify(this.lines.filter((l) => l.event !== 'work'))}; stderr: ${this.stderr}`,
        );
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  kill(signal: NodeJS.Signals): void {
    if (this.proc.exitCode === null && this.proc.pid !== undefined) this.proc.kill(signal);
  }
}

let script: string;
const candidates: Candidate[] = [];
const start = (identity: string) => {
  const c = new Candidate(script, identity);
  candidates.push(c);
  return c;
};

async function readLease() {
  return coordination.readNamespacedLease({ name: LEASE, namespace: ns });
}

beforeAll(async () => {
  script = transpileTree('test/integration/support/elector-child.ts');
  await createNamespace(kc, ns);
});

afterAll(async () => {
  for (const c of candidates) c.kill('SIGKILL');
  await deleteNamespace(kc, ns).catch(() => undefined);
});

describe('leader election on a real kube-apiserver', () => {
  it('kill -9 the leader: the standby takes over within the lease duration', async () => {
    const alpha = start('alpha');
    await alpha.waitFor('leading', 10_000);
    const beta = start('beta');
    await beta.waitFor('started', 10_000);
    // beta stands by while alpha renews, for longer than a lease duration
    await new Promise((r) => setTimeout(r, LEASE_MS + 1000));
    expect(beta.first('leading')).toBeUndefined();
    expect(beta.lines.find((l) => l.event === 'holder')?.['holder']).toBe('alpha');
    const held = await readLease();
    expect(held.spec).toMatchObject({ holderIdentity: 'alpha', leaseDurationSeconds: LEASE_MS / 1000, leaseTransitions: 0 });
    // the MicroTime values round-trip through the real API
    expect(String(held.spec?.renewTime)).toMatch(/\.\d{6}Z$/);

    const killedAt = Date.now();
    alpha.kill('SIGKILL');
    expect(await alpha.exit).toBeNull();
    const leading = await beta.waitFor('leading', LEASE_MS * 3);
    const elapsed = leading.t - killedAt;
    // alpha's last renewal was at most one retry period before the kill; beta notices the lease
    // unchanged for LEASE_MS from its first sight of that renewal and tries every RETRY_MS * (1..1.2)
    expect(elapsed).toBeLessThanOrEqual(LEASE_MS + 2 * RETRY_MS * 1.2 + 500);
    expect(elapsed).toBeGreaterThanOrEqual(LEASE_MS - RETRY_MS * 1.2 - 200);
    const taken = await readLease();
    expect(taken.spec).toMatchObject({ holderIdentity: 'beta', leaseTransitions: 1 });
    console.log(`kill -9 of the leader: standby took over after ${elapsed} ms (lease ${LEASE_MS} ms, retry ${RETRY_MS} ms)`);
  });

  it('SIGTERM the leader: it stops working and releases; the standby takes over at once, never overlapping', async () => {
    const beta = candidates.find((c) => c.identity === 'beta')!;
    const gamma = start('gamma');
    await gamma.waitFor('started', 10_000);
    await new Promise((r) => setTimeout(r, RETRY_MS * 3));
    expect(gamma.first('leading')).toBeUndefined();

    const termAt = Date.now();
    beta.kill('SIGTERM');
    expect(await beta.exit).toBe(0);
    const leading = await gamma.waitFor('leading', LEASE_MS * 2);
    const elapsed = leading.t - termAt;
    expect(elapsed).toBeLessThan(LEASE_MS / 2);
    const lastBetaWork = Math.max(...beta.lines.filter((l) => l.event === 'work').map((l) => l.t));
    const betaStopped = beta.first('stopped-leading')!;
    expect(betaStopped['reason']).toBe('stopped');
    expect(lastBetaWork).toBeLessThanOrEqual(betaStopped.t);
    expect(lastBetaWork).toBeLessThan(leading.t);
    await gamma.waitFor('work', 2000);
    const lease = await readLease();
    expect(lease.spec).toMatchObject({ holderIdentity: 'gamma', leaseTransitions: 2 });
    console.log(`graceful stop of the leader: standby took over after ${elapsed} ms (lease ${LEASE_MS} ms)`);
  });
});
