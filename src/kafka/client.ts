/**
 * The one module that imports kafkajs. Everything else (sinks, checkpoint store, alert consumers,
 * tests) goes through the config shape, factory and re-exported types here, so the Kafka client can
 * be swapped (e.g. for a librdkafka binding) by rewriting one file.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as KafkajsModule from 'kafkajs';
import { compressFrame, decompressFrame } from 'lz4-napi';
import type {
  Admin,
  Consumer,
  ConsumerConfig,
  ICustomPartitioner,
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

import { patchKafkajsEncoder } from './encoder-patch.js';

/** Whether kafkajs encodes with the patched Encoder (src/kafka/encoder-patch.ts). */
export const kafkajsEncoderPatched = patchKafkajsEncoder();
// required, not imported: an import would load kafkajs before patchKafkajsEncoder() runs
const kafkajs = createRequire(import.meta.url)('kafkajs') as typeof KafkajsModule;
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

const CODEC_PACKAGES: Record<Exclude<Compression, 'none' | 'gzip' | 'lz4'>, string> = {
  snappy: 'kafkajs-snappy',
  zstd: '@kafkajs/zstd',
};

/**
 * LZ4 (Kafka's framing is the standard LZ4 frame format) through lz4-napi, whose prebuilt binaries
 * come from the npm registry like any package. Both directions run on libuv's thread pool, off the
 * thread that processes events; the broker validates every batch it appends, so a frame it could
 * not read would fail the produce request (the live run publishes lz4 in test/integration/kube-pipelines-reload.test.ts and flink-downstream.test.ts, where Flink reads it back).
 */
CompressionCodecs[CompressionTypes.LZ4] = () => ({
  compress: (encoder: { buffer: Buffer }) => compressFrame(encoder.buffer),
  decompress: (buffer: Buffer) => decompressFrame(buffer),
});

/**
 * kafkajs compression code for a configured compression. gzip and lz4 are built in; snappy and
 * zstd need a codec package registered in kafkajs's CompressionCodecs (not dependencies of
 * kubevents), so asking for one without it fails here, at start, rather than on the first batch.
 */
export function compressionType(compression: Compression): number {
  const code = COMPRESSION_TYPES[compression];
  if (code === undefined) throw new Error(`unknown compression '${String(compression)}' (one of ${COMPRESSIONS.join(', ')})`);
  if (compression === 'snappy' || compression === 'zstd') {
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

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----/;
const PEM_PRIVATE_KEY = /-----BEGIN (?:RSA |EC )?PRIVATE KEY-----/;

/** A PEM file of the TLS settings, read now; a KafkaConnectionProblem naming the setting when it cannot be used. */
function readPem(setting: 'caFile' | 'certFile' | 'keyFile', path: string): string {
  const what = setting === 'keyFile' ? 'PEM private key' : 'PEM certificate';
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new KafkaConnectionProblem(
      'tls-files',
      '',
      `cannot read kafka.tls.${setting} ${path} (${reason}): it must name a readable file holding a ${what}`,
      true,
    );
  }
  if (setting === 'keyFile' && /-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(text)) {
    throw new KafkaConnectionProblem(
      'tls-files',
      '',
      `kafka.tls.keyFile ${path} is encrypted: kubevents needs the key unencrypted (there is no passphrase setting; keep the file in a Secret)`,
      true,
    );
  }
  if (!(setting === 'keyFile' ? PEM_PRIVATE_KEY : PEM_CERTIFICATE).test(text)) {
    throw new KafkaConnectionProblem(
      'tls-files',
      '',
      `kafka.tls.${setting} ${path} holds no ${what} (no "-----BEGIN ${setting === 'keyFile' ? 'PRIVATE KEY' : 'CERTIFICATE'}-----" line)`,
      true,
    );
  }
  return text;
}

function tlsOptions(tls: KafkaClientConfig['tls']): KafkaConfig['ssl'] {
  if (!tls) return undefined;
  if (tls === true) return true;
  if (Boolean(tls.certFile) !== Boolean(tls.keyFile)) {
    throw new KafkaConnectionProblem(
      'tls-files',
      '',
      `kafka.tls.certFile and kafka.tls.keyFile go together (client certificate authentication): set both or neither`,
      true,
    );
  }
  // Only the options that are set: kafkajs merges these over its own, and an undefined
  // `servername` would replace the broker's host name, so no SNI would be sent (brokers behind
  // SNI-routing proxies then fail the handshake).
  return {
    rejectUnauthorized: tls.rejectUnauthorized ?? true,
    ...(tls.caFile ? { ca: [readPem('caFile', tls.caFile)] } : {}),
    ...(tls.certFile ? { cert: readPem('certFile', tls.certFile) } : {}),
    ...(tls.keyFile ? { key: readPem('keyFile', tls.keyFile) } : {}),
    ...(tls.servername ? { servername: tls.servername } : {}),
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

// ---------------------------------------------------------------------------------------------
// connection problems, explained
// ---------------------------------------------------------------------------------------------

/** Why the client could not talk to the brokers, in the user's terms. */
export type KafkaProblem =
  /** SASL login refused: wrong username or password */
  | 'sasl-authentication'
  /** the listener does not offer the configured SASL mechanism */
  | 'sasl-mechanism'
  /** the broker's certificate chain does not end at a CA the client trusts */
  | 'tls-unknown-ca'
  | 'tls-expired'
  | 'tls-not-yet-valid'
  /** the broker's certificate does not name the address the client connected to */
  | 'tls-hostname'
  /** the broker requires a client certificate, or refused the one sent */
  | 'tls-client-certificate'
  /** a TLS file of the settings is unreadable or not PEM */
  | 'tls-files'
  /** no TLS handshake, or the connection closed at once: TLS or SASL probably on one side only */
  | 'protocol-mismatch'
  /** connection refused, unknown host, timeout */
  | 'unreachable';

/**
 * A Kafka connection failure as one line that names the broker, what is wrong and what to fix.
 * `configuration`: retrying cannot help (the settings, the password or a certificate must change);
 * the commands exit 2 for these. The message never holds a secret.
 */
export class KafkaConnectionProblem extends Error {
  constructor(
    readonly problem: KafkaProblem,
    /** host:port of the broker concerned ('' when no broker was involved) */
    readonly broker: string,
    message: string,
    readonly configuration: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'KafkaConnectionProblem';
  }
}

export interface ExplainOptions {
  /** where the SASL password came from, e.g. "KUBEVENTS_KAFKA_SASL_PASSWORD" (named in the hint; never the value) */
  passwordSource?: string;
}

interface ErrorLike {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  type?: unknown;
  broker?: unknown;
  cause?: unknown;
  originalError?: unknown;
}

/** The error and its causes (kafkajs wraps: NumberOfRetriesExceeded -> ConnectionError; NonRetriable -> SASL error). */
function causeChain(error: unknown): ErrorLike[] {
  const chain: ErrorLike[] = [];
  let e = error as ErrorLike | undefined;
  while (e && typeof e === 'object' && !chain.includes(e) && chain.length < 10) {
    chain.push(e);
    e = (e.cause ?? e.originalError) as ErrorLike | undefined;
  }
  return chain;
}

/** Node's certificate verification codes (tls.connect 'error' code) meaning "no trusted CA signed this chain". */
const UNKNOWN_CA_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
]);

/** TLS alerts the broker sends about our client certificate (OpenSSL reason codes as Node reports them). */
const CLIENT_CERT_ALERTS: Record<string, string> = {
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: 'bad certificate',
  ERR_SSL_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE: 'unsupported certificate',
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_REVOKED: 'certificate revoked',
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED: 'certificate expired',
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN: 'certificate unknown',
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: 'unknown CA',
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: 'certificate required',
};

const UNREACHABLE_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'unknown host',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
};

/** "Connection error: certificate has expired" -> "certificate has expired" (first line only). */
function nodeReason(message: unknown): string {
  return String(message ?? '')
    .replace(/^(Connection error|Failed to connect): /, '')
    .split('\n')[0]!
    .replace(/[:\s]+$/, '');
}

/**
 * Maps a kafkajs error (at any depth of its causes) to a KafkaConnectionProblem: one line naming the
 * broker, what is wrong and what to change. Null when the error is not a connection problem
 * (e.g. a missing topic). `config` is what the client was created with; its secrets are never
 * quoted. Setting names are those of both configuration files (`kafka.tls.*`, `kafka.sasl.*`).
 */
export function explainKafkaError(error: unknown, config: KafkaClientConfig, options: ExplainOptions = {}): KafkaConnectionProblem | null {
  const chain = causeChain(error);
  const own = chain.find((e): e is KafkaConnectionProblem => e instanceof KafkaConnectionProblem);
  if (own) return own;
  const seeds = config.brokers ?? [];
  const brokerOf = (e: ErrorLike | undefined): string => (typeof e?.broker === 'string' && e.broker ? e.broker : seeds.join(','));
  const named = (broker: string) => `Kafka broker${broker.includes(',') ? 's' : ''} ${broker}`;
  const problem = (kind: KafkaProblem, e: ErrorLike | undefined, text: (who: string) => string, configuration: boolean) => {
    const broker = brokerOf(e);
    return new KafkaConnectionProblem(kind, broker, text(named(broker)), configuration, { cause: error });
  };
  const tls = config.tls && typeof config.tls === 'object' ? config.tls : undefined;
  const usesTls = Boolean(config.tls);

  // SASL: the broker refused the login (kafkajs: KafkaJSSASLAuthenticationError, not retried)
  const sasl = chain.find((e) => e.name === 'KafkaJSSASLAuthenticationError' || /^SASL .*authentication failed/i.test(String(e.message ?? '')));
  if (sasl) {
    const mechanism = (config.sasl?.mechanism ?? 'SASL').toUpperCase();
    const user = config.sasl ? ` of user "${config.sasl.username}"` : '';
    const password = options.passwordSource ? `the password (${options.passwordSource})` : 'the password';
    return problem(
      'sasl-authentication',
      sasl,
      (who) => `${who} rejected the SASL ${mechanism} login${user}: wrong username or password; check kafka.sasl.username and ${password}`,
      true,
    );
  }
  const mechanism = chain.find((e) => e.type === 'UNSUPPORTED_SASL_MECHANISM');
  if (mechanism) {
    return problem(
      'sasl-mechanism',
      mechanism,
      (who) =>
        `${who} does not offer SASL ${(config.sasl?.mechanism ?? '').toUpperCase()} on this listener: set kafka.sasl.mechanism to one it enables (sasl.enabled.mechanisms), e.g. scram-sha-512`,
      true,
    );
  }

  const connection = chain.find((e) => typeof e.code === 'string' && e.code !== '');
  const code = connection ? String(connection.code) : '';
  const reason = nodeReason(connection?.message);

  if (code === 'CERT_HAS_EXPIRED') {
    return problem(
      'tls-expired',
      connection,
      (who) => `${who} presented an expired TLS certificate (${reason}): renew the broker's certificate, and check this machine's clock`,
      true,
    );
  }
  if (code === 'CERT_NOT_YET_VALID') {
    return problem(
      'tls-not-yet-valid',
      connection,
      (who) => `${who} presented a TLS certificate that is not valid yet (${reason}): check this machine's clock and the certificate's start date`,
      true,
    );
  }
  if (UNKNOWN_CA_CODES.has(code)) {
    const trusted = tls?.caFile ? `the CA in kafka.tls.caFile ${tls.caFile}` : "the system's CAs (no kafka.tls.caFile)";
    return problem(
      'tls-unknown-ca',
      connection,
      (who) =>
        `${who} presented a TLS certificate not signed by ${trusted} (${reason}): set kafka.tls.caFile to the PEM file of the CA that signed the broker's certificate`,
      true,
    );
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    const servername = tls?.servername ? `kafka.tls.servername "${tls.servername}"` : 'the address connected to';
    return problem(
      'tls-hostname',
      connection,
      (who) =>
        `${who} presented a TLS certificate that does not name ${servername} (${reason}): list the brokers in kafka.brokers by a name the certificate holds, or set kafka.tls.servername to one; else reissue the certificate with this address`,
      true,
    );
  }
  if (code in CLIENT_CERT_ALERTS) {
    const alert = CLIENT_CERT_ALERTS[code];
    if (!tls?.certFile) {
      return problem(
        'tls-client-certificate',
        connection,
        (who) => `${who} requires a client certificate (TLS alert: ${alert}): set kafka.tls.certFile and kafka.tls.keyFile`,
        true,
      );
    }
    return problem(
      'tls-client-certificate',
      connection,
      (who) =>
        `${who} refused the client certificate in kafka.tls.certFile ${tls.certFile} (TLS alert: ${alert}): it must be signed by a CA the broker trusts (its ssl.truststore) and be valid now`,
      true,
    );
  }
  if (code in UNREACHABLE_CODES) {
    return problem(
      'unreachable',
      connection,
      (who) => `cannot reach ${who} (${UNREACHABLE_CODES[code]}): check kafka.brokers (host:port of a listener) and that the broker is up`,
      false,
    );
  }
  if (usesTls && (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'EPROTO' || (code === 'ECONNRESET' && /before secure TLS connection/.test(reason)))) {
    return problem(
      'protocol-mismatch',
      connection,
      (who) =>
        `${who} did not answer the TLS handshake (${reason}): is this a PLAINTEXT or SASL_PLAINTEXT listener? use the broker's SSL or SASL_SSL port, or turn kafka.tls off`,
      false,
    );
  }
  const timeout = chain.find((e) => e.name === 'KafkaJSConnectionError' && /Connection timeout/.test(String(e.message)));
  if (timeout) {
    return problem(
      'unreachable',
      timeout,
      (who) => `cannot reach ${who} (connection timed out): check kafka.brokers (host:port of a listener) and that the broker is up`,
      false,
    );
  }
  const closed = chain.find((e) => e.name === 'KafkaJSConnectionClosedError');
  if (closed && (!usesTls || !config.sasl)) {
    const missing = !usesTls ? 'TLS (kafka.tls)' : 'SASL (kafka.sasl)';
    return problem(
      'protocol-mismatch',
      closed,
      (who) => `${who} closed the connection: if this listener expects ${missing}, configure it; else see the broker's log`,
      false,
    );
  }
  return null;
}

/** kafkajs log entries to pino, one level down (kafkajs's ERRORs are mostly retried connection blips). */
function logCreator(logger: Logger) {
  return () =>
    ({ namespace, level, log }: LogEntry) => {
      const { message, ...extra } = log;
      // no `component` here: the caller's logger has one, and pino would write the key twice
      const fields = { kafkajs: namespace, ...extra };
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

type PartitionerArgs = Parameters<ReturnType<ICustomPartitioner>>[0];

/**
 * kafkajs's DefaultPartitioner (Java-client compatible murmur2), with the partition of each
 * string key remembered: for a keyed message it is a function of the key and the topic's partition
 * count alone, and kafkajs computes murmur2 with its Long arithmetic on every message (9 % of the
 * sink's CPU in the profile). At most `max` keys are remembered (the table is emptied when full).
 * Messages with an explicit partition, without a key or with a Buffer key go to kafkajs's partitioner.
 */
export function memoizedDefaultPartitioner(max = 100_000): ICustomPartitioner {
  return () => {
    const inner = Partitioners.DefaultPartitioner();
    const memo = new Map<string, number>();
    return (args: PartitionerArgs) => {
      const key = args.message.key;
      if (typeof key !== 'string' || (args.message.partition !== null && args.message.partition !== undefined)) return inner(args);
      const memoKey = `${args.topic}\u0000${args.partitionMetadata.length}\u0000${key}`;
      let partition = memo.get(memoKey);
      if (partition === undefined) {
        partition = inner(args);
        if (memo.size >= max) memo.clear();
        memo.set(memoKey, partition);
      }
      return partition;
    };
  };
}

export function createProducer(kafka: Kafka, options: ProducerOptions = {}): Producer {
  const config: ProducerConfig = {
    // Java-client compatible murmur2 partitioning: Kafka Streams/Flink/ksqlDB keyed by the same
    // key land on the same partition numbers (memoized per key: the same numbers, cheaper).
    createPartitioner: memoizedDefaultPartitioner(),
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
