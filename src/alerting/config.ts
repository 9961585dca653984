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
import { timerDuration } from '../core/duration.js';
import { SASL_MECHANISMS } from '../kafka/client.js';
import { RetrySchema, type ReceiverCommonDocument } from './receivers/options.js';
import { RECEIVERS, RECEIVER_TYPES } from './receivers/registry.js';

export const ALERTS_API_VERSION = 'kubevents/v1';
export const ALERTS_KIND = 'AlertSinks';

const TOPIC = z.string().regex(/^[A-Za-z0-9._-]{1,249}$/, { error: 'a Kafka topic name: letters, digits, ".", "_" and "-", at most 249' });
const positiveInt = () => z.number().int().min(1);
const secretNote = 'A reference ${env:NAME} or ${file:PATH}; never written inline.';

/** One receiver: the options of its type (receivers/registry.ts), told apart by `type`. */
export const ReceiverSchema = z.discriminatedUnion('type', RECEIVERS.map((r) => r.options) as unknown as [z.ZodObject, ...z.ZodObject[]]);

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
      .describe(
        'Alertmanager matchers, all must hold: name="value", name!="value", name=~"regex", name!~"regex" on labels plus record, status, severity, category, cluster, namespace.',
      ),
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
    connectionTimeout: timerDuration().optional().describe('Default 10s.'),
    requestTimeout: timerDuration().optional().describe('Default 30s.'),
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
        groupId: z
          .string()
          .min(1)
          .default('kubevents-alerts')
          .describe('Consumer group: run several replicas with the same group to share the partitions. Default kubevents-alerts.'),
        topics: z
          .array(TOPIC)
          .min(1)
          .default(['k8s.alerts', 'k8s.incidents'])
          .describe('Topics read (Alert and Incident records; other kinds are skipped). Default [k8s.alerts, k8s.incidents].'),
        fromBeginning: z
          .boolean()
          .default(false)
          .describe('A new group starts at the oldest record (true) or at the newest (false, no old alerts replayed). Default false.'),
        concurrency: positiveInt().max(64).default(4).describe('Partitions processed at once (each partition in order). Default 4.'),
        sessionTimeout: timerDuration().prefault('30s').describe('Consumer group session timeout. Default 30s.'),
        heartbeatInterval: timerDuration().prefault('3s').describe('Default 3s.'),
        rebalanceTimeout: timerDuration().prefault('1m').describe('Default 1m.'),
      })
      .prefault({}),
    deadLetter: z
      .strictObject({
        topic: TOPIC.default('k8s.deadletter').describe('Default k8s.deadletter.'),
        encoding: z
          .enum(['confluent', 'raw', 'avro-binary'])
          .optional()
          .describe(
            'confluent (needs schemaRegistry) or raw (Avro binary with the schema fingerprint header). Default confluent when schemaRegistry is set, else raw.',
          ),
      })
      .prefault({})
      .describe('Where notifications that cannot be delivered go (DeadLetter records, with the reason).'),
    cluster: z.string().default('').describe('Cluster name stamped on dead letters when the record has none. Default "".'),
    externalUrl: z
      .url({ error: 'an absolute URL, e.g. https://grafana.example.com/d/kubevents' })
      .optional()
      .describe('A link shown in messages ({{link}}) and sent as generatorURL to Alertmanager.'),
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
        timeout: timerDuration().optional().describe('Default 5s.'),
        retry: RetrySchema.optional(),
      })
      .prefault({})
      .describe('Settings of every receiver that does not set its own.'),
    route: RouteSchema,
    receivers: z.array(ReceiverSchema).min(1).describe('The receivers, by name.'),
  })
  .meta({ title: 'kubevents alert sinks', description: 'kubevents alerts --config FILE (docs/alerting.md).' });

export type AlertsConfigInput = z.input<typeof AlertsConfigSchema>;
export type AlertsConfigDocument = Omit<z.output<typeof AlertsConfigSchema>, 'receivers'> & { receivers: ReceiverDocument[] };
/** What every receiver's options have (each type adds its own; see receivers/). */
export type ReceiverDocument = ReceiverCommonDocument & Record<string, unknown>;

export { RECEIVER_TYPES };
