/**
 * The Kafka output of a run: a producer connected to the brokers, the topics checked (or created)
 * and their Schema Registry subjects registered before anything is written, and the bounded,
 * batching KafkaSink (kafka-sink.ts) on top, as one Sink. A pipeline reload that names new
 * topics makes them usable first (prepareRoutes), or is refused with what is missing.
 */
import type { Registry } from 'prom-client';
import type { Observable } from 'rxjs';
import { encoderFor, type Encoding } from '../avro/encodings.js';
import { loadCurrentSchemas } from '../avro/history.js';
import type { RecordKind } from '../avro/schemas.js';
import type { SchemaRegistryConfig } from '../avro/registry.js';
import { silentLogger, type Logger } from '../core/logger.js';
import { createKafka, createProducer, ensureTopics, type Compression, type Kafka, type KafkaClientConfig, type TopicSpec } from '../kafka/client.js';
import type { OutRecord } from '../model/out-record.js';
import { KafkaSink, type KafkaSinkOptions } from './kafka-sink.js';
import { DEFAULT_TOPICS, type SinkTopics, type TopicRoute } from './kafka-topics.js';
import type { CloseResult, Sink } from './sink.js';

export interface KafkaSinkConfig {
  kafka: KafkaClientConfig;
  cluster: string;
  pipeline?: string;
  encoding: Encoding;
  /** required for encoding = confluent */
  schemaRegistry?: SchemaRegistryConfig;
  topics?: Partial<SinkTopics>;
  /** Topics named by pipelines (records written with `topic`): created, and their subjects registered, at start. */
  routes?: readonly TopicRoute[];
  /** check at start that the topics exist (default false; the live run sets it), unless createTopics */
  checkTopics?: boolean;
  /** create missing topics at start (default false) */
  createTopics?: { partitions?: number; replicationFactor?: number; config?: Record<string, string> } | false;
  batch?: KafkaSinkOptions['batch'];
  maxBufferedRecords?: number;
  maxBufferedBytes?: number;
  maxWaitingWrites?: number;
  maxInFlightBatches?: number;
  compression?: Compression;
  ackTimeoutMs?: number;
  /** kafkajs idempotent producer; see docs/kafka.md for why it is off by default */
  idempotent?: boolean;
}

/** How the sink creates missing topics (`KafkaSinkConfig.createTopics`). */
export type TopicCreation = Exclude<KafkaSinkConfig['createTopics'], false | undefined>;

/** Creates those of `names` that do not exist yet, with the sink's topic settings; returns the created ones. */
export async function createMissingTopics(kafka: Kafka, names: readonly string[], settings: TopicCreation, logger: Logger): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const specs: TopicSpec[] = [...new Set(names)].map((topic) => ({
      topic,
      partitions: settings.partitions,
      replicationFactor: settings.replicationFactor,
      config: settings.config,
    }));
    const created = await ensureTopics(admin, specs);
    if (created.length) logger.info({ topics: created }, 'created Kafka topics');
    return created;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** Fails with the missing topics' names: the producer never creates topics on its own. */
export async function checkTopicsExist(kafka: Kafka, brokers: readonly string[], topics: readonly string[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = [...new Set(topics)].filter((t) => !existing.has(t));
    if (missing.length > 0) {
      throw new Error(
        `Kafka topic${missing.length === 1 ? '' : 's'} ${missing.join(', ')} missing on ${brokers.join(',')}: create ${missing.length === 1 ? 'it' : 'them'} (one record schema per topic, see docs/kafka.md) or run with --create-topics`,
      );
    }
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** The connected Kafka output: a Sink, plus what a reload needs. */
export class KafkaPublisher implements Sink {
  readonly name = 'kafka';
  private known: Set<string>;

  constructor(
    readonly sink: KafkaSink,
    private readonly kafka: Kafka,
    private readonly producer: { disconnect(): Promise<void> },
    private readonly config: KafkaSinkConfig,
    private readonly logger: Logger,
  ) {
    this.known = new Set([...Object.values(sink.topics), ...(config.routes ?? []).map((r) => r.topic)]);
  }

  write(record: OutRecord): Promise<void> {
    return this.sink.write(record);
  }

  get writable$(): Observable<boolean> {
    return this.sink.writable$;
  }

  drained(): boolean {
    return this.sink.drained();
  }

  /** Closes the sink within the deadline, then disconnects the producer. */
  close = async (deadlineMs?: number): Promise<CloseResult> => {
    const result = await this.sink.close(deadlineMs);
    await this.producer.disconnect().catch((error: unknown) => this.logger.warn({ err: error }, 'kafka producer disconnect failed'));
    return result;
  };

  /**
   * Makes topics a reload names for the first time usable before it takes over: checks they exist
   * or creates them, registers their subjects; rejects with what is missing.
   */
  async prepareRoutes(routes: readonly TopicRoute[]): Promise<void> {
    const fresh = routes.filter((r) => !this.known.has(r.topic));
    if (fresh.length === 0) return;
    const names = [...new Set(fresh.map((r) => r.topic))];
    if (this.config.createTopics) await createMissingTopics(this.kafka, names, this.config.createTopics, this.logger);
    else if (this.config.checkTopics !== false) await checkTopicsExist(this.kafka, this.config.kafka.brokers, names);
    await this.sink.prepare([], fresh);
    for (const name of names) this.known.add(name);
  }
}

/** Checks or creates the topics, connects a producer, registers the schemas: an output ready to write. */
export async function connectKafkaSink(config: KafkaSinkConfig, deps: { registry?: Registry; logger?: Logger } = {}): Promise<KafkaPublisher> {
  const logger = deps.logger ?? silentLogger;
  const encoder = encoderFor(config);
  // kafkajs's lines carry `kafkajs: <its logger>` under the caller's component (a second `component` would be a duplicate JSON key)
  const kafka = createKafka(config.kafka, logger);
  const topics = { ...DEFAULT_TOPICS, ...config.topics };
  const wanted = [...Object.values(topics), ...(config.routes ?? []).map((r) => r.topic)];
  // every kind with a published schema: registry subjects are checked (or registered) at start
  const kinds = loadCurrentSchemas()
    .map((schema) => schema.kind as RecordKind)
    .filter((kind) => kind in topics);
  if (config.createTopics) await createMissingTopics(kafka, wanted, config.createTopics, logger);
  else if (config.checkTopics) await checkTopicsExist(kafka, config.kafka.brokers, wanted);
  const producer = createProducer(kafka, { idempotent: config.idempotent ?? false });
  await producer.connect();
  const sink = new KafkaSink({
    producer,
    encoder,
    cluster: config.cluster,
    pipeline: config.pipeline,
    topics,
    batch: config.batch,
    maxBufferedRecords: config.maxBufferedRecords,
    maxBufferedBytes: config.maxBufferedBytes,
    maxWaitingWrites: config.maxWaitingWrites,
    maxInFlightBatches: config.maxInFlightBatches,
    compression: config.compression,
    ackTimeoutMs: config.ackTimeoutMs,
    registry: deps.registry,
    logger,
  });
  try {
    await sink.prepare(kinds, config.routes ?? []);
  } catch (error) {
    await producer.disconnect().catch(() => undefined);
    throw error;
  }
  return new KafkaPublisher(sink, kafka, producer, config, logger);
}
