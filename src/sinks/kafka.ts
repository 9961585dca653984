import { z } from 'zod';
import { defineSink } from './definition.js';
import { DEFAULT_TOPICS } from './kafka-topics.js';

const RESERVED: Record<string, string> = {
  [DEFAULT_TOPICS.DeadLetter]: 'dead letters (DeadLetter records)',
  [DEFAULT_TOPICS.Gap]: 'gap records (Gap records)',
};

export const KAFKA_ENCODINGS = ['confluent', 'raw'] as const;

export const kafkaSink = defineSink({
  type: 'kafka',
  summary:
    'Avro records on a Kafka topic, keyed by object (events), alertId (alerts), incidentId (incidents) or windowId (event windows). One record schema per topic. Without Kafka (a replay, or a live run without brokers) the records go to the Avro file <out>/<topic>.avro instead.',
  options: z.strictObject({
    topic: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,249}$/, { error: 'a Kafka topic name: letters, digits, ".", "_" and "-", at most 249' })
      .optional()
      .describe('Topic. Default by record kind: k8s.events, k8s.alerts, k8s.incidents, k8s.event-windows.'),
    encoding: z
      .enum(KAFKA_ENCODINGS)
      .default('confluent')
      .describe(
        'confluent: Confluent wire format (magic byte + Schema Registry id + Avro binary); raw: plain Avro binary with the schema fingerprint in a header. The live run uses its own --encoding for every topic.',
      ),
  }),
  avro: true,
  target: (o, defaultName) => o.topic ?? defaultName ?? undefined,
  describe: (o, topic, what) => `kafka topic ${topic} (${o.encoding} encoding; embedded mode: file ${topic}.avro) <- ${what}`,
  check(_o, topic, report) {
    if (topic !== undefined && RESERVED[topic]) report(['topic'], `"${topic}" is reserved for ${RESERVED[topic]}`, 'pick another name');
  },
  sink: (env) => env.kafka ?? env.files(),
});
