/**
 * A bounds check of Avro binary bytes against their writer schema, before avsc decodes them.
 *
 * avsc's `fromBuffer` checks that the bytes were long enough only after it read them all: a string
 * or a block count that runs past the end is read anyway. A value of six bytes whose map or array
 * claims 10^12 entries made it loop for hours (an array also fills memory with that many
 * `undefined`s): one such record on an alert topic would stop its partition for good. This walk
 * reads the same bytes with the same schema, checking every length and every block count against
 * the bytes left (each entry of our schemas takes at least one byte), every union branch and enum
 * index, and that nothing is left over; it allocates nothing per entry.
 */
import type avro from 'avsc';

/** Bytes that cannot be a value of the schema, with where and why. */
export class AvroBoundsError extends Error {
  constructor(message: string, offset: number) {
    super(`not Avro of the writer schema: ${message} at byte ${offset}`);
    this.name = 'AvroBoundsError';
  }
}

/** Entries of a block whose items take no bytes (null, an empty record): a sane count for those. */
const MAX_EMPTY_ITEMS = 1_000_000;
/** Schemas nest this deep at most (ours nest 3 levels); deeper means a recursive schema looping on data. */
const MAX_DEPTH = 64;

interface Cursor {
  buf: Buffer;
  pos: number;
}

function readLong(c: Cursor): number {
  let n = 0;
  let shift = 1;
  let b: number;
  let i = 0;
  do {
    if (c.pos >= c.buf.length) throw new AvroBoundsError('the bytes end inside a number', c.pos);
    if (i === 10) throw new AvroBoundsError('a number longer than 10 bytes', c.pos);
    b = c.buf[c.pos++]!;
    n += (b & 0x7f) * shift;
    shift *= 128;
    i++;
  } while (b & 0x80);
  // zig-zag; beyond 2^53 the value is approximate, which is enough to compare with lengths
  return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
}

function skip(c: Cursor, n: number, what: string): void {
  if (n < 0) throw new AvroBoundsError(`a negative ${what} (${n})`, c.pos);
  if (n > c.buf.length - c.pos) throw new AvroBoundsError(`a ${what} of ${n} bytes with ${c.buf.length - c.pos} left`, c.pos);
  c.pos += n;
}

/** The fewest bytes one value of `type` takes (0 for null, empty records and 0-size fixed). */
function minSize(type: avro.Type, depth = 0): number {
  if (depth > MAX_DEPTH) return 1;
  const t = type as avro.Type & { typeName: string };
  switch (t.typeName) {
    case 'null':
      return 0;
    case 'float':
      return 4;
    case 'double':
      return 8;
    case 'fixed':
      return (type as avro.types.FixedType).size;
    case 'record':
    case 'error':
      return (type as avro.types.RecordType).fields.reduce((sum, f) => sum + minSize(f.type, depth + 1), 0);
    default:
      if (t.typeName.startsWith('logical:')) return minSize((type as avro.types.LogicalType).underlyingType, depth + 1);
      return 1; // every other value starts with at least one byte (a varint, a boolean, a length, a block count)
  }
}

function walk(type: avro.Type, c: Cursor, depth: number): void {
  if (depth > MAX_DEPTH) throw new AvroBoundsError('the schema nests too deep', c.pos);
  const t = type as avro.Type & { typeName: string };
  switch (t.typeName) {
    case 'null':
      return;
    case 'boolean':
      return skip(c, 1, 'boolean');
    case 'int':
    case 'long':
      readLong(c);
      return;
    case 'float':
      return skip(c, 4, 'float');
    case 'double':
      return skip(c, 8, 'double');
    case 'string':
      return skip(c, readLong(c), 'string length');
    case 'bytes':
      return skip(c, readLong(c), 'bytes length');
    case 'fixed':
      return skip(c, (type as avro.types.FixedType).size, 'fixed');
    case 'enum': {
      const at = c.pos;
      const i = readLong(c);
      const symbols = (type as avro.types.EnumType).symbols;
      if (i < 0 || i >= symbols.length) throw new AvroBoundsError(`enum index ${i} of ${symbols.length} symbols`, at);
      return;
    }
    case 'union:unwrapped':
    case 'union:wrapped': {
      const at = c.pos;
      const i = readLong(c);
      const types = (type as avro.types.WrappedUnionType).types;
      if (i < 0 || i >= types.length) throw new AvroBoundsError(`union branch ${i} of ${types.length}`, at);
      return walk(types[i]!, c, depth + 1);
    }
    case 'record':
    case 'error':
      for (const f of (type as avro.types.RecordType).fields) walk(f.type, c, depth + 1);
      return;
    case 'array':
    case 'map': {
      const isMap = t.typeName === 'map';
      const item: avro.Type = isMap ? (type as avro.types.MapType).valuesType : (type as avro.types.ArrayType).itemsType;
      const perItem = (isMap ? 1 : 0) + minSize(item);
      let emptyItems = 0;
      for (;;) {
        const at = c.pos;
        let n = readLong(c);
        if (n === 0) return;
        if (n < 0) {
          n = -n;
          readLong(c); // the block's size in bytes: read past, not trusted
        }
        if (perItem > 0 ? n * perItem > c.buf.length - c.pos : (emptyItems += n) > MAX_EMPTY_ITEMS) {
          throw new AvroBoundsError(`a block of ${n} ${isMap ? 'entries' : 'items'} with ${c.buf.length - c.pos} bytes left`, at);
        }
        for (let k = 0; k < n; k++) {
          if (isMap) skip(c, readLong(c), 'map key length');
          walk(item, c, depth + 1);
        }
      }
    }
    default:
      if (t.typeName.startsWith('logical:')) return walk((type as avro.types.LogicalType).underlyingType, c, depth + 1);
      throw new AvroBoundsError(`unsupported schema type ${t.typeName}`, c.pos);
  }
}

/** Throws AvroBoundsError unless `buf` holds exactly one value of `writer` whose every length fits the bytes. */
export function checkAvroBounds(writer: avro.Type, buf: Buffer): void {
  const c: Cursor = { buf, pos: 0 };
  walk(writer, c, 0);
  if (c.pos !== buf.length) throw new AvroBoundsError(`${buf.length - c.pos} bytes left over after the value`, c.pos);
}
