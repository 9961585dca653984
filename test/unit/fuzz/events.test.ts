/**
 * Fuzzing of Event normalization (src/model/normalize.ts) and of the occurrence check that turns
 * Event changes into occurrences or dead letters (src/sources/event-source.ts): every field null,
 * missing or of the wrong type; counts negative, fractional, beyond int32 and beyond 2^53;
 * resourceVersions that are not integers. Properties: normalizeEvent returns a KubeEvent that
 * encodes in Avro (KubeEvent.avsc) and decodes back equal, or throws a NormalizeError, nothing else;
 * through the occurrence check every change is an EVENT or a DEAD_LETTER with a reason whose
 * DeadLetter record encodes; resourceVersions compare consistently in bounded time.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { from, lastValueFrom, toArray } from 'rxjs';
import { toAvroBinary } from '../../../src/avro/encodings.js';
import { loadSchema } from '../../../src/avro/schemas.js';
import type { ChangeType } from '../../../src/model/kube-event.js';
import { NormalizeError, normalizeEvent } from '../../../src/model/normalize.js';
import { deadLetterOf } from '../../../src/model/records.js';
import type { WatchEvent } from '../../../src/model/watch-event.js';
import { eventOccurrences } from '../../../src/sources/event-source.js';
import { compareResourceVersions, laterResourceVersion } from '../../../src/sources/resource-version.js';
import { bounded, corpus, fuzzParameters, fuzzTimeout } from '../../support/fuzz.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const KUBE_EVENT = loadSchema('KubeEvent');
const DEAD_LETTER = loadSchema('DeadLetter');

/** The Events of the bundled recording (core/v1 and events.k8s.io/v1), the seeds. */
const SEEDS: Array<Record<string, unknown>> = readFileSync(join(ROOT, 'recordings', 'recorded-cluster.jsonl'), 'utf8')
  .split('\n')
  .filter((l) => l.includes('"kind":"Event"'))
  .slice(0, 60)
  .map((l) => (JSON.parse(l) as { object: Record<string, unknown> }).object);

const wrongValue = fc.oneof(
  fc.constant(null),
  fc.constant(undefined),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.string({ maxLength: 10 }),
  fc.constant([]),
  fc.constant({}),
  fc.constantFrom('', '\ud800', 'not a time', '2025-13-45T99:99:99Z', '+275760-09-13T00:00:00.001Z', '1e999'),
);
const countValue = fc.oneof(
  fc.constantFrom(-1, 0, -0, 1.5, 2 ** 31 - 1, 2 ** 31, 2 ** 53, 2 ** 53 + 2, 1e308, -1e308, Number.MAX_VALUE, '5', null),
  fc.integer(),
  fc.double({ noNaN: true }),
);
const rvValue = fc.oneof(
  fc.constantFrom('', '0', '007', 'abc', '1e5', '-1', ' 12', '12 ', '١٢', '9'.repeat(40), '9'.repeat(10_000), 5, null, {}),
  fc.nat().map(String),
  fc.string({ maxLength: 12 }),
);

/** A path in an Event object and what to put there (or to delete). */
const FIELDS = [
  ['metadata'],
  ['metadata', 'uid'],
  ['metadata', 'name'],
  ['metadata', 'namespace'],
  ['metadata', 'resourceVersion'],
  ['metadata', 'creationTimestamp'],
  ['involvedObject'],
  ['involvedObject', 'kind'],
  ['involvedObject', 'name'],
  ['regarding'],
  ['regarding', 'name'],
  ['reason'],
  ['message'],
  ['note'],
  ['type'],
  ['count'],
  ['deprecatedCount'],
  ['series'],
  ['series', 'count'],
  ['series', 'lastObservedTime'],
  ['eventTime'],
  ['firstTimestamp'],
  ['lastTimestamp'],
  ['deprecatedLastTimestamp'],
  ['source'],
  ['source', 'component'],
  ['reportingComponent'],
  ['reportingController'],
  ['related'],
  ['apiVersion'],
] as const;

type Edit = { path: readonly string[]; value: unknown; remove: boolean };

const editArb: fc.Arbitrary<Edit> = fc.record({
  path: fc.constantFrom(...FIELDS),
  value: fc.oneof(wrongValue, countValue, rvValue),
  remove: fc.boolean(),
});

function applyEdit(obj: Record<string, unknown>, e: Edit): void {
  let node: Record<string, unknown> = obj;
  for (const key of e.path.slice(0, -1)) {
    const next = node[key];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) {
      if (e.remove) return;
      node[key] = {};
    }
    node = node[key] as Record<string, unknown>;
  }
  const last = e.path[e.path.length - 1]!;
  if (e.remove) delete node[last];
  else node[last] = e.value;
}

const eventArb = fc
  .record({
    seed: fc.nat(SEEDS.length - 1),
    edits: fc.array(editArb, { minLength: 1, maxLength: 8 }),
    change: fc.constantFrom<ChangeType>('ADDED', 'MODIFIED'),
  })
  .map(({ seed, edits, change }) => {
    const obj = structuredClone(SEEDS[seed]!);
    for (const e of edits) applyEdit(obj, e);
    return { obj, change };
  });

/** A normalized event encodes, and decodes back equal (strings that are not well-formed UTF-16 come back with U+FFFD). */
function expectRoundTrip(event: unknown): void {
  const bytes = toAvroBinary(KUBE_EVENT, event);
  const back = KUBE_EVENT.type.fromBuffer(bytes) as unknown;
  if (!JSON.stringify(event).includes('\\ud')) expect(back).toEqual(event);
}

function checkNormalize(obj: unknown, change: ChangeType): void {
  let event;
  try {
    event = bounded(1_000, () => normalizeEvent(obj, change, { cluster: 'c' }));
  } catch (error) {
    if (error instanceof NormalizeError) {
      expect(error.message.length).toBeGreaterThan(0);
      expect(error.message.length).toBeLessThan(2_000);
      return;
    }
    throw error;
  }
  expect(event.count).toBeGreaterThanOrEqual(1);
  expect(Number.isInteger(event.count)).toBe(true);
  expectRoundTrip(event);
}

describe('Event normalization under fuzzing', () => {
  it('the Events of the bundled recording normalize and round-trip through Avro', () => {
    expect(SEEDS.length).toBeGreaterThan(20);
    for (const obj of SEEDS) checkNormalize(obj, 'ADDED');
  });

  const inputs = corpus('events');
  it.each(inputs.map((i) => [i.file, i.bytes] as const))('corpus input %s (test/fixtures/fuzz/events/)', (_file, bytes) => {
    checkNormalize(JSON.parse(bytes.toString('utf8')), 'ADDED');
  });

  it(
    'fields null, missing or of the wrong type; odd counts and resourceVersions: a KubeEvent that round-trips, or a NormalizeError',
    () => {
      fc.assert(
        fc.property(eventArb, ({ obj, change }) => checkNormalize(obj, change)),
        fuzzParameters(1000),
      );
    },
    fuzzTimeout(1000),
  );

  it(
    'any JSON value at all: a NormalizeError, never another error',
    () => {
      fc.assert(
        fc.property(fc.jsonValue(), (v) => checkNormalize(v, 'ADDED')),
        fuzzParameters(500),
      );
    },
    fuzzTimeout(500),
  );

  it(
    'the occurrence check: every change is an EVENT or a DEAD_LETTER with a reason, whose record encodes',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(eventArb, { minLength: 1, maxLength: 10 }), async (changes) => {
          const watch: Array<WatchEvent<unknown>> = changes.map(({ obj, change }) => ({
            type: change,
            object: obj,
            resourceVersion:
              typeof (obj['metadata'] as { resourceVersion?: unknown } | undefined)?.resourceVersion === 'string'
                ? String((obj['metadata'] as { resourceVersion: string }).resourceVersion)
                : '',
          }));
          const items = await lastValueFrom(from(watch).pipe(eventOccurrences({ cluster: 'c', now: () => 0 }), toArray()));
          for (const item of items) {
            if (item.type === 'EVENT') expectRoundTrip(item.event);
            else if (item.type === 'DEAD_LETTER') {
              expect(item.deadLetter.reason.length).toBeGreaterThan(0);
              const record = deadLetterOf({
                reason: item.deadLetter.reason,
                payload: item.deadLetter.raw,
                error: item.deadLetter.reason,
                stage: 'normalize',
                cluster: 'c',
                time: 0,
              });
              DEAD_LETTER.type.fromBuffer(toAvroBinary(DEAD_LETTER, record));
            } else throw new Error(`unexpected item ${item.type}`);
          }
          // a MODIFIED that does not bump the count is no new occurrence: never more items than changes
          expect(items.length).toBeLessThanOrEqual(changes.length);
        }),
        fuzzParameters(300),
      );
    },
    fuzzTimeout(300),
  );

  it(
    'resourceVersions compare consistently (antisymmetric, integers by value) and in bounded time, whatever they are',
    () => {
      const rv = fc.oneof(
        fc.string({ maxLength: 8 }),
        fc.bigInt({ min: 0n, max: 10n ** 30n }).map(String),
        fc.constantFrom('9'.repeat(1_000_000), '1' + '0'.repeat(999_999)),
      );
      fc.assert(
        fc.property(rv, rv, (a, b) => {
          const ab = bounded(500, () => compareResourceVersions(a, b));
          const ba = compareResourceVersions(b, a);
          expect(ab === null ? null : -ab + 0).toBe(ba === null ? null : ba + 0);
          if (/^(0|[1-9]\d*)$/.test(a) && /^(0|[1-9]\d*)$/.test(b) && a.length < 400 && b.length < 400) {
            const x = BigInt(a);
            const y = BigInt(b);
            expect(ab).toBe(x < y ? -1 : x > y ? 1 : 0);
          }
          expect([a, b]).toContain(laterResourceVersion(a, b));
        }),
        fuzzParameters(500),
      );
    },
    fuzzTimeout(500),
  );
});
