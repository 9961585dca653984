/**
 * `kubevents run --source kube` end to end on the real stack (test/env): a real kube-apiserver
 * (+ etcd, scheduler, controllers, kwok) and a real Kafka broker. The job runs as a child process,
 * exactly as deployed (`node main.js run --source kube --kafka-brokers ...`; the CLI transpiled
 * with test/support/transpile.ts, so no build is needed).
 *
 * Events are created directly through the events.k8s.io/v1 API (unique reasons, exact counts; a
 * series bump is a further occurrence), regarding Pods that do not exist, so their enrichment is
 * null and a replayed record is byte-identical to the first. A test consumer reads the topics
 * (events and the checkpoint topic) while the job runs.
 *
 * 1. exactly once in a clean run: every occurrence once by idempotencyKey, plus a real scheduler
 *    FailedScheduling event, enriched from the object caches;
 * 2. kill -9 during a burst, restart: no occurrence lost; duplicates only after the checkpoint the
 *    restart resumed from, with the same key and byte-identical value;
 * 3. SIGTERM: exit 0 within --shutdown-timeout, checkpoints (a file; one per namespace) saved at
 *    or after the last event; a restart resumes from them and re-publishes nothing;
 * 4. without brokers: Avro container files under --out and a file checkpoint;
 * 5. settings: bad options exit 2 before anything starts, missing topics exit 1 with what to do,
 *    --create-topics and the confluent encoding (against the real Schema Registry of test/env,
 *    Apicurio Registry's Confluent API; more on the registry in schema-registry.test.ts).
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import avro from 'avsc';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { HEADERS, RecordDecoder } from '../../src/avro/encodings.js';
import { ConfluentSchemaRegistry } from '../../src/avro/registry.js';
import type { KubeEvent } from '../../src/model/kube-event.js';
import { createUnschedulablePod, waitFor } from '../env/scenarios.js';
import {
  byIdempotencyKey,
  checkpointsIn,
  expectDuplicatesOnlyAfter,
  expectedKeys,
  inParallel,
  KubeRunHarness,
  keysIn,
  terminate,
  topicEnv,
  uniqueTopics,
  type Created,
  type JobProcess,
  type Topics,
} from './support/kube-run.js';

const kubeEnv = inject('kubeEnv');
const kafkaEnv = inject('kafkaEnv');
const registry = inject('registryEnv');
const h = new KubeRunHarness(kubeEnv, kafkaEnv, 'kube-to-kafka');
const kc = h.kc;
const SHUTDOWN_TIMEOUT_S = 10;

beforeAll(() => h.setup());
afterAll(() => h.cleanup());

function startJob(ns: string, topics: Topics | null, extra: string[] = []): JobProcess {
  return h.startJob(ns, topics, { extra, shutdownTimeoutS: SHUTDOWN_TIMEOUT_S });
}

// ---------------------------------------------------------------------------------------------

describe('kubevents run --source kube, to Kafka', () => {
  it('publishes every Event occurrence exactly once, enriched from the caches (clean run)', async () => {
    const ns = await h.newNamespace('k2k-once');
    const topics = uniqueTopics();
    await h.createTopics(topics);
    const reader = await h.readTopics([topics.events, topics.gaps, topics.deadLetters, topics.checkpoints]);
    const job = startJob(ns, topics);
    await job.waitForLog('live job running');

    const reason = `Once${randomUUID().slice(0, 6)}`;
    const created: Created[] = [];
    await inParallel(60, 8, async (i) => {
      created.push(await h.createEvent(ns, `once-${i}`, reason, `ghost-${i % 13}`));
    });
    // series bumps: MODIFIED with a higher count is a new occurrence
    await inParallel(20, 8, async (i) => h.bumpEvent(ns, created[i]!, 2));
    await inParallel(10, 8, async (i) => h.bumpEvent(ns, created[i]!, 3));
    // and a real scheduler event
    const pod = `k2k-unschedulable-${randomUUID().slice(0, 6)}`;
    const podUid = (await createUnschedulablePod(kc, ns, pod)).metadata!.uid!;

    const expected = expectedKeys(created);
    expect(expected.size).toBe(90);
    await waitFor(
      () => {
        const seen = keysIn(reader.of(topics.events));
        return [...expected.keys()].every((k) => seen.has(k));
      },
      60_000,
      'all 90 occurrences on the events topic',
    );
    const scheduling = await waitFor(
      async () => {
        const all = await byIdempotencyKey(reader.of(topics.events));
        return [...all.values()].map((l) => l[0]!.event).find((e) => e.reason === 'FailedScheduling' && e.regarding.name === pod);
      },
      60_000,
      `a FailedScheduling event for ${pod}`,
    );
    expect(scheduling.classification?.category).toBe('Scheduling');
    expect(scheduling.cluster).toBe('k2k');
    // enrichment from the Pod cache (the scheduler's first event may race the Pod's arrival in the
    // cache, so an Event created now, about the cached Pod, is the deterministic check)
    const about = await h.createEvent(ns, 'about-the-pod', reason, pod, { regardingUid: podUid });
    const enriched = await waitFor(
      async () => (await byIdempotencyKey(reader.of(topics.events))).get(`${about.uid}/1`)?.[0]?.event,
      60_000,
      'the Event about the Pod on the events topic',
    );
    expect(enriched.enrichment?.podPhase).toBe('Pending');
    expect(enriched.enrichment?.workload).toMatchObject({ kind: 'Pod', name: pod, uid: podUid });

    const { code, ms } = await terminate(job);
    expect(code, job.tail()).toBe(0);
    expect(ms).toBeLessThan(SHUTDOWN_TIMEOUT_S * 1000);
    await reader.catchUp();

    // exactly once: every created occurrence once, and no key at all twice in a clean run
    const byKey = await byIdempotencyKey(reader.of(topics.events));
    for (const key of expected.keys()) expect(byKey.get(key)?.length, key).toBe(1);
    const duplicated = [...byKey].filter(([, l]) => l.length > 1).map(([k]) => k);
    expect(duplicated).toEqual([]);
    // the records are what was created
    const sample = byKey.get(`${created[0]!.uid}/3`)![0]!;
    expect(sample.event).toMatchObject({ reason, namespace: ns, count: 3, change: 'MODIFIED', sourceApi: 'events.k8s.io/v1', enrichment: null });
    expect(sample.record.key).toBe(`k2k/Pod/${ns}/${sample.event.regarding.name}`);
    expect(reader.of(topics.gaps)).toEqual([]);
    expect(reader.of(topics.deadLetters)).toEqual([]);
    // checkpoints were saved on the topic, the last one at or after the last occurrence
    const saved = checkpointsIn(reader, topics.checkpoints);
    expect(saved.length).toBeGreaterThan(0);
    expect(saved.at(-1)!.key).toBe(`k2k/default/events@${ns}`);
    const lastRv = [...expected.values()].map(BigInt).reduce((a, b) => (a > b ? a : b));
    expect(BigInt(saved.at(-1)!.resourceVersion)).toBeGreaterThanOrEqual(lastRv);
  });

  it('kill -9 during a burst, restart: nothing lost, duplicates only after the checkpoint and byte-identical', async () => {
    const ns = await h.newNamespace('k2k-kill');
    const topics = uniqueTopics();
    await h.createTopics(topics);
    const reader = await h.readTopics([topics.events, topics.checkpoints]);
    const first = startJob(ns, topics);
    await first.waitForLog('live job running');

    const N = 400;
    const reason = `Burst${randomUUID().slice(0, 6)}`;
    const created: Created[] = [];
    let firstBurstRv: bigint | undefined;
    const burst = inParallel(N, 8, async (i) => {
      const c = await h.createEvent(ns, `burst-${i}`, reason, `ghost-${i % 29}`);
      firstBurstRv ??= BigInt([...c.occurrences.values()][0]!);
      created.push(c);
      if (i % 10 === 0 && i > 0) await h.bumpEvent(ns, c, 2);
    });
    burst.catch(() => undefined);

    // kill once the job has published part of the burst and checkpointed into it
    await waitFor(
      () => {
        const published = reader.of(topics.events).length;
        const checkpoint = checkpointsIn(reader, topics.checkpoints).at(-1);
        return published >= N / 4 && firstBurstRv !== undefined && checkpoint !== undefined && BigInt(checkpoint.resourceVersion) >= firstBurstRv;
      },
      60_000,
      'the job to publish and checkpoint part of the burst',
      20,
    );
    first.kill('SIGKILL');
    const killed = await first.exited;
    expect(killed.signal).toBe('SIGKILL');
    const publishedBeforeKill = reader.of(topics.events).length;

    // restart while the burst goes on
    const second = startJob(ns, topics);
    const resumed = await second.waitForLog('resuming from checkpoint');
    const resumeFrom = BigInt(resumed['resourceVersion'] as string);
    expect(resumeFrom).toBeGreaterThanOrEqual(firstBurstRv!);
    await burst;

    const expected = expectedKeys(created);
    expect(expected.size).toBe(N + Math.floor((N - 1) / 10));
    await waitFor(
      () => {
        const seen = keysIn(reader.of(topics.events));
        return [...expected.keys()].every((k) => seen.has(k));
      },
      90_000,
      `all ${expected.size} occurrences on the events topic`,
    );
    const { code } = await terminate(second);
    expect(code, second.tail()).toBe(0);
    await reader.catchUp();

    const byKey = await byIdempotencyKey(reader.of(topics.events));
    // no loss
    const missing = [...expected.keys()].filter((k) => !byKey.has(k));
    expect(missing).toEqual([]);
    // duplicates: the same key, byte-identical value and headers, and only after the checkpoint
    const duplicates = expectDuplicatesOnlyAfter(byKey, resumeFrom);
    process.stderr.write(
      `[kube-to-kafka] kill -9 after ${publishedBeforeKill} records; resumed from ${resumeFrom}; ${byKey.size} keys, ${duplicates} duplicate record(s)\n`,
    );
    expect(duplicates).toBeLessThan(expected.size);
  });

  it('SIGTERM: exit 0 within --shutdown-timeout with the checkpoints saved (one per namespace); a restart re-publishes nothing', async () => {
    const [ns1, ns2] = [await h.newNamespace('k2k-term'), await h.newNamespace('k2k-term2')];
    const both = `${ns1},${ns2}`; // two namespaces: two watches, two checkpoints
    const topics = uniqueTopics();
    await h.createTopics(topics);
    const checkpointFile = join(h.workDir, `${ns1}.json`);
    const reader = await h.readTopics([topics.events]);
    const job = startJob(both, topics, ['--checkpoint-file', checkpointFile]);
    await job.waitForLog('live job running');

    const reason = `Term${randomUUID().slice(0, 6)}`;
    const created: Record<string, Created[]> = { [ns1]: [], [ns2]: [] };
    await inParallel(40, 6, async (i) => {
      const ns = i % 2 === 0 ? ns1 : ns2;
      created[ns]!.push(await h.createEvent(ns, `term-${i}`, reason, `ghost-${i % 7}`));
    });
    const expected = expectedKeys([...created[ns1]!, ...created[ns2]!]);
    await waitFor(
      () => {
        const seen = keysIn(reader.of(topics.events));
        return [...expected.keys()].every((k) => seen.has(k));
      },
      60_000,
      'all occurrences on the events topic',
    );

    const { code, ms } = await terminate(job);
    expect(code, job.tail()).toBe(0);
    expect(ms).toBeLessThan(SHUTDOWN_TIMEOUT_S * 1000);
    expect(job.log('shut down cleanly')).toBeDefined();

    const file = JSON.parse(readFileSync(checkpointFile, 'utf8')) as { checkpoints: Record<string, { resourceVersion: string }> };
    for (const ns of [ns1, ns2]) {
      const saved = file.checkpoints[`k2k/default/events@${ns}`];
      expect(saved, ns).toBeDefined();
      const lastRv = [...expectedKeys(created[ns]!).values()].map(BigInt).reduce((a, b) => (a > b ? a : b));
      expect(BigInt(saved!.resourceVersion)).toBeGreaterThanOrEqual(lastRv);
    }

    // restart: resumes from exactly those checkpoints; only new occurrences are published
    const again = startJob(both, topics, ['--checkpoint-file', checkpointFile]);
    await again.waitForLog('live job running');
    const resumed = Object.fromEntries(again.logs.filter((l) => l.msg === 'resuming from checkpoint').map((l) => [l['checkpoint'], l['resourceVersion']]));
    expect(resumed).toEqual(Object.fromEntries(Object.entries(file.checkpoints).map(([k, v]) => [k, v.resourceVersion])));
    const more = await h.createEvent(ns2, 'term-after-restart', reason, 'ghost-x');
    await waitFor(() => keysIn(reader.of(topics.events)).has(`${more.uid}/1`), 60_000, 'the new occurrence on the events topic');
    const second = await terminate(again);
    expect(second.code, again.tail()).toBe(0);
    await reader.catchUp();
    const byKey = await byIdempotencyKey(reader.of(topics.events));
    expect([...byKey].filter(([, l]) => l.length > 1).map(([k]) => k)).toEqual([]);
    expect(byKey.size).toBeGreaterThanOrEqual(expected.size + 1);
  });

  it('without --kafka-brokers: Avro container files under --out and a file checkpoint', async () => {
    const ns = await h.newNamespace('k2k-files');
    const out = join(h.workDir, ns);
    const job = startJob(ns, null, ['--out', out, '--print-events']);
    await job.waitForLog('live job running');
    const reason = `Files${randomUUID().slice(0, 6)}`;
    const created: Created[] = [];
    await inParallel(12, 6, async (i) => {
      created.push(await h.createEvent(ns, `files-${i}`, reason, `ghost-${i % 3}`));
    });
    const expected = expectedKeys(created);
    // --print-events: the job has processed them once they are on stdout
    await waitFor(
      () => {
        const printed = new Set(job.stdoutLines.map((l) => (JSON.parse(l) as KubeEvent).idempotencyKey));
        return [...expected.keys()].every((k) => printed.has(k));
      },
      60_000,
      'the events printed on stdout',
    );
    const { code } = await terminate(job);
    expect(code, job.tail()).toBe(0);

    const files = readdirSync(out).filter((f) => f.startsWith('k8s.events.') && f.endsWith('.avro'));
    expect(files.length).toBeGreaterThan(0);
    const keys: string[] = [];
    for (const f of files) {
      await new Promise<void>((resolve, reject) => {
        avro
          .createFileDecoder(join(out, f))
          .on('data', (e: KubeEvent) => keys.push(e.idempotencyKey))
          .on('end', resolve)
          .on('error', reject);
      });
    }
    for (const key of expected.keys())
      expect(
        keys.filter((k) => k === key),
        key,
      ).toHaveLength(1);
    const checkpointPath = join(out, 'checkpoints.json');
    expect(existsSync(checkpointPath)).toBe(true);
    const file = JSON.parse(readFileSync(checkpointPath, 'utf8')) as { checkpoints: Record<string, { resourceVersion: string }> };
    const lastRv = [...expected.values()].map(BigInt).reduce((a, b) => (a > b ? a : b));
    expect(BigInt(file.checkpoints[`k2k/default/events@${ns}`]!.resourceVersion)).toBeGreaterThanOrEqual(lastRv);
  });
});

describe('kubevents run --source kube: settings', () => {
  async function exitOf(job: JobProcess): Promise<{ code: number | null; stderr: string }> {
    const exit = await job.exited;
    return { code: exit.code, stderr: job.stderrText.join('\n') };
  }

  it('refuses bad options with exit 2 before starting anything', async () => {
    const ns = 'default';
    const bad = await exitOf(
      h.spawn(['--kubeconfig', kubeEnv.kubeconfigPath, '--namespace', ns, '--kafka-brokers', 'not-a-broker', '--encoding', 'avro-binary'], {}),
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--kafka-brokers: kafka\.brokers\[0\]: must be host:port/);

    const noRegistry = await exitOf(h.spawn(['--kubeconfig', kubeEnv.kubeconfigPath, '--kafka-brokers', kafkaEnv.brokers.join(',')], {}));
    expect(noRegistry.code).toBe(2);
    expect(noRegistry.stderr).toMatch(/--schema-registry URL, or --encoding avro-binary/);

    const noKubeconfig = await exitOf(
      h.spawn(['--kubeconfig', join(h.workDir, 'missing-kubeconfig'), '--kafka-brokers', kafkaEnv.brokers.join(','), '--encoding', 'avro-binary'], {}),
    );
    expect(noKubeconfig.code).toBe(2);
    expect(noKubeconfig.stderr).toMatch(/cannot load kubeconfig/);

    const timeout = await exitOf(h.spawn(['--kubeconfig', kubeEnv.kubeconfigPath, '--shutdown-timeout', '0'], {}));
    expect(timeout.code).toBe(2);
    expect(timeout.stderr).toMatch(/--shutdown-timeout/);
  });

  it('missing topics: exit 1 naming them; --create-topics creates them; confluent encoding with a registry', async () => {
    const ns = await h.newNamespace('k2k-conf');
    const topics = uniqueTopics();
    const missing = await exitOf(startJob(ns, topics));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(topics.events);
    expect(missing.stderr).toContain('--create-topics');

    const job = h.spawn(
      [
        '--kubeconfig',
        kubeEnv.kubeconfigPath,
        '--namespace',
        ns,
        '--cluster',
        'k2k',
        '--kafka-brokers',
        kafkaEnv.brokers.join(','),
        '--encoding',
        'confluent',
        '--schema-registry',
        registry.url,
        '--create-topics',
      ],
      topicEnv(topics),
    );
    await job.waitForLog('live job running');
    const reader = await h.readTopics([topics.events]);
    const created = await h.createEvent(ns, 'confluent-1', 'Confluent', 'ghost');
    const record = await waitFor(
      () => reader.of(topics.events).find((r) => r.headers[HEADERS.idempotencyKey] === `${created.uid}/1`),
      60_000,
      'the confluent-encoded record',
    );
    expect(record.headers[HEADERS.encoding]).toBe('confluent');
    expect(record.headers[HEADERS.subject]).toBe(`${topics.events}-value`);
    expect(record.value[0]).toBe(0); // magic byte
    const decoded = await new RecordDecoder({ registry: new ConfluentSchemaRegistry({ url: registry.url }) }).decode<KubeEvent>(record.value, record.headers);
    expect(decoded.value).toMatchObject({ reason: 'Confluent', namespace: ns, idempotencyKey: `${created.uid}/1` });
    const { code } = await terminate(job);
    expect(code, job.tail()).toBe(0);
  });
});
