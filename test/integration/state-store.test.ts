/**
 * The operator state on Kafka (issue #20), on the real broker: KafkaCheckpointStore writes a state
 * chain in chunks (a piece of several MB: several chunks under the brokers' record size limit) on
 * the state topic, commits the state record with the checkpoints on the checkpoint topic, and a new
 * instance (a restart, a standby taking over) reads it back by offset: with the checkpoints in one
 * consumer (`stateFor`), or with a consumer of its own. Prints how long a load takes.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { KafkaCheckpointStore, STATE_CHUNK_BYTES } from '../../src/checkpoint/kafka-store.js';
import { STATE_FORMAT } from '../../src/checkpoint/state-codec.js';
import { STATE_META_VERSION, type StateMeta, type StatePieceRef } from '../../src/checkpoint/store.js';
import { createKafka, type Kafka } from '../../src/kafka/client.js';
import { TopicReader } from './support/kube-run.js';

const kafkaEnv = inject('kafkaEnv');
let kafka: Kafka;
const readers: TopicReader[] = [];

beforeAll(() => {
  kafka = createKafka({ brokers: kafkaEnv.brokers, clientId: 'state-store-test' });
});
afterAll(async () => {
  await Promise.allSettled(readers.map((r) => r.close()));
});

function meta(key: { cluster: string; pipeline: string }, epoch: number, pieces: StatePieceRef[], rv: string): StateMeta {
  return {
    kind: 'state',
    version: STATE_META_VERSION,
    ...key,
    format: STATE_FORMAT,
    epoch,
    pieces,
    positions: { events: { resourceVersion: rv } },
    pipelines: [{ name: 'default', fingerprint: 'f' }],
    takenAt: Date.now(),
    savedAt: Date.now(),
  };
}

describe('KafkaCheckpointStore: operator state on the real broker', () => {
  it('chunks the state record names that are not on the state topic: the checkpoints still load, the state does not', async () => {
    const topic = `state-${randomUUID().slice(0, 8)}.checkpoints`;
    const key = { cluster: 'c1', pipeline: 'default' };
    const writer = new KafkaCheckpointStore({ kafka, topic });
    const ref = await writer.writeStatePiece(key, 1, 0, randomBytes(1_000));
    // as if its chunks were deleted (a state topic created with cleanup.policy=delete, say)
    const gone: StatePieceRef = { ...ref, kafka: ref.kafka!.map((c) => ({ ...c, offset: String(BigInt(c.offset) + 1_000n) })) };
    await writer.commitState(meta(key, 1, [gone], '77'), [{ ...key, resource: 'events', resourceVersion: '77', updatedAt: Date.now() }]);
    await writer.close();

    const reader = new KafkaCheckpointStore({ kafka, topic, stateFor: key, loadTimeoutMs: 3_000 });
    try {
      // before: the shared read failed ("not read to its end"), and the positions with it, on every start
      expect((await reader.load({ ...key, resource: 'events' }))?.resourceVersion).toBe('77');
      await expect(reader.loadState(key)).rejects.toThrow(/state topic|chunk/);
    } finally {
      await reader.close();
    }
  });

  it('a chain of several MB in chunks, committed with the checkpoints, read back by offset by a new instance', async () => {
    const topic = `state-${randomUUID().slice(0, 8)}.checkpoints`;
    const key = { cluster: 'c1', pipeline: 'default' };
    const writer = new KafkaCheckpointStore({ kafka, topic });
    const full = randomBytes(3 * 1024 * 1024 + 1234); // incompressible: 7 chunks
    const deltas = [randomBytes(40_000), randomBytes(10), randomBytes(700_000)];
    const pieces: StatePieceRef[] = [await writer.writeStatePiece(key, 1, 0, full)];
    expect(pieces[0]!.kafka).toHaveLength(Math.ceil(full.length / STATE_CHUNK_BYTES));
    for (const [i, d] of deltas.entries()) pieces.push(await writer.writeStatePiece(key, 1, i + 1, d));
    await writer.commitState(meta(key, 1, pieces, '4242'), [{ ...key, resource: 'events', resourceVersion: '4242', updatedAt: Date.now() }]);
    // an unrelated cluster's state on the same topics is not read
    await writer.commitState({ ...meta({ cluster: 'other', pipeline: 'default' }, 7, [], '1') }, []);
    await writer.close();

    for (const prefetch of [true, false]) {
      const reader = new KafkaCheckpointStore({ kafka, topic, ...(prefetch ? { stateFor: key } : {}) });
      const started = Date.now();
      const checkpoint = await reader.load({ ...key, resource: 'events' });
      const loaded = await reader.loadState(key);
      const ms = Date.now() - started;
      process.stderr.write(
        `[state-store] ${prefetch ? 'with the checkpoints (one consumer)' : 'a consumer of its own'}: ${(full.length + deltas.reduce((n, d) => n + d.length, 0)) >> 10} KiB in ${ms} ms\n`,
      );
      expect(checkpoint?.resourceVersion).toBe('4242');
      expect(loaded!.meta).toMatchObject({ epoch: 1, positions: { events: { resourceVersion: '4242' } } });
      expect(loaded!.pieces.map((p) => p.length)).toEqual([full.length, ...deltas.map((d) => d.length)]);
      expect(loaded!.pieces[0]!.equals(full)).toBe(true);
      expect(loaded!.pieces[3]!.equals(deltas[2]!)).toBe(true);
      // the unrelated cluster's state is its own
      expect((await reader.loadState({ cluster: 'other', pipeline: 'default' }))?.meta.epoch).toBe(7);
      await reader.close();
    }

    // a new epoch: the old chain's chunks are deleted (tombstones), the new one is what loads
    const next = new KafkaCheckpointStore({ kafka, topic });
    const base = randomBytes(600_000);
    const ref = await next.writeStatePiece(key, 2, 0, base);
    await next.commitState(meta(key, 2, [ref], '5000'), []);
    await next.discardStatePieces(key, 1, pieces);
    await next.close();
    const again = new KafkaCheckpointStore({ kafka, topic, stateFor: key });
    const loaded = await again.loadState(key);
    expect(loaded!.meta.epoch).toBe(2);
    expect(loaded!.pieces[0]!.equals(base)).toBe(true);
    await again.close();
    const state = await TopicReader.start(kafka, [`${topic}.state`]);
    readers.push(state);
    await state.catchUp();
    const tombstones = state.records.filter((r) => r.value.length === 0 && r.key.startsWith('c1/default/state/1/'));
    expect(tombstones.length).toBe(pieces.reduce((n, p) => n + (p.kafka?.length ?? 0), 0));
  }, 120_000);
});
