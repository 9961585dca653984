/**
 * The alert sinks' configuration file (`kubevents alerts --config FILE`): ONE zod schema.
 *
 * It checks the shape and the values; load-config.ts adds what needs more than one field
 * (receiver references, matcher and template syntax, secrets: references resolved, inline
 * secrets refused) and reports every problem with file:line:column and a hint.
 *
 * Durations are strings with units (`500ms`, `5s`, `1m`, `1h30m`), as in pipeline files.
 */
import { z } from 'zod';
import { positiveDuration } from '../core/duration.js';
import { SASL_MECHANISMS } from '../kafka/client.js';
import { RECEIVER_TYPES } from './receivers/types.js';

export const ALERTS_API_VERSION = 'kubevents/v1';
export const ALERTS_KIND = 'AlertSinks';

const TOPIC = z.string().regex(/^[A-Za-z0-9._-]{1,249}$/, { error: 'a Kafka topic name: letters, digits, ".", "_" and "-", at most 249' });
const NAME = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, { error: 'a receiver name: letters, digits, ".", "_" and "-", at most 63, starting with a letter or digit' });
const positiveInt = () => z.number().int().min(1);
const secretNote = 'A reference ${env:NAME} or ${file:PATH}; never written inline.';

export const RetrySchema = z
  .strictObject({
    maxAttempts: positiveInt().max(100).optional().describe('Attempts in total, the first included. Default 6.'),
    initialBackoff: positiveDuration().optional().describe('Wait before the first retry, doubled for each further one (with jitter). Default 1s.'),
    maxBackoff: positiveDuration().optional().describe('Cap of the exponential wait. Default 1m.'),
    maxRetryAfter: positiveDuration().optional().describe("Cap applied to a server's Retry-After. Default 5m."),
    throttleBackoff: positiveDuration().optional().describe('Least wait after DingTalk/WeCom say "too many messages" (errcodes 130101, 410100, 45009, 45033). Default 30s.'),
  })
  .describe('Retries on 5xx, 429, 408, network errors, timeouts and throttling errcodes. Other 4xx and errcodes are permanent: dead-lettered at once.');

export const RateLimitSchema = z
  .strictObject({
    messages: positiveInt().describe('At most this many messages (attempts) ...'),
    per: positiveDuration().describe('... in any window of this length.'),
    burst: positiveInt().optional().describe('Token bucket capacity. Default messages/10 (at least 1); the refill is messages - burst per window, so no window sees more than `messages`.'),
  })
  .describe("The receiver's rate limit (token bucket). Defaults: dingtalk and wecom 20 per 1m (the robots' limit), slack 60 per 1m, webhook and alertmanager none. null: none.");

const common = {
  name: NAME.describe('Unique name, referred to by routes.'),
  sendResolved: z.boolean().default(true).describe('Also notify resolved alerts and closed incidents. Default true.'),
  timeout: positiveDuration().optional().describe('Deadline of each request (connect, headers, body). Default defaults.timeout (5s).'),
  retry: RetrySchema.optional(),
  rateLimit: RateLimitSchema.nullable().optional(),
};

const urlFields = (what: string) => ({
  url: z.string().min(1).optional().describe(`${what} ${secretNote}`),
  urlFile: z.string().min(1).optional().describe('File holding the URL (instead of url).'),
});

const template = (what: string) => z.string().min(1).optional().describe(`${what} (template; see docs/alerting.md for the names).`);

export const DingTalkSchema = z
  .strictObject({
    type: z.literal('dingtalk'),
    ...common,
    ...urlFields('Robot webhook URL, https://oapi.dingtalk.com/robot/send?access_token=...'),
    secret: z.string().min(1).optional().describe(`Signing secret (SEC...) when the robot uses 加签. ${secretNote}`),
    secretFile: z.string().min(1).optional().describe('File holding the signing secret (instead of secret).'),
    title: template('Title shown in the notification list'),
    text: template('Markdown text (at most 20000 bytes; cut with a marker)'),
    atMobiles: z.array(z.string().min(1)).default([]).describe('Mobile numbers to @mention.'),
    atUserIds: z.array(z.string().min(1)).default([]).describe('DingTalk user ids to @mention.'),
    atAll: z.boolean().default(false).describe('@all.'),
  })
  .describe('DingTalk custom robot, markdown message.');

export const WeComSchema = z
  .strictObject({
    type: z.literal('wecom'),
    ...common,
    ...urlFields('Group robot webhook URL, https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=...'),
    text: template('Markdown content (at most 4096 bytes; cut with a marker)'),
    mentionUserIds: z.array(z.string().min(1)).default([]).describe('WeCom userids to mention (<@userid>).'),
  })
  .describe('WeCom (企业微信) group robot, markdown message.');

export const SlackSchema = z
  .strictObject({
    type: z.literal('slack'),
    ...common,
    ...urlFields('Incoming webhook URL, https://hooks.slack.com/services/...'),
    title: template('Header block, plain text (at most 150 characters)'),
    text: template('mrkdwn text, split into section blocks of 3000 characters (at most 48)'),
    maxTextChars: positiveInt().max(144_000).default(12_000).describe('Most characters of the text before it is cut with a marker. Default 12000.'),
  })
  .describe('Slack incoming webhook, Block Kit message with fallback text.');

export const WebhookSchema = z
  .strictObject({
    type: z.literal('webhook'),
    ...common,
    ...urlFields('Endpoint. Inline only when it has no credentials and no query string; else'),
    method: z.enum(['POST', 'PUT']).default('POST').describe('Default POST.'),
    headers: z.record(z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, { error: 'an HTTP header name' }), z.string()).default({}).describe(`Extra headers. Credentials (Authorization, *token*, *key*, ...) must be references: ${secretNote}`),
    contentType: z.string().min(1).default('application/json').describe('Default application/json (the rendered body must then be valid JSON).'),
    body: template('Request body; default: the record as JSON'),
    maxBodyBytes: positiveInt().default(1024 * 1024).describe('Largest body sent; a larger one is dead-lettered. Default 1 MiB.'),
  })
  .describe('Generic webhook: the record as JSON, or a body from a template.');

export const AlertmanagerSchema = z
  .strictObject({
    type: z.literal('alertmanager'),
    ...common,
    ...urlFields('Alertmanager base URL, e.g. http://alertmanager:9093 (POST /api/v2/alerts is appended). Inline only without credentials and query string; else'),
    headers: z.record(z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, { error: 'an HTTP header name' }), z.string()).default({}).describe(`Extra headers, e.g. Authorization: \${env:AM_AUTH}. ${secretNote}`),
    generatorURL: template('generatorURL of each alert; default the top-level externalUrl'),
    labels: z.record(z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, { error: 'a label name: letters, digits and _' }), z.string()).default({}).describe('Fixed labels added to every alert (record labels win).'),
    annotations: z.record(z.string(), z.string()).default({}).describe('Fixed annotations added to every alert.'),
    firingTtl: positiveDuration().optional().describe("Firing alerts get endsAt = now + firingTtl, so Alertmanager keeps them firing that long without a re-send. Default none (Alertmanager's resolve_timeout applies)."),
  })
  .describe('Forward to a Prometheus Alertmanager (API v2).');

export const ReceiverSchema = z.discriminatedUnion('type', [DingTalkSchema, WeComSchema, SlackSchema, WebhookSchema, AlertmanagerSchema]);

export interface RouteInput {
  receiver?: string;
  matchers?: string[];
  continue?: boolean;
  routes?: RouteInput[];
}

export const RouteSchema: z.ZodType<RouteInput> = z
  .strictObject({
    receiver: z.string().min(1).optional().describe("Receiver of the records this route takes. Default: the parent route's."),
    matchers: z
      .array(z.string().min(1))
      .optional()
      .describe('Alertmanager matchers, all must hold: name="value", name!="value", name=~"regex", name!~"regex" on labels plus record, status, severity, category, cluster, namespace.'),
    continue: z.boolean().optional().describe('Go on with the next sibling routes after this one matched. Default false.'),
    get routes() {
      return z.array(RouteSchema).optional().describe('Child routes, tried in order; the first match wins unless it has continue: true.');
    },
  })
  .describe('A route: matchers, a receiver and child routes, like Alertmanager (grouping happens upstream).');

export const KafkaTlsSchema = z.strictObject({
  rejectUnauthorized: z.boolean().optional().describe('Verify the broker certificate. Default true.'),
  caFile: z.string().min(1).optional(),
  certFile: z.string().min(1).optional(),
  keyFile: z.string().min(1).optional(),
  servername: z.string().min(1).optional(),
});

export const KafkaSchema = z
  .strictObject({
    brokers: z.array(z.string().min(1)).min(1).describe('Bootstrap servers, host:port (each may be ${env:NAME}).'),
    clientId: z.string().min(1).default('kubevents-alerts').describe('Default kubevents-alerts.'),
    tls: z.union([z.boolean(), KafkaTlsSchema]).optional().describe('true: TLS with the system CAs; a map: TLS with these files. Default plaintext.'),
    sasl: z
      .strictObject({
        mechanism: z.enum(SASL_MECHANISMS),
        username: z.string().min(1),
        password: z.string().min(1).optional().describe(secretNote),
        passwordFile: z.string().min(1).optional(),
      })
      .optional(),
    connectionTimeout: positiveDuration().optional().describe('Default 10s.'),
    requestTimeout: positiveDuration().optional().describe('Default 30s.'),
  })
  .describe('The Kafka cluster holding the alert and incident topics.');

export const SchemaRegistrySchema = z
  .strictObject({
    url: z.string().min(1).describe('e.g. http://schema-registry:8081'),
    username: z.string().min(1).optional(),
    password: z.string().min(1).optional().describe(secretNote),
    passwordFile: z.string().min(1).optional(),
  })
  .describe('Confluent Schema Registry: needed to read records in the Confluent wire format, and to write dead letters in it.');

export const AlertsConfigSchema = z
  .strictObject({
    apiVersion: z.literal(ALERTS_API_VERSION).optional().describe(`${ALERTS_API_VERSION} when given.`),
    kind: z.literal(ALERTS_KIND).optional().describe(`${ALERTS_KIND} when given.`),
    kafka: KafkaSchema,
    schemaRegistry: SchemaRegistrySchema.optional(),
    consumer: z
      .strictObject({
        groupId: z.string().min(1).default('kubevents-alerts').describe('Consumer group: run several replicas with the same group to share the partitions. Default kubevents-alerts.'),
        topics: z.array(TOPIC).min(1).default(['k8s.alerts', 'k8s.incidents']).describe('Topics read (Alert and Incident records; other kinds are skipped). Default [k8s.alerts, k8s.incidents].'),
        fromBeginning: z.boolean().default(false).describe('A new group starts at the oldest record (true) or at the newest (false, no old alerts replayed). Default false.'),
        concurrency: positiveInt().max(64).default(4).describe('Partitions processed at once (each partition in order). Default 4.'),
        sessionTimeout: positiveDuration().prefault('30s').describe('Consumer group session timeout. Default 30s.'),
        heartbeatInterval: positiveDuration().prefault('3s').describe('Default 3s.'),
        rebalanceTimeout: positiveDuration().prefault('1m').describe('Default 1m.'),
      })
      .prefault({}),
    deadLetter: z
      .strictObject({
        topic: TOPIC.default('k8s.deadletter').describe('Default k8s.deadletter.'),
        encoding: z.enum(['confluent', 'raw', 'avro-binary']).optional().describe('confluent (needs schemaRegistry) or raw (Avro binary with the schema fingerprint header). Default confluent when schemaRegistry is set, else raw.'),
      })
      .prefault({})
      .describe('Where notifications that cannot be delivered go (DeadLetter records, with the reason).'),
    cluster: z.string().default('').describe('Cluster name stamped on dead letters when the record has none. Default "".'),
    externalUrl: z.url({ error: 'an absolute URL, e.g. https://grafana.example.com/d/kubevents' }).optional().describe('A link shown in messages ({{link}}) and sent as generatorURL to Alertmanager.'),
    timeZone: z.string().min(1).default('UTC').describe('IANA time zone of the times in messages, e.g. Asia/Shanghai. Default UTC.'),
    message: z
      .strictObject({
        maxSamples: z.number().int().min(0).max(50).default(5).describe('Sample event messages shown. Default 5.'),
        maxSampleChars: positiveInt().max(10_000).default(300).describe('Characters per sample message. Default 300.'),
      })
      .prefault({}),
    dedupe: z
      .strictObject({
        cacheSize: positiveInt().default(10_000).describe('Idempotency keys remembered per receiver (this process only). Default 10000.'),
      })
      .prefault({}),
    defaults: z
      .strictObject({
        timeout: positiveDuration().optional().describe('Default 5s.'),
        retry: RetrySchema.optional(),
      })
      .prefault({})
      .describe('Settings of every receiver that does not set its own.'),
    route: RouteSchema,
    receivers: z.array(ReceiverSchema).min(1).describe('The receivers, by name.'),
  })
  .meta({ title: 'kubevents alert sinks', description: 'kubevents alerts --config FILE (docs/alerting.md).' });

export type AlertsConfigInput = z.input<typeof AlertsConfigSchema>;
export type AlertsConfigDocument = z.output<typeof AlertsConfigSchema>;
export type ReceiverDocument = z.output<typeof ReceiverSchema>;

export { RECEIVER_TYPES };
