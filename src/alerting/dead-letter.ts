/**
 * Dead letters of the alert sinks: a record that cannot be decoded, or a notification a receiver
 * refused for good (4xx other than 429, an errcode other than throttling, an invalid rendered
 * message) or that still failed when the retries ran out. One DeadLetter record (schemas/
 * DeadLetter.avsc) per record and receiver, acknowledged by Kafka (acks=all) before the consumer
 * commits the record's offset.
 */
import { HEADERS, type RecordEncoder } from '../avro/encodings.js';
import { loadSchema } from '../avro/schemas.js';
import { ACKS_ALL, type Producer } from '../kafka/client.js';
import { deadLetterOf, type DeadLetterRecord } from '../model/records.js';
import type { Logger } from '../core/logger.js';
import { silentLogger } from '../core/logger.js';
import { abortableSleep } from './retry.js';

export const DEAD_LETTER_STAGE = 'alert-sink';

/** Reasons (DeadLetter.reason) written by the alert sinks. */
export const DEAD_LETTER_REASONS = {
  /** the value could not be decoded (not Avro, unknown writer schema, no registry for a Confluent frame) */
  undecodable: 'UndecodableRecord',
  /** the receiver refused the notification for good */
  rejected: 'NotificationRejected',
  /** retries exhausted */
  retriesExhausted: 'NotificationRetriesExhausted',
  /** no valid message could be rendered (template output not JSON, body too large) */
  renderFailed: 'NotificationRenderFailed',
} as const;

export interface DeadLetterInput {
  reason: string;
  /** `k8s.alerts[2]@1234 -> receiver "ops"` */
  source: string;
  payload: unknown;
  error: string;
  cluster: string;
  /** Kafka key of the dead letter */
  key: string;
  /** header kubevents.idempotency-key: `<record key>/<receiver>` */
  idempotencyKey: string;
}

export type DeadLetterProducer = Pick<Producer, 'send'>;

export class DeadLetterPublisher {
  private readonly logger: Logger;

  constructor(
    private readonly producer: DeadLetterProducer,
    private readonly encoder: RecordEncoder,
    readonly topic: string,
    logger: Logger = silentLogger,
    private readonly retryBackoffMs = { initial: 500, max: 30_000 },
  ) {
    this.logger = logger.child({ component: 'dead-letter' });
  }

  /** Resolves the registry id (confluent) so a misconfiguration fails at start. */
  prepare(): Promise<void> {
    return this.encoder.prepare(loadSchema('DeadLetter'), this.topic);
  }

  static record(input: DeadLetterInput): DeadLetterRecord {
    return deadLetterOf({
      reason: input.reason,
      source: input.source,
      payload: input.payload,
      error: input.error,
      stage: DEAD_LETTER_STAGE,
      pipeline: null,
      cluster: input.cluster,
    });
  }

  /**
   * Writes one dead letter, retrying until Kafka acknowledges it. Rejects only when `signal`
   * aborts first (the caller then does not commit, and the record is read again).
   */
  async publish(input: DeadLetterInput, signal?: AbortSignal): Promise<DeadLetterRecord> {
    const record = DeadLetterPublisher.record(input);
    const encoded = await this.encoder.encode(loadSchema('DeadLetter'), this.topic, record);
    const headers: Record<string, string> = {
      ...encoded.headers,
      [HEADERS.kind]: 'DeadLetter',
      [HEADERS.cluster]: record.cluster,
      [HEADERS.idempotencyKey]: input.idempotencyKey,
    };
    let backoff = this.retryBackoffMs.initial;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.producer.send({
          topic: this.topic,
          acks: ACKS_ALL,
          messages: [{ key: input.key, value: encoded.value, headers, timestamp: String(record.time) }],
        });
        return record;
      } catch (error) {
        if (signal?.aborted) throw error;
        this.logger.warn({ err: error, attempt, retryInMs: backoff, topic: this.topic }, 'cannot write a dead letter; retrying');
        await abortableSleep(backoff, signal);
        backoff = Math.min(this.retryBackoffMs.max, backoff * 2);
      }
    }
  }
}
