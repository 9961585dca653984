/**
 * Leader failover of the real job (issue #9, items 2 and 3): two `kubevents run --source kube`
 * processes with Lease leader election (same Lease, distinct identities), the same namespace, the
 * same Kafka topics and the Kafka checkpoint store, on the real stack (test/env: kube-apiserver and
 * a Kafka broker). Helpers shared with kube-to-kafka.test.ts: ./support/kube-run.ts.
 *
 * Leader election is enabled through the KUBEVENTS_LEADER_ELECTION_* overrides with short timings
 * (LEASE_S / RENEW_S / RETRY_S below). The events and checkpoint topics use
 * message.timestamp.type=LogAppendTime, so every record carries the time the broker appended it
 * (the broker runs on this machine: the same clock as the children's log lines and this test).
 *
 * 1. kill -9 of the leader during a burst of Events: the standby takes the Lease over within the
 *    lease duration (+ the margin below), resumes from the last checkpoint the leader committed and
 *    publishes; nothing is lost; duplicates carry the same idempotency key, are byte-identical and
 *    are only occurrences after that checkpoint; the standby published nothing before it led.
 * 2. Lease lost: the Lease is overwritten with a foreign holder through the coordination API; the
 *    leader stops the job and exits 1 within renewDeadline (+ its graceful job stop), does not
 *    release the Lease (the foreign holder stays), saves no checkpoint after the loss (the
 *    checkpoints are the new leader's), and logs why.
 * 3. SIGHUP on the standby: an invalid pipeline file is refused, a valid one is what its job runs
 *    once it takes over (not the files read at process start).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { CoordinationV1Api, V1MicroTime, type V1Lease } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it, onTestFinished } from 'vitest';
import { sleep, waitFor } from '../env/scenarios.js';
import {
  byIdempotencyKey,
  checkpointsIn,
  expectDuplicatesOnlyAfter,
  expectedKeys,
  keysIn,
  KubeRunHarness,
  maxRv,
  terminate,
  uniqueTopics,
  type Created,
  type JobProcess,
  type LogLine,
  type Topics,
} from './support/kube-run.js';

const h = new KubeRunHarness(inject('kubeEnv'), inject('kafkaEnv'), 'leader-failover');
const coordination = h.kc.makeApiClient(CoordinationV1Api);

const LEASE = 'kubevents-failover';
const LEASE_S = 5;
const RENEW_S = 3;
const RETRY_S = 1;
const SHUTDOWN_TIMEOUT_S = 5;
/**
 * The bound on kill -> standby leads. The standby takes over once the record it last observed has
 * not changed for LEASE_S on its own clock; it observes the leader's last renewal at its next poll
 * (up to RETRY_S * 1.2 after the kill, with jitter), and notices the expiry at the poll after that
 * (another RETRY_S * 1.2). 1 s more for the API calls and scheduling on a 2-core machine.
 */
const TAKEOVER_BOUND_MS = (LEASE_S + 2 * 1.2 * RETRY_S + 1) * 1000;
/**
 * kill -> the standby's first record on the topic: the takeover, then the job's start (checkpoint
 * read, Kafka connect, object caches synced, Event watch from the checkpoint), up to 15 s.
 */
const FIRST_PUBLISH_BOUND_MS = TAKEOVER_BOUND_MS + 15_000;
/** A produce request the killed leader had already sent may still be appended just after the kill. */
const IN_FLIGHT_GRACE_MS = 500;

const BECAME_LEADER = 'leader election: became the leader';
const LEADING = 'leading: starting the job';
const LEASE_LOST = 'lost the lease: stopping the job and exiting to restart as a standby';
const RELEASED = 'leader election: released the lease';
/** Log lines of the job itself (src/jobs/live-job.ts): none may come before leading. */
const JOB_LINES = [
  'Kubernetes source',
  'checkpoint store',
  'publishing to Kafka',
  'resuming from checkpoint',
  'no checkpoint: starting from a fresh list',
  'live job running',
];

beforeAll(() => h.setup());
afterAll(() => h.cleanup());

function startCandidate(ns: string, topics: Topics, identity: string, extra: string[] = []): JobProcess {
  return h.startJob(ns, topics, {
    extra,
    cluster: 'lf',
    shutdownTimeoutS: SHUTDOWN_TIMEOUT_S,
    env: {
      KUBEVENTS_LEADER_ELECTION_ENABLED: 'true',
      KUBEVENTS_LEADER_ELECTION_LEASE_NAME: LEASE,
      KUBEVENTS_LEADER_ELECTION_LEASE_NAMESPACE: ns,
      KUBEVENTS_LEADER_ELECTION_IDENTITY: identity,
      KUBEVENTS_LEADER_ELECTION_LEASE_DURATION_SECONDS: String(LEASE_S),
      KUBEVENTS_LEADER_ELECTION_RENEW_DEADLINE_SECONDS: String(RENEW_S),
      KUBEVENTS_LEADER_ELECTION_RETRY_PERIOD_SECONDS: String(RETRY_S),
    },
  });
}

async function readLease(ns: string): Promise<V1Lease | undefined> {
  try {
    return await coordination.readNamespacedLease({ name: LEASE, namespace: ns });
  } catch {
    return undefined;
  }
}

function tails(...jobs: [string, JobProcess][]): string {
  return jobs.map(([name, job]) => `--- ${name} (last lines) ---\n${job.tail(40)}`).join('\n');
}

/** waitFor, with the children's log tails added to the failure. */
async function waitOr<T>(
  jobs: [string, JobProcess][],
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs: number,
  what: string,
  intervalMs = 50,
): Promise<T> {
  return waitFor(check, timeoutMs, what, intervalMs).catch((error: unknown) => {
    throw new Error(`${(error as Error).message}\n${tails(...jobs)}`);
  });
}

/** Index of the first log line with this message (-1: none). */
function indexOf(job: JobProcess, msg: string): number {
  return job.logs.findIndex((l) => l.msg === msg);
}

/** `kubevents_sink_records_sent_total` summed over its series, from the child's /metrics (0 when absent). */
async function recordsSent(job: JobProcess): Promise<number> {
  const url = job.log('serving /metrics, /healthz and /readyz')?.['url'] as string | undefined;
  if (!url) throw new Error(`no metrics URL in the log:\n${job.tail()}`);
  const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(3_000) })).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^kubevents_sink_records_sent_total(?:\{[^}]*\})? (\S+)$/.exec(line);
    if (m) sum += Number(m[1]);
  }
  return sum;
}

describe('run --source kube with leader election: failover on the real stack', () => {
  it('kill -9 of the leader during a burst: the standby takes over within the lease duration, resumes from the checkpoint, nothing lost', async () => {
    const ns = await h.newNamespace('lf-kill');
    const topics = uniqueTopics('lf');
    await h.createTopics(topics, { 'message.timestamp.type': 'LogAppendTime' });
    const reader = await h.readTopics([topics.events, topics.checkpoints]);
    const id = randomUUID().slice(0, 6);
    const candidates = new Map<string, JobProcess>([
      [`lf-a-${id}`, startCandidate(ns, topics, `lf-a-${id}`)],
      [`lf-b-${id}`, startCandidate(ns, topics, `lf-b-${id}`)],
    ]);
    const all = [...candidates] as [string, JobProcess][];

    // exactly one leads: the Lease names it, its job runs; the other observed it and stands by
    const leaderId = await waitOr(
      all,
      async () => {
        for (const [name, job] of all) if (!job.running) throw new Error(`${name} exited`);
        const holder = (await readLease(ns))?.spec?.holderIdentity;
        return holder && candidates.has(holder) ? holder : undefined;
      },
      30_000,
      'the Lease to name one of the two candidates',
    );
    const leader = candidates.get(leaderId)!;
    const [standbyId, standby] = all.find(([name]) => name !== leaderId)!;
    await leader.waitForLog('live job running');
    await waitOr(all, () => standby.log(`lease held by ${leaderId}`), 15_000, `the standby to observe ${leaderId} holding the Lease`);
    expect(leader.log(LEADING)?.['identity']).toBe(leaderId);
    expect(standby.log(LEADING), standby.tail()).toBeUndefined();

    // a first burst, published by the leader
    const reason = `Failover${id}`;
    const created: Created[] = [];
    for (let i = 0; i < 30; i++) created.push(await h.createEvent(ns, `first-${i}`, reason, `ghost-${i % 7}`));
    const firstKeys = expectedKeys(created);
    await waitOr(all, () => [...firstKeys.keys()].every((k) => keysIn(reader.of(topics.events)).has(k)), 60_000, 'the first burst on the events topic', 100);
    // the standby ran no job and sent nothing
    expect(await recordsSent(standby)).toBe(0);
    expect(await recordsSent(leader)).toBeGreaterThanOrEqual(firstKeys.size);
    expect(
      JOB_LINES.filter((m) => standby.log(m)),
      standby.tail(),
    ).toEqual([]);

    const standbyLeads = () => indexOf(standby, BECAME_LEADER) >= 0 && indexOf(standby, 'live job running') > indexOf(standby, BECAME_LEADER);
    // the second burst goes on through the takeover: it stops 60 Events after the standby leads and its job runs
    let stopAt = Number.POSITIVE_INFINITY;
    let burstRv: bigint | undefined;
    let n = 0;
    onTestFinished(() => {
      stopAt = 0; // a failed test: stop creating Events
    });
    // two writers, paced (~50-80 Events/s here): the standby's replay from the checkpoint stays small
    const burst = Promise.all(
      Array.from({ length: 2 }, async () => {
        while (n < stopAt && n < 3_000) {
          const i = n++;
          const c = await h.createEvent(ns, `burst-${i}`, reason, `ghost-${i % 29}`);
          burstRv ??= BigInt([...c.occurrences.values()][0]!);
          created.push(c);
          if (i % 10 === 0) await h.bumpEvent(ns, c, 2);
          if (stopAt === Number.POSITIVE_INFINITY && standbyLeads()) stopAt = n + 60;
          await sleep(20);
        }
      }),
    );
    burst.catch(() => undefined);

    // kill -9 once the leader published part of the burst and checkpointed into it
    await waitOr(
      all,
      () => {
        const published = reader.of(topics.events).length;
        const checkpoint = checkpointsIn(reader, topics.checkpoints).at(-1);
        return published >= firstKeys.size + 100 && burstRv !== undefined && checkpoint !== undefined && BigInt(checkpoint.resourceVersion) >= burstRv;
      },
      60_000,
      'the leader to publish and checkpoint part of the burst',
      20,
    );
    const sentBeforeKill = await recordsSent(standby);
    const killedAt = Date.now();
    leader.kill('SIGKILL');
    const killed = await leader.exited;
    expect(killed.signal).toBe('SIGKILL');
    const deadAt = Date.now();

    // the standby takes the Lease over
    const lease = await waitOr(
      all,
      async () => {
        const l = await readLease(ns);
        return l?.spec?.holderIdentity === standbyId ? l : undefined;
      },
      TAKEOVER_BOUND_MS + 10_000,
      `${standbyId} to hold the Lease`,
    );
    const leaseSeenAt = Date.now();
    const became = await standby.waitForLog(BECAME_LEADER, 5_000);
    const resumed = await standby.waitForLog('resuming from checkpoint', 30_000);
    await standby.waitForLog('live job running', 30_000);
    await burst;

    const expected = expectedKeys(created);
    await waitOr(
      [[standbyId, standby]],
      () => {
        const seen = keysIn(reader.of(topics.events));
        return [...expected.keys()].every((k) => seen.has(k));
      },
      90_000,
      `all ${expected.size} occurrences on the events topic`,
      200,
    ).catch(async (error: unknown) => {
      const seen = keysIn(reader.of(topics.events));
      throw new Error(
        `${(error as Error).message}\nmissing: ${[...expected.keys()]
          .filter((k) => !seen.has(k))
          .slice(0, 20)
          .join(', ')}`,
      );
    });
    // settle: the standby checkpoints what it published, then stops cleanly
    const lastRv = maxRv(expected.values());
    await waitOr(
      [[standbyId, standby]],
      () => checkpointsIn(reader, topics.checkpoints).some((c) => BigInt(c.resourceVersion) >= lastRv),
      30_000,
      'a checkpoint at the last occurrence',
    );
    const { code } = await terminate(standby);
    expect(code, standby.tail()).toBe(0);
    await reader.catchUp();

    // --- the standby published nothing before it led
    // its job started only after it became the leader
    const firstJobLine = Math.min(...JOB_LINES.map((m) => indexOf(standby, m)).filter((i) => i >= 0));
    expect(indexOf(standby, BECAME_LEADER)).toBeGreaterThanOrEqual(0);
    expect(firstJobLine, `the standby's job started before it became the leader:\n${standby.tail()}`).toBeGreaterThan(indexOf(standby, BECAME_LEADER));
    // its producer had sent nothing while the leader lived
    expect(sentBeforeKill).toBe(0);
    // no record appended between the leader's death and the takeover (only the dead leader's
    // in-flight requests, just after the kill)
    const inGap = reader.of(topics.events).filter((r) => r.timestamp > deadAt + IN_FLIGHT_GRACE_MS && r.timestamp < became.time);
    expect(inGap.map((r) => r.headers['kubevents.idempotency-key'])).toEqual([]);
    // and no occurrence was written twice while the leader lived (two writers at once)
    const byKey = await byIdempotencyKey(reader.of(topics.events));
    const twiceBeforeKill = [...byKey].filter(([, l]) => l.filter((d) => d.record.timestamp <= killedAt).length > 1).map(([k]) => k);
    expect(twiceBeforeKill).toEqual([]);

    // --- takeover times
    const leaseTakeoverMs = became.time - killedAt;
    const standbyRecords = reader.of(topics.events).filter((r) => r.timestamp >= became.time);
    expect(standbyRecords.length, 'the standby published after it took over').toBeGreaterThan(0);
    const firstPublishMs = Math.min(...standbyRecords.map((r) => r.timestamp)) - killedAt;
    process.stderr.write(
      `[leader-failover] kill -9 ${leaderId} -> ${standbyId}: leads after ${leaseTakeoverMs} ms (Lease seen by the test after ${leaseSeenAt - killedAt} ms), ` +
        `first record after ${firstPublishMs} ms; bounds ${TAKEOVER_BOUND_MS} / ${FIRST_PUBLISH_BOUND_MS} ms\n`,
    );
    expect(leaseTakeoverMs, tails(...all)).toBeLessThanOrEqual(TAKEOVER_BOUND_MS);
    expect(firstPublishMs, tails(...all)).toBeLessThanOrEqual(FIRST_PUBLISH_BOUND_MS);
    // not before the lease had expired on the standby's clock either (it must not steal a live
    // lease): the leader's last renewal was at most one retry period (+ its request) before the kill
    expect(leaseTakeoverMs).toBeGreaterThanOrEqual((LEASE_S - RETRY_S) * 1000 - 500);
    expect(lease.spec?.leaseTransitions).toBeGreaterThanOrEqual(1);
    expect(standby.log('lease expired: taking it over')?.['holder']).toBe(leaderId);

    // --- it resumed from the last checkpoint the leader committed
    const resumeFrom = BigInt(resumed['resourceVersion'] as string);
    const committed = checkpointsIn(reader, topics.checkpoints).filter((c) => c.timestamp < became.time);
    expect(committed.length).toBeGreaterThan(0);
    expect(committed.at(-1)!.key).toBe(`lf/default/events@${ns}`);
    expect(resumeFrom).toBe(BigInt(committed.at(-1)!.resourceVersion));
    expect(resumeFrom).toBeGreaterThanOrEqual(burstRv!);

    // --- nothing lost; duplicates: same key, byte-identical, only after that checkpoint
    const missing = [...expected.keys()].filter((k) => !byKey.has(k));
    expect(missing).toEqual([]);
    const duplicates = expectDuplicatesOnlyAfter(byKey, resumeFrom);
    // two copies at most: the first from the dead leader, the second from the standby after it took over
    for (const [key, list] of byKey) {
      if (list.length === 1) continue;
      expect(
        list.map((d) => d.record.timestamp <= deadAt + IN_FLIGHT_GRACE_MS),
        key,
      ).toEqual([true, false]);
      expect(list[1]!.record.timestamp, key).toBeGreaterThanOrEqual(became.time);
    }
    process.stderr.write(
      `[leader-failover] ${expected.size} occurrences, ${byKey.size} keys on the topic, ${duplicates} duplicate record(s), resumed from ${resumeFrom}\n`,
    );
  }, 240_000);

  it('a lost Lease (overwritten with a foreign holder): the leader exits 1 without releasing it or saving checkpoints', async () => {
    const ns = await h.newNamespace('lf-lost');
    const topics = uniqueTopics('lf');
    await h.createTopics(topics);
    const reader = await h.readTopics([topics.checkpoints]);
    const identity = `lf-solo-${randomUUID().slice(0, 6)}`;
    const foreign = `lf-foreign-${randomUUID().slice(0, 6)}`;
    const job = startCandidate(ns, topics, identity);
    const jobs: [string, JobProcess][] = [[identity, job]];
    await job.waitForLog('live job running');
    await waitOr(jobs, async () => (await readLease(ns))?.spec?.holderIdentity === identity, 15_000, `the Lease held by ${identity}`);

    // Events keep coming until the job exits, so its committed position keeps moving: a save on the
    // way out (the old behaviour) would write a checkpoint after the loss
    let i = 0;
    const feeding = (async () => {
      while (job.running && i < 2_000) {
        await h.createEvent(ns, `lost-${i}`, 'LeaseLossProbe', `ghost-${i % 5}`);
        i++;
        await sleep(20);
      }
    })();
    await waitOr(jobs, () => checkpointsIn(reader, topics.checkpoints).length > 0, 30_000, 'a first checkpoint', 100);

    // another holder, freshly renewed, written over the leader's record (retried on 409: the leader renews meanwhile)
    const overwritten = await waitOr(
      jobs,
      async () => {
        const lease = (await readLease(ns))!;
        const now = new V1MicroTime();
        return coordination.replaceNamespacedLease({
          name: LEASE,
          namespace: ns,
          body: {
            ...lease,
            spec: { ...lease.spec, holderIdentity: foreign, acquireTime: now, renewTime: now, leaseTransitions: (lease.spec?.leaseTransitions ?? 0) + 1 },
          },
        });
      },
      10_000,
      'the Lease to be overwritten',
      100,
    );
    const overwrittenAt = Date.now();

    const exit = await Promise.race([
      job.exited,
      new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), (RENEW_S + SHUTDOWN_TIMEOUT_S + 10) * 1000)),
    ]);
    const exitMs = Date.now() - overwrittenAt;
    expect(exit, tails(...jobs)).not.toBe('timeout');
    expect((exit as { code: number | null }).code, tails(...jobs)).toBe(1);

    const lost = job.log(LEASE_LOST) as LogLine | undefined;
    expect(lost, tails(...jobs)).toBeDefined();
    const stopped = job.logs.find((l) => typeof l.msg === 'string' && l.msg.startsWith('leader election: stopped leading'));
    expect(stopped?.msg, tails(...jobs)).toContain(`held by ${foreign}`);
    const detectMs = lost!.time - overwrittenAt;
    process.stderr.write(`[leader-failover] lease overwritten: lost after ${detectMs} ms, exit 1 after ${exitMs} ms (renewDeadline ${RENEW_S * 1000} ms)\n`);
    // noticed at the next renewal, at the latest when renewDeadline passes without a successful one
    expect(detectMs).toBeLessThanOrEqual(RENEW_S * 1000);
    // then the job's graceful stop (bounded by --shutdown-timeout) and the exit
    expect(exitMs).toBeLessThanOrEqual((RENEW_S + SHUTDOWN_TIMEOUT_S) * 1000);
    // not released: the foreign record is untouched
    expect(job.log(RELEASED), tails(...jobs)).toBeUndefined();
    const after = await readLease(ns);
    expect(after?.spec?.holderIdentity).toBe(foreign);
    expect(after?.metadata?.resourceVersion).toBe(overwritten.metadata?.resourceVersion);

    // no checkpoint saved after the loss: every save began before the lease-lost line (a save's
    // updatedAt is taken when it begins; the periodic ones stop in the same tick as that line)
    await feeding;
    await sleep(1_000); // the reader catches up
    const saves = reader.of(topics.checkpoints).map((r) => JSON.parse(r.value.toString('utf8')) as { resourceVersion: string; updatedAt: number });
    expect(saves.length).toBeGreaterThan(0);
    const late = saves.filter((c) => c.updatedAt > lost!.time);
    expect(late, `checkpoints saved after the lease was lost at ${lost!.time}\n${tails(...jobs)}`).toEqual([]);
    expect(job.log('not saving checkpoints from now on: the records still flushed are replayed by whoever resumes'), tails(...jobs)).toBeDefined();
  }, 120_000);
  it('SIGHUP on the standby re-reads the pipeline files: when it takes over, it runs the new ones', async () => {
    const ns = await h.newNamespace('lf-hup');
    const topics = uniqueTopics('lf');
    await h.createTopics(topics);
    const dir = mkdtempSync(join(h.workDir, 'lf-pipelines-'));
    const file = join(dir, 'events.yaml');
    const pipeline = (name: string) => `apiVersion: kubevents/v1\nkind: Pipeline\nmetadata: {name: ${name}}\nspec: {sinks: [{kafka: {topic: k8s.events}}]}\n`;
    writeFileSync(file, pipeline('before-hup'));
    const id = randomUUID().slice(0, 6);
    const candidates = new Map<string, JobProcess>([
      [`lf-c-${id}`, startCandidate(ns, topics, `lf-c-${id}`, ['--pipelines', dir])],
      [`lf-d-${id}`, startCandidate(ns, topics, `lf-d-${id}`, ['--pipelines', dir])],
    ]);
    const all = [...candidates] as [string, JobProcess][];
    const leaderId = await waitOr(
      all,
      async () => {
        const holder = (await readLease(ns))?.spec?.holderIdentity;
        return holder && candidates.has(holder) ? holder : undefined;
      },
      30_000,
      'the Lease to name one of the two candidates',
    );
    const leader = candidates.get(leaderId)!;
    const [standbyId, standby] = all.find(([name]) => name !== leaderId)!;
    expect((await leader.waitForLog('live job running'))['pipelines']).toEqual(['before-hup']);
    await waitOr(all, () => standby.log(`lease held by ${leaderId}`), 15_000, `the standby to observe ${leaderId} holding the Lease`);

    // an invalid file is refused on the standby and changes nothing; a valid one is kept for later
    writeFileSync(file, pipeline('before-hup').replace('kafka:', 'kafak:'));
    standby.kill('SIGHUP');
    await standby.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('pipeline reload refused'), 15_000);
    writeFileSync(file, pipeline('after-hup'));
    standby.kill('SIGHUP');
    const reread = await standby.waitForLog('pipeline files re-read: the job runs them when this replica starts leading', 15_000);
    expect(reread['pipelines']).toEqual(['after-hup']);
    expect(standby.log(LEADING), standby.tail()).toBeUndefined();

    leader.kill('SIGKILL');
    await leader.exited;
    await waitOr(
      [[standbyId, standby]],
      async () => (await readLease(ns))?.spec?.holderIdentity === standbyId,
      TAKEOVER_BOUND_MS + 10_000,
      `${standbyId} to hold the Lease`,
    );
    expect((await standby.waitForLog('live job running', 30_000))['pipelines']).toEqual(['after-hup']);
    expect((await terminate(standby)).code).toBe(0);
  }, 120_000);
});
