/**
 * A compiled Avro binary writer: the same bytes as avsc's `Type.encode` for the same value (and an
 * error where avsc throws), in less time. What it does differently:
 *
 * - strings of up to 64 UTF-16 units are written as ASCII in one pass, without avsc's
 *   `Buffer.byteLength` call; a non-ASCII character sends the string back through avsc's own
 *   algorithm (copied below, so its quirks, e.g. lone surrogates, give the same bytes);
 * - one closure per schema node, no prototype dispatch;
 * - records named in `cachedRecords` that are deeply frozen (src/core/immutable.ts: nothing in
 *   them can change) are encoded once and their bytes copied afterwards (a WeakMap, so they are
 *   forgotten with the object). The enrich stage freezes the Enrichment it shares between all the
 *   events of one cached object version.
 *
 * Unions and logical types use avsc's own branch choice (`_getIndex`) and conversion (`_toValue`).
 * A schema with a type this writer does not know (fixed, bytes, float, double, abstract, wrapped
 * unions) gets no compiled writer: `compileWriter` returns null and the caller keeps avsc.
 *
 * test/unit/avro/fast-writer.test.ts checks the bytes against avsc's over the recording, the
 * benchmark generator's events and arbitrary values (fast-check), valid and invalid.
 */
import type avro from 'avsc';
import { isDeeplyFrozen } from '../core/immutable.js';

/** The output buffer and position a compiled writer writes at; grows as needed. */
export class AvroOut {
  buf: Buffer;
  pos = 0;
  constructor(size = 16 * 1024) {
    this.buf = Buffer.allocUnsafeSlow(size);
  }
  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafeSlow(Math.max(2 * this.buf.length, this.pos + n + 1024));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
}

export type CompiledWriter = (out: AvroOut, value: unknown) => void;

export class AvroWriteError extends Error {
  constructor(readonly type: string) {
    super(`invalid ${type}`);
    this.name = 'AvroWriteError';
  }
}

function invalid(type: string): never {
  throw new AvroWriteError(type);
}

/** avsc's Tap.writeLong (zig-zag varint), at out.pos. */
function writeLong(out: AvroOut, n: number): void {
  out.ensure(10);
  const buf = out.buf;
  let pos = out.pos;
  if (n >= -1073741824 && n < 1073741824) {
    let m = n >= 0 ? n << 1 : (~n << 1) | 1;
    for (;;) {
      const b = m & 0x7f;
      m >>= 7;
      if (m === 0) {
        buf[pos++] = b;
        break;
      }
      buf[pos++] = b | 0x80;
    }
  } else {
    let f = n >= 0 ? n * 2 : -n * 2 - 1;
    for (;;) {
      const b = f & 0x7f;
      f /= 128;
      if (!(f >= 1)) {
        buf[pos++] = b;
        break;
      }
      buf[pos++] = b | 0x80;
    }
  }
  out.pos = pos;
}

/** avsc's Tap.writeString, byte for byte. */
function writeStringAsAvsc(out: AvroOut, s: string): void {
  const len = Buffer.byteLength(s);
  writeLong(out, len);
  out.ensure(len);
  const buf = out.buf;
  let pos = out.pos;
  out.pos += len;
  if (len > 64) {
    (buf as Buffer & { utf8Write(s: string, offset: number, length: number): number }).utf8Write(s, pos, len);
    return;
  }
  // avsc's manual loop (it runs `len` iterations: past the string's end it writes bytes that the
  // next value overwrites, or that lie past the end of the record)
  for (let i = 0; i < len; i++) {
    let c1 = s.charCodeAt(i);
    let c2: number;
    if (c1 < 0x80) {
      buf[pos++] = c1;
    } else if (c1 < 0x800) {
      buf[pos++] = (c1 >> 6) | 0xc0;
      buf[pos++] = (c1 & 0x3f) | 0x80;
    } else if ((c1 & 0xfc00) === 0xd800 && ((c2 = s.charCodeAt(i + 1)) & 0xfc00) === 0xdc00) {
      c1 = 0x10000 + ((c1 & 0x03ff) << 10) + (c2 & 0x03ff);
      i++;
      buf[pos++] = (c1 >> 18) | 0xf0;
      buf[pos++] = ((c1 >> 12) & 0x3f) | 0x80;
      buf[pos++] = ((c1 >> 6) & 0x3f) | 0x80;
      buf[pos++] = (c1 & 0x3f) | 0x80;
    } else {
      buf[pos++] = (c1 >> 12) | 0xe0;
      buf[pos++] = ((c1 >> 6) & 0x3f) | 0x80;
      buf[pos++] = (c1 & 0x3f) | 0x80;
    }
  }
}

function writeString(out: AvroOut, s: string): void {
  const n = s.length;
  if (n > 64) return writeStringAsAvsc(out, s);
  const start = out.pos;
  writeLong(out, n);
  out.ensure(n);
  const buf = out.buf;
  let pos = out.pos;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) {
      out.pos = start;
      return writeStringAsAvsc(out, s);
    }
    buf[pos++] = c;
  }
  out.pos = pos;
}

const isSafeLong = (n: number): boolean => n >= -9007199254740990 && n <= 9007199254740990;

interface CompileOptions {
  /** Full names of record types whose deeply frozen values are encoded once (see the file comment). */
  cachedRecords?: readonly string[];
}

// avsc's type classes are read through their (untyped) fields: typeName, fields, itemsType, ...
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyType = avro.Type & Record<string, any>;

/**
 * A writer for `type` giving avsc's bytes, or null when the schema uses a type it does not
 * support.
 */
export function compileWriter(type: avro.Type, options: CompileOptions = {}): CompiledWriter | null {
  const cached = new Set(options.cachedRecords ?? []);
  const compiled = new Map<avro.Type, CompiledWriter>();
  try {
    return compile(type as AnyType);
  } catch (error) {
    if (error instanceof Unsupported) return null;
    throw error;
  }

  function compile(t: AnyType): CompiledWriter {
    const done = compiled.get(t);
    if (done) return done;
    // records may be recursive: register a forwarder first
    let target: CompiledWriter | undefined;
    const forward: CompiledWriter = (o, v) => target!(o, v);
    compiled.set(t, forward);
    target = build(t);
    compiled.set(t, target);
    return target;
  }

  function build(t: AnyType): CompiledWriter {
    const typeName: string = t.typeName;
    switch (typeName) {
      case 'null':
        return (_o, v) => {
          if (v !== null) invalid('null');
        };
      case 'boolean':
        return (o, v) => {
          if (typeof v !== 'boolean') invalid('boolean');
          o.ensure(1);
          o.buf[o.pos++] = v ? 1 : 0;
        };
      case 'int':
        return (o, v) => {
          if (v !== ((v as number) | 0)) invalid('int');
          writeLong(o, v as number);
        };
      case 'long':
        return (o, v) => {
          if (typeof v !== 'number' || v % 1 || !isSafeLong(v)) invalid('long');
          writeLong(o, v);
        };
      case 'string':
        return (o, v) => {
          if (typeof v !== 'string') invalid('string');
          writeString(o, v);
        };
      case 'enum': {
        const indices = new Map<string, number>((t.symbols as string[]).map((s, i) => [s, i]));
        return (o, v) => {
          const index = indices.get(v as string);
          if (index === undefined) invalid('enum');
          writeLong(o, index);
        };
      }
      case 'array': {
        const items = compile(t.itemsType);
        return (o, v) => {
          if (!Array.isArray(v)) invalid('array');
          const n = v.length;
          if (n) {
            writeLong(o, n);
            for (let i = 0; i < n; i++) items(o, v[i]);
          }
          writeLong(o, 0);
        };
      }
      case 'map': {
        const values = compile(t.valuesType);
        return (o, v) => {
          if (!v || typeof v !== 'object' || Array.isArray(v)) invalid('map');
          const m = v as Record<string, unknown>;
          const keys = Object.keys(m);
          const n = keys.length;
          if (n) {
            writeLong(o, n);
            for (let i = 0; i < n; i++) {
              const key = keys[i]!;
              writeString(o, key);
              values(o, m[key]);
            }
          }
          writeLong(o, 0);
        };
      }
      case 'record':
      case 'error':
        return record(t);
      case 'union:unwrapped': {
        const branches = (t.types as AnyType[]).map((b) => compile(b));
        // avsc picks the branch by the value's bucket (getValueBucket) unless a logical branch must
        // be asked; for null and strings, the most common values, the bucket is known without the call
        const buckets = t._bucketIndices as Record<string, number | undefined>;
        const bucketsOnly = !t._dynamicBranches;
        const nullIndex = bucketsOnly ? buckets['null'] : undefined;
        const stringIndex = bucketsOnly ? buckets['string'] : undefined;
        return (o, v) => {
          const index = (
            v === null && nullIndex !== undefined ? nullIndex : typeof v === 'string' && stringIndex !== undefined ? stringIndex : t._getIndex(v)
          ) as number | undefined;
          if (index === undefined) invalid('union');
          writeLong(o, index);
          if (v !== null) branches[index]!(o, v);
        };
      }
      default:
        if (typeName.startsWith('logical:')) {
          const underlying = compile(t.underlyingType);
          return (o, v) => underlying(o, t._toValue(v));
        }
        throw new Unsupported(typeName);
    }
  }

  function record(t: AnyType): CompiledWriter {
    const fields = (t.fields as AnyType[]).map((f) => {
      const def: unknown = f.defaultValue();
      return { name: f.name as string, write: compile(f.type), dflt: def === undefined ? undefined : (f.type as avro.Type).toBuffer(def) };
    });
    const write: CompiledWriter = (o, v) => {
      const r = v as Record<string, unknown>;
      for (let i = 0; i < fields.length; i++) {
        const f = fields[i]!;
        const x = r[f.name];
        if (x === undefined && f.dflt !== undefined) {
          o.ensure(f.dflt.length);
          f.dflt.copy(o.buf, o.pos);
          o.pos += f.dflt.length;
        } else f.write(o, x);
      }
    };
    if (!cached.has(t.name as string)) return write;
    const bytes = new WeakMap<object, Buffer>();
    return (o, v) => {
      if (!isDeeplyFrozen(v)) return write(o, v);
      const held = bytes.get(v as object);
      if (held !== undefined) {
        o.ensure(held.length);
        o.buf.set(held, o.pos);
        o.pos += held.length;
        return;
      }
      const start = o.pos;
      write(o, v);
      bytes.set(v as object, Buffer.from(o.buf.subarray(start, o.pos)));
    };
  }
}

class Unsupported extends Error {}

/**
 * Encodes `value` with `writer` into `out` (from position 0) and returns a copy of the bytes.
 * Throws where avsc's encode would.
 */
export function encodeWith(writer: CompiledWriter, out: AvroOut, value: unknown): Buffer {
  out.pos = 0;
  writer(out, value);
  const result = Buffer.allocUnsafe(out.pos);
  out.buf.copy(result, 0, 0, out.pos);
  return result;
}
