import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_TOPICS } from '../../../src/sinks/kafka-sink.js';
import { DEFAULT_TOPIC_BY_KIND } from '../../../src/pipeline/graph.js';
import { loadPipelineTexts } from '../../../src/pipeline/load.js';
import { EventTimeSchema, MatcherSchema, pipelineJsonSchema, pipelineJsonSchemaText, SINK_OPTION_SCHEMAS, SourceSchema, STAGE_OPTION_SCHEMAS } from '../../../src/pipeline/schema.js';
import { shapeOf } from '../../../src/core/zod-schema.js';
import { ROOT } from './helpers.js';

describe('schemas/pipeline.schema.json', () => {
  it('is generated from the zod definition (run `npm run gen:schemas` after changing src/pipeline/schema.ts)', () => {
    const committed = readFileSync(join(ROOT, 'schemas/pipeline.schema.json'), 'utf8');
    expect(committed, 'schemas/pipeline.schema.json is out of date: run `npm run gen:schemas`').toBe(pipelineJsonSchemaText());
  });

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
    expect(DEFAULT_TOPIC_BY_KIND).toEqual({ KubeEvent: DEFAULT_TOPICS.KubeEvent, Alert: DEFAULT_TOPICS.Alert, Incident: DEFAULT_TOPICS.Incident });
    const result = loadPipelineTexts({
      'r.yaml': `apiVersion: kubevents/v1\nkind: Pipeline\nmetadata: {name: r}\nspec:\n  sinks: [{kafka: {topic: ${DEFAULT_TOPICS.DeadLetter}}}, {file: {name: ${DEFAULT_TOPICS.Gap}}}]\n`,
    });
    expect(result.diagnostics.map((d) => d.message)).toEqual([`"${DEFAULT_TOPICS.DeadLetter}" is reserved for dead letters (DeadLetter records)`, `"${DEFAULT_TOPICS.Gap}" is reserved for gap records (Gap records)`]);
  });
});

describe('pipelines/README.md', () => {
  it('documents every option of every stage, sink, matcher, source and eventTime', () => {
    const readme = readFileSync(join(ROOT, 'pipelines/README.md'), 'utf8');
    const sections = new Map<string, string>();
    for (const part of readme.split(/^### /m).slice(1)) sections.set(part.split('\n')[0]!.trim(), part);
    const undocumented: string[] = [];
    for (const [type, schema] of Object.entries(STAGE_OPTION_SCHEMAS)) {
      const shape = shapeOf(schema);
      if (!shape) continue;
      const section = type === 'filter' ? sections.get('filter')! : sections.get(type);
      if (!section) {
        undocumented.push(`section ${type}`);
        continue;
      }
      for (const key of Object.keys(shape)) {
        if (['allowedLateness', 'latePolicy'].includes(key)) continue; // documented once, under Event time
        if (!section.includes(`\`${key}\``)) undocumented.push(`${type}.${key}`);
      }
    }
    for (const key of Object.keys(shapeOf(MatcherSchema)!)) if (!sections.get('filter')!.includes(`\`${key}\``)) undocumented.push(`filter.${key}`);
    for (const key of [...Object.keys(shapeOf(SourceSchema)!), ...Object.keys(shapeOf(EventTimeSchema)!)]) if (!readme.includes(`\`${key}\``)) undocumented.push(key);
    for (const [type, schema] of Object.entries(SINK_OPTION_SCHEMAS)) {
      if (!readme.includes(`| \`${type}\` |`)) undocumented.push(`sink ${type}`);
      for (const key of Object.keys(shapeOf(schema)!)) if (!readme.includes(`\`${key}\``)) undocumented.push(`${type}.${key}`);
    }
    expect(undocumented).toEqual([]);
  });
});
