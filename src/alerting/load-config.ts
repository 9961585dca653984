/**
 * Loads and checks the alert sinks' configuration, reporting every problem compiler-style:
 *
 *   alerts.yaml:14:10: error: receiver "ops" (dingtalk): url must not be written inline: it carries the robot's token (write url: ${env:NAME} or urlFile: PATH)
 *
 * Positions come from the YAML nodes (`yaml` parseDocument + LineCounter): each zod issue path
 * (or the path of a check made here) is walked through the document to the node it names.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';

import type { KafkaClientConfig } from '../kafka/client.js';
import type { SchemaRegistryConfig } from '../avro/registry.js';
import type { Encoding } from '../avro/encodings.js';
import { didYouMean, formatDiagnosticWithSource, sortDiagnostics, type Diagnostic } from '../core/diagnostics.js';
import {
  addDuplicateKeyErrors,
  diagnosticAt,
  DocumentLocator,
  formatPath,
  YAML_PARSE_OPTIONS,
  yamlErrorDiagnostics,
  type PathSegment,
} from '../core/yaml-locator.js';
import { getIn, typeName, zodProblems, type Issue } from '../core/zod-diagnostics.js';
import { AlertsConfigSchema, type AlertsConfigDocument, type ReceiverDocument, type RouteInput } from './config.js';
import { MatcherSyntaxError, parseMatcher, type Matcher } from './matchers.js';
import { checkTimeZone, alertNotification, incidentNotification, type NotificationView } from './notification.js';
import { receiverOf } from './receivers/registry.js';
import type { ReceiverConfig } from './receivers/types.js';
import { DEFAULT_RETRY, type RetryPolicy } from './retry.js';
import { buildRoute, routeReceivers, type Route, type RouteSpec } from './routing.js';
import {
  hasEmbeddedRef,
  isSensitiveHeader,
  parseSecretRef,
  readSecretFile,
  Redactor,
  resolveRef,
  type SecretError,
  urlCarriesCredentials,
  type SecretContext,
} from './secrets.js';
import { compileTemplate, TemplateSyntaxError, type Template } from './template.js';

export interface AlertsConfig {
  file: string;
  kafka: KafkaClientConfig;
  schemaRegistry: SchemaRegistryConfig | null;
  consumer: {
    groupId: string;
    topics: string[];
    fromBeginning: boolean;
    concurrency: number;
    sessionTimeoutMs: number;
    heartbeatIntervalMs: number;
    rebalanceTimeoutMs: number;
  };
  deadLetter: { topic: string; encoding: Encoding };
  cluster: string;
  externalUrl: string | null;
  timeZone: string;
  message: { maxSamples: number; maxSampleChars: number };
  dedupeCacheSize: number;
  route: Route;
  receivers: ReceiverConfig[];
  /** Every resolved secret, for log / dead-letter redaction. */
  redactor: Redactor;
}

export class AlertsConfigError extends Error {
  constructor(
    readonly diagnostics: Diagnostic[],
    readonly text: string | undefined,
  ) {
    const errors = diagnostics.filter((d) => d.severity === 'error');
    super(
      `${errors.length} error${errors.length === 1 ? '' : 's'} in the alerts configuration:\n${sortDiagnostics(diagnostics)
        .map((d) => formatDiagnosticWithSource(d, text))
        .join('\n')}`,
    );
    this.name = 'AlertsConfigError';
  }
}

export interface LoadOptions {
  /** Environment for ${env:NAME} references (default process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Directory relative secret files are read from (default the configuration file's). */
  baseDir?: string;
  readFile?: (path: string) => string;
}

export interface LoadResult {
  config: AlertsConfig | null;
  /** errors and warnings */
  diagnostics: Diagnostic[];
  /** The text, with inline secrets masked: for the diagnostics' source excerpts. */
  text: string;
}

const DEFAULT_TIMEOUT_MS = 5_000;

// ---------------------------------------------------------------------------------------------
// zod issues -> diagnostics

/** `receiver "ops" (dingtalk) field "url"` or `field "kafka.brokers"`. */
function where(path: readonly PathSegment[], data: unknown): string {
  if (path[0] === 'receivers' && typeof path[1] === 'number') {
    const r = getIn(data, path.slice(0, 2)) as { name?: unknown; type?: unknown } | undefined;
    const name = typeof r?.name === 'string' ? `receiver "${r.name}"` : `receivers[${path[1]}]`;
    const type = typeof r?.type === 'string' ? ` (${r.type})` : '';
    const rest = formatPath(path.slice(2));
    return rest ? `${name}${type} field "${rest}"` : `${name}${type}`;
  }
  return path.length ? `field "${formatPath(path)}"` : 'the document';
}

function issuesToDiagnostics(issues: readonly Issue[], data: unknown, locator: DocumentLocator): Diagnostic[] {
  const problems = zodProblems(issues, data, AlertsConfigSchema, {
    place: (path) => where(path, data),
    unknownKey: (path, key) => ({ message: `unknown ${where([...path, key], data)}` }),
    missing: (path) => ({ message: `missing required ${where(path, data)}` }),
  });
  return problems.map((p) =>
    p.key !== undefined
      ? diagnosticAt(locator, [...p.path, p.key], { message: p.message, hint: p.hint, key: true })
      : diagnosticAt(locator, p.path, { message: p.message, hint: p.hint }),
  );
}

// ---------------------------------------------------------------------------------------------
// Checks that need more than one field, and secrets

let sampleViewsCache: NotificationView[] | null = null;

/** Sample views with every value present (alert firing and resolved, incident), to check template names. */
function sampleViews(): NotificationView[] {
  sampleViewsCache ??= buildSampleViews();
  return sampleViewsCache;
}

function buildSampleViews(): NotificationView[] {
  const t = Date.UTC(2025, 0, 15, 8, 30);
  const alert = alertNotification({
    alertId: '0123456789abcdef',
    status: 'resolved',
    labels: { alertname: 'Sample', kind: 'Pod', namespace: 'ns', name: 'p' },
    annotations: { message: 'm' },
    severity: 'warning',
    category: 'Other',
    cluster: 'c',
    namespace: 'ns',
    summary: 's',
    startsAt: t,
    endsAt: t + 1,
    updatedAt: t + 1,
    count: 1,
    windowMs: 60_000,
    firstSeen: t,
    lastSeen: t,
    workload: { kind: 'Deployment', name: 'd', uid: null },
    node: 'n',
    containers: [
      { name: 'c', ready: false, restartCount: 1, waitingReason: 'w', waitingMessage: 'w', lastTerminationReason: 'r', lastExitCode: 1, lastFinishedAt: t },
    ],
    sampleMessages: ['m'],
    memberKeys: ['k'],
    memberAlertIds: [],
    sequence: 0,
    idempotencyKey: 'k',
  }).view;
  const incident = incidentNotification({
    incidentId: 'i',
    correlation: 'node',
    status: 'open',
    cluster: 'c',
    namespace: 'ns',
    subject: 'Node/n',
    node: 'n',
    workload: { kind: 'Deployment', name: 'd', uid: null },
    rootCause: 'r',
    rootEventKey: 'k',
    rootReason: 'NodeNotReady',
    severity: 'critical',
    category: 'Node',
    firstTime: t,
    lastTime: t,
    memberCount: 1,
    members: [
      { idempotencyKey: 'k', reason: 'r', type: 'Warning', kind: 'Pod', namespace: 'ns', name: 'p', time: t, message: 'm', category: null, severity: null },
    ],
    updatedAt: t,
    idempotencyKey: 'i/open',
  }).view;
  const withLink = (v: NotificationView): NotificationView => ({ ...v, link: 'https://example.com', endsAt: v.endsAt ?? 'x', window: v.window ?? 'x' });
  return [withLink(alert), withLink({ ...alert, firing: true, resolved: false }), withLink(incident)];
}

const VIEW_NAMES = Object.keys(sampleViews()[0] as object);

interface Ctx {
  data: unknown;
  locator: DocumentLocator;
  diagnostics: Diagnostic[];
  secrets: SecretContext;
  redactor: Redactor;
  /** spans of inline secrets: masked in the source excerpts of the diagnostics */
  masked: Array<{ line: number; column: number; endColumn?: number }>;
}

function report(ctx: Ctx, path: readonly PathSegment[], message: string, hint?: string, severity: 'error' | 'warning' = 'error'): void {
  const span = ctx.locator.locate(path);
  ctx.diagnostics.push({
    file: ctx.locator.file,
    line: span.line,
    column: span.column,
    ...(span.endColumn ? { endColumn: span.endColumn } : {}),
    severity,
    message,
    ...(hint ? { hint } : {}),
  });
}

interface SecretFieldSpec {
  path: PathSegment[];
  /** the sibling key holding a file path (urlFile, secretFile, passwordFile), if any */
  fileKey?: string;
  value: string | undefined;
  fileValue: string | undefined;
  required: boolean;
  /** Why an inline value is refused, or null when inline is fine. */
  inlineRefusal: (value: string) => string | null;
  what: string;
}

/** Resolves a secret-capable field; reports and returns null on any problem. Never echoes secret values. */
function secretField(ctx: Ctx, spec: SecretFieldSpec): string | null {
  const parent = spec.path.slice(0, -1);
  const key = String(spec.path[spec.path.length - 1]);
  const filePath = spec.fileKey ? [...parent, spec.fileKey] : null;
  if (spec.value !== undefined && spec.fileValue !== undefined) {
    report(ctx, spec.path, `${where(parent, ctx.data)}: give either ${key} or ${spec.fileKey}, not both`);
    return null;
  }
  if (spec.fileValue !== undefined && filePath) {
    try {
      const v = readSecretFile(spec.fileValue, ctx.secrets);
      ctx.redactor.add(v);
      return v;
    } catch (error) {
      report(ctx, filePath, `${where(filePath, ctx.data)}: ${(error as Error).message}`, (error as SecretError).hint);
      return null;
    }
  }
  if (spec.value === undefined) {
    if (spec.required)
      report(
        ctx,
        parent,
        `${where(parent, ctx.data)}: missing ${key}${spec.fileKey ? ` (or ${spec.fileKey})` : ''}`,
        `${spec.what}; write ${key}: \${env:NAME} or ${spec.fileKey ?? key}: PATH`,
      );
    return null;
  }
  const ref = parseSecretRef(spec.value);
  if (ref) {
    try {
      const v = resolveRef(ref, ctx.secrets);
      ctx.redactor.add(v);
      return v;
    } catch (error) {
      report(ctx, spec.path, `${where(spec.path, ctx.data)}: ${(error as Error).message}`, (error as SecretError).hint);
      return null;
    }
  }
  if (hasEmbeddedRef(spec.value)) {
    report(
      ctx,
      spec.path,
      `${where(spec.path, ctx.data)}: a reference must be the whole value`,
      `put the whole value in the variable or file: ${key}: \${env:NAME}`,
    );
    return null;
  }
  const refusal = spec.inlineRefusal(spec.value);
  if (refusal) {
    ctx.masked.push(ctx.locator.locate(spec.path));
    report(
      ctx,
      spec.path,
      `${where(spec.path, ctx.data)} must not be written inline: ${refusal}`,
      `write ${key}: \${env:NAME} (e.g. from a Kubernetes Secret)${spec.fileKey ? ` or ${spec.fileKey}: /path/to/mounted/secret` : ''}`,
    );
    return null;
  }
  return spec.value;
}

/** Resolves a field that may be a reference but is not secret (brokers, usernames). */
function plainField(ctx: Ctx, path: PathSegment[], value: string): string | null {
  const ref = parseSecretRef(value);
  if (!ref) return value;
  try {
    return resolveRef(ref, ctx.secrets);
  } catch (error) {
    report(ctx, path, `${where(path, ctx.data)}: ${(error as Error).message}`, (error as SecretError).hint);
    return null;
  }
}

function httpUrl(ctx: Ctx, path: PathSegment[], url: string | null, fromSecret: boolean): string | null {
  if (url === null) return null;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    report(
      ctx,
      path,
      `${where(path, ctx.data)} is not a valid URL${fromSecret ? ' (the value is not shown: it is a secret)' : ` (${JSON.stringify(url)})`}`,
      'e.g. https://host/path',
    );
    return null;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    report(ctx, path, `${where(path, ctx.data)} must be an http or https URL, got ${u.protocol.replace(/:$/, '')}`);
    return null;
  }
  return url;
}

function templateField(ctx: Ctx, path: PathSegment[], source: string | undefined, fallback: string | null): Template | null {
  if (source === undefined) return fallback === null ? null : compileTemplate(fallback);
  let template: Template;
  try {
    template = compileTemplate(source);
  } catch (error) {
    if (error instanceof TemplateSyntaxError) {
      report(
        ctx,
        path,
        `${where(path, ctx.data)}: template ${error.message}`,
        'tags: {{name}}, {{{raw}}}, {{#section}}...{{/section}}, {{^inverted}}...{{/inverted}}',
      );
      return null;
    }
    throw error;
  }
  const unknown = new Map<string, { line: number; column: number }>();
  for (const view of sampleViews()) for (const u of template.unknownNames(view)) if (!unknown.has(u.name)) unknown.set(u.name, u);
  for (const [name, pos] of unknown) {
    const head = name.split('.')[0] as string;
    report(
      ctx,
      path,
      `${where(path, ctx.data)}: unknown name {{${name}}} (template line ${pos.line}, column ${pos.column})`,
      didYouMean(head, VIEW_NAMES) ?? `names: ${VIEW_NAMES.join(', ')}`,
    );
  }
  return unknown.size ? null : template;
}

function retryPolicy(base: RetryPolicy, r: ReceiverDocument['retry'] | AlertsConfigDocument['defaults']['retry']): RetryPolicy {
  if (!r) return base;
  return {
    maxAttempts: r.maxAttempts ?? base.maxAttempts,
    initialBackoffMs: r.initialBackoff ?? base.initialBackoffMs,
    maxBackoffMs: r.maxBackoff ?? base.maxBackoffMs,
    maxRetryAfterMs: r.maxRetryAfter ?? base.maxRetryAfterMs,
    throttleBackoffMs: r.throttleBackoff ?? base.throttleBackoffMs,
  };
}

function resolveHeaders(ctx: Ctx, path: PathSegment[], headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const v = secretField(ctx, {
      path: [...path, name],
      value,
      fileValue: undefined,
      required: true,
      inlineRefusal: () => (isSensitiveHeader(name) ? `header ${name} carries a credential` : null),
      what: `header ${name}`,
    });
    if (v !== null) out[name.toLowerCase()] = v;
  }
  return out;
}

function receiverConfig(ctx: Ctx, doc: AlertsConfigDocument, r: ReceiverDocument, i: number): ReceiverConfig | null {
  const base: PathSegment[] = ['receivers', i];
  const before = ctx.diagnostics.length;
  const definition = receiverOf(r.type);
  if (!definition) return null; // reported by the schema
  const secretUrl = definition.secretUrl;
  const rawUrl = r.url;
  const urlFromSecret = r.urlFile !== undefined || (rawUrl !== undefined && parseSecretRef(rawUrl) !== null);
  const url = httpUrl(
    ctx,
    [...base, r.urlFile !== undefined ? 'urlFile' : 'url'],
    secretField(ctx, {
      path: [...base, 'url'],
      fileKey: 'urlFile',
      value: r.url,
      fileValue: r.urlFile,
      required: true,
      inlineRefusal: (v) =>
        secretUrl ? `a ${r.type} webhook URL carries ${secretUrl.what}` : urlCarriesCredentials(v) ? 'the URL carries credentials or a query string' : null,
      what: 'the endpoint URL',
    }),
    urlFromSecret || secretUrl !== null,
  );
  const common: ReceiverConfig = {
    name: r.name,
    type: r.type,
    sendResolved: r.sendResolved,
    timeoutMs: r.timeout ?? doc.defaults.timeout ?? DEFAULT_TIMEOUT_MS,
    retry: retryPolicy(retryPolicy(DEFAULT_RETRY, doc.defaults.retry), r.retry),
    rateLimit:
      r.rateLimit === null
        ? null
        : r.rateLimit
          ? { messages: r.rateLimit.messages, perMs: r.rateLimit.per, ...(r.rateLimit.burst !== undefined ? { burst: r.rateLimit.burst } : {}) }
          : definition.defaultRateLimit,
    url: url ?? '',
    urlIsSecret: secretUrl !== null || urlFromSecret,
  };
  const config = definition.resolve(r, {
    common,
    template: (key, source, fallback) => templateField(ctx, [...base, key], source, fallback),
    secret: (spec) =>
      secretField(ctx, {
        path: [...base, spec.key],
        fileKey: spec.fileKey,
        value: spec.value,
        fileValue: spec.fileValue,
        required: false,
        inlineRefusal: () => spec.inlineRefusal,
        what: spec.what,
      }),
    headers: (key, headers) => resolveHeaders(ctx, [...base, key], headers),
    report: (path, message, hint) => report(ctx, [...base, ...path], message, hint),
  });
  return ctx.diagnostics.length > before && ctx.diagnostics.slice(before).some((d) => d.severity === 'error') ? null : config;
}

function routeSpec(ctx: Ctx, input: RouteInput, path: PathSegment[], receivers: ReadonlySet<string>, isRoot: boolean): RouteSpec {
  const matchers: Matcher[] = [];
  (input.matchers ?? []).forEach((text, i) => {
    try {
      matchers.push(parseMatcher(text));
    } catch (error) {
      if (error instanceof MatcherSyntaxError)
        report(ctx, [...path, 'matchers', i], `${where([...path, 'matchers', i], ctx.data)}: ${error.message}`, error.hint);
      else throw error;
    }
  });
  if (isRoot && input.matchers && input.matchers.length > 0)
    report(ctx, [...path, 'matchers'], 'the root route must not have matchers: it takes every record', 'move them to a child route under route.routes');
  if (isRoot && input.continue !== undefined) report(ctx, [...path, 'continue'], 'the root route cannot have continue', undefined, 'warning');
  if (isRoot && !input.receiver) report(ctx, path, 'the root route needs a receiver: the default one for records no child route takes');
  if (input.receiver !== undefined && !receivers.has(input.receiver)) {
    report(
      ctx,
      [...path, 'receiver'],
      `${where([...path, 'receiver'], ctx.data)}: no receiver named "${input.receiver}"`,
      didYouMean(input.receiver, [...receivers]) ?? `receivers: ${[...receivers].join(', ')}`,
    );
  }
  return {
    receiver: input.receiver,
    matchers,
    continue: input.continue ?? false,
    routes: (input.routes ?? []).map((child, i) => routeSpec(ctx, child, [...path, 'routes', i], receivers, false)),
  };
}

function kafkaConfig(ctx: Ctx, k: AlertsConfigDocument['kafka']): KafkaClientConfig {
  const brokers = k.brokers.flatMap((b, i) =>
    (plainField(ctx, ['kafka', 'brokers', i], b) ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );
  const out: KafkaClientConfig = { brokers, clientId: k.clientId };
  if (k.tls !== undefined) out.tls = k.tls;
  if (k.sasl) {
    const username = plainField(ctx, ['kafka', 'sasl', 'username'], k.sasl.username) ?? '';
    const password =
      secretField(ctx, {
        path: ['kafka', 'sasl', 'password'],
        fileKey: 'passwordFile',
        value: k.sasl.password,
        fileValue: k.sasl.passwordFile,
        required: true,
        inlineRefusal: () => 'it is a password',
        what: 'the SASL password',
      }) ?? '';
    out.sasl = { mechanism: k.sasl.mechanism, username, password };
  }
  if (k.connectionTimeout !== undefined) out.connectionTimeoutMs = k.connectionTimeout;
  if (k.requestTimeout !== undefined) out.requestTimeoutMs = k.requestTimeout;
  return out;
}

function registryConfig(ctx: Ctx, r: AlertsConfigDocument['schemaRegistry']): SchemaRegistryConfig | null {
  if (!r) return null;
  const url = httpUrl(
    ctx,
    ['schemaRegistry', 'url'],
    secretField(ctx, {
      path: ['schemaRegistry', 'url'],
      value: r.url,
      fileValue: undefined,
      required: true,
      inlineRefusal: (v) => (urlCarriesCredentials(v) ? 'the URL carries credentials' : null),
      what: 'the registry URL',
    }),
    parseSecretRef(r.url) !== null,
  );
  const out: SchemaRegistryConfig = { url: url ?? '', clientId: 'kubevents-alerts', autoRegister: true };
  if (r.username !== undefined) {
    out.username = plainField(ctx, ['schemaRegistry', 'username'], r.username) ?? '';
    out.password =
      secretField(ctx, {
        path: ['schemaRegistry', 'password'],
        fileKey: 'passwordFile',
        value: r.password,
        fileValue: r.passwordFile,
        required: true,
        inlineRefusal: () => 'it is a password',
        what: 'the registry password',
      }) ?? '';
  }
  return out;
}

function checkAndResolve(ctx: Ctx, doc: AlertsConfigDocument, file: string): AlertsConfig | null {
  const before = ctx.diagnostics.length;
  // receivers: unique names
  const names = new Map<string, number>();
  doc.receivers.forEach((r, i) => {
    const first = names.get(r.name);
    if (first !== undefined) report(ctx, ['receivers', i, 'name'], `receiver name "${r.name}" is used twice`, `the first is receivers[${first}]`);
    else names.set(r.name, i);
  });
  const receivers = doc.receivers.map((r, i) => receiverConfig(ctx, doc, r, i));
  const spec = routeSpec(ctx, doc.route, ['route'], new Set(names.keys()), true);
  try {
    checkTimeZone(doc.timeZone);
  } catch {
    report(ctx, ['timeZone'], `unknown time zone ${JSON.stringify(doc.timeZone)}`, 'an IANA name such as UTC, Asia/Shanghai or Europe/Berlin');
  }
  const kafka = kafkaConfig(ctx, doc.kafka);
  const schemaRegistry = registryConfig(ctx, doc.schemaRegistry);
  const encoding: Encoding =
    doc.deadLetter.encoding === 'confluent'
      ? 'confluent'
      : doc.deadLetter.encoding === undefined
        ? schemaRegistry
          ? 'confluent'
          : 'avro-binary'
        : 'avro-binary';
  if (encoding === 'confluent' && !doc.schemaRegistry)
    report(ctx, ['deadLetter', 'encoding'], 'dead letters in the confluent encoding need schemaRegistry', 'add schemaRegistry.url, or use encoding: raw');
  if (doc.consumer.heartbeatInterval >= doc.consumer.sessionTimeout)
    report(
      ctx,
      ['consumer', 'heartbeatInterval'],
      'consumer.heartbeatInterval must be shorter than consumer.sessionTimeout',
      'about a third of it, e.g. 3s for 10s',
    );

  if (ctx.diagnostics.slice(before).some((d) => d.severity === 'error')) return null;
  const route = buildRoute(spec);
  const used = routeReceivers(route);
  doc.receivers.forEach((r, i) => {
    if (!used.has(r.name)) report(ctx, ['receivers', i, 'name'], `receiver "${r.name}" is not used by any route`, undefined, 'warning');
  });
  return {
    file,
    kafka,
    schemaRegistry,
    consumer: {
      groupId: doc.consumer.groupId,
      topics: doc.consumer.topics,
      fromBeginning: doc.consumer.fromBeginning,
      concurrency: doc.consumer.concurrency,
      sessionTimeoutMs: doc.consumer.sessionTimeout,
      heartbeatIntervalMs: doc.consumer.heartbeatInterval,
      rebalanceTimeoutMs: doc.consumer.rebalanceTimeout,
    },
    deadLetter: { topic: doc.deadLetter.topic, encoding },
    cluster: doc.cluster,
    externalUrl: doc.externalUrl ?? null,
    timeZone: doc.timeZone,
    message: { maxSamples: doc.message.maxSamples, maxSampleChars: doc.message.maxSampleChars },
    dedupeCacheSize: doc.dedupe.cacheSize,
    route,
    receivers: receivers as ReceiverConfig[],
    redactor: ctx.redactor,
  };
}

/** The text with the given spans (inline secrets) replaced by asterisks, for error excerpts. */
function maskSpans(text: string, spans: ReadonlyArray<{ line: number; column: number; endColumn?: number }>): string {
  if (spans.length === 0) return text;
  const lines = text.split('\n');
  for (const s of spans) {
    const line = lines[s.line - 1];
    if (line === undefined) continue;
    const end = s.endColumn !== undefined ? s.endColumn - 1 : line.length;
    lines[s.line - 1] = line.slice(0, s.column - 1) + '*'.repeat(Math.max(0, end - (s.column - 1))) + line.slice(end);
  }
  return lines.join('\n');
}

/** Parses and checks configuration text. Never throws for problems in the text: they are diagnostics. */
export function parseAlertsConfig(text: string, file = 'alerts.yaml', options: LoadOptions = {}): LoadResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, ...YAML_PARSE_OPTIONS });
  addDuplicateKeyErrors(doc, lineCounter);
  const diagnostics: Diagnostic[] = [];
  diagnostics.push(...yamlErrorDiagnostics(file, doc.errors, lineCounter));
  diagnostics.push(...yamlErrorDiagnostics(file, doc.warnings, lineCounter, 'warning'));
  if (doc.errors.length > 0) return { config: null, diagnostics, text };
  const locator = new DocumentLocator(file, doc, lineCounter);
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 1000 });
  } catch (error) {
    diagnostics.push({ file, line: 1, column: 1, severity: 'error', message: `YAML: ${(error as Error).message}` });
    return { config: null, diagnostics, text };
  }
  if (data === null || data === undefined || typeof data !== 'object' || Array.isArray(data)) {
    const span = locator.documentSpan();
    diagnostics.push({
      file,
      line: span.line,
      column: span.column,
      severity: 'error',
      message: `the alerts configuration is a map with kafka, route and receivers; got ${typeName(data)}`,
    });
    return { config: null, diagnostics, text };
  }
  const parsed = AlertsConfigSchema.safeParse(data);
  if (!parsed.success) {
    diagnostics.push(...issuesToDiagnostics(parsed.error.issues, data, locator));
    return { config: null, diagnostics, text };
  }
  const ctx: Ctx = {
    data,
    locator,
    diagnostics,
    secrets: {
      env: options.env ?? process.env,
      baseDir: options.baseDir ?? dirname(resolve(file)),
      ...(options.readFile ? { readFile: options.readFile } : {}),
    },
    redactor: new Redactor(),
    masked: [],
  };
  const config = checkAndResolve(ctx, parsed.data as AlertsConfigDocument, file);
  return { config, diagnostics, text: maskSpans(text, ctx.masked) };
}

/** Reads, parses and checks a configuration file; throws AlertsConfigError with every problem. */
export function loadAlertsConfig(file: string, options: LoadOptions = {}): { config: AlertsConfig; warnings: Diagnostic[] } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new AlertsConfigError(
      [{ file, line: 1, column: 1, severity: 'error', message: `cannot read the configuration file${code ? ` (${code})` : ''}` }],
      undefined,
    );
  }
  const result = parseAlertsConfig(text, file, options);
  if (!result.config || result.diagnostics.some((d) => d.severity === 'error')) throw new AlertsConfigError(result.diagnostics, result.text);
  return { config: result.config, warnings: result.diagnostics.filter((d) => d.severity === 'warning') };
}
