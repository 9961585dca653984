/**
 * kubevents against a real Schema Registry: Apicurio Registry 3.3.3's Confluent API
 * (test/env/registry.sh; global compatibility BACKWARD like a Confluent registry), with the live
 * `kubevents run --source kube --encoding confluent` on the real control plane and Kafka broker,
 * and the alert consumer.
 *
 * 1. at start, the live run registers the subject (<topic>-value) of every topic it may write,
 *    sets BACKWARD on it, and publishes with the registered id; a restart registers nothing new;
 * 2. a schema the subject's compatibility refuses stops the run at start with exit 1 and the
 *    registry's reason, before anything is published (an Event already in the namespace stays
 *    unpublished);
 * 3. `schemaRegistry.autoRegister: false`: subjects registered beforehand (as a CI job would, over
 *    REST) are looked up, not registered again; a missing one stops the run at start, naming it;
 * 4. the alert consumer decodes records that another producer framed: Confluent's own Python
 *    serializer (confluent-kafka, test/env/pyconfluent.sh) with its own copy of the Alert schema
 *    (no docs, one more field), registered by it, no kubevents headers.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import avro from 'avsc';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { HEADERS, RecordDecoder } from '../../src/avro/encodings.js';
import { ConfluentSchemaRegistry } from '../../src/avro/registry.js';
import { loadSchema } from '../../src/avro/schemas.js';
import { parseAlertsConfig } from '../../src/alerting/load-config.js';
import { startAlertsService, type RecordEvent } from '../../src/alerting/service.js';
import { ensureTopics } from '../../src/kafka/client.js';
import type { Alert } from '../../src/model/alert.js';
import type { KubeEvent } from '../../src/model/kube-event.js';
import { formatDiagnostic } from '../../src/core/diagnostics.js';
import { RegistryHttpError, RegistryRestClient } from '../env/registry.js';
import { waitFor } from '../env/scenarios.js';
import { testEnvScript } from '../env/script-files.js';
import { sampleAlert } from '../unit/alerting/fixtures.js';
import { KubeRunHarness, terminate, topicEnv, uniqueTopics, type JobProcess, type Topics } from './support/kube-run.js';

const kubeEnv = inject('kubeEnv');
const kafkaEnv = inject('kafkaEnv');
const registry = inject('registryEnv');
const rest = new RegistryRestClient(registry.url);
const h = new KubeRunHarness(kubeEnv, kafkaEnv, 'schema-registry');
const cleanups: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  h.setup();
  // the third-party producer's virtualenv (cold: about 20 s of pip), outside the tests' timeouts
  await new Promise<void>((resolve, reject) => {
    const child = spawn('bash', [testEnvScript('pyconfluent.sh'), 'provision'], { stdio: ['ignore', 'ignore', 'inherit'] });
    const timer = setTimeout(() => child.kill('SIGKILL'), 600_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`pyconfluent.sh provision exited ${code}`));
    });
  });
}, 900_000);
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});
afterAll(() => h.cleanup());

/** The topics a live run writes, with the record kind of each (its subject is `<topic>-value`). */
function kindTopics(t: Topics): Array<[string, string]> {
  return [
    ['KubeEvent', t.events],
    ['Alert', t.alerts],
    ['Incident', t.incidents],
    ['Gap', t.gaps],
    ['DeadLetter', t.deadLetters],
  ];
}

/** `run --source kube --encoding confluent` on `ns`, publishing to `topics`. */
function confluentJob(ns: string, topics: Topics, extra: string[]): JobProcess {
  return h.spawn(
    [
      '--kubeconfig',
      kubeEnv.kubeconfigPath,
      '--namespace',
      ns,
      '--cluster',
      'sr',
      '--kafka-brokers',
      kafkaEnv.brokers.join(','),
      '--encoding',
      'confluent',
      '--shutdown-timeout',
      '10',
      ...extra,
    ],
    topicEnv(topics),
  );
}

/** Records on each topic now (high watermark minus low), by topic. */
async function recordCounts(topics: string[]): Promise<Record<string, number>> {
  const admin = h.kafka.admin();
  await admin.connect();
  try {
    const out: Record<string, number> = {};
    for (const topic of topics) {
      out[topic] = (await admin.fetchTopicOffsets(topic)).reduce((sum, o) => sum + Number(BigInt(o.high) - BigInt(o.low)), 0);
    }
    return out;
  } finally {
    await admin.disconnect();
  }
}

async function versionsOrNone(subject: string): Promise<number[]> {
  try {
    return await rest.versions(subject);
  } catch (error) {
    if (error instanceof RegistryHttpError && error.status === 404) return [];
    throw error;
  }
}

function fingerprintOf(schemaText: string): string {
  return avro.Type.forSchema(JSON.parse(schemaText) as avro.Schema)
    .fingerprint('sha256')
    .toString('hex');
}

describe('kubevents with a real Schema Registry (Apicurio Registry, Confluent API)', () => {
  it('registers the subject of every topic at start (BACKWARD) and publishes with the registered id; a restart registers nothing new', async () => {
    const ns = await h.newNamespace('sr-start');
    const topics = uniqueTopics('sr-start');
    await h.createTopics(topics);
    for (const [, topic] of kindTopics(topics)) expect(await versionsOrNone(`${topic}-value`)).toEqual([]);

    const job = confluentJob(ns, topics, ['--schema-registry', registry.url]);
    await job.waitForLog('live job running');
    // registered before the first record: nothing is published yet (no Event in the namespace)
    expect(Object.values(await recordCounts(kindTopics(topics).map(([, t]) => t)))).toEqual([0, 0, 0, 0, 0]);
    const ids = new Map<string, number>();
    for (const [kind, topic] of kindTopics(topics)) {
      const subject = `${topic}-value`;
      expect(await rest.versions(subject), subject).toEqual([1]);
      const latest = await rest.latest(subject);
      expect(fingerprintOf(latest.schema), `${subject} holds ${kind}.avsc`).toBe(loadSchema(kind).fingerprint);
      expect((await rest.compatibility(subject)).compatibilityLevel).toBe('BACKWARD');
      ids.set(kind, latest.id);
    }

    const reader = await h.readTopics([topics.events]);
    const created = await h.createEvent(ns, 'sr-1', 'RegistryStart', 'ghost');
    const record = await waitFor(() => reader.of(topics.events).find((r) => r.headers[HEADERS.idempotencyKey] === `${created.uid}/1`), 60_000, 'the record');
    expect(record.value[0]).toBe(0);
    expect(record.value.readInt32BE(1)).toBe(ids.get('KubeEvent'));
    expect(record.headers[HEADERS.subject]).toBe(`${topics.events}-value`);
    expect(record.headers[HEADERS.schemaId]).toBe(String(ids.get('KubeEvent')));
    const decoded = await new RecordDecoder({ registry: new ConfluentSchemaRegistry({ url: registry.url }) }).decode<KubeEvent>(record.value, record.headers);
    expect(decoded.value).toMatchObject({ reason: 'RegistryStart', namespace: ns });
    expect((await terminate(job)).code, job.tail()).toBe(0);

    // the same schemas again: same ids, no new versions
    const again = confluentJob(ns, topics, ['--schema-registry', registry.url]);
    await again.waitForLog('live job running');
    for (const [kind, topic] of kindTopics(topics)) {
      expect(await rest.versions(`${topic}-value`)).toEqual([1]);
      expect((await rest.latest(`${topic}-value`)).id).toBe(ids.get(kind));
    }
    expect((await terminate(again)).code, again.tail()).toBe(0);
  });

  it('refuses a schema the subject’s compatibility rejects: exit 1 at start with the registry’s reason, nothing published', async () => {
    const ns = await h.newNamespace('sr-incompat');
    const topics = uniqueTopics('sr-incompat');
    await h.createTopics(topics);
    // an Event that the initial list would publish if the run started
    await h.createEvent(ns, 'sr-waiting', 'RegistryRefused', 'ghost');
    // the subject already holds a KubeEvent whose `count` is a string: kubevents' int cannot read it
    const subject = `${topics.events}-value`;
    const theirs = JSON.parse(loadSchema('KubeEvent').text) as { fields: Array<{ name: string; type: unknown; default?: unknown }> };
    const count = theirs.fields.find((f) => f.name === 'count')!;
    count.type = 'string';
    count.default = '1';
    const { id: theirId } = await rest.register(subject, JSON.stringify(theirs));
    await rest.setCompatibility(subject, 'BACKWARD');

    const job = confluentJob(ns, topics, ['--schema-registry', registry.url]);
    const exit = await Promise.race([
      job.exited,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`the run did not stop:\n${job.tail()}`)), 60_000)),
    ]);
    const stderr = job.stderrText.join('\n');
    expect(exit.code, stderr).toBe(1);
    expect(stderr).toContain(`cannot register KubeEvent under subject ${subject}`);
    expect(stderr).toMatch(/Incompatible artifact/);
    process.stderr.write(`[schema-registry] refused at start: ${/schema registry: cannot register[^"\\]*/.exec(stderr)?.[0] ?? '(see stderr)'}\n`);
    expect(job.log('live job running')).toBeUndefined();
    expect(await recordCounts([...kindTopics(topics).map(([, t]) => t), topics.checkpoints])).toEqual(
      Object.fromEntries([...kindTopics(topics).map(([, t]) => t), topics.checkpoints].map((t) => [t, 0])),
    );
    expect(await rest.versions(subject)).toEqual([1]);
    expect((await rest.latest(subject)).id).toBe(theirId);
  });

  it('autoRegister: false looks up subjects registered beforehand and registers nothing; a missing subject stops the run at start', async () => {
    const ns = await h.newNamespace('sr-lookup');
    const topics = uniqueTopics('sr-lookup');
    await h.createTopics(topics);
    // what a CI job does before deploying: POST each .avsc to its subject
    const preRegistered = new Map<string, number>();
    for (const [kind, topic] of kindTopics(topics)) preRegistered.set(kind, (await rest.register(`${topic}-value`, loadSchema(kind).text)).id);
    const config = join(h.workDir, 'lookup.yaml');
    writeFileSync(config, `schemaRegistry:\n  url: ${registry.url}\n  autoRegister: false\n`);

    const job = confluentJob(ns, topics, ['--config', config]);
    await job.waitForLog('live job running');
    const reader = await h.readTopics([topics.events]);
    const created = await h.createEvent(ns, 'sr-lookup-1', 'RegistryLookup', 'ghost');
    const record = await waitFor(() => reader.of(topics.events).find((r) => r.headers[HEADERS.idempotencyKey] === `${created.uid}/1`), 60_000, 'the record');
    expect(record.value.readInt32BE(1)).toBe(preRegistered.get('KubeEvent'));
    expect((await terminate(job)).code, job.tail()).toBe(0);
    for (const [kind, topic] of kindTopics(topics)) {
      expect(await rest.versions(`${topic}-value`)).toEqual([1]);
      expect((await rest.latest(`${topic}-value`)).id).toBe(preRegistered.get(kind));
    }

    // the same without the Gap subject: refused at start, naming it, nothing published
    const ns2 = await h.newNamespace('sr-missing');
    const topics2 = uniqueTopics('sr-missing');
    await h.createTopics(topics2);
    await h.createEvent(ns2, 'sr-waiting', 'RegistryMissing', 'ghost');
    for (const [kind, topic] of kindTopics(topics2)) if (kind !== 'Gap') await rest.register(`${topic}-value`, loadSchema(kind).text);
    const missing = confluentJob(ns2, topics2, ['--config', config]);
    const exit = await Promise.race([
      missing.exited,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`the run did not stop:\n${missing.tail()}`)), 60_000)),
    ]);
    const stderr = missing.stderrText.join('\n');
    expect(exit.code, stderr).toBe(1);
    expect(stderr).toContain(`cannot look up Gap under subject ${topics2.gaps}-value`);
    expect(await versionsOrNone(`${topics2.gaps}-value`)).toEqual([]);
    expect((await recordCounts([topics2.events]))[topics2.events]).toBe(0);
  });

  it('the alert consumer decodes Alerts that Confluent’s Python serializer framed with its own copy of the schema', async () => {
    const topic = `sr-3p-${randomUUID().slice(0, 8)}`;
    const deadLetter = `${topic}-dlq`;
    const admin = h.kafka.admin();
    await admin.connect();
    try {
      await ensureTopics(admin, [
        { topic, partitions: 3, replicationFactor: 1 },
        { topic: deadLetter, partitions: 1, replicationFactor: 1 },
      ]);
    } finally {
      await admin.disconnect();
    }
    // their schema: the published Alert without any doc, plus a field of their own (with a default)
    const stripDocs = (v: unknown): unknown =>
      Array.isArray(v)
        ? v.map(stripDocs)
        : v && typeof v === 'object'
          ? Object.fromEntries(
              Object.entries(v)
                .filter(([k]) => k !== 'doc')
                .map(([k, x]) => [k, stripDocs(x)]),
            )
          : v;
    const theirs = stripDocs(JSON.parse(loadSchema('Alert').text)) as { fields: unknown[] };
    theirs.fields.push({ name: 'producedBy', type: 'string', default: '' });
    const schemaFile = join(h.workDir, 'their-alert.avsc');
    writeFileSync(schemaFile, JSON.stringify(theirs, null, 1));
    const alerts: Alert[] = [1, 2, 3].map((i) =>
      sampleAlert({ labels: { alertname: 'PodCrashLooping', cluster: 'prod-1', namespace: 'shop', kind: 'Pod', name: `web-${i}`, reason: 'BackOff' } }),
    );
    const input = alerts.map((a) => JSON.stringify({ key: a.alertId, value: { ...a, producedBy: 'confluent-kafka-python' } })).join('\n');
    const produced = await new Promise<Array<{ partition: number; offset: number; schemaId: number }>>((resolve, reject) => {
      const child = spawn('bash', [testEnvScript('pyconfluent.sh'), 'produce', kafkaEnv.brokers.join(','), registry.url, topic, schemaFile], {
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
      child.stderr.setEncoding('utf8').on('data', (c: string) => {
        err += c;
        process.stderr.write(c);
      });
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        if (code !== 0) return reject(new Error(`pyconfluent.sh produce exited ${code}:\n${err.slice(-3000)}`));
        resolve(
          out
            .split('\n')
            .filter((l) => l.startsWith('{'))
            .map((l) => JSON.parse(l) as { partition: number; offset: number; schemaId: number }),
        );
      });
      child.stdin.end(input);
    });
    expect(produced).toHaveLength(3);
    // their serializer registered their schema under the TopicNameStrategy subject; that id is in the frames
    const latest = await rest.latest(`${topic}-value`);
    expect(new Set(produced.map((p) => p.schemaId))).toEqual(new Set([latest.id]));
    expect(JSON.parse(latest.schema)).toEqual(theirs);
    expect(fingerprintOf(latest.schema)).not.toBe(loadSchema('Alert').fingerprint);

    const hookRequests: Array<{ headers: Record<string, unknown>; body: unknown }> = [];
    const hook: Server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        hookRequests.push({ headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => hook.close(r)));
    const yaml = `
kafka:
  brokers: [${kafkaEnv.brokers.join(', ')}]
  clientId: schema-registry-test
schemaRegistry:
  url: ${registry.url}
consumer:
  groupId: ${topic}-group
  topics: [${topic}]
  fromBeginning: true
  sessionTimeout: 10s
  heartbeatInterval: 1s
  rebalanceTimeout: 20s
deadLetter:
  topic: ${deadLetter}
cluster: test-cluster
route:
  receiver: hook
receivers:
  - { name: hook, type: webhook, url: "http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook" }
`;
    const parsed = parseAlertsConfig(yaml, 'third-party.yaml', { env: {} });
    const errors = parsed.diagnostics.filter((d) => d.severity === 'error');
    if (!parsed.config || errors.length) throw new Error(errors.map(formatDiagnostic).join('\n'));
    const events: RecordEvent[] = [];
    const service = await startAlertsService(parsed.config, { registry: new Registry(), onRecord: (e) => events.push(e) });
    cleanups.push(() => service.stop());
    await service.whenJoined();
    await waitFor(() => service.consumer.committed === 3, 60_000, 'the three records delivered and committed');

    // no kubevents headers: the encoding was told by the frame alone
    expect(events.map((e) => e.record.headers)).toEqual([{}, {}, {}]);
    expect(events.every((e) => e.result === 'done')).toBe(true);
    const byKey = (a: { idempotencyKey: string }, b: { idempotencyKey: string }) => a.idempotencyKey.localeCompare(b.idempotencyKey);
    expect(hookRequests.map((r) => r.body as Alert).sort(byKey)).toEqual([...alerts].sort(byKey));
    expect((await recordCounts([deadLetter]))[deadLetter]).toBe(0);
  });
});
