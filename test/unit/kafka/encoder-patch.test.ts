/**
 * The patched kafkajs Encoder (src/kafka/encoder-patch.ts) writes the same bytes as kafkajs's own.
 * Each side loads kafkajs's protocol modules afresh (require.cache cleared), and the patched side's
 * buffers come pre-filled with 0xA5: a byte it handed out without writing it would show.
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { patchKafkajsEncoder, setEncoderAllocator } from '../../../src/kafka/encoder-patch.js';

const require = createRequire(import.meta.url);
const kafkajsDir = dirname(require.resolve('kafkajs/package.json'));

function forgetKafkajs(): void {
  for (const key of Object.keys(require.cache)) if (key.startsWith(kafkajsDir)) delete require.cache[key];
}

type Encoder = { buffer: Buffer } & Record<string, (...args: unknown[]) => Encoder>;
type EncoderClass = new (initialSize?: number) => Encoder;
interface Loaded {
  Encoder: EncoderClass;
  produce: (request: Record<string, unknown>) => { encode(): Promise<Encoder> };
  Types: { None: number; GZIP: number };
}

function load(): Loaded {
  return {
    Encoder: require('kafkajs/src/protocol/encoder') as EncoderClass,
    produce: require('kafkajs/src/protocol/requests/produce/v3/request') as Loaded['produce'],
    Types: (require('kafkajs/src/protocol/message/compression') as { Types: Loaded['Types'] }).Types,
  };
}

let allocations = 0;
forgetKafkajs();
setEncoderAllocator((size) => {
  allocations++;
  return Buffer.alloc(size, 0xa5);
});
const installed = patchKafkajsEncoder();
const patched = load();
forgetKafkajs();
const original = load();

afterAll(() => {
  setEncoderAllocator((size) => Buffer.allocUnsafe(size));
  forgetKafkajs();
});

const text = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 300 }));
const bytes = fc.uint8Array({ maxLength: 2_000 }).map((a) => Buffer.from(a));
const headerValue = fc.oneof(text, bytes, fc.array(text, { maxLength: 3 }));
const message = fc.record({
  key: fc.oneof(fc.constant(null), text, bytes),
  value: fc.oneof(fc.constant(null), text, bytes),
  headers: fc.dictionary(fc.string({ minLength: 1, maxLength: 30 }), headerValue, { maxKeys: 9 }),
  timestamp: fc.integer({ min: 1_600_000_000_000, max: 1_900_000_000_000 }).map(String),
});
const topicData = fc.array(
  fc.record({
    topic: fc.string({ minLength: 1, maxLength: 20 }),
    partitions: fc.array(fc.record({ partition: fc.nat(50), firstSequence: fc.nat(1_000), messages: fc.array(message, { minLength: 1, maxLength: 30 }) }), {
      minLength: 1,
      maxLength: 3,
    }),
  }),
  { minLength: 1, maxLength: 2 },
);

/** One write of the Encoder's API, applied to both classes. */
const operation = fc.oneof(
  fc.record({ op: fc.constant('writeInt8'), arg: fc.integer({ min: -128, max: 127 }) }),
  fc.record({ op: fc.constant('writeInt16'), arg: fc.integer({ min: -32768, max: 32767 }) }),
  fc.record({ op: fc.constant('writeInt32'), arg: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }) }),
  fc.record({ op: fc.constant('writeUInt32'), arg: fc.nat(2 ** 32 - 1) }),
  fc.record({ op: fc.constant('writeInt64'), arg: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String) }),
  fc.record({ op: fc.constant('writeVarInt'), arg: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }) }),
  fc.record({ op: fc.constant('writeUVarInt'), arg: fc.nat(2 ** 32 - 1) }),
  fc.record({ op: fc.constant('writeVarLong'), arg: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String) }),
  fc.record({ op: fc.constant('writeBoolean'), arg: fc.boolean() }),
  fc.record({ op: fc.constantFrom('writeString', 'writeVarIntString', 'writeUVarIntString'), arg: fc.oneof(fc.constant(null), text) }),
  fc.record({ op: fc.constantFrom('writeBytes', 'writeVarIntBytes', 'writeUVarIntBytes'), arg: fc.oneof(fc.constant(null), text, bytes) }),
  fc.record({ op: fc.constantFrom('writeArray', 'writeVarIntArray', 'writeUVarIntArray'), arg: fc.array(text, { maxLength: 5 }) }),
  fc.record({ op: fc.constant('writeBuffer'), arg: bytes }),
);

describe('the patched kafkajs Encoder', () => {
  it('is installed over kafkajs 2.2 when kafkajs is not loaded yet, and the kafkajs modules use it', async () => {
    expect(installed).toBe(true);
    expect(patched.Encoder).not.toBe(original.Encoder);
    const before = allocations;
    const messages = [{ key: 'k', value: 'v', headers: { a: 'b' }, timestamp: '1700000000000' }];
    await patched.produce({ acks: -1, timeout: 1_000, topicData: [{ topic: 't', partitions: [{ partition: 0, firstSequence: 0, messages }] }] }).encode();
    // the request, the topic, the partition, the batch, the record and its header at least
    expect(allocations - before).toBeGreaterThanOrEqual(6);
    const withOriginal = allocations;
    await original.produce({ acks: -1, timeout: 1_000, topicData: [{ topic: 't', partitions: [{ partition: 0, firstSequence: 0, messages }] }] }).encode();
    expect(allocations).toBe(withOriginal);
  });

  it('writes the same bytes as kafkajs for any sequence of writes (property)', () => {
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 60 }), fc.nat(600), (operations, initialSize) => {
        const mine = new patched.Encoder(initialSize);
        const theirs = new original.Encoder(initialSize);
        for (const { op, arg } of operations) {
          mine[op]!(arg);
          theirs[op]!(arg);
        }
        expect(mine.buffer.equals(theirs.buffer)).toBe(true);
      }),
      { numRuns: 400 },
    );
  });

  it('encodes the same produce requests as kafkajs, uncompressed and gzip (property)', async () => {
    await fc.assert(
      fc.asyncProperty(topicData, fc.boolean(), async (data, gzip) => {
        const request = (loaded: Loaded) =>
          loaded.produce({ acks: -1, timeout: 30_000, compression: gzip ? loaded.Types.GZIP : loaded.Types.None, topicData: data }).encode();
        const [mine, theirs] = await Promise.all([request(patched), request(original)]);
        expect(mine.buffer.equals(theirs.buffer)).toBe(true);
      }),
      { numRuns: 150 },
    );
  });
});
