/**
 * The alert sinks, wired: a committing consumer on the alert and incident topics, the Avro
 * decoder (both encodings), the route tree, one deliverer per receiver, and the dead-letter
 * publisher. `kubevents alerts` runs one; the integration tests run several.
 *
 * Per record: decode -> Notification -> receivers from the routes -> deliver to each (in
 * parallel; each with its own retries and rate limit) -> dead-letter what failed for good ->
 * commit. Anything interrupted (stop, rebalance) is not committed and is read again; what was
 * already delivered by this process is not sent twice (idempotency-key cache per receiver).
 */
import { register as defaultRegistry, type Registry } from 'prom-client';
import { RecordDecoder, UndecodableError, type DecodedRecord } from '../avro/encodings.js';
import { ConfluentSchemaRegistry } from '../avro/registry.js';
import { createKafka, createProducer, type Kafka, type Producer } from '../kafka/client.js';
import { encoderFor } from '../avro/encodings.js';
import type { Logger } from '../core/logger.js';
import { silentLogger } from '../core/logger.js';
import { CommittingConsumer, type ConsumedRecord, type HandlerOutcome } from './consumer.js';
import { DEAD_LETTER_REASONS, DeadLetterPublisher } from './dead-letter.js';
import { Deliverer, type DeliveryOutcome } from './deliver.js';
import type { HttpSender } from './http.js';
import type { AlertsConfig } from './load-config.js';
import { alertingMetrics, type AlertingMetrics } from './metrics.js';
import { notificationOf, type Notification, type ViewOptions } from './notification.js';
import { createReceiver } from './receivers/registry.js';
import { abortableSleep, AbortedError } from './retry.js';
import { receiversFor } from './routing.js';

export interface AlertsServiceDeps {
  logger?: Logger;
  /** prom-client registry for the metrics (default: the process's global registry) */
  registry?: Registry;
  /** HTTP sender (default: fetch); tests inject failures here */
  send?: HttpSender;
  /** an existing Kafka client (default: created from config.kafka) */
  kafka?: Kafka;
  /** called for each record handled, after its commit decision (tests, diagnostics) */
  onRecord?: (event: RecordEvent) => void;
}

export interface RecordEvent {
  record: ConsumedRecord;
  notification: Notification | null;
  outcomes: Record<string, DeliveryOutcome>;
  result: HandlerOutcome;
}

export interface AlertsService {
  readonly consumer: CommittingConsumer;
  readonly deliverers: ReadonlyMap<string, Deliverer>;
  /** Resolves once the consumer joined its group. */
  whenJoined(): Promise<void>;
  /** Resolves with the error when the service failed for good (the consumer crashed without restart). */
  readonly failed: Promise<Error>;
  /** Graceful stop: in-flight attempts finish, delivered records are committed, the rest is read again later. */
  stop(): Promise<void>;
}

/** Errors of the Schema Registry or the network while decoding: retried, never dead-lettered. */
export function isTransientDecodeError(error: unknown): boolean {
  const e = error as { status?: unknown; code?: unknown; message?: unknown; cause?: unknown } | null;
  if (!e || error instanceof UndecodableError) return false;
  if (typeof e.status === 'number') return e.status !== 404 && e.status !== 422;
  const text = `${String(e.message ?? '')} ${String(e.code ?? '')} ${String((e.cause as { code?: unknown } | undefined)?.code ?? '')}`;
  if (/schema registry: cannot/i.test(text)) return true;
  return /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EAI_AGAIN|ENOTFOUND|EHOSTUNREACH|socket hang up|network|timed? ?out/i.test(text);
}

function outcomeReason(o: Extract<DeliveryOutcome, { kind: 'failed' }>): string {
  if (o.cause === 'render') return DEAD_LETTER_REASONS.renderFailed;
  return o.permanent ? DEAD_LETTER_REASONS.rejected : DEAD_LETTER_REASONS.retriesExhausted;
}

/** Fails fast when a topic the service reads or writes does not exist (nothing creates topics on the fly). */
export async function checkTopics(kafka: Kafka, topics: readonly string[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = [...new Set(topics)].filter((t) => !existing.has(t));
    if (missing.length) {
      throw new Error(
        `Kafka topic${missing.length > 1 ? 's' : ''} ${missing.join(', ')} do${missing.length > 1 ? '' : 'es'} not exist: create ${missing.length > 1 ? 'them' : 'it'} (the pipelines' Kafka sink does with createTopics)`,
      );
    }
  } finally {
    await admin.disconnect();
  }
}

export async function startAlertsService(config: AlertsConfig, deps: AlertsServiceDeps = {}): Promise<AlertsService> {
  const logger = deps.logger ?? silentLogger;
  const metrics: AlertingMetrics = alertingMetrics(deps.registry ?? defaultRegistry);
  const redactor = config.redactor;
  const kafka = deps.kafka ?? createKafka(config.kafka, logger);
  const schemaRegistry = config.schemaRegistry ? new ConfluentSchemaRegistry(config.schemaRegistry) : null;
  const decoder = new RecordDecoder(schemaRegistry ? { registry: schemaRegistry } : {});
  const encoder = encoderFor({ encoding: config.deadLetter.encoding, ...(config.schemaRegistry ? { schemaRegistry: config.schemaRegistry } : {}) });
  const viewOptions: ViewOptions = {
    timeZone: config.timeZone,
    externalUrl: config.externalUrl,
    maxSamples: config.message.maxSamples,
    maxSampleChars: config.message.maxSampleChars,
  };

  const deliverers = new Map<string, Deliverer>();
  for (const rc of config.receivers) {
    const receiver = createReceiver(rc, { externalUrl: config.externalUrl });
    deliverers.set(
      rc.name,
      new Deliverer(receiver, { dedupeCacheSize: config.dedupeCacheSize, metrics, logger, redactor, ...(deps.send ? { send: deps.send } : {}) }),
    );
    logger.info({ receiver: receiver.describe(), timeoutMs: rc.timeoutMs, rateLimit: rc.rateLimit, maxAttempts: rc.retry.maxAttempts }, 'receiver ready');
  }

  await checkTopics(kafka, [...config.consumer.topics, config.deadLetter.topic]);
  const producer: Producer = createProducer(kafka);
  await producer.connect();
  const deadLetters = new DeadLetterPublisher(producer, encoder, config.deadLetter.topic, logger);
  try {
    await deadLetters.prepare();
  } catch (error) {
    await producer.disconnect().catch(() => undefined);
    throw error;
  }

  const handle = async (record: ConsumedRecord, signal: AbortSignal): Promise<HandlerOutcome> => {
    const where = `${record.topic}[${record.partition}]@${record.offset}`;
    const outcomes: Record<string, DeliveryOutcome> = {};
    let notification: Notification | null = null;
    const finish = (result: HandlerOutcome): HandlerOutcome => {
      deps.onRecord?.({ record, notification, outcomes, result });
      return result;
    };
    if (record.value === null) {
      metrics.records.inc({ topic: record.topic, outcome: 'skipped' });
      return finish('done');
    }
    let decoded: DecodedRecord | null = null;
    for (let backoff = 500; decoded === null; backoff = Math.min(backoff * 2, 30_000)) {
      try {
        decoded = await decoder.decode(record.value, record.headers);
      } catch (error) {
        if (isTransientDecodeError(error)) {
          logger.warn({ err: error, record: where, retryInMs: backoff }, 'cannot decode the record yet (schema registry unavailable?); retrying');
          try {
            await abortableSleep(backoff, signal);
          } catch (e) {
            if (e instanceof AbortedError) return finish('aborted');
            throw e;
          }
          continue;
        }
        metrics.records.inc({ topic: record.topic, outcome: 'undecodable' });
        logger.error({ err: error, record: where }, 'undecodable record: dead-lettering it');
        try {
          await deadLetters.publish(
            {
              reason: DEAD_LETTER_REASONS.undecodable,
              source: where,
              payload: { key: record.key, headers: record.headers, valueBase64: record.value.toString('base64') },
              error: redactor.redact((error as Error).message ?? String(error)),
              cluster: record.headers['kubevents.cluster'] || config.cluster,
              key: record.key ?? where,
              idempotencyKey: `${where}/undecodable`,
            },
            signal,
          );
          metrics.deadLetters.inc({ reason: DEAD_LETTER_REASONS.undecodable });
        } catch (e) {
          if (!signal.aborted) logger.error({ err: e, record: where }, 'cannot write the dead letter; the record will be read again');
          return finish('aborted');
        }
        return finish('done');
      }
    }
    notification = notificationOf(decoded.kind, decoded.value, viewOptions, { topic: record.topic, partition: record.partition, offset: record.offset });
    if (!notification) {
      metrics.records.inc({ topic: record.topic, outcome: 'skipped' });
      logger.debug({ record: where, kind: decoded.kind }, 'not an Alert or Incident record: skipped');
      return finish('done');
    }
    const n = notification;
    const names = receiversFor(config.route, n.matchLabels);
    logger.debug({ record: where, idempotencyKey: n.idempotencyKey, status: n.status, receivers: names }, 'routing');
    const results = await Promise.all(names.map(async (name) => [name, await (deliverers.get(name) as Deliverer).deliver(n, signal)] as const));
    for (const [name, outcome] of results) outcomes[name] = outcome;
    if (results.some(([, o]) => o.kind === 'aborted')) return finish('aborted');
    for (const [name, outcome] of results) {
      if (outcome.kind !== 'failed') continue;
      const deliverer = deliverers.get(name) as Deliverer;
      const reason = outcomeReason(outcome);
      try {
        await deadLetters.publish(
          {
            reason,
            source: `${where} -> ${deliverer.receiver.type} "${name}"`,
            payload: n.record,
            error: outcome.reason,
            cluster: n.view.cluster || config.cluster,
            key: record.key ?? n.id,
            idempotencyKey: `${n.idempotencyKey}/${name}`,
          },
          signal,
        );
      } catch (e) {
        if (!signal.aborted) logger.error({ err: e, record: where }, 'cannot write the dead letter; the record will be read again');
        return finish('aborted');
      }
      metrics.deadLetters.inc({ reason });
      deliverer.markDone(n.idempotencyKey);
    }
    metrics.records.inc({ topic: record.topic, outcome: names.length ? 'routed' : 'unrouted' });
    return finish('done');
  };

  const consumer = new CommittingConsumer({
    kafka,
    groupId: config.consumer.groupId,
    topics: config.consumer.topics,
    fromBeginning: config.consumer.fromBeginning,
    concurrency: config.consumer.concurrency,
    sessionTimeoutMs: config.consumer.sessionTimeoutMs,
    heartbeatIntervalMs: config.consumer.heartbeatIntervalMs,
    rebalanceTimeoutMs: config.consumer.rebalanceTimeoutMs,
    handler: handle,
    logger,
  });
  try {
    await consumer.start();
  } catch (error) {
    await consumer.stop().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    throw error;
  }
  logger.info({ groupId: config.consumer.groupId, topics: config.consumer.topics, receivers: [...deliverers.keys()] }, 'alert sinks started');

  let stopped: Promise<void> | null = null;
  return {
    consumer,
    deliverers,
    whenJoined: () => consumer.whenJoined(),
    failed: consumer.failed,
    stop() {
      stopped ??= (async () => {
        await consumer.stop();
        await producer.disconnect().catch((error: unknown) => logger.warn({ err: error }, 'dead-letter producer disconnect failed'));
      })();
      return stopped;
    },
  };
}
