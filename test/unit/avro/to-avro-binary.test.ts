import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EncodeError, toAvroBinary } from '../../../src/avro/encodings.js';
import { loadSchema } from '../../../src/avro/schemas.js';
import type { KubeEvent } from '../../../src/model/kube-event.js';
import { sampleDeadLetter, sampleEvent, sampleGap } from '../../support/sample-records.js';

const eventSchema = loadSchema('KubeEvent');

/** A KubeEvent whose message is `length` characters of `unit` (to cross avsc's 1 KiB buffer and the scratch buffer's sizes). */
const withMessage = (i: number, message: string): KubeEvent => ({ ...sampleEvent(i), message });

describe('toAvroBinary (encoded once into a reused buffer)', () => {
  it('gives exactly avsc Type.toBuffer\u2019s bytes for records of any size, in any order', () => {
    const sizes = [0, 10, 900, 1100, 5000, 20_000, 70_000, 300_000, 10, 1_500_000, 50];
    for (const [i, n] of sizes.entries()) {
      const e = withMessage(i, 'é日'.repeat(n >> 1) + 'x'.repeat(n & 1));
      const bytes = toAvroBinary(eventSchema, e);
      expect(bytes.equals(eventSchema.type.toBuffer(e))).toBe(true);
      expect(eventSchema.type.fromBuffer(bytes)).toEqual(e);
    }
    for (const [kind, value] of [
      ['Gap', sampleGap(1)],
      ['DeadLetter', sampleDeadLetter(2)],
    ] as const) {
      const schema = loadSchema(kind);
      expect(toAvroBinary(schema, value).equals(schema.type.toBuffer(value))).toBe(true);
    }
  });

  it('returns independent buffers: a later encoding does not change an earlier result', () => {
    const a = toAvroBinary(eventSchema, withMessage(1, 'first'));
    const copy = Buffer.from(a);
    const b = toAvroBinary(eventSchema, withMessage(2, 'second, a longer message'.repeat(100)));
    expect(a.equals(copy)).toBe(true);
    expect(b.equals(a)).toBe(false);
  });

  it('equals Type.toBuffer for arbitrary messages (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 3000 }), fc.nat(100), (message, i) => {
        const e = withMessage(i, message);
        expect(toAvroBinary(eventSchema, e).equals(eventSchema.type.toBuffer(e))).toBe(true);
      }),
      { numRuns: 300 },
    );
  }, 30_000); // a few thousand encodings: room for the CI's shared cores while the fuzz suites run beside it

  it('still reports invalid records as an EncodeError, and encodes fine afterwards', () => {
    const bad = { ...sampleEvent(1), count: 'three' } as unknown as KubeEvent;
    expect(() => toAvroBinary(eventSchema, bad)).toThrow(EncodeError);
    const e = sampleEvent(3);
    expect(toAvroBinary(eventSchema, e).equals(eventSchema.type.toBuffer(e))).toBe(true);
  });
});
