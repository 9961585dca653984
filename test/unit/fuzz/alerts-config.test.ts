/**
 * Fuzzing of the alerts configuration (src/alerting/load-config.ts): mutations of the shipped
 * alerts files (deploy/) and documents generated from the schema, with secrets given as
 * ${env:NAME}, ${file:PATH}, urlFile, secretFile and passwordFile. Properties: no crash (the
 * parser never throws for bad text), a time bound per input, every problem positioned
 * (file:line:col) with a short message, a configuration only without errors, the resolved
 * secrets never quoted in a message, and what loads round-trips (printed back as YAML with its
 * defaults, it loads to the same receivers and routes).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parse, stringify } from 'yaml';
import { AlertsConfigSchema } from '../../../src/alerting/config.js';
import { parseAlertsConfig, type LoadOptions } from '../../../src/alerting/load-config.js';
import { displayValue } from '../../../src/core/zod-schema.js';
import { arbitraryFromZod, bounded, corpus, fuzzParameters, fuzzTimeout, mutatedText } from '../../support/fuzz.js';
import { YAML_ERRORS_REPORTED } from '../../../src/core/yaml-locator.js';
import { expectPositioned } from './helpers.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const SHIPPED = ['deploy/alerts.example.yaml', 'deploy/base/config/alerts.yaml', 'deploy/overlays/example/alerts.yaml'].map((f) =>
  readFileSync(join(ROOT, f), 'utf8'),
);
const FILE = 'alerts.yaml';
const BOUND_MS = 4_000;
/** Every secret the environment and the files hold: none may show in a message. */
const SECRET = 'Zx9-canary-Q7';
const OPTIONS: LoadOptions = {
  env: {
    DINGTALK_WEBHOOK_URL: `https://oapi.dingtalk.com/robot/send?access_token=${SECRET}1`,
    SLACK_WEBHOOK_URL: `https://hooks.slack.com/services/T0/B0/${SECRET}2`,
    KAFKA_BROKERS: 'kafka-0:9092,kafka-1:9092',
    PAYMENTS_HOOK_AUTH: `Bearer ${SECRET}3`,
    KUBEVENTS_KAFKA_SASL_PASSWORD: `${SECRET}4`,
  },
  baseDir: '/etc/kubevents',
  readFile: (path) => (/url/.test(path) ? `https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=${SECRET}5` : `${SECRET}6`),
};

function receiverSummary(result: ReturnType<typeof parseAlertsConfig>) {
  return result.config?.receivers.map((r) => ({ name: r.name, type: r.type, url: r.url, timeoutMs: r.timeoutMs, retry: r.retry, rateLimit: r.rateLimit }));
}

function check(text: string): void {
  const result = bounded(BOUND_MS, () => parseAlertsConfig(text, FILE, OPTIONS));
  expectPositioned(result.diagnostics, FILE, text);
  for (const d of result.diagnostics) expect(`${d.message} ${d.hint ?? ''}`).not.toContain(SECRET);
  const errors = result.diagnostics.filter((d) => d.severity === 'error');
  if (result.config === null) {
    expect(errors.length, 'no configuration, so at least one error').toBeGreaterThan(0);
    return;
  }
  expect(errors).toEqual([]);
  // round-trip: the document with its defaults, printed back, loads to the same receivers and routes
  const doc = AlertsConfigSchema.parse(parse(text, { maxAliasCount: 1000, resolveKnownTags: false }));
  const again = parseAlertsConfig(stringify(displayValue(AlertsConfigSchema, doc), { lineWidth: 0 }), FILE, OPTIONS);
  const againErrors = again.diagnostics.filter((d) => d.severity === 'error');
  if (againErrors.length) expect.fail(`printed back, it does not load: ${JSON.stringify(againErrors)}`);
  expect(receiverSummary(again)).toEqual(receiverSummary(result));
  expect(again.config?.route).toEqual(result.config.route);
  expect(again.config?.consumer).toEqual(result.config.consumer);
}

describe('the alerts configuration under fuzzing', () => {
  it('the shipped files load and round-trip', () => {
    for (const text of SHIPPED) {
      const result = parseAlertsConfig(text, FILE, OPTIONS);
      const errors = result.diagnostics.filter((d) => d.severity === 'error');
      if (errors.length) expect.fail(JSON.stringify(errors));
      check(text);
    }
  });

  const inputs = corpus('alerts-config');
  it.each(inputs.map((i) => [i.file, i.bytes] as const))(
    'corpus input %s (test/fixtures/fuzz/alerts-config/)',
    (_file, bytes) => check(bytes.toString('utf8')),
    30_000,
  );

  it('a file that is every character an error (100,000 double quotes): the first syntax errors and a count, in linear time', () => {
    // yaml's pretty errors made this quadratic: 8 s for 100 KB, 36 s for 200 KB, one error per two characters
    const text = '"'.repeat(100_000);
    const result = bounded(BOUND_MS, () => parseAlertsConfig(text, FILE, OPTIONS));
    expectPositioned(result.diagnostics, FILE, text);
    expect(result.diagnostics).toHaveLength(YAML_ERRORS_REPORTED + 1);
    expect(result.diagnostics.at(-1)!.message).toBe('YAML: 49979 more syntax errors after this one (is this a YAML file?)');
  });

  it(
    'mutations of the shipped files (truncation, huge strings, deep nesting, duplicate keys, wrong types, secret references)',
    () => {
      fc.assert(fc.property(mutatedText(SHIPPED), check), fuzzParameters(80));
    },
    fuzzTimeout(80),
  );

  it(
    'documents generated from the schema, some values of the wrong type',
    () => {
      fc.assert(
        fc.property(arbitraryFromZod(AlertsConfigSchema, { wrong: 0.03 }), (doc) => check(stringify(doc, { lineWidth: 0 }))),
        fuzzParameters(150),
      );
    },
    fuzzTimeout(150),
  );
});
