/**
 * The Confluent Schema Registry wire format, as read by every Confluent-aware consumer (Kafka
 * Connect's AvroConverter, ksqlDB, Flink's `avro-confluent` format, Spark's from_avro with ABRiS):
 *
 *   byte 0      magic byte, always 0
 *   bytes 1-4   schema id, 32-bit big-endian, as assigned by the registry
 *   bytes 5-    the Avro binary encoding of the record (no container header, no fingerprint)
 */

export const CONFLUENT_MAGIC_BYTE = 0;
export const CONFLUENT_HEADER_LENGTH = 5;

export function encodeConfluentFrame(schemaId: number, avroBinary: Buffer): Buffer {
  if (!Number.isInteger(schemaId) || schemaId < 0 || schemaId > 0x7fffffff) {
    throw new RangeError(`schema id out of range: ${schemaId}`);
  }
  const frame = Buffer.allocUnsafe(CONFLUENT_HEADER_LENGTH + avroBinary.length);
  frame.writeUInt8(CONFLUENT_MAGIC_BYTE, 0);
  frame.writeInt32BE(schemaId, 1);
  avroBinary.copy(frame, CONFLUENT_HEADER_LENGTH);
  return frame;
}

export interface ConfluentFrame {
  schemaId: number;
  /** Avro binary body (a view into the input buffer). */
  payload: Buffer;
}

export function decodeConfluentFrame(frame: Buffer): ConfluentFrame {
  if (frame.length < CONFLUENT_HEADER_LENGTH) {
    throw new Error(`not in Confluent wire format: ${frame.length} bytes, need at least ${CONFLUENT_HEADER_LENGTH}`);
  }
  const magic = frame.readUInt8(0);
  if (magic !== CONFLUENT_MAGIC_BYTE) {
    throw new Error(`not in Confluent wire format: magic byte ${magic}, expected ${CONFLUENT_MAGIC_BYTE}`);
  }
  return { schemaId: frame.readInt32BE(1), payload: frame.subarray(CONFLUENT_HEADER_LENGTH) };
}
