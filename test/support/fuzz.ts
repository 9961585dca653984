/**
 * Fuzzing helpers shared by test/unit/fuzz/: run counts, time bounds, the corpus, mutations of real
 * inputs, and arbitraries derived from a zod schema (through z.toJSONSchema: no maintained
 * zod-4-to-fast-check generator exists on npm; zod-fast-check is for zod 3 and fast-check 3).
 *
 * `npm test` runs each property a few hundred times (a few seconds). The long mode, for a
 * benchmark-style run, sets the runs of every property:
 *
 *   KUBEVENTS_FUZZ_RUNS=20000 npx vitest run --project unit test/unit/fuzz/
 *   KUBEVENTS_FUZZ_SEED=1234 ...   replays a run (fast-check prints the seed of a failure)
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { z } from 'zod';

const LONG_RUNS = Number(process.env['KUBEVENTS_FUZZ_RUNS'] ?? '') || 0;
/** The long mode also tries larger inputs (strings of 200,000 characters, nesting 3,000 deep). */
const LARGE = LONG_RUNS > 0;
const SEED = process.env['KUBEVENTS_FUZZ_SEED'] !== undefined ? Number(process.env['KUBEVENTS_FUZZ_SEED']) : undefined;

/** fast-check parameters: `quick` runs in `npm test`, KUBEVENTS_FUZZ_RUNS in the long mode. */
export function fuzzParameters<T>(quick: number): fc.Parameters<T> {
  return { numRuns: LONG_RUNS || quick, ...(SEED !== undefined && Number.isFinite(SEED) ? { seed: SEED } : {}) };
}

/** The vitest timeout of a property of `quick` runs, scaled in the long mode. */
export function fuzzTimeout(quick: number, quickMs = 30_000): number {
  return LONG_RUNS ? Math.max(quickMs, Math.ceil((quickMs * LONG_RUNS) / quick)) : quickMs;
}

/**
 * Runs `f` and fails when it took longer than `limitMs`: the time bound of one input (a parser
 * cannot be interrupted, so a hang shows as a bound far exceeded, with the input shrunk by
 * fast-check). Bounds are generous: the two CI cores are shared with the test services.
 */
export function bounded<T>(limitMs: number, f: () => T): T {
  // CPU time of this process, not wall time: a parser that hangs burns CPU, while a machine whose
  // cores are busy with the test services (CI, a loaded laptop) stretches wall time threefold
  const start = process.cpuUsage();
  const result = f();
  const used = process.cpuUsage(start);
  const ms = (used.user + used.system) / 1000;
  if (ms > limitMs) throw new Error(`took ${ms.toFixed(0)} ms of CPU, over the bound of ${limitMs} ms for one input`);
  return result;
}

export async function boundedAsync<T>(limitMs: number, f: () => Promise<T>): Promise<T> {
  const start = performance.now();
  const result = await f();
  const ms = performance.now() - start;
  if (ms > limitMs) throw new Error(`took ${ms.toFixed(0)} ms, over the bound of ${limitMs} ms for one input`);
  return result;
}

export const FUZZ_CORPUS = join(import.meta.dirname, '..', 'fixtures', 'fuzz');

/** The interesting inputs kept for a parser: test/fixtures/fuzz/<name>/*, as bytes, by file name. */
export function corpus(name: string): Array<{ file: string; bytes: Buffer }> {
  const dir = join(FUZZ_CORPUS, name);
  let names: string[];
  try {
    names = readdirSync(dir).filter((f) => !f.startsWith('.') && f !== 'README.md');
  } catch {
    return [];
  }
  return names
    .sort()
    .filter((f) => statSync(join(dir, f)).isFile())
    .map((f) => ({ file: f, bytes: readFileSync(join(dir, f)) }));
}

// ---------------------------------------------------------------------------------------------
// mutations of real inputs

/** A value of another type, as YAML / JSON text, for replacing a scalar. */
const WRONG_SCALARS = [
  'null',
  '~',
  '[]',
  '{}',
  '-1',
  '0',
  '1e309',
  '-1e309',
  '9007199254740993',
  '3.5',
  'true',
  '"str"',
  "''",
  '.nan',
  '!!binary aGVsbG8=',
  '*nowhere',
  '&a [*a]',
  '"\\u0000"',
  '"\\ud800"',
  '[[[[[]]]]]',
  '{a: {b: {c: {}}}}',
  '"${env:NOPE}"',
  '"${file:/nonexistent}"',
];

export type Mutation =
  | { op: 'truncate'; at: number }
  | { op: 'delete'; at: number; length: number }
  | { op: 'insert'; at: number; text: string }
  | { op: 'duplicateLine'; line: number }
  | { op: 'swapLines'; a: number; b: number }
  | { op: 'indent'; line: number; by: number }
  | { op: 'huge'; at: number; char: string; length: number }
  | { op: 'nest'; at: number; depth: number; flow: '[' | '{' }
  | { op: 'wrongType'; line: number; value: string }
  | { op: 'weirdChar'; at: number; char: string };

const WEIRD_CHARS = [
  '\u0000',
  '\ufffd',
  '\ufeff',
  '\ud800',
  '\udfff',
  '\u2028',
  '\u202e',
  '\t',
  '\r',
  '\u0085',
  '\u00a0',
  '"',
  "'",
  '\\',
  '#',
  ':',
  '-',
  '&',
  '*',
  '!',
  '|',
  '>',
  '%',
  '@',
  '`',
];

/** Mutations of text inputs: truncation, deletion, insertion, duplicate keys (lines), indentation, huge strings, deep nesting, values of the wrong type, odd characters. */
export function mutationArb(options: { maxHuge?: number; maxDepth?: number } = {}): fc.Arbitrary<Mutation> {
  const at = fc.double({ min: 0, max: 1, noNaN: true });
  const pos = fc.nat(10_000);
  return fc.oneof(
    at.map((a) => ({ op: 'truncate', at: a }) as Mutation),
    fc.record({ at, length: fc.integer({ min: 1, max: 40 }) }).map((r) => ({ op: 'delete', ...r }) as Mutation),
    fc
      .record({ at, text: fc.oneof(fc.string({ maxLength: 20 }), fc.string({ unit: 'binary', maxLength: 20 }), fc.constantFrom(...WRONG_SCALARS)) })
      .map((r) => ({ op: 'insert', ...r }) as Mutation),
    pos.map((line) => ({ op: 'duplicateLine', line }) as Mutation),
    fc.record({ a: pos, b: pos }).map((r) => ({ op: 'swapLines', ...r }) as Mutation),
    fc.record({ line: pos, by: fc.integer({ min: -4, max: 4 }) }).map((r) => ({ op: 'indent', ...r }) as Mutation),
    fc
      .record({
        at,
        char: fc.constantFrom('x', 'é', '字', '😀', ' ', '"'),
        length: fc.integer({ min: 1_000, max: options.maxHuge ?? (LARGE ? 200_000 : 20_000) }),
      })
      .map((r) => ({ op: 'huge', ...r }) as Mutation),
    fc
      .record({ at, depth: fc.integer({ min: 10, max: options.maxDepth ?? (LARGE ? 3_000 : 1_200) }), flow: fc.constantFrom('[' as const, '{' as const) })
      .map((r) => ({ op: 'nest', ...r }) as Mutation),
    fc.record({ line: pos, value: fc.constantFrom(...WRONG_SCALARS) }).map((r) => ({ op: 'wrongType', ...r }) as Mutation),
    fc.record({ at, char: fc.constantFrom(...WEIRD_CHARS) }).map((r) => ({ op: 'weirdChar', ...r }) as Mutation),
  );
}

function offset(text: string, at: number): number {
  return Math.min(text.length, Math.floor(at * text.length));
}

export function applyMutation(text: string, m: Mutation): string {
  const lines = (): string[] => text.split('\n');
  switch (m.op) {
    case 'truncate':
      return text.slice(0, offset(text, m.at));
    case 'delete': {
      const i = offset(text, m.at);
      return text.slice(0, i) + text.slice(i + m.length);
    }
    case 'insert': {
      const i = offset(text, m.at);
      return text.slice(0, i) + m.text + text.slice(i);
    }
    case 'weirdChar': {
      const i = offset(text, m.at);
      return text.slice(0, i) + m.char + text.slice(i);
    }
    case 'duplicateLine': {
      const ls = lines();
      const i = m.line % ls.length;
      ls.splice(i, 0, ls[i]!);
      return ls.join('\n');
    }
    case 'swapLines': {
      const ls = lines();
      const a = m.a % ls.length;
      const b = m.b % ls.length;
      [ls[a], ls[b]] = [ls[b]!, ls[a]!];
      return ls.join('\n');
    }
    case 'indent': {
      const ls = lines();
      const i = m.line % ls.length;
      ls[i] = m.by >= 0 ? ' '.repeat(m.by) + ls[i] : ls[i]!.replace(new RegExp(`^ {0,${-m.by}}`), '');
      return ls.join('\n');
    }
    case 'huge': {
      const i = offset(text, m.at);
      return text.slice(0, i) + m.char.repeat(m.length) + text.slice(i);
    }
    case 'nest': {
      const i = offset(text, m.at);
      const open = m.flow === '[' ? '[' : '{a: ';
      const close = m.flow === '[' ? ']' : '}';
      return text.slice(0, i) + open.repeat(m.depth) + close.repeat(m.depth) + text.slice(i);
    }
    case 'wrongType': {
      const ls = lines();
      const i = m.line % ls.length;
      const colon = ls[i]!.indexOf(': ');
      ls[i] = colon >= 0 ? `${ls[i]!.slice(0, colon + 2)}${m.value}` : ls[i]!.replace(/^(\s*- ).*$/, `$1${m.value}`);
      return ls.join('\n');
    }
  }
}

/** A seed text with one to four mutations applied. */
export function mutatedText(seeds: readonly string[], options?: { maxHuge?: number; maxDepth?: number }): fc.Arbitrary<string> {
  return fc
    .record({ seed: fc.nat(seeds.length - 1), mutations: fc.array(mutationArb(options), { minLength: 1, maxLength: 4 }) })
    .map(({ seed, mutations }) => mutations.reduce(applyMutation, seeds[seed]!));
}

/** Bytes: a seed with bytes flipped, inserted, cut, or invalid UTF-8 sequences spliced in. */
export function mutatedBytes(seeds: readonly Buffer[]): fc.Arbitrary<Buffer> {
  const edit = fc.oneof(
    fc.record({ op: fc.constant('flip' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 16 }) }),
    fc.record({ op: fc.constant('cut' as const), at: fc.nat() }),
    fc.record({
      op: fc.constant('badUtf8' as const),
      at: fc.nat(),
      bytes: fc.constantFrom([0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf8, 0x88, 0x80, 0x80, 0x80], [0x80]),
    }),
  );
  return fc.record({ seed: fc.nat(seeds.length - 1), edits: fc.array(edit, { minLength: 1, maxLength: 6 }) }).map(({ seed, edits }) => {
    let b = Buffer.from(seeds[seed]!);
    for (const e of edits) {
      const i = b.length === 0 ? 0 : e.at % (b.length + 1);
      if (e.op === 'flip' && b.length > 0) b[i % b.length] = e.byte;
      else if (e.op === 'insert') b = Buffer.concat([b.subarray(0, i), Buffer.from(e.bytes), b.subarray(i)]);
      else if (e.op === 'cut') b = b.subarray(0, i);
      else if (e.op === 'badUtf8') b = Buffer.concat([b.subarray(0, i), Buffer.from(e.bytes), b.subarray(i)]);
    }
    return b;
  });
}

// ---------------------------------------------------------------------------------------------
// arbitraries from a zod schema

type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  propertyNames?: JsonSchema;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
  default?: unknown;
};

/** Durations as written in the files: `500ms`, `30s`, `1h30m`, some at the edges (`0s`, 40 digits). */
export const durationArb: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(fc.integer({ min: 0, max: 100_000 }), fc.constantFrom('ms', 's', 'm', 'h', 'd')).map(([n, u]) => `${n}${u}`),
  fc.tuple(fc.integer({ min: 1, max: 23 }), fc.integer({ min: 1, max: 59 })).map(([h, m]) => `${h}h${m}m`),
  fc.constantFrom('0s', '0ms', '1ms', '99999999999999999999d', '9'.repeat(40) + 'ms', '1d1h1m1s1ms'),
);

/** Any YAML-representable value, for the places a schema leaves open (and for wrong values). */
export const anyJson: fc.Arbitrary<unknown> = fc.jsonValue({ maxDepth: 3 });

/**
 * Values of a zod schema's input: z.toJSONSchema (io input), then an arbitrary per JSON Schema
 * keyword (objects with their required and some optional properties, strings from their pattern,
 * numbers within their bounds, unions, recursive $refs cut at `maxDepth`). With `wrong` > 0, that
 * share of the values anywhere in the tree are of any type instead, to exercise the errors.
 */
export function arbitraryFromZod(schema: z.ZodType, options: { wrong?: number; maxDepth?: number } = {}): fc.Arbitrary<unknown> {
  const root = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const defs = root.$defs ?? {};
  const wrongPercent = Math.round((options.wrong ?? 0) * 100);
  const maxDepth = options.maxDepth ?? 4;

  const build = (s: JsonSchema, depth: number): fc.Arbitrary<unknown> => {
    const exact = exactFor(s, depth);
    if (wrongPercent === 0) return exact;
    return fc.oneof({ weight: 100 - wrongPercent, arbitrary: exact }, { weight: wrongPercent, arbitrary: anyJson });
  };

  const exactFor = (s: JsonSchema, depth: number): fc.Arbitrary<unknown> => {
    if (s.$ref) {
      const name = s.$ref.replace(/^#\/\$defs\//, '');
      const target = s.$ref === '#' ? root : defs[name];
      if (!target) return anyJson;
      return depth >= maxDepth ? fc.constant({}) : fc.constant(null).chain(() => build(target, depth + 1));
    }
    if (s.const !== undefined) return fc.constant(s.const);
    if (s.enum) return fc.constantFrom(...s.enum);
    const union = s.anyOf ?? s.oneOf;
    if (union && union.length > 0) return fc.oneof(...union.map((u) => build(u, depth)));
    if (s.allOf && s.allOf.length > 0) return build(s.allOf[0]!, depth);
    const type = Array.isArray(s.type) ? s.type[0] : s.type;
    switch (type) {
      case 'object': {
        const props = s.properties ?? {};
        const required = new Set(s.required ?? []);
        const shape: Record<string, fc.Arbitrary<unknown>> = {};
        for (const [k, v] of Object.entries(props)) shape[k] = build(v, depth + 1);
        if (Object.keys(props).length === 0) {
          const valueSchema = typeof s.additionalProperties === 'object' ? s.additionalProperties : {};
          const keys = s.propertyNames ? (build(s.propertyNames, depth + 1) as fc.Arbitrary<string>) : fc.string({ minLength: 1, maxLength: 8 });
          return fc.dictionary(
            keys.filter((k) => typeof k === 'string'),
            build(valueSchema, depth + 1),
            { maxKeys: 3 },
          );
        }
        return fc.record(shape, { requiredKeys: [...required].filter((k) => k in shape) });
      }
      case 'array': {
        const min = s.minItems ?? 0;
        return fc.array(s.items ? build(s.items, depth + 1) : anyJson, { minLength: min, maxLength: Math.min(s.maxItems ?? min + 3, min + 3) });
      }
      case 'string': {
        if (s.pattern) {
          // durations: fast-check cannot generate from their pattern's lookaheads
          if (s.pattern.includes('(\\d+)ms')) return durationArb;
          try {
            return fc.stringMatching(new RegExp(s.pattern)).filter((v) => v.length >= (s.minLength ?? 0) && v.length <= (s.maxLength ?? Infinity));
          } catch {
            return fc.string();
          }
        }
        return fc.string({ minLength: s.minLength ?? 0, maxLength: Math.max(s.minLength ?? 0, Math.min(s.maxLength ?? 20, 40)) });
      }
      case 'integer':
        return fc.integer({
          min: Math.max(-1e9, s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + 1 : -1e6)),
          max: Math.min(1e9, s.maximum ?? (s.exclusiveMaximum !== undefined ? s.exclusiveMaximum - 1 : 1e6)),
        });
      case 'number':
        return fc.double({
          min: s.minimum ?? s.exclusiveMinimum ?? -1e6,
          max: s.maximum ?? s.exclusiveMaximum ?? 1e6,
          noNaN: true,
          noDefaultInfinity: true,
        });
      case 'boolean':
        return fc.boolean();
      case 'null':
        return fc.constant(null);
      default:
        return anyJson;
    }
  };
  return build(root, 0);
}
