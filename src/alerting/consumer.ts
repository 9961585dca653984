/**
 * A Kafka consumer-group member that commits a record's offset only after its handler finished
 * with it (at-least-once), built on src/kafka/client.ts's Kafka factory.
 *
 * - Records of one partition are handled in order, one at a time; `concurrency` partitions at once.
 * - After the handler returns `done` the offset after the record is committed (synchronously, to
 *   the group coordinator) before the next record of the partition is handled. `aborted` stops
 *   the batch without committing: the record is read again (by this member or, after a
 *   rebalance, by another).
 * - The handler gets an AbortSignal that fires on stop() and when the group starts rebalancing
 *   (seen by the heartbeats sent while the handler runs, which also keep a slow handler - a chat
 *   platform being retried - from being thrown out of the group).
 * - Commits go through the batch's own commit function: kafkajs's consumer.commitOffsets() is a
 *   silent no-op once stop() was called, which would lose the commit of a record being finished
 *   during a graceful stop and replay it on the next start.
 */
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from '../kafka/client.js';
import { headersToStrings } from '../kafka/client.js';
import type { Logger } from '../core/logger.js';
import { silentLogger } from '../core/logger.js';

export interface ConsumedRecord {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
  /** Kafka record timestamp, epoch ms */
  timestamp: number;
}

export type HandlerOutcome = 'done' | 'aborted';
export type RecordHandler = (record: ConsumedRecord, signal: AbortSignal) => Promise<HandlerOutcome>;

export interface CommittingConsumerOptions {
  kafka: Kafka;
  groupId: string;
  topics: readonly string[];
  fromBeginning?: boolean;
  /** partitions handled at once (default 4) */
  concurrency?: number;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  rebalanceTimeoutMs?: number;
  /** longest wait of a fetch for new records, ms (default 1000) */
  maxWaitTimeMs?: number;
  handler: RecordHandler;
  logger?: Logger;
}

/** Errors by which the coordinator says the member's generation is over (kafkajs isRebalancing + unknown member). */
export function isRebalanceError(error: unknown): boolean {
  const type = (error as { type?: unknown } | null)?.type;
  return type === 'REBALANCE_IN_PROGRESS' || type === 'ILLEGAL_GENERATION' || type === 'UNKNOWN_MEMBER_ID' || type === 'NOT_COORDINATOR_FOR_GROUP';
}

function toRecord(topic: string, partition: number, message: KafkaMessage): ConsumedRecord {
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key ? message.key.toString('utf8') : null,
    value: message.value ?? null,
    headers: headersToStrings(message.headers),
    timestamp: Number(message.timestamp),
  };
}

export class CommittingConsumer {
  private consumer: Consumer | null = null;
  private readonly logger: Logger;
  private readonly active = new Set<AbortController>();
  private stopping = false;
  private stopped: Promise<void> | null = null;
  private assignmentValue: Record<string, number[]> | null = null;
  private joinWaiters: Array<() => void> = [];
  private failResolve!: (error: Error) => void;
  /** Resolves with the error when the consumer crashed for good (kafkajs will not restart it). */
  readonly failed: Promise<Error>;
  /** records handled and committed */
  committed = 0;
  /** group joins (the first, then one per rebalance this member took part in) */
  joins = 0;

  constructor(private readonly options: CommittingConsumerOptions) {
    this.logger = (options.logger ?? silentLogger).child({ component: 'alerts-consumer', groupId: options.groupId });
    this.failed = new Promise((resolve) => (this.failResolve = resolve));
  }

  /** The partitions assigned to this member at the last join (null before the first). */
  get assignment(): Record<string, number[]> | null {
    return this.assignmentValue;
  }

  /** Resolves once the member joined the group (has an assignment, possibly empty). */
  whenJoined(): Promise<void> {
    if (this.assignmentValue) return Promise.resolve();
    return new Promise((resolve) => this.joinWaiters.push(resolve));
  }

  async start(): Promise<void> {
    const o = this.options;
    const heartbeatIntervalMs = o.heartbeatIntervalMs ?? 3_000;
    const consumer = o.kafka.consumer({
      groupId: o.groupId,
      sessionTimeout: o.sessionTimeoutMs ?? 30_000,
      rebalanceTimeout: o.rebalanceTimeoutMs ?? 60_000,
      heartbeatInterval: heartbeatIntervalMs,
      maxWaitTimeInMs: o.maxWaitTimeMs ?? 1_000,
      allowAutoTopicCreation: false,
    });
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      this.joins += 1;
      this.assignmentValue = { ...event.payload.memberAssignment };
      this.logger.info({ assignment: event.payload.memberAssignment, memberId: event.payload.memberId }, 'joined the consumer group');
      const waiters = this.joinWaiters;
      this.joinWaiters = [];
      for (const w of waiters) w();
    });
    consumer.on(consumer.events.CRASH, (event) => {
      const { error, restart } = event.payload;
      if (this.stopping) return;
      if (restart) {
        this.logger.warn({ err: error }, 'consumer crashed; kafkajs restarts it');
      } else {
        this.logger.error({ err: error }, 'consumer crashed for good');
        this.failResolve(error);
      }
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [...o.topics], fromBeginning: o.fromBeginning ?? false });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: o.concurrency ?? 4,
      eachBatch: (payload) => this.eachBatch(payload, heartbeatIntervalMs),
    });
  }

  private async eachBatch(payload: EachBatchPayload, heartbeatIntervalMs: number): Promise<void> {
    const { batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale } = payload;
    const controller = new AbortController();
    this.active.add(controller);
    if (this.stopping) controller.abort('stopping');
    const beat = setInterval(
      () => {
        heartbeat().catch((error: unknown) => {
          if (isRebalanceError(error)) {
            if (!controller.signal.aborted)
              this.logger.info({ topic: batch.topic, partition: batch.partition }, 'group is rebalancing: finishing the record in flight, then rejoining');
            controller.abort('rebalance');
          } else {
            this.logger.debug({ err: error }, 'heartbeat failed');
          }
        });
      },
      Math.max(100, Math.floor(heartbeatIntervalMs / 2)),
    );
    try {
      for (const message of batch.messages) {
        if (!isRunning() || isStale() || controller.signal.aborted) break;
        const record = toRecord(batch.topic, batch.partition, message);
        const outcome = await this.options.handler(record, controller.signal);
        if (outcome === 'aborted') break;
        const next = (BigInt(message.offset) + 1n).toString();
        await commitOffsetsIfNecessary({ topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: next }] }] });
        resolveOffset(message.offset);
        this.committed += 1;
      }
    } finally {
      clearInterval(beat);
      this.active.delete(controller);
    }
  }

  /**
   * Stops consuming: the waits of the records in flight are interrupted (an HTTP attempt in flight
   * is finished and, when it delivered, committed), the member leaves the group, the connection
   * closes. Idempotent.
   */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.stopping = true;
      for (const c of this.active) c.abort('stopping');
      if (this.consumer) await this.consumer.disconnect();
      this.logger.info({ committed: this.committed }, 'consumer stopped');
    })();
    return this.stopped;
  }
}
