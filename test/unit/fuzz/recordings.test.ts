/**
 * Fuzzing of the recording parser (src/sources/recording-format.ts, what `kubevents run --source
 * replay:FILE` reads) and of what the replay does with its records (event-time order, Event
 * normalization into occurrences or dead letters).
 *
 * Inputs: real recordings (every capture of test/fixtures/replay-formats/, the bundled
 * recording's first lines, the kubectl snapshot, and the corpus of test/fixtures/fuzz/recordings/)
 * mutated as bytes (cut, cut out, spliced, random and invalid UTF-8 bytes, NUL, huge strings, deep
 * nesting) and as JSON (values of the wrong type, duplicate keys, lines swapped, joined, CRLF),
 * plus random bytes and random text. Properties, per input: no exception, within a time bound;
 * every entry becomes a record, a counted skip with file:line and a reason (malformed, BOOKMARK,
 * watch ERROR), or the one reason the file is not a recording; reports are short and capped;
 * every record normalizes to an occurrence or a dead letter with a reason. Valid recordings
 * round-trip in every format (JSON Lines as `kubevents record` writes it, pretty JSON, YAML, a List).
 *
 *   npx vitest run --project unit test/unit/fuzz/recordings.test.ts             a few seconds (npm test)
 *   KUBEVENTS_FUZZ_RUNS=20000 npx vitest run --project unit test/unit/fuzz/recordings.test.ts
 *   KUBEVENTS_FUZZ_SEED=1234 ...    replays a run (fast-check prints the seed of a failure)
 *
 * An input that once failed is kept in test/fixtures/fuzz/recordings/ and runs on every `npm test`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { from, lastValueFrom, toArray } from 'rxjs';
import { stringify as toYaml } from 'yaml';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { eventOccurrences } from '../../../src/sources/event-source.js';
import {
  MALFORMED_TEXT_MAX,
  REPORTS_KEPT,
  nothingToReplay,
  parseRecording,
  parseRecordingBytes,
  recordingLine,
  type ParsedRecording,
} from '../../../src/sources/recording-format.js';
import { orderForReplay } from '../../../src/sources/replay-order.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const LONG_RUNS = Number(process.env['KUBEVENTS_FUZZ_RUNS'] ?? '') || 0;
const SEED = process.env['KUBEVENTS_FUZZ_SEED'] !== undefined ? Number(process.env['KUBEVENTS_FUZZ_SEED']) : undefined;

/** fast-check settings: `runs` in npm test (stopped after `seconds` whatever the count), KUBEVENTS_FUZZ_RUNS in a long run. */
function parameters(runs: number, seconds: number): fc.Parameters<unknown> {
  return {
    numRuns: LONG_RUNS || runs,
    ...(LONG_RUNS ? {} : { interruptAfterTimeLimit: seconds * 1000, markInterruptAsFailure: false }),
    ...(SEED !== undefined ? { seed: SEED } : {}),
  };
}

/** The longest one parse may take, for inputs up to a few MiB (shared CI cores included). */
const TIME_BOUND_MS = 5_000;

const encoder = new TextEncoder();
const read = (...path: string[]): Uint8Array => readFileSync(join(ROOT, ...path));

const FORMATS_DIR = join('test', 'fixtures', 'replay-formats');
const CORPUS_DIR = join('test', 'fixtures', 'fuzz', 'recordings');
const SEEDS: Array<{ name: string; bytes: Uint8Array }> = [
  ...readdirSync(join(ROOT, FORMATS_DIR))
    .filter((f) => !f.endsWith('.md'))
    .map((f) => ({ name: f, bytes: read(FORMATS_DIR, f) })),
  {
    name: 'recorded-cluster.jsonl (150 lines)',
    bytes: encoder.encode(
      readFileSync(join(ROOT, 'recordings', 'recorded-cluster.jsonl'), 'utf8')
        .split('\n')
        .slice(0, 150)
        .join('\n'),
    ),
  },
  { name: 'kubectl-get-events.json', bytes: read('test', 'fixtures', 'kubectl-get-events.json') },
];
const CORPUS = readdirSync(join(ROOT, CORPUS_DIR))
  .filter((f) => !f.endsWith('.md'))
  .map((f) => ({ name: f, bytes: read(CORPUS_DIR, f) }));

// ------------------------------------------------------------------ mutations

type Mutation =
  | { op: 'truncate'; at: number }
  | { op: 'cut-out'; at: number; length: number }
  | { op: 'splice'; from: number; length: number; to: number }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'overwrite'; at: number; bytes: Uint8Array }
  | { op: 'huge-string'; at: number; size: number; char: string }
  | { op: 'nest'; at: number; depth: number; open: string }
  | { op: 'json-value'; line: number; pick: number; value: unknown }
  | { op: 'duplicate-key'; line: number; value: unknown }
  | { op: 'lines'; how: 'swap' | 'duplicate' | 'join' | 'crlf' | 'cr'; a: number; b: number };

const position = fc.nat({ max: 1 << 30 });
const anyBytes = fc.uint8Array({ minLength: 1, maxLength: 64 });
const invalidUtf8 = fc.uint8Array({ minLength: 1, maxLength: 8 }).map((b) => b.map((x) => 0x80 | x));
const wrongValue = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 2 ** 53 + 1, 1e308, '', 'ADDED', 'Normal', '2026-13-45T99:99:99Z', [], {}),
  fc.jsonValue({ maxDepth: 4 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
);

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('truncate' as const), at: position }),
  fc.record({ op: fc.constant('cut-out' as const), at: position, length: fc.nat({ max: 5_000 }) }),
  fc.record({ op: fc.constant('splice' as const), from: position, length: fc.nat({ max: 5_000 }), to: position }),
  fc.record({ op: fc.constant('insert' as const), at: position, bytes: fc.oneof(anyBytes, invalidUtf8, fc.constant(Uint8Array.of(0))) }),
  fc.record({ op: fc.constant('overwrite' as const), at: position, bytes: fc.oneof(anyBytes, invalidUtf8) }),
  fc.record({
    op: fc.constant('huge-string' as const),
    at: position,
    size: fc.integer({ min: 10_000, max: 2_000_000 }),
    char: fc.constantFrom('x', 'é', '\\"', '\\u0000', '"', '{', '\\'),
  }),
  fc.record({
    op: fc.constant('nest' as const),
    at: position,
    depth: fc.integer({ min: 50, max: 100_000 }),
    open: fc.constantFrom('[', '{"a":', '- ', '  ', 'a: '),
  }),
  fc.record({ op: fc.constant('json-value' as const), line: position, pick: fc.nat(), value: wrongValue }),
  fc.record({ op: fc.constant('duplicate-key' as const), line: position, value: wrongValue }),
  fc.record({ op: fc.constant('lines' as const), how: fc.constantFrom('swap', 'duplicate', 'join', 'crlf', 'cr'), a: position, b: position }),
);

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The paths of every value in a JSON value (objects and arrays included), depth first. */
function paths(value: unknown, prefix: Array<string | number> = [], out: Array<Array<string | number>> = []): Array<Array<string | number>> {
  out.push(prefix);
  if (Array.isArray(value)) value.forEach((v, i) => paths(v, [...prefix, i], out));
  else if (typeof value === 'object' && value !== null) for (const [k, v] of Object.entries(value)) paths(v, [...prefix, k], out);
  return out;
}

function setPath(root: unknown, path: Array<string | number>, value: unknown): unknown {
  if (path.length === 0) return value;
  let node = root as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  node[path[path.length - 1] as string | number] = value;
  return root;
}

/** Applies a mutation to `bytes`; JSON-aware ones work on a line that is JSON (else nothing changes). */
function mutate(bytes: Uint8Array, m: Mutation): Uint8Array {
  const n = bytes.length;
  const at = (p: number): number => (n === 0 ? 0 : p % (n + 1));
  switch (m.op) {
    case 'truncate':
      return bytes.subarray(0, at(m.at));
    case 'cut-out': {
      const start = at(m.at);
      return concat(bytes.subarray(0, start), bytes.subarray(Math.min(n, start + m.length)));
    }
    case 'splice': {
      const from = at(m.from);
      const piece = bytes.subarray(from, Math.min(n, from + m.length));
      const to = at(m.to);
      return concat(bytes.subarray(0, to), piece, bytes.subarray(to));
    }
    case 'insert': {
      const i = at(m.at);
      return concat(bytes.subarray(0, i), m.bytes, bytes.subarray(i));
    }
    case 'overwrite': {
      const copy = Uint8Array.from(bytes);
      const i = at(m.at);
      copy.set(m.bytes.subarray(0, Math.max(0, n - i)), Math.min(i, n));
      return copy;
    }
    case 'huge-string': {
      const i = at(m.at);
      return concat(bytes.subarray(0, i), encoder.encode(m.char.repeat(Math.ceil(m.size / m.char.length))), bytes.subarray(i));
    }
    case 'nest': {
      const i = at(m.at);
      return concat(bytes.subarray(0, i), encoder.encode(m.open.repeat(m.depth)), bytes.subarray(i));
    }
    case 'json-value':
    case 'duplicate-key': {
      const lines = new TextDecoder().decode(bytes).split('\n');
      const index = m.line % lines.length;
      let value: unknown;
      try {
        value = JSON.parse(lines[index] ?? '');
      } catch {
        return bytes;
      }
      if (m.op === 'json-value') {
        const all = paths(value);
        const path = all[m.pick % all.length] ?? [];
        lines[index] = JSON.stringify(setPath(value, path, m.value));
      } else {
        // the same key twice: JSON.parse keeps the last one
        const text = lines[index] ?? '';
        const brace = text.indexOf('{');
        if (brace < 0) return bytes;
        const key = text.slice(brace + 1).match(/^"([^"\\]*)"/)?.[1] ?? 'type';
        lines[index] = `${text.slice(0, brace + 1)}${JSON.stringify(key)}:${JSON.stringify(m.value) ?? 'null'},${text.slice(brace + 1)}`;
      }
      return encoder.encode(lines.join('\n'));
    }
    case 'lines': {
      const lines = new TextDecoder().decode(bytes).split('\n');
      const a = m.a % lines.length;
      const b = m.b % lines.length;
      if (m.how === 'swap') [lines[a], lines[b]] = [lines[b] ?? '', lines[a] ?? ''];
      else if (m.how === 'duplicate') lines.splice(b, 0, lines[a] ?? '');
      else if (m.how === 'join' && a + 1 < lines.length) lines.splice(a, 2, `${lines[a]}${lines[a + 1]}`);
      else if (m.how === 'crlf') return encoder.encode(lines.join('\r\n'));
      else if (m.how === 'cr') return encoder.encode(lines.join('\r'));
      return encoder.encode(lines.join('\n'));
    }
  }
}

// ------------------------------------------------------------------ the properties

const FORMATS = new Set(['jsonl', 'json-stream', 'list', 'yaml', 'text', 'empty', 'binary']);
const CHANGES = new Set(['ADDED', 'MODIFIED', 'DELETED']);

/** Parses `bytes` as the replay does and checks everything the parser promises; returns the parse. */
async function expectSound(bytes: Uint8Array, name = 'fuzz.jsonl'): Promise<ParsedRecording> {
  const started = performance.now();
  const parsed = parseRecordingBytes(bytes, name);
  const elapsed = performance.now() - started;
  expect(elapsed, `parsing ${bytes.length} bytes took ${Math.round(elapsed)} ms`).toBeLessThan(TIME_BOUND_MS);

  expect(FORMATS.has(parsed.format)).toBe(true);
  const maxLine = parsed.lines + 1;
  // reports: positioned, short, capped
  expect(parsed.malformed.length).toBeLessThanOrEqual(REPORTS_KEPT);
  expect(parsed.watchErrors.length).toBeLessThanOrEqual(REPORTS_KEPT);
  expect(parsed.malformedCount).toBeGreaterThanOrEqual(parsed.malformed.length);
  expect(parsed.watchErrorCount).toBeGreaterThanOrEqual(parsed.watchErrors.length);
  for (const m of parsed.malformed) {
    if (
      m.file !== name ||
      !Number.isInteger(m.line) ||
      m.line < 1 ||
      m.line > maxLine ||
      m.reason.length === 0 ||
      m.reason.length > 2_000 ||
      m.text.length > MALFORMED_TEXT_MAX + 1
    ) {
      expect.fail(`a bad report: ${m.file}:${m.line} (${parsed.lines} lines): ${m.reason.slice(0, 200)} [${m.reason.length} chars, text ${m.text.length}]`);
    }
  }
  for (const e of parsed.watchErrors) {
    if (e.line < 1 || e.line > maxLine || e.message.length > 1_000) expect.fail(`a bad watch error report: ${e.line}: ${e.message.slice(0, 200)}`);
  }
  // records: well-formed and positioned
  for (const r of parsed.records) {
    const object = r.event.object;
    if (
      typeof r.resource !== 'string' ||
      r.resource === '' ||
      typeof r.apiVersion !== 'string' ||
      typeof r.kind !== 'string' ||
      !CHANGES.has(r.event.type) ||
      typeof object !== 'object' ||
      object === null ||
      Array.isArray(object) ||
      r.source.line < 1 ||
      r.source.line > maxLine ||
      (r.observedAt !== null && !Number.isFinite(r.observedAt))
    ) {
      expect.fail(`a bad record at line ${r.source.line}: ${JSON.stringify({ ...r, event: { type: r.event.type } }).slice(0, 300)}`);
    }
  }
  // every entry is accounted for: a record, a counted skip, or the reason there is nothing to replay
  const text = new TextDecoder().decode(bytes).trim();
  const accounted = parsed.records.length + parsed.malformedCount + parsed.bookmarks + parsed.watchErrorCount;
  if (text.length > 0 && parsed.format !== 'binary' && parsed.format !== 'empty') {
    if (accounted === 0) expect(nothingToReplay(parsed), 'an input that is neither replayed nor reported').not.toBeNull();
  }
  const nothing = nothingToReplay(parsed, { requireEvents: true });
  if (nothing !== null) expect(nothing.length).toBeLessThan(3_000);

  // what the replay does next: event-time order, occurrences or dead letters with a reason
  const events = orderForReplay(parsed.records)
    .map((o) => o.record)
    .filter((r) => r.resource === 'events')
    .map((r) => r.event);
  const items = await lastValueFrom(from(events).pipe(eventOccurrences({ cluster: 'fuzz' }), toArray()));
  for (const item of items) {
    if (item.type === 'DEAD_LETTER') expect(item.deadLetter.reason.length).toBeGreaterThan(0);
    else expect(item.type).toBe('EVENT');
  }
  return parsed;
}

describe('the recording parser under fuzzing', () => {
  it('real recordings, mutated as bytes and as JSON: no exception, a time bound, every entry a record or a positioned report', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...SEEDS), fc.array(mutation, { minLength: 1, maxLength: 4 }), async (seed, mutations) => {
        const bytes = mutations.reduce((b, m) => mutate(b, m), seed.bytes);
        await expectSound(bytes);
      }),
      parameters(100, 4),
    );
  }, 120_000);

  it('random bytes and random text', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 20_000 }),
          fc.string({ unit: 'binary', maxLength: 5_000 }).map((s) => encoder.encode(s)),
          fc.array(fc.jsonValue({ maxDepth: 5 }), { maxLength: 20 }).map((values) => encoder.encode(values.map((v) => JSON.stringify(v)).join('\n'))),
        ),
        async (bytes) => {
          await expectSound(bytes);
        },
      ),
      parameters(150, 3),
    );
  }, 120_000);

  it('the corpus of inputs that once failed (test/fixtures/fuzz/recordings/)', async () => {
    expect(CORPUS.length).toBeGreaterThan(0);
    for (const input of CORPUS) await expectSound(input.bytes, input.name);
  });

  it('shapes that were slow or crashed: each in linear time, within the bound', async () => {
    const pod = JSON.stringify({ type: 'ADDED', object: { kind: 'Pod', apiVersion: 'v1', metadata: { name: 'a' } } });
    const shapes: Array<[string, string]> = [
      // YAML nested 100,000 flow levels deep: the YAML library's recursion overflowed the stack, and once took the process down
      ['a YAML document nested 100,000 levels', `apiVersion: v1\nkind: Event\nmetadata: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`],
      [
        'a YAML document indented 5,000 levels',
        `apiVersion: v1\nkind: Event\nmetadata:\n${Array.from({ length: 5_000 }, (_, i) => `${' '.repeat(i + 1)}- x:`).join('\n')}`,
      ],
      // the YAML library's duplicate-key check is quadratic: 20,000 keys took 9 s
      ['a YAML object of 20,000 keys', `apiVersion: v1\nkind: Event\nmetadata:\n${Array.from({ length: 20_000 }, (_, i) => `  k${i}: v`).join('\n')}`],
      ['100,000 lines that each open an object', `${pod}\n${'{\n'.repeat(100_000)}`],
      ['100,000 lines that each open a string', `${pod}\n${'{"\n'.repeat(100_000)}`],
      ['one line of 200,000 objects', `${pod}\n${'{}'.repeat(200_000)}`],
      ['a List of 200,000 numbers on one line', `${pod}\n${JSON.stringify({ kind: 'List', items: Array(200_000).fill(1) })}`],
      ['JSON nested 1,000,000 levels', `${pod}\n${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}`],
    ];
    for (const [what, text] of shapes) {
      const started = performance.now();
      await expectSound(encoder.encode(text), what);
      expect(performance.now() - started, what).toBeLessThan(TIME_BOUND_MS);
    }
  }, 120_000);

  it('bounded memory: 300,000 one-item lines, ten million line breaks and a 16 MB string keep their reports capped', async () => {
    const manyItems = encoder.encode(
      `${JSON.stringify({ type: 'ADDED', object: { kind: 'Pod', apiVersion: 'v1', metadata: { name: 'a' } } })}\n${'[1]\n'.repeat(300_000)}`,
    );
    const items = await expectSound(manyItems);
    expect(items.malformedCount).toBe(300_000);
    expect(items.malformed).toHaveLength(REPORTS_KEPT);
    const breaks = parseRecording('\n'.repeat(10_000_000), 'breaks');
    expect(breaks.format).toBe('empty');
    const before = process.memoryUsage().heapUsed;
    const huge = parseRecording(`{"type":"ADDED","object":{"kind":"Pod","apiVersion":"v1","metadata":{"name":"${'x'.repeat(16 * 1024 * 1024)}`, 'huge');
    expect(huge.malformed[0]?.text.length).toBeLessThanOrEqual(MALFORMED_TEXT_MAX + 1);
    // the report holds a cut copy, not the 32 MB (UTF-16) string
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(200 * 1024 * 1024);
  }, 120_000);
});

// ------------------------------------------------------------------ round trips

/** Objects as the API serves them, from the captures: Events of both APIs, Pods, workloads, Nodes. */
const OBJECTS: Array<Record<string, unknown>> = [
  ...(JSON.parse(readFileSync(join(ROOT, FORMATS_DIR, 'kubectl-get-workloads-pods-events-o-json.json'), 'utf8')) as { items: Array<Record<string, unknown>> })
    .items,
  ...readFileSync(join(ROOT, FORMATS_DIR, 'raw-watch-events.k8s.io-v1.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { type: string; object: Record<string, unknown> }).object)
    .filter((o) => o['kind'] === 'Event' && (o['metadata'] as { name?: string }).name !== undefined),
];

/** A valid recording: API objects with text anywhere in their labels and messages, changes and times. */
const recordingArb = fc.array(
  fc.record({
    object: fc.constantFrom(...OBJECTS),
    type: fc.constantFrom('ADDED' as const, 'MODIFIED' as const, 'DELETED' as const),
    label: fc.string({ unit: 'binary', maxLength: 30 }),
    message: fc.string({ unit: 'grapheme', maxLength: 60 }),
    observedAt: fc.integer({ min: Date.parse('2000-01-01T00:00:00Z'), max: Date.parse('2100-01-01T00:00:00Z') }),
  }),
  { minLength: 1, maxLength: 25 },
);

type Generated = Array<{ type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: Record<string, unknown>; observedAt: number }>;

function build(
  draws: Array<{ object: Record<string, unknown>; type: 'ADDED' | 'MODIFIED' | 'DELETED'; label: string; message: string; observedAt: number }>,
): Generated {
  return draws.map((d, i) => {
    const object = structuredClone(d.object);
    const metadata = object['metadata'] as { labels?: Record<string, string>; uid: string; name: string };
    metadata.labels = { ...metadata.labels, 'fuzz/label': d.label };
    // a distinct uid per entry: bare objects take ADDED or MODIFIED from the order of their uids
    metadata.uid = `${metadata.uid}-${i}`;
    if ('message' in object) object['message'] = d.message;
    if ('note' in object) object['note'] = d.message;
    return { type: d.type, object, observedAt: d.observedAt };
  });
}

describe('valid recordings round-trip', () => {
  it('JSON Lines as `kubevents record` writes them: every change, object and observedAt back, in file order', async () => {
    await fc.assert(
      fc.asyncProperty(recordingArb, async (draws) => {
        const changes = build(draws);
        const text = `${changes.map((c) => recordingLine(c.type, c.object, c.observedAt)).join('\n')}\n`;
        const parsed = await expectSound(encoder.encode(text), 'rec.jsonl');
        expect(parsed.format).toBe('jsonl');
        expect(parsed.malformed).toEqual([]);
        expect(parsed.records.map((r) => ({ type: r.event.type, object: r.event.object, observedAt: r.observedAt }))).toEqual(changes);
        expect(parsed.records.map((r) => r.source.line)).toEqual(changes.map((_, i) => i + 1));
      }),
      parameters(60, 3),
    );
  }, 120_000);

  it('the same objects as kubectl prints them (pretty JSON one after the other, YAML documents, a List) give the same objects', async () => {
    await fc.assert(
      fc.asyncProperty(recordingArb, async (draws) => {
        const objects = build(draws).map((c) => c.object);
        const pretty = objects.map((o) => JSON.stringify(o, null, 4)).join('\n');
        const yaml = objects.map((o) => toYaml(o)).join('---\n');
        const list = JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects, metadata: { resourceVersion: '' } }, null, 4);
        for (const [name, text, format] of [
          ['pretty.json', pretty, objects.length === 1 ? 'json-stream' : 'json-stream'],
          ['docs.yaml', yaml, 'yaml'],
          ['list.json', list, 'list'],
        ] as const) {
          const parsed = await expectSound(encoder.encode(text), name);
          expect(parsed.format, name).toBe(format);
          expect(parsed.malformed, name).toEqual([]);
          expect(
            parsed.records.map((r) => r.event.object),
            name,
          ).toEqual(objects);
          expect(parsed.records.every((r) => r.event.type === 'ADDED')).toBe(true);
        }
      }),
      parameters(40, 4),
    );
  }, 120_000);
});
