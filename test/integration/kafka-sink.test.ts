/**
 * The Kafka sink on the real broker (test/env/kafka.sh): both encodings produced, consumed back and
 * decoded (by kubevents and by Apache Avro's Java library), a broker restart mid-stream, the
 * kafkajs idempotent producer across a restart, checkpoints on the compacted topic, and kill -9 of
 * a pipeline process followed by a resume from its checkpoint.
 *
 * The confluent encoding runs against the real Schema Registry of the test environment (Apicurio
 * Registry's Confluent API, test/env/registry.sh); Avro Java reads the writer schemas it serves.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { HEADERS, RecordDecoder } from '../../src/avro/encodings.js';
import { ConfluentSchemaRegistry } from '../../src/avro/registry.js';
import { loadSchema } from '../../src/avro/schemas.js';
import { createKafka, ensureTopics, headersToStrings, type Kafka } from '../../src/kafka/client.js';
import { objectKey, type KubeEvent } from '../../src/model/kube-event.js';
import { CheckpointTracker } from '../../src/checkpoint/tracker.js';
import { KafkaCheckpointStore } from '../../src/checkpoint/kafka-store.js';
import { deadLetterRecord, gapRecord, kubeEventRecord } from '../../src/model/out-record.js';
import { connectKafkaSink, type KafkaSinkConfig } from '../../src/sinks/kafka-publisher.js';
import { restartKafka } from '../env/kafka.js';
import { decodeWithAvroJava, type JavaInput } from '../interop/avro-java.js';
import { RegistryRestClient } from '../env/registry.js';
import { sampleDeadLetter, sampleEvent, sampleGap } from '../support/sample-records.js';
import { transpileTree } from '../support/transpile.js';

const env = inject('kafkaEnv');
const registry = inject('registryEnv');
const kafka: Kafka = createKafka({ brokers: env.brokers, clientId: 'kafka-sink-test' });
const PARTITIONS = 3;

function unique(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

async function createTopics(...topics: string[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(
      admin,
      topics.map((topic) => ({ topic, partitions: PARTITIONS, replicationFactor: 1 })),
    );
  } finally {
    await admin.disconnect();
  }
}

interface Consumed {
  topic: string;
  partition: number;
  offset: number;
  key: string;
  headers: Record<string, string>;
  value: Buffer;
  timestamp: number;
}

/** Everything on `topics` now (up to the high watermarks at call time), in partition/offset order. */
async function readAll(...topics: string[]): Promise<Consumed[]> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map<string, bigint>();
  try {
    for (const topic of topics) {
      for (const o of await admin.fetchTopicOffsets(topic)) if (BigInt(o.high) > BigInt(o.low)) ends.set(`${topic}/${o.partition}`, BigInt(o.high));
    }
  } finally {
    await admin.disconnect();
  }
  const out: Consumed[] = [];
  if (ends.size === 0) return out;
  const consumer = kafka.consumer({ groupId: unique('reader'), allowAutoTopicCreation: false });
  await consumer.connect();
  try {
    for (const topic of topics) await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`reading ${topics.join(', ')}: ${ends.size} partitions not read to the end`)), 60_000);
      consumer
        .run({
          autoCommit: false,
          eachMessage: async ({ topic, partition, message }) => {
            out.push({
              topic,
              partition,
              offset: Number(message.offset),
              key: message.key?.toString('utf8') ?? '',
              headers: headersToStrings(message.headers),
              value: message.value ?? Buffer.alloc(0),
              timestamp: Number(message.timestamp),
            });
            const id = `${topic}/${partition}`;
            const end = ends.get(id);
            if (end !== undefined && BigInt(message.offset) + 1n >= end) ends.delete(id);
            if (ends.size === 0) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return out.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition || a.offset - b.offset);
}

let workDir: string;
beforeAll(() => {
  workDir = mkdtempSync(join(tmpdir(), 'kv-kafka-sink-'));
});
afterAll(() => {
  rmSync(workDir, { recursive: true, force: true });
});

function sinkConfig(topics: { events: string; gaps: string; dead: string }, extra: Partial<KafkaSinkConfig> = {}): KafkaSinkConfig {
  return {
    // generous kafkajs retries ride out short blips; the sink retries whole batches beyond that
    kafka: { brokers: env.brokers, clientId: 'kafka-sink-test', retry: { retries: 8, initialRetryTimeMs: 200, maxRetryTimeMs: 2_000 } },
    cluster: 'c1',
    pipeline: 'it',
    encoding: 'avro-binary',
    topics: { KubeEvent: topics.events, Gap: topics.gaps, DeadLetter: topics.dead },
    batch: { lingerMs: 5, maxRecords: 100 },
    ...extra,
  };
}

/** JSON view of a record as Avro Java's GenericData prints it (times as longs, nulls, maps). */
function plain(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value)) as unknown;
}

describe.each(['avro-binary', 'confluent'] as const)('KafkaSink, %s encoding, on a real broker', (encoding) => {
  it('produces N records that come back in per-key order and decode equal, with kubevents and with Avro Java', async () => {
    const topics = { events: unique('events'), gaps: unique('gaps'), dead: unique('dead') };
    await createTopics(topics.events, topics.gaps, topics.dead);
    const N = 600;
    const events = Array.from({ length: N }, (_, i) => sampleEvent(i, { objects: 11 }));
    const { sink, close } = await connectKafkaSink(
      sinkConfig(topics, {
        encoding,
        schemaRegistry: encoding === 'confluent' ? { url: registry.url } : undefined,
        compression: 'gzip',
      }),
      { registry: new Registry() },
    );
    const tracker = new CheckpointTracker('events');
    for (const [i, event] of events.entries()) {
      const p = tracker.open(String(i));
      await sink.write(kubeEventRecord(event, [p]));
      tracker.close(p);
    }
    await sink.write(gapRecord(sampleGap(1)));
    await sink.write(deadLetterRecord(sampleDeadLetter(1), 'some/key', 'dl-1'));
    expect(await close(30_000)).toEqual({ flushed: true, abandoned: 0 });
    expect(tracker.committed).toBe(String(N - 1));

    const consumed = await readAll(topics.events, topics.gaps, topics.dead);
    const fromEvents = consumed.filter((c) => c.topic === topics.events);
    expect(fromEvents).toHaveLength(N);
    // keys: the object key; one object -> one partition, in write order
    const partitionOfKey = new Map<string, number>();
    for (const c of fromEvents) {
      expect(partitionOfKey.get(c.key) ?? c.partition).toBe(c.partition);
      partitionOfKey.set(c.key, c.partition);
    }
    expect(new Set(partitionOfKey.values()).size).toBeGreaterThan(1);
    for (const key of partitionOfKey.keys()) {
      const ids = fromEvents.filter((c) => c.key === key).map((c) => c.headers[HEADERS.idempotencyKey]);
      expect(ids).toEqual(events.filter((e) => objectKey(e) === key).map((e) => e.idempotencyKey));
    }
    // headers and timestamps
    expect(fromEvents[0]?.headers).toMatchObject({
      [HEADERS.encoding]: encoding,
      [HEADERS.schemaName]: 'io.kubevents.v1.KubeEvent',
      [HEADERS.fingerprint]: loadSchema('KubeEvent').fingerprint,
      [HEADERS.cluster]: 'c1',
      [HEADERS.pipeline]: 'it',
      [HEADERS.kind]: 'KubeEvent',
    });
    if (encoding === 'confluent') expect(fromEvents[0]?.headers[HEADERS.subject]).toBe(`${topics.events}-value`);

    // decoded by kubevents' decoder (what the alert sinks use)
    const decoder = new RecordDecoder({ registry: new ConfluentSchemaRegistry({ url: registry.url }) });
    const byId = new Map(events.map((e) => [e.idempotencyKey, e]));
    for (const c of fromEvents) {
      const decoded = await decoder.decode<KubeEvent>(c.value, c.headers);
      expect(decoded.kind).toBe('KubeEvent');
      expect(decoded.value).toEqual(byId.get(c.headers[HEADERS.idempotencyKey] as string));
      expect(c.timestamp).toBe(decoded.value.lastTimestamp);
    }
    const gap = consumed.find((c) => c.topic === topics.gaps)!;
    const dead = consumed.find((c) => c.topic === topics.dead)!;
    expect((await decoder.decode(gap.value, gap.headers)).value).toEqual(sampleGap(1));
    expect((await decoder.decode(dead.value, dead.headers)).value).toEqual(sampleDeadLetter(1));

    // decoded independently by Apache Avro's Java library with the published .avsc files
    const inputs: JavaInput[] = [...fromEvents, gap, dead].map((c) => ({
      encoding,
      kind: c.headers[HEADERS.kind] as string,
      fingerprint: c.headers[HEADERS.fingerprint] as string,
      value: c.value,
    }));
    // the writer schemas as the registry serves them, by the ids in the records' frames
    const writerSchemas = new Map<number, string>();
    if (encoding === 'confluent') {
      const rest = new RegistryRestClient(registry.url);
      for (const c of inputs) {
        const id = c.value.readInt32BE(1);
        if (!writerSchemas.has(id)) writerSchemas.set(id, (await rest.schemaById(id)).schema);
      }
      expect(writerSchemas.size).toBe(3); // KubeEvent, Gap, DeadLetter
    }
    const java = await decodeWithAvroJava(inputs, writerSchemas, mkdtempSync(join(workDir, 'java-')));
    expect(java).toHaveLength(inputs.length);
    for (const [i, c] of fromEvents.entries()) {
      expect(java[i]?.record).toEqual(plain(byId.get(c.headers[HEADERS.idempotencyKey] as string)));
      if (encoding === 'confluent') expect(java[i]?.schemaId).toBe(c.value.readInt32BE(1));
    }
    expect(java[N]?.record).toEqual(plain(sampleGap(1)));
    expect(java[N + 1]?.record).toEqual(plain(sampleDeadLetter(1)));
  });
});

/** Writes `total` records (one every ~ms) through a sink while `during` runs; returns what was consumed. */
async function streamThrough(
  config: KafkaSinkConfig,
  total: number,
  during: (progress: () => number) => Promise<void>,
): Promise<{ ids: string[]; expected: string[]; committed: string | null; sendErrors: number }> {
  const metrics = new Registry();
  const { sink, close } = await connectKafkaSink(config, { registry: metrics });
  const tracker = new CheckpointTracker('events');
  const expected: string[] = [];
  let written = 0;
  const writer = (async () => {
    for (let i = 0; i < total; i++) {
      const event = sampleEvent(i, { objects: 13, uidPrefix: 'r' });
      expected.push(event.idempotencyKey);
      const p = tracker.open(String(i));
      await sink.write(kubeEventRecord(event, [p])); // waits while the buffer is full: backpressure
      tracker.close(p);
      written += 1;
      if (i % 20 === 0) await new Promise((r) => setTimeout(r, 5));
    }
  })();
  await during(() => written);
  await writer;
  const result = await close(120_000);
  expect(result).toEqual({ flushed: true, abandoned: 0 });
  const consumed = await readAll(config.topics!.KubeEvent!);
  const errors = (await metrics.getSingleMetric('kubevents_sink_send_errors_total')?.get())?.values.reduce((a, v) => a + v.value, 0) ?? 0;
  return { ids: consumed.map((c) => c.headers[HEADERS.idempotencyKey] as string), expected, committed: tracker.committed, sendErrors: errors };
}

/**
 * Waits until the broker has written each partition's topic id (`partition.metadata`) to disk.
 * Kafka writes that file asynchronously after creating a partition; a partition directory found
 * without it at startup does not match the metadata's topic id and its log can be deleted as a
 * stray (KAFKA-16814). A topic created a second before a restart is a test's artefact, not a
 * production one, so the restart tests wait for it instead of measuring Kafka's window.
 */
async function waitForTopicOnDisk(topic: string, partitions: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const files = Array.from({ length: partitions }, (_, p) => join(env.runDir, 'data', `${topic}-${p}`, 'partition.metadata'));
  for (;;) {
    const missing = files.filter((f) => !existsSync(f) || !readFileSync(f, 'utf8').includes('topic_id:'));
    if (missing.length === 0) return;
    if (Date.now() > deadline) throw new Error(`topic ${topic}: no topic id on disk after ${timeoutMs} ms: ${missing.join(', ')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The broker's log lines about `topic` (and any stray-log deletion), for a failure message. */
function brokerLogAbout(topic: string): string {
  const file = join(env.runDir, 'logs', 'server.log');
  if (!existsSync(file)) return `(no ${file})`;
  const lines = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.includes(topic) || /stray/i.test(l));
  return lines.slice(-60).join('\n');
}

describe('KafkaSink across a broker restart', () => {
  /** kafkajs gives up after ~1 s: the sink's own batch retries ride out the restart */
  const shortKafkajsRetries = { retries: 1, initialRetryTimeMs: 100, maxRetryTimeMs: 500 };

  async function restartMidStream(extra: Partial<KafkaSinkConfig>, label: string) {
    const topics = { events: unique('restart'), gaps: unique('gaps'), dead: unique('dead') };
    await createTopics(topics.events);
    await waitForTopicOnDisk(topics.events, PARTITIONS);
    const total = 4000;
    const started = Date.now();
    let restartMs = 0;
    const config = sinkConfig(topics, { maxBufferedRecords: 500, ...extra });
    const { ids, expected, committed, sendErrors } = await streamThrough(config, total, async (progress) => {
      while (progress() < 800) await new Promise((r) => setTimeout(r, 20));
      const t = Date.now();
      await restartKafka(env);
      restartMs = Date.now() - t;
    });
    const unique_ = new Set(ids);
    process.stderr.write(
      `[kafka-sink] ${label}: broker restart took ${restartMs} ms, run ${Date.now() - started} ms; ${ids.length} records for ${total} events, ${ids.length - unique_.size} duplicates, ${sendErrors} failed sends retried by the sink\n`,
    );
    const lost = expected.filter((id) => !unique_.has(id));
    if (lost.length > 0)
      process.stderr.write(`[kafka-sink] ${label}: ${lost.length} lost; the broker's log about ${topics.events}:\n${brokerLogAbout(topics.events)}\n`);
    expect(lost).toEqual([]); // no loss
    expect(unique_.size).toBe(total);
    expect(committed).toBe(String(total - 1));
    return { sendErrors, duplicates: ids.length - unique_.size };
  }

  it('loses nothing when the broker restarts mid-stream (kafkajs retries)', async () => {
    await restartMidStream({}, 'default producer');
  }, 300_000);

  it('loses nothing when kafkajs gives up during the restart: the sink retries the batches', async () => {
    const { sendErrors } = await restartMidStream(
      { kafka: { brokers: env.brokers, clientId: 'kafka-sink-test', retry: shortKafkajsRetries } },
      'default producer, short kafkajs retries',
    );
    expect(sendErrors).toBeGreaterThan(0);
  }, 300_000);

  it('kafkajs idempotent producer: no loss across a restart with kafkajs retries (finding in docs/kafka.md)', async () => {
    await restartMidStream({ idempotent: true }, 'idempotent producer');
  }, 300_000);

  it('kafkajs idempotent producer: no loss across a restart when the sink retries batches', async () => {
    await restartMidStream(
      { idempotent: true, kafka: { brokers: env.brokers, clientId: 'kafka-sink-test', retry: shortKafkajsRetries } },
      'idempotent producer, short kafkajs retries',
    );
  }, 300_000);
});

describe('KafkaCheckpointStore on the real broker', () => {
  it('saves on a compacted topic and loads the latest value per key in a new instance', async () => {
    const topic = unique('checkpoints');
    const key = { cluster: 'c1', pipeline: 'p', resource: 'v1/events' };
    const a = new KafkaCheckpointStore({ kafka, topic });
    expect(await a.load(key)).toBeNull();
    for (let rv = 1; rv <= 20; rv++) await a.save({ ...key, resourceVersion: String(rv), updatedAt: rv });
    await a.save({ ...key, resource: 'v1/pods', resourceVersion: '7', updatedAt: 7 });
    expect(await a.load(key)).toMatchObject({ resourceVersion: '20' });
    await a.close();
    const b = new KafkaCheckpointStore({ kafka, topic });
    expect(await b.load(key)).toEqual({ ...key, resourceVersion: '20', updatedAt: 20 });
    expect(await b.load({ ...key, resource: 'v1/pods' })).toMatchObject({ resourceVersion: '7' });
    await b.close();
    const admin = kafka.admin();
    await admin.connect();
    try {
      const configs = await admin.describeConfigs({ resources: [{ type: 2, name: topic, configNames: ['cleanup.policy'] }], includeSynonyms: false });
      expect(configs.resources[0]?.configEntries[0]?.configValue).toBe('compact');
    } finally {
      await admin.disconnect();
    }
  });
});

interface ChildLine {
  event: string;
  [k: string]: unknown;
}

class Child {
  readonly lines: ChildLine[] = [];
  readonly proc: ChildProcess;
  readonly exit: Promise<number | null>;
  stderr = '';
  constructor(script: string, args: string[]) {
    this.proc = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let buffer = '';
    this.proc.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (line.trim()) this.lines.push(JSON.parse(line) as ChildLine);
      }
    });
    this.proc.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString('utf8')));
    this.exit = new Promise((resolve) => this.proc.on('exit', (code) => resolve(code)));
  }
  async waitFor(predicate: (line: ChildLine) => boolean, timeoutMs: number, what: string): Promise<ChildLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.find(predicate);
      if (found) return found;
      if (Date.now() > deadline || this.proc.exitCode !== null) {
        throw new Error(`child: no ${what} within ${timeoutMs} ms; lines ${JSON.stringify(this.lines.slice(-5))}; stderr ${this.stderr.slice(-2000)}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

describe('kill -9 and restart', () => {
  let script: string;
  const children: Child[] = [];
  beforeAll(() => {
    script = transpileTree('test/integration/support/kafka-sink-child.ts');
  });
  afterAll(() => {
    for (const c of children) c.proc.kill('SIGKILL');
  });

  it('resumes from the checkpoint: no loss, duplicates only after the checkpoint and with the same idempotency keys', async () => {
    const eventsTopic = unique('killed');
    const checkpointTopic = unique('kubevents.checkpoints');
    await createTopics(eventsTopic);
    const LAST = 4000;
    const args = [env.brokers.join(','), eventsTopic, checkpointTopic, 'c1', String(LAST), '1'];

    const first = new Child(script, args);
    children.push(first);
    expect((await first.waitFor((l) => l.event === 'started', 60_000, 'start')).resumeFrom).toBeNull();
    await first.waitFor((l) => l.event === 'checkpoint' && Number(l.rv) >= 1000, 120_000, 'checkpoint >= 1000');
    first.proc.kill('SIGKILL');
    expect(await first.exit).toBeNull();
    const writtenBeforeKill = Math.max(...first.lines.filter((l) => l.event === 'written').map((l) => Number(l.upTo)));

    const stored = await new KafkaCheckpointStore({ kafka, topic: checkpointTopic, createTopic: false }).load({
      cluster: 'c1',
      pipeline: 'kill-test',
      resource: 'synthetic/events',
    });
    const checkpoint = Number(stored?.resourceVersion);
    expect(checkpoint).toBeGreaterThanOrEqual(1000);

    const second = new Child(script, args);
    children.push(second);
    expect((await second.waitFor((l) => l.event === 'started', 60_000, 'start')).resumeFrom).toBe(String(checkpoint));
    await second.waitFor((l) => l.event === 'done', 180_000, 'done');
    expect(await second.exit).toBe(0);
    expect(second.lines.find((l) => l.event === 'checkpoint' && l.final)).toMatchObject({ rv: String(LAST), clean: true });

    const consumed = await readAll(eventsTopic);
    const decoder = new RecordDecoder();
    const seen = new Map<string, number>();
    const numbers = new Map<string, number>();
    const bytes = new Map<string, Buffer>();
    for (const c of consumed) {
      const { value } = await decoder.decode<KubeEvent>(c.value, c.headers);
      const id = value.idempotencyKey;
      expect(id).toBe(c.headers[HEADERS.idempotencyKey]);
      seen.set(id, (seen.get(id) ?? 0) + 1);
      numbers.set(id, Number(value.uid.slice(3)));
      // a duplicate is the same record again: same key, same bytes, so an upsert on the key absorbs it
      if (bytes.has(id)) expect(c.value.equals(bytes.get(id)!)).toBe(true);
      bytes.set(id, c.value);
    }
    // no loss
    for (let i = 1; i <= LAST; i++) expect(seen.has(sampleEvent(i).idempotencyKey), `event ${i}`).toBe(true);
    expect(seen.size).toBe(LAST);
    // duplicates: only events after the checkpoint (those the killed process sent but had not checkpointed)
    const duplicated = [...seen].filter(([, n]) => n > 1).map(([id]) => numbers.get(id) as number);
    for (const i of duplicated) expect(i).toBeGreaterThan(checkpoint);
    expect(Math.max(0, ...[...seen.values()])).toBeLessThanOrEqual(2);
    process.stderr.write(
      `[kafka-sink] kill -9 at checkpoint ${checkpoint} (written up to ~${writtenBeforeKill}); ${consumed.length} records for ${LAST} events, ${duplicated.length} duplicated\n`,
    );
  }, 400_000);
});
