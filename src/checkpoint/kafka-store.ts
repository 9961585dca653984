/**
 * Checkpoints on a compacted Kafka topic (default `kubevents.checkpoints`): key
 * `<cluster>/<pipeline>/<resource>`, value the Checkpoint as JSON (UTF-8), produced with acks=all.
 * Compaction keeps the last value per key. A restarted (or failed-over) process reads the topic
 * from the beginning to its end once at load time.
 *
 * One writer per key is assumed (one active pipeline per cluster, via leader election); with that,
 * the last record of a key in its partition is the newest checkpoint.
 */
import { randomUUID } from 'node:crypto';
import { ACKS_ALL, createProducer, ensureTopics, type Kafka, type Producer } from '../kafka/client.js';
import type { Logger } from '../core/logger.js';
import { checkpointKeyString, parseCheckpoint, type Checkpoint, type CheckpointKey, type CheckpointStore } from './store.js';

export const DEFAULT_CHECKPOINT_TOPIC = 'kubevents.checkpoints';

export interface KafkaCheckpointStoreOptions {
  kafka: Kafka;
  topic?: string;
  /** Create the topic (compacted) when missing (default true). */
  createTopic?: boolean;
  partitions?: number;
  replicationFactor?: number;
  /** Ack timeout of one save, ms (default 30 s). */
  timeoutMs?: number;
  /** Time limit for reading the topic at load, ms (default 60 s). */
  loadTimeoutMs?: number;
  logger?: Logger;
}

export class KafkaCheckpointStore implements CheckpointStore {
  readonly topic: string;
  private readonly kafka: Kafka;
  private producer: Producer | undefined;
  private connecting: Promise<Producer> | undefined;
  private loaded: Promise<Map<string, Checkpoint>> | undefined;
  private readonly options: KafkaCheckpointStoreOptions;

  constructor(options: KafkaCheckpointStoreOptions) {
    this.options = options;
    this.kafka = options.kafka;
    this.topic = options.topic ?? DEFAULT_CHECKPOINT_TOPIC;
  }

  private async ensureTopic(): Promise<void> {
    if (this.options.createTopic === false) return;
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      await ensureTopics(admin, [
        {
          topic: this.topic,
          partitions: this.options.partitions ?? 1,
          replicationFactor: this.options.replicationFactor,
          config: { 'cleanup.policy': 'compact', 'segment.ms': String(6 * 3600_000) },
        },
      ]);
    } finally {
      await admin.disconnect();
    }
  }

  private getProducer(): Promise<Producer> {
    this.connecting ??= (async () => {
      await this.ensureTopic();
      const producer = createProducer(this.kafka);
      await producer.connect();
      this.producer = producer;
      return producer;
    })();
    this.connecting.catch(() => (this.connecting = undefined));
    return this.connecting;
  }

  /** Reads the whole topic once (from the beginning to the high watermarks at call time). */
  private async readAll(): Promise<Map<string, Checkpoint>> {
    await this.getProducer(); // creates the topic when needed
    const admin = this.kafka.admin();
    await admin.connect();
    let ends: Map<number, bigint>;
    try {
      const offsets = await admin.fetchTopicOffsets(this.topic);
      ends = new Map(offsets.filter((o) => BigInt(o.high) > BigInt(o.low)).map((o) => [o.partition, BigInt(o.high)]));
    } finally {
      await admin.disconnect();
    }
    const found = new Map<string, Checkpoint>();
    if (ends.size === 0) return found;

    // kafkajs has no assign(): a throw-away group that never commits offsets
    const consumer = this.kafka.consumer({ groupId: `kubevents-checkpoint-load-${randomUUID()}`, allowAutoTopicCreation: false });
    const remaining = new Set(ends.keys());
    try {
      await consumer.connect();
      await consumer.subscribe({ topic: this.topic, fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`checkpoint topic ${this.topic}: not read to its end within ${this.options.loadTimeoutMs ?? 60_000} ms`)),
          this.options.loadTimeoutMs ?? 60_000,
        );
        consumer
          .run({
            autoCommit: false,
            eachMessage: async ({ partition, message }) => {
              const key = message.key?.toString('utf8');
              if (key !== undefined) {
                if (message.value === null) found.delete(key);
                else {
                  try {
                    found.set(key, parseCheckpoint(JSON.parse(message.value.toString('utf8')), `checkpoint topic ${this.topic} key ${key}`));
                  } catch (error) {
                    this.options.logger?.warn({ err: error, key }, 'skipping an unreadable checkpoint record');
                  }
                }
              }
              const end = ends.get(partition);
              if (end !== undefined && BigInt(message.offset) + 1n >= end) {
                remaining.delete(partition);
                if (remaining.size === 0) {
                  clearTimeout(timer);
                  resolve();
                }
              }
            },
          })
          .catch((error: unknown) => {
            clearTimeout(timer);
            reject(error instanceof Error ? error : new Error(String(error)));
          });
      });
    } finally {
      await consumer.disconnect().catch(() => undefined);
    }
    return found;
  }

  async load(key: CheckpointKey): Promise<Checkpoint | null> {
    this.loaded ??= this.readAll();
    this.loaded.catch(() => (this.loaded = undefined));
    const all = await this.loaded;
    return all.get(checkpointKeyString(key)) ?? null;
  }

  async save(checkpoint: Checkpoint): Promise<void> {
    const producer = await this.getProducer();
    const key = checkpointKeyString(checkpoint);
    await producer.send({
      topic: this.topic,
      acks: ACKS_ALL,
      timeout: this.options.timeoutMs ?? 30_000,
      messages: [{ key, value: JSON.stringify(checkpoint) }],
    });
    // keep a later load() in this process consistent with what it saved
    if (this.loaded) {
      const all = await this.loaded.catch(() => undefined);
      all?.set(key, { ...checkpoint });
    }
  }

  async close(): Promise<void> {
    const producer = this.producer;
    this.producer = undefined;
    this.connecting = undefined;
    await producer?.disconnect();
  }
}
