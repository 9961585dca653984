/**
 * How operator state is stored with a checkpoint: V8's structured-clone serialization
 * (`v8.serialize`: plain objects, arrays, Maps, Sets, ±Infinity and shared references as they
 * are; Node documents the format as backward compatible, safe to store), gzip-compressed.
 *
 * `serializeState` is synchronous and is called between two events (the state must not change
 * while it is read); the compression runs on libuv's thread pool (`compressState`), off the
 * event loop. The SHA-256 of the stored bytes travels with them, so that a snapshot reassembled
 * from chunks (the Kafka store) is checked before it is used.
 */
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { deserialize, serialize } from 'node:v8';
import { gunzip, gzip, constants } from 'node:zlib';

export const STATE_FORMAT = 'v8+gzip';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

/** The state as bytes (uncompressed). Synchronous: call it between two events. */
export function serializeState(value: unknown): Buffer {
  return serialize(value);
}

/** Compresses serialized state (gzip level 1: fast; the state is repetitive). */
export function compressState(serialized: Buffer): Promise<Buffer> {
  return gzipAsync(serialized, { level: constants.Z_BEST_SPEED });
}

/** The state back from stored bytes. */
export async function decodeState(stored: Buffer): Promise<unknown> {
  return deserialize(await gunzipAsync(stored));
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
