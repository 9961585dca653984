/**
 * Fuzzing of the pipeline file parser (src/pipeline/load.ts): mutations of every shipped pipeline
 * file and documents generated from the pipeline schema. Properties: no crash, a time bound per
 * input, every problem a positioned error (file:line:col) with a short message and a bounded
 * excerpt, a file either loads or has an error, and what loads round-trips (printed back as YAML
 * with its defaults, it loads to the same pipeline). KUBEVENTS_FUZZ_RUNS sets the runs (see
 * test/support/fuzz.ts); the inputs in test/fixtures/fuzz/pipeline/ run every time.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { displayValue } from '../../../src/core/zod-schema.js';
import { loadPipelineTexts, parsePipelineText } from '../../../src/pipeline/load.js';
import { PipelineSchema } from '../../../src/pipeline/schema.js';
import { arbitraryFromZod, bounded, corpus, fuzzParameters, fuzzTimeout, mutatedText } from '../../support/fuzz.js';
import { YAML_ERRORS_REPORTED } from '../../../src/core/yaml-locator.js';
import { expectPositioned } from './helpers.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const SHIPPED = [join(ROOT, 'pipelines'), join(ROOT, 'pipelines', 'examples'), join(ROOT, 'deploy', 'base', 'pipelines')].flatMap((dir) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => readFileSync(join(dir, f), 'utf8')),
);
const FILE = 'fuzz.yaml';
/** One input, up to a few hundred kilobytes, parsed within this (CI's cores are shared). */
const BOUND_MS = 4_000;

/** The properties of one input. */
function check(text: string): void {
  const result = bounded(BOUND_MS, () => parsePipelineText(text, FILE));
  expectPositioned(result.diagnostics, FILE, text);
  const set = bounded(BOUND_MS, () => loadPipelineTexts({ [FILE]: text }));
  if (set.ok) {
    // what loads round-trips: printed back with its defaults, it loads to the same pipelines
    const again = set.pipelines.map((p) => stringify(displayValue(PipelineSchema, p.document), { lineWidth: 0 })).join('---\n');
    const reloaded = loadPipelineTexts({ [FILE]: again });
    expect(reloaded.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(reloaded.pipelines.map((p) => p.fingerprint)).toEqual(set.pipelines.map((p) => p.fingerprint));
  } else {
    expect(set.diagnostics.some((d) => d.severity === 'error')).toBe(true);
  }
}

describe('pipeline YAML under fuzzing', () => {
  it('the shipped pipeline files load and round-trip', () => {
    expect(SHIPPED.length).toBeGreaterThan(5);
    for (const text of SHIPPED) {
      expect(loadPipelineTexts({ [FILE]: text }).ok).toBe(true);
      check(text);
    }
  });

  const inputs = corpus('pipeline');
  it('the corpus is there', () => expect(inputs.length).toBeGreaterThan(0));
  it.each(inputs.map((i) => [i.file, i.bytes] as const))(
    'corpus input %s (test/fixtures/fuzz/pipeline/): positioned errors in bounded time',
    (_file, bytes) => {
      check(bytes.toString('utf8'));
    },
    30_000,
  );

  it('a file that is every character an error (100,000 double quotes): the first syntax errors and a count, in linear time', () => {
    // yaml's pretty errors made this quadratic: 8 s for 100 KB, 36 s for 200 KB, one error per two characters
    const text = '"'.repeat(100_000);
    const result = bounded(BOUND_MS, () => parsePipelineText(text, FILE));
    expectPositioned(result.diagnostics, FILE, text);
    expect(result.diagnostics).toHaveLength(YAML_ERRORS_REPORTED + 1);
    expect(result.diagnostics.at(-1)!.message).toBe('YAML: 49979 more syntax errors after this one (is this a YAML file?)');
  });

  it(
    'mutations of the shipped files (truncation, huge strings, deep nesting, duplicate keys, wrong types, odd characters)',
    () => {
      fc.assert(fc.property(mutatedText(SHIPPED), check), fuzzParameters(100));
    },
    fuzzTimeout(100, 60_000),
  );

  it(
    'documents generated from the pipeline schema, some values of the wrong type',
    () => {
      fc.assert(
        fc.property(arbitraryFromZod(PipelineSchema, { wrong: 0.03 }), (doc) => check(stringify(doc, { lineWidth: 0 }))),
        fuzzParameters(100),
      );
    },
    fuzzTimeout(100, 60_000),
  );
});
