/**
 * Checkpoints on a compacted Kafka topic (default `kubevents.checkpoints`): key
 * `<cluster>/<pipeline>/<resource>`, value the Checkpoint as JSON (UTF-8), produced with acks=all.
 * Compaction keeps the last value per key. A restarted (or failed-over) process reads the topic
 * from the beginning to its end once at load time.
 *
 * Operator state (store.ts `StateStore`): the state record of a (cluster, pipeline) is on the same
 * topic (key `<cluster>/<pipeline>/state`, JSON, kind `state`), produced in one request with the
 * checkpoints of its positions, before them. The pieces it names are on the state topic (default
 * `<topic>.state`, compacted, one partition), in chunks of at most 512 KiB (under the brokers'
 * default record size limit), keyed `<cluster>/<pipeline>/state/<epoch>/<piece>/<chunk>`, each
 * written (acks=all) before the record naming it; a record names its chunks by offset, so a load
 * fetches them directly instead of reading the state topic. Chunks of an epoch no record names any
 * more are deleted with tombstones. With `stateFor`, the load of the checkpoint topic also fetches
 * that state's chunks, with the same consumer (one group join for both).
 *
 * One writer per key is assumed (one active pipeline per cluster, via leader election); with that,
 * the last record of a key in its partition is the newest checkpoint.
 */
import { randomUUID } from 'node:crypto';
import { ACKS_ALL, createProducer, ensureTopics, type Consumer, type Kafka, type Producer } from '../kafka/client.js';
import type { Logger } from '../core/logger.js';
import { sha256 } from './state-codec.js';
import {
  checkPiece,
  checkpointKeyString,
  parseCheckpoint,
  parseStateMeta,
  stateKeyString,
  type Checkpoint,
  type CheckpointKey,
  type CheckpointStore,
  type StateKey,
  type StateMeta,
  type StatePieceRef,
  type StateStore,
} from './store.js';

export const DEFAULT_CHECKPOINT_TOPIC = 'kubevents.checkpoints';
/** Largest chunk of a state piece on the state topic (the brokers' default limit is 1 MB a record). */
export const STATE_CHUNK_BYTES = 512 * 1024;
/** How long a fetch of the load waits for data it does not have yet, ms (kafkajs' default: 5 s). */
const LOAD_FETCH_WAIT_MS = 100;

interface Loaded {
  checkpoints: Map<string, Checkpoint>;
  states: Map<string, StateMeta>;
  /** Pieces fetched with the load (`stateFor`), by stateKeyString. */
  pieces: Map<string, Buffer[]>;
}

export interface KafkaCheckpointStoreOptions {
  kafka: Kafka;
  topic?: string;
  /** Create the topic (compacted) when missing (default true). */
  createTopic?: boolean;
  partitions?: number;
  replicationFactor?: number;
  /** Ack timeout of one save, ms (default 30 s). */
  timeoutMs?: number;
  /** Time limit for reading the topic at load, ms (default 60 s). */
  loadTimeoutMs?: number;
  logger?: Logger;
  /** Topic of the operator state's pieces (default `<topic>.state`). */
  stateTopic?: string;
  /** The state the load will be asked for: its pieces are fetched with the checkpoints. */
  stateFor?: StateKey;
}

export class KafkaCheckpointStore implements CheckpointStore, StateStore {
  readonly topic: string;
  readonly stateTopic: string;
  private readonly kafka: Kafka;
  private producer: Producer | undefined;
  private connecting: Promise<Producer> | undefined;
  private loaded: Promise<Loaded> | undefined;
  private readonly options: KafkaCheckpointStoreOptions;

  constructor(options: KafkaCheckpointStoreOptions) {
    this.options = options;
    this.kafka = options.kafka;
    this.topic = options.topic ?? DEFAULT_CHECKPOINT_TOPIC;
    this.stateTopic = options.stateTopic ?? `${this.topic}.state`;
  }

  private async ensureTopic(): Promise<void> {
    if (this.options.createTopic === false) return;
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      await ensureTopics(admin, [
        {
          topic: this.topic,
          partitions: this.options.partitions ?? 1,
          replicationFactor: this.options.replicationFactor,
          config: { 'cleanup.policy': 'compact', 'segment.ms': String(6 * 3600_000) },
        },
        {
          topic: this.stateTopic,
          partitions: 1,
          replicationFactor: this.options.replicationFactor,
          // superseded chunks go soon: the load reads chunks by offset, never the whole topic
          config: { 'cleanup.policy': 'compact', 'segment.ms': String(3600_000), 'min.cleanable.dirty.ratio': '0.1' },
        },
      ]);
    } finally {
      await admin.disconnect();
    }
  }

  private getProducer(): Promise<Producer> {
    this.connecting ??= (async () => {
      await this.ensureTopic();
      const producer = createProducer(this.kafka);
      await producer.connect();
      this.producer = producer;
      return producer;
    })();
    this.connecting.catch(() => (this.connecting = undefined));
    return this.connecting;
  }

  /** High watermarks of a topic's non-empty partitions. */
  private async ends(topic: string): Promise<Map<number, bigint>> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const offsets = await admin.fetchTopicOffsets(topic);
      return new Map(offsets.filter((o) => BigInt(o.high) > BigInt(o.low)).map((o) => [o.partition, BigInt(o.high)]));
    } finally {
      await admin.disconnect();
    }
  }

  /**
   * Reads the whole checkpoint topic once (from the beginning to the high watermarks at call
   * time), and with `stateFor` the chunks its state record names (same consumer).
   */
  private async readAll(): Promise<Loaded> {
    await this.getProducer(); // creates the topics when needed
    const ends = await this.ends(this.topic);
    const loaded: Loaded = { checkpoints: new Map(), states: new Map(), pieces: new Map() };
    if (ends.size === 0) return loaded;
    const stateFor = this.options.stateFor ? stateKeyString(this.options.stateFor) : null;
    const timeoutMs = this.options.loadTimeoutMs ?? 60_000;

    // kafkajs has no assign(): a throw-away group that never commits offsets
    // a short fetch wait: the chunks are fetched right after a seek (the default waits 5 s for more data)
    const consumer = this.kafka.consumer({
      groupId: `kubevents-checkpoint-load-${randomUUID()}`,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: LOAD_FETCH_WAIT_MS,
    });
    const remaining = new Set(ends.keys());
    let chunks: ChunkFetch | null = null;
    try {
      await consumer.connect();
      await consumer.subscribe({ topic: this.topic, fromBeginning: true });
      // the state topic waits at its end until the chunks to fetch are known (seek)
      if (stateFor) await consumer.subscribe({ topic: this.stateTopic, fromBeginning: false });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          if (remaining.size > 0) {
            reject(new Error(`checkpoint topic ${this.topic}: not read to its end within ${timeoutMs} ms`));
            return;
          }
          // the checkpoints are read, the state's chunks did not all come (deleted, or a topic that is
          // not compacted): the positions stand on their own, the state is fetched again (and fails
          // there, so the pipelines start empty: resume-positions.ts)
          this.options.logger?.warn(
            { stateTopic: this.stateTopic, state: stateFor, missing: chunks?.missing() },
            `state topic ${this.stateTopic}: not every chunk of the state ${stateFor ?? ''} came within ${timeoutMs} ms; loading the checkpoints without it`,
          );
          resolve();
        }, timeoutMs);
        const done = (): void => {
          clearTimeout(timer);
          resolve();
        };
        consumer
          .run({
            autoCommit: false,
            eachMessage: async ({ topic, partition, message }) => {
              if (topic === this.stateTopic) {
                if (chunks?.take(partition, message.offset, message.value)) done();
                return;
              }
              const key = message.key?.toString('utf8');
              if (key !== undefined) this.readRecord(loaded, key, message.value);
              const end = ends.get(partition);
              if (end !== undefined && BigInt(message.offset) + 1n >= end && remaining.delete(partition) && remaining.size === 0) {
                const meta = stateFor ? loaded.states.get(stateFor) : undefined;
                if (!stateFor || !meta || meta.pieces.length === 0) {
                  done();
                  return;
                }
                chunks = new ChunkFetch(meta);
                const fetch = chunks;
                // seek outside of the handler: it applies at the next fetch of the partition
                setImmediate(() => {
                  try {
                    for (const [p, offset] of fetch.starts()) consumer.seek({ topic: this.stateTopic, partition: p, offset });
                  } catch (error) {
                    clearTimeout(timer);
                    reject(error instanceof Error ? error : new Error(String(error)));
                  }
                });
              }
            },
          })
          .catch((error: unknown) => {
            clearTimeout(timer);
            reject(error instanceof Error ? error : new Error(String(error)));
          });
      });
    } finally {
      await consumer.disconnect().catch(() => undefined);
    }
    const fetched = chunks as ChunkFetch | null;
    if (stateFor && fetched) {
      try {
        loaded.pieces.set(stateFor, fetched.pieces(`state topic ${this.stateTopic}`));
      } catch (error) {
        this.options.logger?.warn({ err: error }, 'state pieces fetched with the checkpoints are unusable: fetching them again');
      }
    }
    return loaded;
  }

  /** One record of the checkpoint topic into what is loaded (a tombstone deletes). */
  private readRecord(loaded: Loaded, key: string, value: Buffer | null): void {
    const isState = key.endsWith('/state');
    if (value === null) {
      (isState ? loaded.states : loaded.checkpoints).delete(key);
      return;
    }
    try {
      const parsed: unknown = JSON.parse(value.toString('utf8'));
      if (isState) loaded.states.set(key, parseStateMeta(parsed, `checkpoint topic ${this.topic} key ${key}`));
      else loaded.checkpoints.set(key, parseCheckpoint(parsed, `checkpoint topic ${this.topic} key ${key}`));
    } catch (error) {
      this.options.logger?.warn({ err: error, key }, 'skipping an unreadable checkpoint record');
    }
  }

  private load$(): Promise<Loaded> {
    this.loaded ??= this.readAll();
    this.loaded.catch(() => (this.loaded = undefined));
    return this.loaded;
  }

  async load(key: CheckpointKey): Promise<Checkpoint | null> {
    const all = await this.load$();
    return all.checkpoints.get(checkpointKeyString(key)) ?? null;
  }

  async save(checkpoint: Checkpoint): Promise<void> {
    const producer = await this.getProducer();
    const key = checkpointKeyString(checkpoint);
    await producer.send({
      topic: this.topic,
      acks: ACKS_ALL,
      timeout: this.options.timeoutMs ?? 30_000,
      messages: [{ key, value: JSON.stringify(checkpoint) }],
    });
    // keep a later load() in this process consistent with what it saved
    if (this.loaded) {
      const all = await this.loaded.catch(() => undefined);
      all?.checkpoints.set(key, { ...checkpoint });
    }
  }

  async writeStatePiece(key: StateKey, epoch: number, index: number, data: Buffer): Promise<StatePieceRef> {
    const producer = await this.getProducer();
    const chunkBytes = STATE_CHUNK_BYTES;
    const located: Array<{ partition: number; offset: string }> = [];
    for (let at = 0, n = 0; at < data.length || n === 0; at += chunkBytes, n++) {
      const [result] = await producer.send({
        topic: this.stateTopic,
        acks: ACKS_ALL,
        timeout: this.options.timeoutMs ?? 30_000,
        messages: [{ key: `${stateKeyString(key)}/${epoch}/${index}/${n}`, value: data.subarray(at, at + chunkBytes), partition: 0 }],
      });
      if (!result || result.baseOffset === undefined)
        throw new Error(`state topic ${this.stateTopic}: no offset for chunk ${n} of piece ${index} of ${stateKeyString(key)} epoch ${epoch}`);
      located.push({ partition: result.partition, offset: result.baseOffset });
    }
    return { index, bytes: data.length, sha256: sha256(data), kafka: located };
  }

  async commitState(meta: StateMeta, checkpoints: readonly Checkpoint[]): Promise<void> {
    const producer = await this.getProducer();
    const key = stateKeyString(meta);
    await producer.send({
      topic: this.topic,
      acks: ACKS_ALL,
      timeout: this.options.timeoutMs ?? 30_000,
      messages: [{ key, value: JSON.stringify(meta) }, ...checkpoints.map((c) => ({ key: checkpointKeyString(c), value: JSON.stringify(c) }))],
    });
    if (this.loaded) {
      const all = await this.loaded.catch(() => undefined);
      if (all) {
        all.states.set(key, structuredClone(meta));
        all.pieces.delete(key);
        for (const c of checkpoints) all.checkpoints.set(checkpointKeyString(c), { ...c });
      }
    }
  }

  async loadState(key: StateKey): Promise<{ meta: StateMeta; pieces: Buffer[] } | null> {
    const all = await this.load$();
    const k = stateKeyString(key);
    const meta = all.states.get(k);
    if (!meta) return null;
    const prefetched = all.pieces.get(k);
    if (prefetched) return { meta: structuredClone(meta), pieces: prefetched };
    return { meta: structuredClone(meta), pieces: await this.fetchPieces(meta) };
  }

  /** The pieces of a state record, by offset, with a consumer of its own. */
  private async fetchPieces(meta: StateMeta): Promise<Buffer[]> {
    const fetch = new ChunkFetch(meta);
    if (fetch.complete()) return fetch.pieces(`state topic ${this.stateTopic}`);
    const timeoutMs = this.options.loadTimeoutMs ?? 60_000;
    const consumer: Consumer = this.kafka.consumer({
      groupId: `kubevents-state-load-${randomUUID()}`,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: LOAD_FETCH_WAIT_MS,
    });
    try {
      await consumer.connect();
      await consumer.subscribe({ topic: this.stateTopic, fromBeginning: false });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`state topic ${this.stateTopic}: the state's chunks not read within ${timeoutMs} ms`)), timeoutMs);
        consumer
          .run({
            autoCommit: false,
            eachMessage: async ({ partition, message }) => {
              if (fetch.take(partition, message.offset, message.value)) {
                clearTimeout(timer);
                resolve();
              }
            },
          })
          .then(() => {
            for (const [p, offset] of fetch.starts()) consumer.seek({ topic: this.stateTopic, partition: p, offset });
          })
          .catch((error: unknown) => {
            clearTimeout(timer);
            reject(error instanceof Error ? error : new Error(String(error)));
          });
      });
    } finally {
      await consumer.disconnect().catch(() => undefined);
    }
    return fetch.pieces(`state topic ${this.stateTopic}`);
  }

  async discardStatePieces(key: StateKey, epoch: number, pieces: readonly StatePieceRef[]): Promise<void> {
    const messages = pieces.flatMap((p) =>
      (p.kafka ?? []).map((_, n) => ({ key: `${stateKeyString(key)}/${epoch}/${p.index}/${n}`, value: null, partition: 0 })),
    );
    if (messages.length === 0) return;
    const producer = await this.getProducer();
    await producer.send({ topic: this.stateTopic, acks: ACKS_ALL, timeout: this.options.timeoutMs ?? 30_000, messages });
  }

  async close(): Promise<void> {
    const producer = this.producer;
    this.producer = undefined;
    this.connecting = undefined;
    await producer?.disconnect();
  }
}

/** Collects the chunks a state record names, by (partition, offset), and puts its pieces together. */
class ChunkFetch {
  private readonly wanted = new Map<string, Buffer | null>();

  constructor(private readonly meta: StateMeta) {
    for (const p of meta.pieces) for (const c of p.kafka ?? []) this.wanted.set(`${c.partition}/${c.offset}`, null);
  }

  /** Where to start reading, per partition: the smallest offset wanted. */
  starts(): Array<[number, string]> {
    const min = new Map<number, bigint>();
    for (const p of this.meta.pieces)
      for (const c of p.kafka ?? []) {
        const o = BigInt(c.offset);
        const m = min.get(c.partition);
        if (m === undefined || o < m) min.set(c.partition, o);
      }
    return [...min].map(([p, o]) => [p, o.toString()]);
  }

  /** A record read; true once every chunk is in. */
  take(partition: number, offset: string, value: Buffer | null): boolean {
    const id = `${partition}/${offset}`;
    if (this.wanted.has(id) && value !== null) this.wanted.set(id, Buffer.from(value));
    return this.complete();
  }

  complete(): boolean {
    for (const v of this.wanted.values()) if (v === null) return false;
    return true;
  }

  /** The chunks not read yet (partition/offset), for the log: the first 10 and how many. */
  missing(): { chunks: string[]; count: number } {
    const missing = [...this.wanted].filter(([, v]) => v === null).map(([id]) => id);
    return { chunks: missing.slice(0, 10), count: missing.length };
  }

  pieces(where: string): Buffer[] {
    return this.meta.pieces.map((p) => {
      const parts = (p.kafka ?? []).map((c) => {
        const b = this.wanted.get(`${c.partition}/${c.offset}`);
        if (!b) throw new Error(`${where}: chunk at ${c.partition}/${c.offset} of state piece ${p.index} not read`);
        return b;
      });
      return checkPiece(p, Buffer.concat(parts), where);
    });
  }
}
