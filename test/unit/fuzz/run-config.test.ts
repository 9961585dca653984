/**
 * Fuzzing of the run configuration (src/config/run-config.ts): mutations of the shipped
 * kubevents.yaml files, documents generated from the schema, and KUBEVENTS_* variables of any
 * value. Properties: no crash (a ConfigError or a configuration, nothing else), a time bound per
 * input, every problem placed at FILE:LINE:COL or at the variable that set it, short messages, and
 * what loads round-trips (`kubevents config print`'s YAML loads back to the same configuration).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { stringify } from 'yaml';
import {
  ConfigError,
  ENV_OVERRIDES,
  formatConfigYaml,
  loadRunConfig,
  redactConfig,
  runConfigSchema,
  type LoadedRunConfig,
} from '../../../src/config/run-config.js';
import { arbitraryFromZod, bounded, corpus, fuzzParameters, fuzzTimeout, mutatedText } from '../../support/fuzz.js';
import { MAX_MESSAGE_CHARS } from './helpers.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const SHIPPED = ['deploy/base/config/kubevents.yaml', 'deploy/overlays/example/kubevents.yaml'].map((f) => readFileSync(join(ROOT, f), 'utf8'));
const FILE = 'kubevents.yaml';
const BOUND_MS = 4_000;

function load(text: string, env: Record<string, string> = {}): LoadedRunConfig | ConfigError {
  const readFile = (path: string): string => (path === FILE ? text : 'password-from-file');
  try {
    // TLS files and kubeconfigs named by the inputs are not on this machine: whether they can be read is not what is fuzzed
    return loadRunConfig({ file: FILE, env, readFile, checkFile: () => null });
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error; // anything else is a crash
  }
}

const WHERE = /^(kubevents\.yaml:\d+:\d+|kubevents\.yaml|env KUBEVENTS_[A-Z_]+|default)$/;

function check(text: string, env: Record<string, string> = {}): void {
  const lines = text.split(/\r\n|\r|\n/).length;
  const result = bounded(BOUND_MS, () => load(text, env));
  if (result instanceof ConfigError) {
    expect(result.issues.length).toBeGreaterThan(0);
    for (const issue of result.issues) {
      expect(issue.where, issue.message).toMatch(WHERE);
      const m = /:(\d+):(\d+)$/.exec(issue.where);
      if (m) expect(Number(m[1]) >= 1 && Number(m[1]) <= lines + 1 && Number(m[2]) >= 1, issue.where).toBe(true);
      expect(issue.message.length + (issue.hint?.length ?? 0)).toBeLessThanOrEqual(MAX_MESSAGE_CHARS);
    }
    return;
  }
  // `config print` loads back to the same configuration (secrets redacted on both sides)
  const printed = formatConfigYaml(result);
  const again = load(printed.replace(/^(\s*)password: "?\[redacted\]"?$/gm, ''), env);
  if (again instanceof ConfigError) throw new Error(`config print does not load back:\n${again.message}\n${printed}`);
  expect(redactConfig(again.config)).toEqual(redactConfig(result.config));
}

/** KUBEVENTS_* variables, each of any text (secrets included). */
const envArb = fc.dictionary(
  fc.constantFrom(...ENV_OVERRIDES.map((e) => e.env)),
  fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('true', 'no', '0', '-1', '1e3', '15s', '99999999999999999999d', 'a:1,b:2', ' ', 'kafka:9092')),
  { maxKeys: 4 },
);

describe('the run configuration under fuzzing', () => {
  it('the shipped files load and round-trip', () => {
    for (const text of SHIPPED) {
      const env: Record<string, string> = /^\s+sasl:/m.test(text) ? { KUBEVENTS_KAFKA_SASL_PASSWORD: 'password-from-env' } : {};
      const loaded = load(text, env);
      if (loaded instanceof ConfigError) throw loaded;
      check(text, env);
    }
  });

  const inputs = corpus('run-config');
  it.each(inputs.map((i) => [i.file, i.bytes] as const))(
    'corpus input %s (test/fixtures/fuzz/run-config/)',
    (_file, bytes) => check(bytes.toString('utf8')),
    30_000,
  );

  it(
    'mutations of the shipped files, with KUBEVENTS_* variables of any value',
    () => {
      fc.assert(
        fc.property(mutatedText(SHIPPED), envArb, (text, env) => check(text, env)),
        fuzzParameters(120),
      );
    },
    fuzzTimeout(120),
  );

  it(
    'documents generated from the schema, some values of the wrong type',
    () => {
      fc.assert(
        fc.property(arbitraryFromZod(runConfigSchema, { wrong: 0.03 }), (doc) => check(stringify(doc, { lineWidth: 0 }))),
        fuzzParameters(200),
      );
    },
    fuzzTimeout(200),
  );
});
