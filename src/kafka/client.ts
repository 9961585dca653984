/**
 * The one module that imports kafkajs. Everything else (sinks, checkpoint store, alert consumers,
 * tests) goes through the config shape, factory and re-exported types here, so the Kafka client can
 * be swapped (e.g. for a librdkafka binding) by rewriting one file.
 */
import { readFileSync } from 'node:fs';
import kafkajs from 'kafkajs';
import type {
  Admin,
  Consumer,
  ConsumerConfig,
  IHeaders,
  ITopicConfig,
  Kafka,
  KafkaConfig,
  LogEntry,
  Message,
  Producer,
  ProducerBatch,
  ProducerConfig,
  RecordMetadata,
  SASLOptions,
  TopicMessages,
  EachBatchPayload,
  EachMessagePayload,
  KafkaMessage,
} from 'kafkajs';
import type { Logger } from '../core/logger.js';

const { Kafka: KafkaClass, logLevel, CompressionTypes, CompressionCodecs, Partitioners } = kafkajs;

export type {
  Admin,
  Consumer,
  ConsumerConfig,
  IHeaders,
  Kafka,
  Message,
  Producer,
  ProducerBatch,
  RecordMetadata,
  TopicMessages,
  EachBatchPayload,
  EachMessagePayload,
  KafkaMessage,
};

export type SaslMechanism = 'plain' | 'scram-sha-256' | 'scram-sha-512';
export const SASL_MECHANISMS: readonly SaslMechanism[] = ['plain', 'scram-sha-256', 'scram-sha-512'];

export interface KafkaTlsConfig {
  /** Verify the broker certificate (default true). */
  rejectUnauthorized?: boolean;
  /** PEM files; read at connect time. */
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  /** Overrides the server name checked against the certificate. */
  servername?: string;
}

export interface KafkaClientConfig {
  brokers: string[];
  clientId?: string;
  /** true: TLS with the system CAs; an object: TLS with these files/options; absent/false: plaintext. */
  tls?: boolean | KafkaTlsConfig;
  sasl?: { mechanism: SaslMechanism; username: string; password: string };
  /** TCP connect timeout, ms (kafkajs default 1000 is short for remote clusters). */
  connectionTimeoutMs?: number;
  /** Per-request timeout, ms. */
  requestTimeoutMs?: number;
  /** kafkajs-level retries of one request (the sink retries whole batches on top of this). */
  retry?: { retries?: number; initialRetryTimeMs?: number; maxRetryTimeMs?: number };
}

export const DEFAULT_CLIENT_ID = 'kubevents';

export type Compression = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';
export const COMPRESSIONS: readonly Compression[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

const COMPRESSION_TYPES: Record<Compression, number> = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD,
};

const CODEC_PACKAGES: Record<Exclude<Compression, 'none' | 'gzip'>, string> = {
  snappy: 'kafkajs-snappy',
  lz4: 'kafkajs-lz4',
  zstd: '@kafkajs/zstd',
};

/**
 * kafkajs compression code for a configured compression. gzip is built in; snappy, lz4 and zstd
 * need a codec package registered in kafkajs's CompressionCodecs (not dependencies of kubevents
 * today), so asking for one without it fails here, at start, rather than on the first batch.
 */
export function compressionType(compression: Compression): number {
  const code = COMPRESSION_TYPES[compression];
  if (code === undefined) throw new Error(`unknown compression '${String(compression)}' (one of ${COMPRESSIONS.join(', ')})`);
  if (compression !== 'none' && compression !== 'gzip') {
    // kafkajs ships placeholders for these that throw "not implemented" when called
    const factory = (CompressionCodecs as Record<number, unknown>)[code];
    let available = false;
    try {
      available = typeof factory === 'function' && Boolean((factory as () => unknown)());
    } catch {
      available = false;
    }
    if (!available) {
      throw new Error(
        `compression '${compression}' needs the codec package ${CODEC_PACKAGES[compression]} registered in kafkajs CompressionCodecs; use gzip or none`,
      );
    }
  }
  return code;
}

function tlsOptions(tls: KafkaClientConfig['tls']): KafkaConfig['ssl'] {
  if (!tls) return undefined;
  if (tls === true) return true;
  const read = (path: string | undefined): string | undefined => (path ? readFileSync(path, 'utf8') : undefined);
  return {
    rejectUnauthorized: tls.rejectUnauthorized ?? true,
    ca: tls.caFile ? [readFileSync(tls.caFile, 'utf8')] : undefined,
    cert: read(tls.certFile),
    key: read(tls.keyFile),
    servername: tls.servername,
  };
}

function saslOptions(sasl: KafkaClientConfig['sasl']): SASLOptions | undefined {
  if (!sasl) return undefined;
  const { mechanism, username, password } = sasl;
  switch (mechanism) {
    case 'plain':
      return { mechanism: 'plain', username, password };
    case 'scram-sha-256':
      return { mechanism: 'scram-sha-256', username, password };
    case 'scram-sha-512':
      return { mechanism: 'scram-sha-512', username, password };
    default:
      throw new Error(`unsupported SASL mechanism '${String(mechanism)}' (one of ${SASL_MECHANISMS.join(', ')})`);
  }
}

/** kafkajs log entries to pino, one level down (kafkajs's ERRORs are mostly retried connection blips). */
function logCreator(logger: Logger) {
  return () =>
    ({ namespace, level, log }: LogEntry) => {
      const { message, ...extra } = log;
      const fields = { kafka: namespace, ...extra };
      switch (level) {
        case logLevel.ERROR:
          logger.warn(fields, message);
          break;
        case logLevel.WARN:
          logger.info(fields, message);
          break;
        default:
          logger.debug(fields, message);
      }
    };
}

/** The config shape mapped to kafkajs's (exported for tests). */
export function kafkaConfigOf(config: KafkaClientConfig, logger?: Logger): KafkaConfig {
  if (!config.brokers || config.brokers.length === 0) throw new Error('kafka: at least one broker is required');
  return {
    clientId: config.clientId ?? DEFAULT_CLIENT_ID,
    brokers: config.brokers,
    ssl: tlsOptions(config.tls),
    sasl: saslOptions(config.sasl),
    connectionTimeout: config.connectionTimeoutMs ?? 10_000,
    requestTimeout: config.requestTimeoutMs ?? 30_000,
    retry: {
      retries: config.retry?.retries ?? 5,
      initialRetryTime: config.retry?.initialRetryTimeMs ?? 300,
      maxRetryTime: config.retry?.maxRetryTimeMs ?? 30_000,
    },
    logLevel: logger ? logLevel.DEBUG : logLevel.NOTHING,
    ...(logger ? { logCreator: logCreator(logger) } : {}),
  };
}

export function createKafka(config: KafkaClientConfig, logger?: Logger): Kafka {
  return new KafkaClass(kafkaConfigOf(config, logger));
}

export interface ProducerOptions {
  /**
   * kafkajs idempotent producer (experimental in kafkajs 2.2.4). It de-duplicates kafkajs's own
   * retries of a request within one producer session only; it forces maxInFlightRequests = 1.
   */
  idempotent?: boolean;
  /** kafkajs-level in-flight requests per broker connection (default 1: retries cannot reorder). */
  maxInFlightRequests?: number;
  retry?: KafkaClientConfig['retry'];
  /** Never let the broker create topics on produce: topics are created (or not) on purpose. */
  allowAutoTopicCreation?: boolean;
}

export function createProducer(kafka: Kafka, options: ProducerOptions = {}): Producer {
  const config: ProducerConfig = {
    // Java-client compatible murmur2 partitioning: Kafka Streams/Flink/ksqlDB keyed by the same
    // key land on the same partition numbers.
    createPartitioner: Partitioners.DefaultPartitioner,
    idempotent: options.idempotent ?? false,
    maxInFlightRequests: options.idempotent ? 1 : (options.maxInFlightRequests ?? 1),
    allowAutoTopicCreation: options.allowAutoTopicCreation ?? false,
  };
  if (options.retry) {
    config.retry = {
      retries: options.retry.retries,
      initialRetryTime: options.retry.initialRetryTimeMs,
      maxRetryTime: options.retry.maxRetryTimeMs,
    };
  }
  return kafka.producer(config);
}

export interface TopicSpec {
  topic: string;
  /** default: the broker's num.partitions */
  partitions?: number;
  /** default: the broker's default.replication.factor */
  replicationFactor?: number;
  /** topic configs, e.g. {'cleanup.policy': 'compact'} */
  config?: Record<string, string>;
}

/**
 * Creates the topics that do not exist yet (existing ones are left as they are). Returns the names
 * it created.
 */
export async function ensureTopics(admin: Admin, specs: readonly TopicSpec[], timeoutMs = 30_000): Promise<string[]> {
  if (specs.length === 0) return [];
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((s) => !existing.has(s.topic));
  if (missing.length === 0) return [];
  const topics: ITopicConfig[] = missing.map((s) => ({
    topic: s.topic,
    numPartitions: s.partitions ?? -1,
    replicationFactor: s.replicationFactor ?? -1,
    configEntries: Object.entries(s.config ?? {}).map(([name, value]) => ({ name, value })),
  }));
  try {
    await admin.createTopics({ topics, waitForLeaders: true, timeout: timeoutMs });
  } catch (error) {
    // a concurrent creator (another replica) is fine
    if (!/already exists/i.test((error as Error).message)) throw error;
  }
  return missing.map((s) => s.topic);
}

/** Header values as strings (kafkajs gives Buffers, strings or arrays of them). */
export function headersToStrings(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!headers) return out;
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const first = Array.isArray(value) ? value[0] : value;
    if (first === undefined) continue;
    out[name] = Buffer.isBuffer(first) ? first.toString('utf8') : String(first);
  }
  return out;
}

/** acks = all replicas in the ISR (kafkajs -1). */
export const ACKS_ALL = -1;
