/**
 * What is generated from the component registries (scripts/docs.ts) is committed up to date: the
 * pipeline JSON Schema and the option tables of pipelines/README.md and docs/alerting.md. After
 * changing a stage, sink or receiver: `npm run gen`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { fillBlocks, generatedFiles, optionTable } from '../../../scripts/docs.js';
import { KIND_SPECS } from '../../../src/pipeline/record-kinds.js';
import { loadPipelineTexts } from '../../../src/pipeline/load.js';
import { pipelineJsonSchema } from '../../../src/pipeline/schema.js';
import { DEFAULT_TOPICS } from '../../../src/sinks/kafka-topics.js';
import { ROOT } from '../pipeline/helpers.js';

describe('generated files', () => {
  const { files, problems } = generatedFiles(ROOT);

  it('every generated block has its markers', () => {
    expect(problems).toEqual([]);
  });

  it.each([...files.keys()])('%s is up to date (run `npm run gen`)', (file) => {
    expect(readFileSync(join(ROOT, file), 'utf8'), `${file} is out of date: run \`npm run gen\``).toBe(files.get(file));
  });

  it('a table row per option, with the zod default, "required", or the default its description gives', () => {
    const table = optionTable(
      z.strictObject({
        window: z.string().describe('The window.'),
        hold: z.string().prefault('0s').describe('Hold.'),
        severity: z.enum(['info', 'warning']).optional().describe('Severity. Default: the highest seen.'),
      }),
    );
    expect(table.split('\n')).toEqual([
      '| option | default | meaning |',
      '| --- | --- | --- |',
      '| `window` | required | The window. |',
      '| `hold` | `0s` | Hold. |',
      '| `severity` | the highest seen | Severity. One of `info`, `warning`. |',
    ]);
  });

  it('a block without a generator, or a generator without a block, is reported', () => {
    const { problems: p } = fillBlocks('x.md', '<!-- BEGIN GENERATED: nope -->\nold\n<!-- END GENERATED -->\n', new Map([['stage rate', 'table']]));
    expect(p).toEqual([
      'x.md: no generated block named "nope" (blocks: stage rate)',
      'x.md: add a block for "stage rate": <!-- BEGIN GENERATED: stage rate --> ... <!-- END GENERATED -->',
    ]);
  });
});

describe('schemas/pipeline.schema.json', () => {
  it('documents every option: each property has a description, defaults are shown', () => {
    const schema = pipelineJsonSchema() as { $defs: Record<string, unknown> };
    const missing: string[] = [];
    const walk = (node: unknown, path: string): void => {
      if (!node || typeof node !== 'object') return;
      const n = node as { properties?: Record<string, { description?: string; $ref?: string }>; anyOf?: unknown[]; items?: unknown };
      for (const [key, prop] of Object.entries(n.properties ?? {})) {
        if (!prop.description && !prop.$ref) missing.push(`${path}.${key}`);
        walk(prop, `${path}.${key}`);
      }
      for (const option of n.anyOf ?? []) walk(option, path);
      walk(n.items, `${path}[]`);
    };
    walk(schema, '');
    for (const [name, def] of Object.entries(schema.$defs)) walk(def, `#${name}`);
    expect(missing).toEqual([]);
    const rate = (schema.$defs['Stage'] as { properties: { rate: { properties: Record<string, { default?: unknown }> } } }).properties.rate;
    expect(rate.properties['hold']!.default).toBe('0s');
    expect(rate.properties['alertname']!.default).toBe('KubeEventRate');
  });

  it('defaults sinks to the Kafka sink topics, and keeps the dead letter and gap topics for the runtime', () => {
    expect({ KubeEvent: KIND_SPECS.KubeEvent.defaultTopic, Alert: KIND_SPECS.Alert.defaultTopic, Incident: KIND_SPECS.Incident.defaultTopic }).toEqual({
      KubeEvent: DEFAULT_TOPICS.KubeEvent,
      Alert: DEFAULT_TOPICS.Alert,
      Incident: DEFAULT_TOPICS.Incident,
    });
    const result = loadPipelineTexts({
      'r.yaml': `apiVersion: kubevents/v1\nkind: Pipeline\nmetadata: {name: r}\nspec:\n  sinks: [{kafka: {topic: ${DEFAULT_TOPICS.DeadLetter}}}, {file: {name: ${DEFAULT_TOPICS.Gap}}}]\n`,
    });
    expect(result.diagnostics.map((d) => d.message)).toEqual([
      `"${DEFAULT_TOPICS.DeadLetter}" is reserved for dead letters (DeadLetter records)`,
      `"${DEFAULT_TOPICS.Gap}" is reserved for gap records (Gap records)`,
    ]);
  });
});
