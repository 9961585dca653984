/**
 * Smoke test of the integration environment's real Kafka broker (test/env/kafka.sh) with the
 * project's Kafka client (kafkajs): topics, acks=all produce, consumer groups, and a broker
 * restart in the middle of a stream.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { Kafka, logLevel, Partitioners, type Consumer, type Producer } from 'kafkajs';
import { restartKafka } from '../env/kafka.js';

const kafkaEnv = inject('kafkaEnv');

const kafka = new Kafka({
  clientId: 'kafka-smoke',
  brokers: kafkaEnv.brokers,
  logLevel: logLevel.NOTHING,
  // long enough to ride out a broker restart (~10 s)
  retry: { initialRetryTime: 200, maxRetryTime: 2_000, retries: 30 },
});

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.allSettled(cleanups.splice(0).map((cleanup) => cleanup()));
});

function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

async function createTopic(topic: string, numPartitions: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions, replicationFactor: 1 }], waitForLeaders: true });
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(metadata.topics[0]?.partitions).toHaveLength(numPartitions);
  } finally {
    await admin.disconnect();
  }
}

async function newProducer(options: { idempotent?: boolean } = {}): Promise<Producer> {
  const producer = kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    idempotent: options.idempotent ?? false,
    maxInFlightRequests: options.idempotent ? 1 : undefined,
  });
  await producer.connect();
  cleanups.push(() => producer.disconnect());
  return producer;
}

interface Received {
  partition: number;
  key: string;
  value: string;
}

/** A consumer group member reading `topic` from the beginning into `received`. */
async function startConsumer(topic: string, received: Received[]): Promise<Consumer> {
  const consumer = kafka.consumer({
    groupId: uniqueName('smoke-group'),
    sessionTimeout: 10_000,
    heartbeatInterval: 1_000,
    maxWaitTimeInMs: 500,
  });
  await consumer.connect();
  cleanups.push(() => consumer.disconnect());
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      received.push({ partition, key: message.key?.toString() ?? '', value: message.value?.toString() ?? '' });
    },
  });
  return consumer;
}

async function waitUntil(what: string, condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('Kafka test broker', () => {
  it('round-trips messages through a 3-partition topic with acks=all and a consumer group', async () => {
    const topic = uniqueName('smoke');
    const total = 300;
    await createTopic(topic, 3);

    const producer = await newProducer();
    const expected = Array.from({ length: total }, (_, i) => ({ key: `key-${i % 17}`, value: `message-${i}` }));
    for (let i = 0; i < total; i += 50) {
      const results = await producer.send({ topic, acks: -1, messages: expected.slice(i, i + 50) });
      for (const r of results) expect(r.errorCode).toBe(0);
    }

    const received: Received[] = [];
    await startConsumer(topic, received);
    await waitUntil(`${total} messages`, () => received.length >= total, 60_000);
    await new Promise((r) => setTimeout(r, 500)); // anything beyond `total` would be a duplicate

    expect(received).toHaveLength(total);
    expect(received.map((m) => m.value).sort()).toEqual(expected.map((m) => m.value).sort());
    // keyed messages spread over all partitions, each key on exactly one partition, in order
    expect(new Set(received.map((m) => m.partition))).toEqual(new Set([0, 1, 2]));
    const byKey = new Map<string, Received[]>();
    for (const m of received) byKey.set(m.key, [...(byKey.get(m.key) ?? []), m]);
    for (const [key, messages] of byKey) {
      expect(new Set(messages.map((m) => m.partition)).size, key).toBe(1);
      const order = messages.map((m) => Number(m.value.slice('message-'.length)));
      expect(order, key).toEqual([...order].sort((a, b) => a - b));
    }
  });

  it('delivers everything when the broker restarts in the middle of a stream', async () => {
    const topic = uniqueName('smoke-restart');
    const total = 200;
    const restartAt = 60;
    await createTopic(topic, 3);

    const received: Received[] = [];
    await startConsumer(topic, received);
    // idempotent: retries across the restart must not write duplicates
    const producer = await newProducer({ idempotent: true });

    let restart: Promise<void> | undefined;
    let slowestSendMs = 0;
    for (let i = 0; i < total; i += 1) {
      if (i === restartAt) restart = restartKafka(kafkaEnv); // not awaited: sends go on while it is down
      const sendStart = Date.now();
      const results = await producer.send({
        topic,
        acks: -1,
        messages: [{ key: `key-${i % 7}`, value: `message-${i}` }],
      });
      slowestSendMs = Math.max(slowestSendMs, Date.now() - sendStart);
      for (const r of results) expect(r.errorCode).toBe(0);
      await new Promise((r) => setTimeout(r, 20)); // spread the stream over the restart
    }
    await restart;
    // some send really waited for the broker to come back (else the restart missed the stream)
    expect(slowestSendMs).toBeGreaterThan(1_000);

    await waitUntil(`${total} distinct messages`, () => new Set(received.map((m) => m.value)).size >= total, 90_000);
    const values = received.map((m) => m.value);
    const expected = Array.from({ length: total }, (_, i) => `message-${i}`);
    expect([...new Set(values)].sort()).toEqual(expected.sort());

    // The log itself holds every message exactly once (a consumer may re-read after a rebalance).
    const reader: Received[] = [];
    await startConsumer(topic, reader);
    await waitUntil(`${total} messages from a fresh group`, () => reader.length >= total, 60_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(reader).toHaveLength(total);
  }, 180_000);
});
