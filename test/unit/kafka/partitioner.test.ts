/**
 * The producer's memoized partitioner gives kafkajs's DefaultPartitioner's partition for every
 * message (murmur2 of the key, Java-client compatible), and remembers a bounded number of keys.
 */
import fc from 'fast-check';
import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { memoizedDefaultPartitioner } from '../../../src/kafka/client.js';

const { Partitioners } = kafkajs;

const metadata = (n: number, down: number[] = []) =>
  Array.from({ length: n }, (_, partitionId) => ({ partitionId, leader: down.includes(partitionId) ? -1 : 0, replicas: [0], isr: [0], partitionErrorCode: 0 }));

describe('memoized default partitioner', () => {
  it("kafkajs's partition for every keyed message, asked once or many times, with any partition count", () => {
    const memo = memoizedDefaultPartitioner(50)();
    const reference = Partitioners.DefaultPartitioner();
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.constantFrom('bench/Pod/ns/a', 'c/Node//n1')),
            fc.integer({ min: 1, max: 64 }),
            fc.constantFrom('t1', 't2'),
          ),
          {
            minLength: 1,
            maxLength: 200,
          },
        ),
        (messages) => {
          for (const [key, n, topic] of [...messages, ...messages]) {
            const args = { topic, partitionMetadata: metadata(n), message: { key, value: null } };
            expect(memo(args)).toBe(reference(args));
          }
        },
      ),
    );
  });

  it('an explicit partition wins; keyless messages are spread over available partitions as before', () => {
    const memo = memoizedDefaultPartitioner()();
    expect(memo({ topic: 't', partitionMetadata: metadata(6), message: { key: 'k', value: null, partition: 4 } })).toBe(4);
    const seen = new Set<number>();
    for (let i = 0; i < 50; i++) seen.add(memo({ topic: 't', partitionMetadata: metadata(6, [1, 2]), message: { key: null, value: null } }));
    expect([...seen].sort()).toEqual([0, 3, 4, 5]);
  });
});
