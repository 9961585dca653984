/**
 * The run configuration of `kubevents run` (the `--config` file): one YAML file (optional) plus
 * environment overrides, checked by one zod schema.
 *
 * Precedence: built-in defaults < the file (`--config FILE` or $KUBEVENTS_CONFIG) < KUBEVENTS_*
 * environment variables (ENV_OVERRIDES below; README "Configuration" lists them).
 *
 * Secrets (the Kafka SASL password, the Schema Registry password) are never read from the file:
 * an inline `password:` is refused, pointing at its line. They come from an environment variable
 * (KUBEVENTS_KAFKA_SASL_PASSWORD, KUBEVENTS_SCHEMA_REGISTRY_PASSWORD, e.g. from a Kubernetes
 * Secret via `secretKeyRef`) or from a file named in the config (`passwordFile:`, e.g. a mounted
 * Secret). `kubevents config print` shows them as "[redacted]".
 *
 * Errors name where the bad value came from: `FILE:LINE:COLUMN` (the config kit in src/core walks
 * the zod issue path to the YAML node), or the environment variable; with a hint when there is a
 * likely fix (a misspelt key, a quoted number, a secret written inline).
 *
 * Times are durations (`1s`, `15s`, `2m`) as everywhere else; a plain number is seconds. The
 * settings that were numbers with a unit in their name (`intervalMs`, `leaseDurationSeconds`, ...)
 * are still read, with a warning naming the new setting.
 */
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isSeq, LineCounter, parseDocument, stringify } from 'yaml';
import { z } from 'zod';
import { didYouMean } from '../core/diagnostics.js';
import { durationOrNumber, MAX_TIMER_MS, showDuration } from '../core/duration.js';
import {
  addDuplicateKeyErrors,
  DocumentLocator,
  YAML_ERRORS_REPORTED,
  YAML_PARSE_OPTIONS,
  yamlErrorDiagnostics,
  type PathSegment,
} from '../core/yaml-locator.js';
import { quoteShort, zodProblems } from '../core/zod-diagnostics.js';
import { displayValue, shapeOf } from '../core/zod-schema.js';
import { DEFAULT_TOPICS } from '../sinks/kafka-topics.js';
import { SASL_MECHANISMS, type KafkaClientConfig, type SaslMechanism } from '../kafka/client.js';
import { DEFAULT_CHECKPOINT_TOPIC } from '../checkpoint/kafka-store.js';
import type { LevelWithSilent } from 'pino';
import { LOG_LEVELS } from '../core/logger.js';
import type { SchemaRegistryConfig } from '../avro/registry.js';

// ---------------------------------------------------------------------------------------------
// the schema
// ---------------------------------------------------------------------------------------------

const BROKER = /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):(\d{1,5})$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

const nonEmpty = z.string().trim().min(1, 'must not be empty');
const filePath = nonEmpty;
/** A list, or the same as one comma-separated string (as the environment variables take it). */
const listOf = <T extends z.ZodType>(item: T) =>
  z.preprocess(
    (v) =>
      typeof v === 'string'
        ? v
            .split(',')
            .map((s) => s.trim())
            .filter((s) => s.length > 0)
        : v,
    z.array(item),
  );
/** Settings read before durations were accepted: the unit is in their name. */
const legacyNumber = (unit: 's' | 'ms') =>
  z
    .number()
    .int('must be a whole number')
    .positive('must be > 0')
    .max(unit === 's' ? Math.floor(MAX_TIMER_MS / 1000) : MAX_TIMER_MS, `too long for a timer: at most ${showDuration(MAX_TIMER_MS)}`)
    .optional();

const tlsSchema = z.strictObject({
  /** TLS to the brokers (default true when a tls section is present). */
  enabled: z.boolean().default(true),
  caFile: filePath.optional(),
  certFile: filePath.optional(),
  keyFile: filePath.optional(),
  rejectUnauthorized: z.boolean().default(true),
  servername: nonEmpty.optional(),
});

const saslSchema = z.strictObject({
  mechanism: z.enum(SASL_MECHANISMS as [SaslMechanism, ...SaslMechanism[]]),
  username: nonEmpty,
  /** only ever set from the environment (KUBEVENTS_KAFKA_SASL_PASSWORD); refused in the file */
  password: z.string().min(1).optional(),
  passwordFile: filePath.optional(),
});

const kafkaSchema = z.strictObject({
  brokers: listOf(z.string().trim().regex(BROKER, 'must be host:port, e.g. kafka-0.kafka:9092')).pipe(z.array(z.string()).min(1, 'needs at least one broker')),
  clientId: nonEmpty.default('kubevents'),
  tls: tlsSchema.optional(),
  sasl: saslSchema.optional(),
  /** connecting to a broker (kafkajs default 1s) */
  connectionTimeout: durationOrNumber('s').optional(),
  /** one request (kafkajs default 30s) */
  requestTimeout: durationOrNumber('s').optional(),
  connectionTimeoutMs: legacyNumber('ms'),
  requestTimeoutMs: legacyNumber('ms'),
  /**
   * Compression of the record batches kubevents produces. lz4 is the default: it costs the producer
   * and the broker a fraction of gzip's CPU (bench/kafka.ts); every Kafka client reads it.
   */
  compression: z.enum(['lz4', 'gzip', 'none']).default('lz4'),
});

const topicsSchema = z.strictObject({
  events: nonEmpty.default(DEFAULT_TOPICS.KubeEvent),
  alerts: nonEmpty.default(DEFAULT_TOPICS.Alert),
  incidents: nonEmpty.default(DEFAULT_TOPICS.Incident),
  gaps: nonEmpty.default(DEFAULT_TOPICS.Gap),
  deadLetters: nonEmpty.default(DEFAULT_TOPICS.DeadLetter),
});

const schemaRegistrySchema = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL, e.g. http://schema-registry:8081' }),
  username: nonEmpty.optional(),
  /** only ever set from the environment (KUBEVENTS_SCHEMA_REGISTRY_PASSWORD); refused in the file */
  password: z.string().min(1).optional(),
  passwordFile: filePath.optional(),
  autoRegister: z.boolean().default(true),
});

const checkpointSchema = z.strictObject({
  /** kafka: a compacted topic (needs `kafka`); file: a directory (needs a writable volume). Default: kafka when a kafka section is set, else file. */
  store: z.enum(['kafka', 'file']).optional(),
  topic: nonEmpty.default(DEFAULT_CHECKPOINT_TOPIC),
  /** directory of checkpoints.json for store file; unset: the run's --out directory */
  path: filePath.optional(),
  /** least time between two saves */
  interval: durationOrNumber('s').prefault('1s'),
  intervalMs: legacyNumber('ms'),
});

const metricsSchema = z.strictObject({
  enabled: z.boolean().default(true),
  address: nonEmpty.default('0.0.0.0'),
  port: z.number().int().min(0).max(65535).default(9090),
});

const leaderElectionSchema = z
  .strictObject({
    enabled: z.boolean().default(false),
    leaseName: nonEmpty.regex(DNS_SUBDOMAIN, 'must be a DNS subdomain name (lowercase letters, digits, - and .)').default('kubevents'),
    /** default: $POD_NAMESPACE (downward API), else "kubevents" */
    leaseNamespace: nonEmpty.regex(DNS_LABEL, 'must be a DNS label (lowercase letters, digits and -)').optional(),
    /** default: $POD_NAME (downward API) or the hostname, plus a random suffix */
    identity: nonEmpty.optional(),
    leaseDuration: durationOrNumber('s').prefault('15s'),
    renewDeadline: durationOrNumber('s').prefault('10s'),
    retryPeriod: durationOrNumber('s').prefault('2s'),
    leaseDurationSeconds: legacyNumber('s'),
    renewDeadlineSeconds: legacyNumber('s'),
    retryPeriodSeconds: legacyNumber('s'),
  })
  .superRefine((le, ctx) => {
    const { leaseDuration, renewDeadline, retryPeriod } = effectiveLeaseTimings(le);
    if (leaseDuration <= renewDeadline) {
      ctx.addIssue({ code: 'custom', path: ['leaseDuration'], message: `must be longer than renewDeadline (${showDuration(renewDeadline)})` });
    }
    if (renewDeadline <= retryPeriod * 1.2) {
      ctx.addIssue({ code: 'custom', path: ['renewDeadline'], message: `must be longer than retryPeriod x 1.2 (${showDuration(retryPeriod * 1.2)})` });
    }
  })
  .transform(({ leaseDurationSeconds, renewDeadlineSeconds, retryPeriodSeconds, ...le }) => ({
    ...le,
    ...effectiveLeaseTimings({ ...le, leaseDurationSeconds, renewDeadlineSeconds, retryPeriodSeconds }),
  }));

/** The Lease timings in ms, the settings' old names (numbers of seconds) winning when given. */
function effectiveLeaseTimings(le: {
  leaseDuration: number;
  renewDeadline: number;
  retryPeriod: number;
  leaseDurationSeconds?: number | undefined;
  renewDeadlineSeconds?: number | undefined;
  retryPeriodSeconds?: number | undefined;
}): { leaseDuration: number; renewDeadline: number; retryPeriod: number } {
  return {
    leaseDuration: le.leaseDurationSeconds !== undefined ? le.leaseDurationSeconds * 1000 : le.leaseDuration,
    renewDeadline: le.renewDeadlineSeconds !== undefined ? le.renewDeadlineSeconds * 1000 : le.renewDeadline,
    retryPeriod: le.retryPeriodSeconds !== undefined ? le.retryPeriodSeconds * 1000 : le.retryPeriod,
  };
}

const sourceSchema = z.strictObject({
  kube: z
    .strictObject({
      /** default: $KUBECONFIG, ~/.kube/config, or the in-cluster service account */
      kubeconfig: filePath.optional(),
      context: nonEmpty.optional(),
      /** empty: all namespaces */
      namespaces: listOf(nonEmpty.regex(DNS_LABEL, 'must be a namespace name')).default([]),
      inCluster: z.boolean().default(false),
      /** without a successful list for this long, an error line names the API server and why (it keeps retrying) */
      connectTimeout: durationOrNumber('s').prefault('60s'),
      /** without a successful list for this long, the run fails (exit 1); default: it keeps retrying */
      failAfter: durationOrNumber('s').optional(),
    })
    .prefault({}),
});

export const runConfigSchema = z
  .strictObject({
    /** cluster name stamped on every record */
    cluster: nonEmpty.default('default'),
    logLevel: z.enum(LOG_LEVELS as [LevelWithSilent, ...LevelWithSilent[]]).default('info'),
    source: sourceSchema.prefault({}),
    /** absent: no Kafka (records go to files / stdout) */
    kafka: kafkaSchema.optional(),
    topics: topicsSchema.prefault({}),
    encoding: z.enum(['confluent', 'avro-binary']).default('confluent'),
    schemaRegistry: schemaRegistrySchema.optional(),
    checkpoint: checkpointSchema.prefault({}),
    metrics: metricsSchema.prefault({}),
    leaderElection: leaderElectionSchema.prefault({}),
    /** pipeline files or folders (like `run --pipelines`); default: the bundled pipelines/default.yaml */
    pipelines: listOf(filePath).pipe(z.array(z.string()).min(1, 'needs at least one file or folder (or leave it out for the bundled default)')).optional(),
  })
  .superRefine((c, ctx) => {
    if (c.kafka && c.encoding === 'confluent' && !c.schemaRegistry) {
      ctx.addIssue({
        code: 'custom',
        path: ['schemaRegistry'],
        message: 'encoding "confluent" needs schemaRegistry.url (or set encoding: avro-binary)',
      });
    }
    if (c.checkpoint.store === 'kafka' && !c.kafka) {
      ctx.addIssue({ code: 'custom', path: ['checkpoint', 'store'], message: 'store "kafka" needs a kafka section (or use store: file)' });
    }
    const sasl = c.kafka?.sasl;
    if (sasl && sasl.password === undefined && sasl.passwordFile === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['kafka', 'sasl'],
        message: 'no SASL password: set KUBEVENTS_KAFKA_SASL_PASSWORD or kafka.sasl.passwordFile',
      });
    }
    if (sasl && sasl.password !== undefined && sasl.passwordFile !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['kafka', 'sasl', 'passwordFile'],
        message: 'both KUBEVENTS_KAFKA_SASL_PASSWORD and passwordFile are set: keep one',
      });
    }
    const tls = c.kafka?.tls;
    if (tls && Boolean(tls.certFile) !== Boolean(tls.keyFile)) {
      ctx.addIssue({
        code: 'custom',
        path: ['kafka', 'tls', tls.certFile ? 'keyFile' : 'certFile'],
        message: 'certFile and keyFile go together (client certificate authentication)',
      });
    }
    const sr = c.schemaRegistry;
    if (sr && sr.password !== undefined && sr.passwordFile !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['schemaRegistry', 'passwordFile'],
        message: 'both KUBEVENTS_SCHEMA_REGISTRY_PASSWORD and passwordFile are set: keep one',
      });
    }
    if (sr && (sr.password !== undefined || sr.passwordFile !== undefined) && !sr.username) {
      ctx.addIssue({ code: 'custom', path: ['schemaRegistry', 'username'], message: 'a Schema Registry password needs a username' });
    }
  })
  .transform(({ kafka, checkpoint: { intervalMs, ...checkpoint }, ...c }) => ({
    ...c,
    ...(kafka ? { kafka: withLegacyKafkaTimeouts(kafka) } : {}),
    checkpoint: { ...checkpoint, interval: intervalMs ?? checkpoint.interval, store: checkpoint.store ?? (kafka ? ('kafka' as const) : ('file' as const)) },
  }));

function withLegacyKafkaTimeouts<
  T extends {
    connectionTimeout?: number | undefined;
    requestTimeout?: number | undefined;
    connectionTimeoutMs?: number | undefined;
    requestTimeoutMs?: number | undefined;
  },
>({ connectionTimeoutMs, requestTimeoutMs, ...kafka }: T): Omit<T, 'connectionTimeoutMs' | 'requestTimeoutMs'> {
  const connectionTimeout = connectionTimeoutMs ?? kafka.connectionTimeout;
  const requestTimeout = requestTimeoutMs ?? kafka.requestTimeout;
  return { ...kafka, ...(connectionTimeout !== undefined ? { connectionTimeout } : {}), ...(requestTimeout !== undefined ? { requestTimeout } : {}) };
}

/** Settings with the unit in their name, still read: [old path, new path, unit of the old number]. */
export const LEGACY_SETTINGS: ReadonlyArray<readonly [string, string, 's' | 'ms']> = [
  ['checkpoint.intervalMs', 'checkpoint.interval', 'ms'],
  ['kafka.connectionTimeoutMs', 'kafka.connectionTimeout', 'ms'],
  ['kafka.requestTimeoutMs', 'kafka.requestTimeout', 'ms'],
  ['leaderElection.leaseDurationSeconds', 'leaderElection.leaseDuration', 's'],
  ['leaderElection.renewDeadlineSeconds', 'leaderElection.renewDeadline', 's'],
  ['leaderElection.retryPeriodSeconds', 'leaderElection.retryPeriod', 's'],
];

export type RunConfigInput = z.input<typeof runConfigSchema>;
/** The effective configuration; secrets resolved (password set when a passwordFile was given); durations in ms. */
export type RunConfig = z.output<typeof runConfigSchema>;

// ---------------------------------------------------------------------------------------------
// environment overrides
// ---------------------------------------------------------------------------------------------

export type EnvKind = 'string' | 'list' | 'boolean' | 'integer' | 'duration';

export interface EnvOverride {
  env: string;
  path: readonly string[];
  kind: EnvKind;
  secret?: boolean;
  /** Still read, for the setting it names; `config env` lists it as such. */
  replacedBy?: string;
}

const o = (env: string, path: string, kind: EnvKind = 'string', secret = false): EnvOverride => ({ env, path: path.split('.'), kind, secret });
const legacy = (env: string, path: string, replacedBy: string): EnvOverride => ({ env, path: path.split('.'), kind: 'integer', replacedBy });

/**
 * Every environment variable the configuration reads, and the setting it overrides. Lists are
 * comma-separated (`KUBEVENTS_KAFKA_BROKERS=a:9092,b:9092`), booleans true/false (also 1/0,
 * yes/no), integers plain digits, durations `15s` / `2m` (a plain number is seconds).
 */
export const ENV_OVERRIDES: readonly EnvOverride[] = [
  o('KUBEVENTS_CLUSTER', 'cluster'),
  o('KUBEVENTS_LOG_LEVEL', 'logLevel'),
  o('KUBEVENTS_KUBECONFIG', 'source.kube.kubeconfig'),
  o('KUBEVENTS_KUBE_CONTEXT', 'source.kube.context'),
  o('KUBEVENTS_NAMESPACES', 'source.kube.namespaces', 'list'),
  o('KUBEVENTS_KUBE_IN_CLUSTER', 'source.kube.inCluster', 'boolean'),
  o('KUBEVENTS_KUBE_CONNECT_TIMEOUT', 'source.kube.connectTimeout', 'duration'),
  o('KUBEVENTS_KUBE_FAIL_AFTER', 'source.kube.failAfter', 'duration'),
  o('KUBEVENTS_KAFKA_BROKERS', 'kafka.brokers', 'list'),
  o('KUBEVENTS_KAFKA_CLIENT_ID', 'kafka.clientId'),
  o('KUBEVENTS_KAFKA_COMPRESSION', 'kafka.compression'),
  o('KUBEVENTS_KAFKA_TLS_ENABLED', 'kafka.tls.enabled', 'boolean'),
  o('KUBEVENTS_KAFKA_TLS_CA_FILE', 'kafka.tls.caFile'),
  o('KUBEVENTS_KAFKA_TLS_CERT_FILE', 'kafka.tls.certFile'),
  o('KUBEVENTS_KAFKA_TLS_KEY_FILE', 'kafka.tls.keyFile'),
  o('KUBEVENTS_KAFKA_TLS_REJECT_UNAUTHORIZED', 'kafka.tls.rejectUnauthorized', 'boolean'),
  o('KUBEVENTS_KAFKA_TLS_SERVERNAME', 'kafka.tls.servername'),
  o('KUBEVENTS_KAFKA_SASL_MECHANISM', 'kafka.sasl.mechanism'),
  o('KUBEVENTS_KAFKA_SASL_USERNAME', 'kafka.sasl.username'),
  o('KUBEVENTS_KAFKA_SASL_PASSWORD', 'kafka.sasl.password', 'string', true),
  o('KUBEVENTS_KAFKA_SASL_PASSWORD_FILE', 'kafka.sasl.passwordFile'),
  o('KUBEVENTS_KAFKA_CONNECTION_TIMEOUT', 'kafka.connectionTimeout', 'duration'),
  o('KUBEVENTS_KAFKA_REQUEST_TIMEOUT', 'kafka.requestTimeout', 'duration'),
  o('KUBEVENTS_TOPIC_EVENTS', 'topics.events'),
  o('KUBEVENTS_TOPIC_ALERTS', 'topics.alerts'),
  o('KUBEVENTS_TOPIC_INCIDENTS', 'topics.incidents'),
  o('KUBEVENTS_TOPIC_GAPS', 'topics.gaps'),
  o('KUBEVENTS_TOPIC_DEAD_LETTERS', 'topics.deadLetters'),
  o('KUBEVENTS_ENCODING', 'encoding'),
  o('KUBEVENTS_SCHEMA_REGISTRY_URL', 'schemaRegistry.url'),
  o('KUBEVENTS_SCHEMA_REGISTRY_USERNAME', 'schemaRegistry.username'),
  o('KUBEVENTS_SCHEMA_REGISTRY_PASSWORD', 'schemaRegistry.password', 'string', true),
  o('KUBEVENTS_SCHEMA_REGISTRY_PASSWORD_FILE', 'schemaRegistry.passwordFile'),
  o('KUBEVENTS_CHECKPOINT_STORE', 'checkpoint.store'),
  o('KUBEVENTS_CHECKPOINT_TOPIC', 'checkpoint.topic'),
  o('KUBEVENTS_CHECKPOINT_PATH', 'checkpoint.path'),
  o('KUBEVENTS_CHECKPOINT_INTERVAL', 'checkpoint.interval', 'duration'),
  o('KUBEVENTS_METRICS_ENABLED', 'metrics.enabled', 'boolean'),
  o('KUBEVENTS_METRICS_ADDRESS', 'metrics.address'),
  o('KUBEVENTS_METRICS_PORT', 'metrics.port', 'integer'),
  o('KUBEVENTS_LEADER_ELECTION_ENABLED', 'leaderElection.enabled', 'boolean'),
  o('KUBEVENTS_LEADER_ELECTION_LEASE_NAME', 'leaderElection.leaseName'),
  o('KUBEVENTS_LEADER_ELECTION_LEASE_NAMESPACE', 'leaderElection.leaseNamespace'),
  o('KUBEVENTS_LEADER_ELECTION_IDENTITY', 'leaderElection.identity'),
  o('KUBEVENTS_LEADER_ELECTION_LEASE_DURATION', 'leaderElection.leaseDuration', 'duration'),
  o('KUBEVENTS_LEADER_ELECTION_RENEW_DEADLINE', 'leaderElection.renewDeadline', 'duration'),
  o('KUBEVENTS_LEADER_ELECTION_RETRY_PERIOD', 'leaderElection.retryPeriod', 'duration'),
  o('KUBEVENTS_PIPELINES', 'pipelines', 'list'),
  legacy('KUBEVENTS_LEADER_ELECTION_LEASE_DURATION_SECONDS', 'leaderElection.leaseDurationSeconds', 'KUBEVENTS_LEADER_ELECTION_LEASE_DURATION'),
  legacy('KUBEVENTS_LEADER_ELECTION_RENEW_DEADLINE_SECONDS', 'leaderElection.renewDeadlineSeconds', 'KUBEVENTS_LEADER_ELECTION_RENEW_DEADLINE'),
  legacy('KUBEVENTS_LEADER_ELECTION_RETRY_PERIOD_SECONDS', 'leaderElection.retryPeriodSeconds', 'KUBEVENTS_LEADER_ELECTION_RETRY_PERIOD'),
];

/** KUBEVENTS_* variables that are not configuration overrides (not warned about). */
const OTHER_ENV = new Set(['KUBEVENTS_CONFIG']);
const OTHER_ENV_PREFIXES = ['KUBEVENTS_TESTENV_'];

/** Paths of secret values: refused in the file, redacted when printed. */
export const SECRET_PATHS: readonly (readonly string[])[] = ENV_OVERRIDES.filter((e) => e.secret).map((e) => e.path);

/**
 * pino redact paths for a RunConfig logged as `{ config }`, as its parts (`{ kafka }`,
 * `{ schemaRegistry }`) or as the log object itself. pino's `*` matches one level only, so nested
 * secrets are listed by path. src/core/logger.ts REDACT_PATHS should include these; better
 * still, log `redactConfig(config)`.
 */
export const CONFIG_REDACT_PATHS: readonly string[] = [
  'config.kafka.sasl.password',
  'config.schemaRegistry.password',
  'kafka.sasl.password',
  'schemaRegistry.password',
  'sasl.password',
  '*.sasl.password',
  '*.schemaRegistry.password',
];

// ---------------------------------------------------------------------------------------------
// errors
// ---------------------------------------------------------------------------------------------

export interface ConfigIssue {
  /** 'FILE:LINE:COL', 'env KUBEVENTS_X' or 'default' */
  where: string;
  /** dotted path of the setting, '' for the whole document */
  path: string;
  message: string;
  hint?: string | undefined;
}

export class ConfigError extends Error {
  constructor(readonly issues: readonly ConfigIssue[]) {
    super(formatIssues(issues));
    this.name = 'ConfigError';
  }
}

/** Problems printed one by one; the rest are counted (a file of 20,000 unknown keys is not 40,000 lines). */
export const ISSUES_PRINTED = 50;

export function formatIssues(issues: readonly ConfigIssue[]): string {
  const lines = [`invalid configuration (${issues.length} problem${issues.length === 1 ? '' : 's'}):`];
  for (const i of issues.slice(0, ISSUES_PRINTED)) {
    lines.push(`  ${i.where}: ${i.path ? `${i.path}: ` : ''}${i.message}`);
    if (i.hint) lines.push(`    hint: ${i.hint}`);
  }
  if (issues.length > ISSUES_PRINTED) lines.push(`  ... and ${issues.length - ISSUES_PRINTED} more problems (fix these first)`);
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// loading
// ---------------------------------------------------------------------------------------------

export interface LoadRunConfigOptions {
  /** YAML file; null/undefined: defaults and environment only. */
  file?: string | null;
  /** default process.env */
  env?: NodeJS.ProcessEnv;
  /** file reader (tests); default readFileSync utf8 */
  readFile?: (path: string) => string;
  /** why a referenced file (TLS files, kubeconfig) cannot be read, or null (tests); default readableFileProblem */
  checkFile?: (path: string) => string | null;
}

export interface LoadedRunConfig {
  config: RunConfig;
  /** the file read, if any */
  file: string | null;
  /** environment variables that overrode settings */
  envApplied: readonly EnvOverride[];
  /** non-fatal findings (unknown KUBEVENTS_* variables, settings that have a new name, ...) */
  warnings: readonly string[];
}

type Path = readonly PathSegment[];

/** yaml quotes the offending token, which may be the rest of the file. */
const clip = (text: string): string => (text.length > 300 ? `${text.slice(0, 300)}…` : text);

function dotted(path: Path): string {
  return path
    .map((p) => (typeof p === 'number' ? `[${p}]` : String(p)))
    .join('.')
    .replace(/\.\[/g, '[');
}

function startsWith(path: Path, prefix: Path): boolean {
  return prefix.length <= path.length && prefix.every((p, i) => p === path[i]);
}

const isSecretKey = (path: Path, key: string): boolean => SECRET_PATHS.some((sp) => sp.length === path.length + 1 && startsWith([...path, key], sp));

/** "did you mean" among the keys allowed at `path` (secret keys are never suggested: they are refused in the file). */
function suggestion(key: string, path: Path): string | undefined {
  let schema: z.ZodType | undefined = runConfigSchema;
  for (const p of path) schema = schema ? shapeOf(schema)?.[String(p)] : undefined;
  const candidates = Object.keys((schema && shapeOf(schema)) ?? {}).filter(
    (k) => !isSecretKey(path, k) && !LEGACY_SETTINGS.some(([old]) => old === dotted([...path, k])),
  );
  return didYouMean(key, candidates) ?? (candidates.length ? `known keys here: ${candidates.join(', ')}` : undefined);
}

function envValue(override: EnvOverride, raw: string): { value?: unknown; error?: string } {
  const text = raw.trim();
  switch (override.kind) {
    case 'string':
      return { value: raw };
    case 'list':
      return { value: text };
    case 'boolean':
      if (/^(true|1|yes|on)$/i.test(text)) return { value: true };
      if (/^(false|0|no|off)$/i.test(text)) return { value: false };
      return { error: 'expected true or false' };
    case 'integer':
      if (/^-?\d+$/.test(text)) return { value: Number(text) };
      return { error: 'expected an integer' };
    case 'duration':
      return { value: /^\d+$/.test(text) ? Number(text) : text };
  }
}

function setIn(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (!next || typeof next !== 'object' || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}

function getIn(target: unknown, path: Path): unknown {
  let node = target;
  for (const key of path) {
    if (!node || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[key as string];
  }
  return node;
}

function envFor(path: Path): EnvOverride | undefined {
  return ENV_OVERRIDES.find((e) => e.path.length === path.length && startsWith(path, e.path));
}

/** A hint the kit cannot know: quotes around a number or a boolean. */
function hintFor(path: Path, value: unknown, message: string): string | undefined {
  const env = envFor(path);
  if (
    env &&
    (env.kind === 'integer' || env.kind === 'boolean') &&
    typeof value === 'string' &&
    /^(-?\d+|true|false)$/.test(value.trim()) &&
    /expected (a number|an integer|true or false)/.test(message)
  ) {
    return 'write it without quotes';
  }
  return undefined;
}

/**
 * Reads the file (if any), applies KUBEVENTS_* overrides, validates, resolves password files.
 * Throws ConfigError listing every problem found.
 */
/** Why `file` cannot be read as a file (no such file, a directory, permission denied), or null. */
export function readableFileProblem(file: string): string | null {
  try {
    if (statSync(file).isDirectory()) return 'it is a directory';
    accessSync(file, constants.R_OK);
    return null;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (error as Error).message;
  }
}

export function loadRunConfig(options: LoadRunConfigOptions = {}): LoadedRunConfig {
  const env = options.env ?? process.env;
  const read = options.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  const file = options.file ?? null;
  const issues: ConfigIssue[] = [];
  const warnings: string[] = [];
  let raw: Record<string, unknown> = {};
  let locator: DocumentLocator | null = null;

  const position = (path: Path, target: 'value' | 'key' = 'value'): string | null => {
    if (!locator) return null;
    const span = locator.locate(path, target);
    return `${locator.file}:${span.line}:${span.column}`;
  };

  if (file) {
    let text: string;
    try {
      text = read(file);
    } catch (error) {
      throw new ConfigError([{ where: file, path: '', message: `cannot read the configuration file: ${(error as Error).message}` }]);
    }
    const lineCounter = new LineCounter();
    const doc = parseDocument(text, { lineCounter, ...YAML_PARSE_OPTIONS });
    addDuplicateKeyErrors(doc, lineCounter);
    if (doc.errors.length > 0) {
      const reported = doc.errors.slice(0, YAML_ERRORS_REPORTED).map((e) => {
        const { line, col } = lineCounter.linePos(e.pos[0]);
        return {
          where: `${file}:${line}:${col}`,
          path: '',
          message: `YAML syntax error: ${clip(e.message.split('\n')[0]!)}`,
          hint: e.code === 'DUPLICATE_KEY' ? 'each key may appear once per mapping' : undefined,
        };
      });
      const more = doc.errors.length - reported.length;
      if (more > 0) {
        reported.push({
          where: reported.at(-1)!.where,
          path: '',
          message: `${more} more YAML syntax errors after this one (is this a YAML file?)`,
          hint: undefined,
        });
      }
      throw new ConfigError(reported);
    }
    locator = new DocumentLocator(file, doc, lineCounter);
    // an unresolved tag (`!!binary`, `!custom`): the value is read as written, the tag named
    for (const d of yamlErrorDiagnostics(file, doc.warnings, lineCounter, 'warning')) {
      warnings.push(`${d.file}:${d.line}:${d.column}: ${d.message}${d.hint ? ` (${d.hint})` : ''}`);
    }
    let contents: unknown;
    try {
      contents = doc.toJS({ maxAliasCount: 100 });
    } catch (error) {
      // an alias to no anchor (`*nowhere`), an alias bomb: yaml throws here, not in doc.errors
      throw new ConfigError([{ where: position([]) ?? file, path: '', message: `YAML: ${(error as Error).message}` }]);
    }
    if (contents === null || contents === undefined) {
      raw = {};
    } else if (typeof contents !== 'object' || Array.isArray(contents) || isSeq(doc.contents)) {
      throw new ConfigError([{ where: position([]) ?? file, path: '', message: 'the configuration must be a YAML mapping (key: value lines)' }]);
    } else {
      raw = contents as Record<string, unknown>;
    }
    // secrets never inline
    for (const path of SECRET_PATHS) {
      if (getIn(raw, path) !== undefined) {
        const envName = ENV_OVERRIDES.find((e) => e.path === path)!.env;
        issues.push({
          where: position(path, 'key') ?? file,
          path: dotted(path),
          message: 'secrets are not accepted in the configuration file',
          hint: `remove it; set ${envName} (e.g. from a Kubernetes Secret) or ${dotted([...path.slice(0, -1), 'passwordFile'])}: /path/to/a/mounted/secret`,
        });
      }
    }
    for (const [old, replacement, unit] of LEGACY_SETTINGS) {
      const value = getIn(raw, old.split('.'));
      if (value === undefined) continue;
      const example = typeof value === 'number' ? `: ${showDuration(value * (unit === 's' ? 1000 : 1))}` : '';
      warnings.push(
        `${position(old.split('.'), 'key') ?? file}: ${old} is read for compatibility; write ${replacement.split('.').pop()}${example} instead (a duration)`,
      );
    }
  }

  // environment overrides
  const envApplied: EnvOverride[] = [];
  for (const override of ENV_OVERRIDES) {
    const value = env[override.env];
    if (value === undefined || value === '') continue;
    const parsed = envValue(override, value);
    if (parsed.error) {
      issues.push({
        where: `env ${override.env}`,
        path: override.path.join('.'),
        message: `${override.secret ? '(value hidden)' : quoteShort(value)}: ${parsed.error}`,
      });
      continue;
    }
    setIn(raw, override.path, parsed.value);
    envApplied.push(override);
    if (override.replacedBy) warnings.push(`${override.env} is read for compatibility; set ${override.replacedBy} instead (a duration such as 15s)`);
  }
  for (const name of Object.keys(env)) {
    if (!name.startsWith('KUBEVENTS_') || OTHER_ENV.has(name) || OTHER_ENV_PREFIXES.some((p) => name.startsWith(p))) continue;
    if (!ENV_OVERRIDES.some((e) => e.env === name)) warnings.push(`unknown environment variable ${name} ignored (see kubevents config --help for the list)`);
  }

  const where = (path: Path, key?: string): string => {
    const override = envApplied.find((e) => startsWith(path, e.path) || (key !== undefined && startsWith([...path, key], e.path)));
    if (override) return `env ${override.env}`;
    return (key !== undefined ? position([...path, key], 'key') : position(path)) ?? (file ? file : 'default');
  };

  const result = runConfigSchema.safeParse(raw);
  if (!result.success) {
    const problems = zodProblems(result.error.issues, raw, runConfigSchema, {
      // the path is printed beside the message
      place: () => '',
      unknownKey: (path, key) => {
        const hint = suggestion(key, path);
        return { message: 'unknown setting', ...(hint ? { hint } : {}) };
      },
      missing: (path) => {
        const env = envFor(path);
        return { message: 'required setting missing', ...(env ? { hint: `write it in the file, or set ${env.env}` } : {}) };
      },
    });
    for (const problem of problems) {
      const full = problem.key !== undefined ? [...problem.path, problem.key] : problem.path;
      // a secret's unknown-key twin is already reported as "not accepted in the file"
      if (problem.key !== undefined && isSecretKey(problem.path, problem.key)) continue;
      const value = getIn(raw, full);
      const secret = SECRET_PATHS.some((p) => startsWith(full, p));
      // a check on a setting given under its old name points at that name
      const legacyName = LEGACY_SETTINGS.find(([old, replacement]) => replacement === dotted(full) && getIn(raw, old.split('.')) !== undefined)?.[0];
      issues.push({
        where: problem.key !== undefined ? where(problem.path, problem.key) : where(legacyName ? legacyName.split('.') : full),
        path: dotted(full),
        message: secret ? 'invalid value (not shown: it is a secret)' : problem.message,
        hint: problem.hint ?? hintFor(full, value, problem.message),
      });
    }
  }
  if (issues.length > 0 || !result.success) throw new ConfigError(issues);

  const config = result.data;
  // derived defaults from the downward API
  if (config.leaderElection.leaseNamespace === undefined) {
    config.leaderElection.leaseNamespace = env['POD_NAMESPACE'] || 'kubevents';
  }
  // password files
  const resolveSecretFile = (holder: { password?: string; passwordFile?: string } | undefined, path: readonly string[]) => {
    if (!holder?.passwordFile) return;
    try {
      const text = read(holder.passwordFile).replace(/\r?\n$/, '');
      if (!text) throw new Error('the file is empty');
      holder.password = text;
    } catch (error) {
      issues.push({
        where: where([...path, 'passwordFile']),
        path: dotted([...path, 'passwordFile']),
        message: `cannot read the password file ${holder.passwordFile}: ${(error as Error).message}`,
      });
    }
  };
  resolveSecretFile(config.kafka?.sasl, ['kafka', 'sasl']);
  resolveSecretFile(config.schemaRegistry, ['schemaRegistry']);
  // files the run opens later: a wrong path is said now, at its line, not as a TLS or kubeconfig error at connect time
  const checkFile = options.checkFile ?? readableFileProblem;
  const referenced: Array<[Path, string | undefined, string]> = [
    [['kafka', 'tls', 'caFile'], config.kafka?.tls?.caFile, 'the CA certificate'],
    [['kafka', 'tls', 'certFile'], config.kafka?.tls?.certFile, 'the client certificate'],
    [['kafka', 'tls', 'keyFile'], config.kafka?.tls?.keyFile, 'the client key'],
    [['source', 'kube', 'kubeconfig'], config.source.kube.kubeconfig, 'the kubeconfig'],
  ];
  for (const [path, value, what] of referenced) {
    if (value === undefined) continue;
    const problem = checkFile(value);
    if (problem)
      issues.push({
        where: where(path),
        path: dotted(path),
        message: `cannot read ${what} ${value}: ${problem}`,
        hint: 'correct the path, or mount the file (a Secret volume) there',
      });
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return { config, file, envApplied, warnings };
}

// ---------------------------------------------------------------------------------------------
// output and mapping to the modules' own option shapes
// ---------------------------------------------------------------------------------------------

export const REDACTED = '[redacted]';

/** A deep copy with every secret value replaced by "[redacted]". */
export function redactConfig(config: RunConfig): RunConfig {
  const copy = structuredClone(config) as RunConfig;
  for (const path of SECRET_PATHS) {
    const parent = getIn(copy, path.slice(0, -1));
    const key = path[path.length - 1]!;
    if (parent && typeof parent === 'object' && (parent as Record<string, unknown>)[key] !== undefined) {
      (parent as Record<string, unknown>)[key] = REDACTED;
    }
  }
  return copy;
}

/** The name of the checkpoint file in `checkpoint.path` (or the run's --out directory). */
export const CHECKPOINT_FILE_NAME = 'checkpoints.json';

/** Where a live run keeps its checkpoints (`kubevents run --source kube` without --checkpoint-file). */
export type CheckpointLocation = { store: 'kafka'; topic: string } | { store: 'file'; file: string };

export function checkpointLocation(config: RunConfig, outDir: string): CheckpointLocation {
  if (config.checkpoint.store === 'kafka' && config.kafka) return { store: 'kafka', topic: config.checkpoint.topic };
  return { store: 'file', file: join(config.checkpoint.path ?? outDir, CHECKPOINT_FILE_NAME) };
}

/** The effective configuration as YAML, secrets redacted, with where overrides came from and where checkpoints go. */
export function formatConfigYaml(loaded: LoadedRunConfig): string {
  const header = [`# effective kubevents configuration${loaded.file ? ` (file: ${loaded.file})` : ' (no file: defaults and environment)'}`];
  for (const e of loaded.envApplied) header.push(`# ${e.path.join('.')} from ${e.env}`);
  const where = checkpointLocation(loaded.config, '<out>');
  header.push(
    where.store === 'kafka'
      ? `# checkpoints: Kafka topic ${where.topic} (run --checkpoint-file FILE keeps them in FILE instead)`
      : `# checkpoints: ${where.file}${loaded.config.checkpoint.path === undefined ? " (<out>: the run's --out directory, default out)" : ''} (run --checkpoint-file FILE keeps them in FILE instead)`,
  );
  return `${header.join('\n')}\n${stringify(displayValue(runConfigSchema, redactConfig(loaded.config)), { lineWidth: 0 })}`;
}

/** The Kafka client settings (src/kafka/client.ts) of a configuration; undefined without kafka. */
export function kafkaClientConfigOf(config: RunConfig): KafkaClientConfig | undefined {
  const k = config.kafka;
  if (!k) return undefined;
  const tls =
    k.tls && k.tls.enabled
      ? { rejectUnauthorized: k.tls.rejectUnauthorized, caFile: k.tls.caFile, certFile: k.tls.certFile, keyFile: k.tls.keyFile, servername: k.tls.servername }
      : undefined;
  return {
    brokers: k.brokers,
    clientId: k.clientId,
    ...(tls ? { tls } : {}),
    ...(k.sasl ? { sasl: { mechanism: k.sasl.mechanism, username: k.sasl.username, password: k.sasl.password ?? '' } } : {}),
    ...(k.connectionTimeout ? { connectionTimeoutMs: k.connectionTimeout } : {}),
    ...(k.requestTimeout ? { requestTimeoutMs: k.requestTimeout } : {}),
  };
}

/** The Schema Registry settings (src/avro/registry.ts); undefined when not configured. */
export function schemaRegistryConfigOf(config: RunConfig): SchemaRegistryConfig | undefined {
  const sr = config.schemaRegistry;
  if (!sr) return undefined;
  return { url: sr.url, username: sr.username, password: sr.password, autoRegister: sr.autoRegister, clientId: config.kafka?.clientId };
}

/** The Kafka sink's topic map (src/sinks/kafka-topics.ts SinkTopics). */
export function sinkTopicsOf(config: RunConfig): typeof DEFAULT_TOPICS {
  const t = config.topics;
  return { KubeEvent: t.events, Alert: t.alerts, Incident: t.incidents, Gap: t.gaps, DeadLetter: t.deadLetters };
}

/** LeaderElector options (src/ops/leader-election.ts) of a configuration, in ms. */
export function leaderElectionOptionsOf(config: RunConfig): {
  name: string;
  namespace: string;
  identity?: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
} {
  const le = config.leaderElection;
  return {
    name: le.leaseName,
    namespace: le.leaseNamespace ?? 'kubevents',
    ...(le.identity ? { identity: le.identity } : {}),
    leaseDurationMs: le.leaseDuration,
    renewDeadlineMs: le.renewDeadline,
    retryPeriodMs: le.retryPeriod,
  };
}
