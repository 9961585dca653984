/**
 * The compiled Avro writer (src/avro/fast-writer.ts) against avsc: the same bytes for every valid
 * value, an error for every value avsc refuses; over the bundled recording, the benchmark
 * generator's processed events and alerts, and arbitrary values of every published schema.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type avro from 'avsc';
import fc from 'fast-check';
import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { benchProcessing, warmCache } from '../../../bench/processing.js';
import { buildWorld, EventStream } from '../../../bench/generator.js';
import { EncodeError, toAvroBinary } from '../../../src/avro/encodings.js';
import { AvroOut, compileWriter, encodeWith, type CompiledWriter } from '../../../src/avro/fast-writer.js';
import { loadSchema, RECORD_KINDS } from '../../../src/avro/schemas.js';
import { packageRoot } from '../../../src/core/paths.js';
import { deepFreeze } from '../../../src/core/immutable.js';
import type { Alert } from '../../../src/model/alert.js';
import type { KubeEvent } from '../../../src/model/kube-event.js';
import type { WatchEvent } from '../../../src/model/watch-event.js';
import type { KubeObject } from '../../../src/sources/object-lookup.js';

type AnyType = avro.Type & Record<string, any>;

function avscBytes(type: avro.Type, value: unknown): Buffer | 'throws' {
  try {
    return type.toBuffer(value);
  } catch {
    return 'throws';
  }
}

function fastBytes(writer: CompiledWriter, value: unknown, out = new AvroOut(64)): Buffer | 'throws' {
  try {
    return encodeWith(writer, out, value);
  } catch {
    return 'throws';
  }
}

const writerOf = (kind: string): CompiledWriter => {
  const w = compileWriter(loadSchema(kind).type, { cachedRecords: ['io.kubevents.v1.Enrichment'] });
  if (!w) throw new Error(`no compiled writer for ${kind}`);
  return w;
};

/** Values of an avsc type: every string flavour (ASCII, any UTF-16 unit incl. lone surrogates, long), int and long limits. */
function valueOf(t: AnyType): fc.Arbitrary<unknown> {
  switch (t.typeName as string) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'int':
      return fc.oneof(fc.integer(), fc.constantFrom(-(2 ** 31), 2 ** 31 - 1, 0, -1, 63, 64, -65));
    case 'long':
      return fc.oneof(
        fc.integer(),
        fc.integer({ min: -9007199254740990, max: 9007199254740990 }),
        fc.constantFrom(2 ** 40, -(2 ** 40), 1073741824, -1073741825),
      );
    case 'string':
      return fc.oneof(
        fc.string({ maxLength: 70 }),
        fc.string({ unit: 'binary', maxLength: 70 }),
        fc.string({ unit: 'grapheme', maxLength: 30 }),
        fc.string({ minLength: 60, maxLength: 300 }),
      );
    case 'enum':
      return fc.constantFrom(...(t.symbols as string[]));
    case 'array':
      return fc.array(valueOf(t.itemsType), { maxLength: 4 });
    case 'map':
      return fc.dictionary(fc.string({ maxLength: 10 }), valueOf(t.valuesType), { maxKeys: 4 });
    case 'record':
    case 'error': {
      const shape: Record<string, fc.Arbitrary<unknown>> = {};
      for (const f of t.fields as AnyType[]) {
        const v = valueOf(f.type);
        shape[f.name as string] = f.defaultValue() === undefined ? v : fc.oneof(v, fc.constant(undefined));
      }
      return fc.record(shape);
    }
    case 'union:unwrapped':
      return fc.oneof(...(t.types as AnyType[]).map(valueOf));
    default:
      if ((t.typeName as string).startsWith('logical:')) return fc.oneof(valueOf(t.underlyingType), fc.date({ noInvalidDate: true }));
      throw new Error(`no arbitrary for ${t.typeName}`);
  }
}

/** A value with one field somewhere replaced by something of the wrong kind (or not). */
function mutate(value: unknown, pick: number, wrong: unknown): unknown {
  if (typeof value !== 'object' || value === null || value instanceof Date) return wrong;
  const keys = Object.keys(value);
  if (keys.length === 0) return value;
  const key = keys[pick % keys.length]!;
  const copy: any = Array.isArray(value) ? [...value] : { ...value };
  copy[key] = pick % 3 === 0 ? wrong : mutate(copy[key], Math.floor(pick / 3), wrong);
  return copy;
}

describe('compiled Avro writer', () => {
  it('compiles every published schema', () => {
    for (const kind of RECORD_KINDS) expect(writerOf(kind)).toBeTypeOf('function');
  });

  for (const kind of RECORD_KINDS) {
    it(`${kind}: avsc's bytes for arbitrary values, an error where avsc throws`, () => {
      const type = loadSchema(kind).type as AnyType;
      const writer = writerOf(kind);
      const out = new AvroOut(32); // small: growth is exercised
      // not the names of Object.prototype's members: avsc looks enum symbols up in a plain object, so
      // it writes an enum value 'valueOf' (or 'toString', ...) where it should throw, and this writer throws
      const wrongString = fc.string().filter((s) => !(s in Object.prototype));
      const wrong = fc.oneof(fc.constant(undefined), fc.constant(null), wrongString, fc.double(), fc.integer(), fc.boolean(), fc.constant({}), fc.constant([]));
      fc.assert(
        fc.property(valueOf(type), fc.nat(), wrong, fc.boolean(), (value, pick, bad, doMutate) => {
          const v = doMutate ? mutate(value, pick, bad) : value;
          expect(fastBytes(writer, v, out)).toEqual(avscBytes(type, v));
        }),
        { numRuns: kind === 'KubeEvent' ? 1500 : 400 },
      );
    }, 30_000);
  }

  it('deeply frozen Enrichment records: bytes kept, and the same as encoding them afresh', () => {
    const type = loadSchema('KubeEvent').type as AnyType;
    const writer = writerOf('KubeEvent');
    fc.assert(
      fc.property(valueOf(type), (value) => {
        const v = value as Record<string, unknown>;
        const before = avscBytes(type, v);
        if (v['enrichment']) deepFreeze(v['enrichment']);
        expect(fastBytes(writer, v)).toEqual(before);
        expect(fastBytes(writer, v)).toEqual(before); // from the kept bytes
      }),
      { numRuns: 300 },
    );
    // kept, not encoded again: a frozen Enrichment whose field is read through a counting getter
    const sample = fc.sample(valueOf(type), { numRuns: 50, seed: 7 }).find((x) => (x as Record<string, unknown>)['enrichment']) as Record<string, unknown>;
    const enrichment = { ...(sample['enrichment'] as Record<string, unknown>) };
    const node = enrichment['node'];
    let reads = 0;
    delete enrichment['node'];
    const counted = Object.defineProperty(enrichment, 'node', { enumerable: true, get: () => (reads++, node) });
    const event = { ...sample, enrichment: deepFreeze(counted) };
    const first = fastBytes(writer, event);
    expect(reads).toBeGreaterThan(0);
    const readsAfterFirst = reads;
    expect(fastBytes(writer, { ...event })).toEqual(first);
    expect(reads).toBe(readsAfterFirst);
  }, 30_000);

  it('the bundled recording and 20,000 generated events (processed, with their alerts): the same bytes as avsc', () => {
    const world = buildWorld({ objects: 2_000, seed: 5 });
    const cache = warmCache(world.objects);
    const input = new Subject<WatchEvent<unknown>>();
    const processing = benchProcessing(input, cache);
    const events: KubeEvent[] = [];
    const alerts: Alert[] = [];
    processing.events$.subscribe((e) => events.push(e));
    processing.alerts$.subscribe((a) => alerts.push(a));
    const stream = new EventStream(world, { events: 20_000, seed: 5 });
    for (let i = 0; i < 20_000; i++) input.next(stream.next()!);
    // the recording's objects into the same cache, its Events through the same processing
    const lines = readFileSync(join(packageRoot(), 'recordings', 'recorded-cluster.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean);
    for (const line of lines) {
      const change = JSON.parse(line) as { type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: KubeObject };
      const rv = change.object.metadata.resourceVersion ?? '';
      if (change.object.kind === 'Event') input.next({ type: change.type, object: change.object, resourceVersion: rv });
      else cache.apply({ type: change.type, object: change.object, resourceVersion: rv });
    }
    input.complete();
    expect(events.length).toBeGreaterThan(20_000);
    expect(alerts.length).toBeGreaterThan(100);
    const eventType = loadSchema('KubeEvent').type;
    const alertType = loadSchema('Alert').type;
    let differ = 0;
    for (const e of events) if (!toAvroBinary(loadSchema('KubeEvent'), e).equals(eventType.toBuffer(e))) differ++;
    for (const a of alerts) if (!toAvroBinary(loadSchema('Alert'), a).equals(alertType.toBuffer(a))) differ++;
    expect(differ).toBe(0);
  }, 60_000);

  it('an invalid record still gives an EncodeError naming the field', () => {
    const type = loadSchema('KubeEvent');
    const value = fc.sample(valueOf(type.type as AnyType), { numRuns: 1, seed: 1 })[0] as Record<string, unknown>;
    expect(() => toAvroBinary(type, { ...value, reason: 42 })).toThrow(EncodeError);
    try {
      toAvroBinary(type, { ...value, reason: 42 });
    } catch (error) {
      expect((error as EncodeError).paths).toContain('reason');
    }
  });
});
