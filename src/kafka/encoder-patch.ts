/**
 * kafkajs encodes every produce request with its protocol `Encoder`, and makes a new one for every
 * record and for every header of every record, each starting with `Buffer.alloc(512)`: a
 * zero-filled ArrayBuffer of its own. Every varint (about 20 a record with the sink's 8 headers)
 * goes through an array and a `Buffer.from`. In a profile of the sink (bench/kafka.ts --mode sink)
 * those allocations were the largest single cost, 14 % of the CPU, plus the garbage.
 *
 * This module gives kafkajs's modules an Encoder class of the same prototype that takes its buffers
 * with `Buffer.allocUnsafe` (small ones are slices of Node's shared pool: no ArrayBuffer per record)
 * and writes varints in place. That is safe because the Encoder only ever writes forward from
 * offset 0 and only hands out `buf.slice(0, offset)`: no byte it did not write leaves it. The bytes
 * on the wire are the same: test/unit/kafka/encoder-patch.test.ts encodes produce requests both
 * ways, with the new buffers pre-filled with garbage, and compares them.
 *
 * It must run before kafkajs's own modules load, since they capture the class when required; Node
 * loads a CommonJS package imported by an ES module before any ES module of the graph runs, so
 * src/kafka/client.ts requires kafkajs (createRequire) after calling patchKafkajsEncoder(). Only
 * kafkajs 2.2 was checked (it has had no release since 2023): with another version, or with
 * KUBEVENTS_KAFKAJS_ENCODER_PATCH=0, nothing is replaced.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

interface EncoderInstance {
  buf: Buffer;
  offset: number;
  ensureAvailable(length: number): void;
}
interface EncoderClass {
  new (initialSize?: number): EncoderInstance;
  nextPowerOfTwo(value: number): number;
  prototype: EncoderInstance & { writeUVarInt(value: number): EncoderInstance };
}

const PATCHED = Symbol.for('kubevents.kafkajsEncoderPatch');

let allocate: (size: number) => Buffer = (size) => Buffer.allocUnsafe(size);

/** How the patched Encoder makes its buffers; the equivalence test fills them with garbage. */
export function setEncoderAllocator(allocator: (size: number) => Buffer): void {
  allocate = allocator;
}

/**
 * Puts the Encoder in place; call it before kafkajs is first required. Returns whether kafkajs now
 * uses it (false when disabled, with another kafkajs version, or when kafkajs was already loaded).
 */
export function patchKafkajsEncoder(): boolean {
  if (process.env['KUBEVENTS_KAFKAJS_ENCODER_PATCH'] === '0') return false;
  const { version } = require('kafkajs/package.json') as { version: string };
  if (!version.startsWith('2.2.')) return false;
  const encoderPath = require.resolve('kafkajs/src/protocol/encoder');
  const loaded = require(encoderPath) as EncoderClass & { [PATCHED]?: true };
  if (loaded[PATCHED]) return true;
  if (require.cache[require.resolve('kafkajs')]) return false;
  const Original = loaded;

  // a function, not a subclass: a subclass would have to call the original constructor, which
  // allocates; instances share the original prototype, so every method and getter is kafkajs's own
  const PatchedEncoder = function (this: EncoderInstance, initialSize = 511) {
    this.buf = allocate(Original.nextPowerOfTwo(initialSize));
    this.offset = 0;
  } as unknown as EncoderClass & { [PATCHED]?: true };
  for (const name of Object.getOwnPropertyNames(Original)) {
    if (name === 'prototype' || name === 'length' || name === 'name') continue;
    Object.defineProperty(PatchedEncoder, name, Object.getOwnPropertyDescriptor(Original, name)!);
  }
  PatchedEncoder.prototype = Original.prototype;
  PatchedEncoder[PATCHED] = true;

  const prototype = Original.prototype;
  prototype.ensureAvailable = function ensureAvailable(this: EncoderInstance, length: number): void {
    if (this.offset + length > this.buf.length) {
      const grown = allocate(Original.nextPowerOfTwo(this.offset + length));
      this.buf.copy(grown, 0, 0, this.offset);
      this.buf = grown;
    }
  };
  // kafkajs's own: the same LEB128 bytes (at most 5 for 32 bits) through an array and Buffer.from
  prototype.writeUVarInt = function writeUVarInt(this: EncoderInstance, value: number): EncoderInstance {
    this.ensureAvailable(5);
    const buf = this.buf;
    let offset = this.offset;
    while ((value & 0xffffff80) !== 0) {
      buf[offset++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    buf[offset++] = value & 0x7f;
    this.offset = offset;
    return this;
  };
  require.cache[encoderPath]!.exports = PatchedEncoder;
  return true;
}
