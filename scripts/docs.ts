/**
 * The generated parts of the docs, from the component registries: every stage's and sink's option
 * table in pipelines/README.md, every receiver's in docs/alerting.md, and the pipeline JSON Schema.
 * A generated part sits between
 *
 *   <!-- BEGIN GENERATED: stage rate -->
 *   <!-- END GENERATED -->
 *
 * markers; the prose around it is written by hand. `npm run gen` (scripts/gen.ts) rewrites them,
 * test/unit/docs/generated.test.ts fails when a committed file differs from what it would write.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { RECEIVERS } from '../src/alerting/receivers/registry.js';
import { parseDuration, showDuration } from '../src/core/duration.js';
import { packageRoot } from '../src/core/paths.js';
import { MATCHER_CONDITIONS, RecordMatcherSchema } from '../src/pipeline/matcher.js';
import { kindName } from '../src/pipeline/record-kinds.js';
import { pipelineJsonSchemaText } from '../src/pipeline/schema.js';
import { STAGES } from '../src/pipeline/stages/registry.js';
import { SINKS } from '../src/sinks/registry.js';

interface JsonSchema {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  anyOf?: JsonSchema[];
  items?: JsonSchema;
  $ref?: string;
}

/** A default as a pipeline file would write it: durations as durations, lists in flow style. */
function showValue(value: unknown): string {
  if (value === null) return '`null`';
  if (Array.isArray(value)) return value.length === 0 ? 'none' : `\`[${value.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(', ')}]\``;
  if (typeof value === 'object') return Object.keys(value as object).length === 0 ? 'none' : `\`${JSON.stringify(value)}\``;
  if (typeof value === 'string' && parseDuration(value) !== null) return `\`${showDuration(parseDuration(value)!)}\``;
  return `\`${String(value)}\``;
}

const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\s+/g, ' ').trim();

/** "... Default: the highest severity." -> the sentence before, and the default's text. */
function splitDefault(description: string): { meaning: string; default: string | null } {
  const m = /^(.*?)\s*Default:?\s+(.+?)\.?\s*$/s.exec(description);
  if (!m || m[2]!.length > 200) return { meaning: description, default: null };
  return { meaning: m[1]!, default: m[2]! };
}

function rows(schema: JsonSchema, prefix: string, required: readonly string[]): string[][] {
  const out: string[][] = [];
  for (const [name, prop] of Object.entries(schema.properties ?? {})) {
    const key = `${prefix}${name}`;
    const description = prop.description ?? '';
    const split = splitDefault(description);
    const values = prop.enum ?? prop.anyOf?.flatMap((o) => o.enum ?? []);
    const choices =
      values && values.length > 0 && values.length <= 12 && !split.meaning.includes(String(values[0]))
        ? ` One of ${values.map((v) => `\`${String(v)}\``).join(', ')}.`
        : '';
    const def = prop.default !== undefined ? showValue(prop.default) : required.includes(name) ? 'required' : split.default ? cell(split.default) : 'none';
    out.push([`\`${key}\``, def, cell(`${split.meaning}${choices}`)]);
    // a nested map of options with its own defaults: one row per option
    if (prop.type === 'object' && prop.properties && prop.default !== undefined) out.push(...rows(prop, `${key}.`, prop.required ?? []));
  }
  return out;
}

/** The option table of a component's zod options schema. */
export function optionTable(options: z.ZodType): string {
  const json = z.toJSONSchema(options, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const lines = ['| option | default | meaning |', '| --- | --- | --- |'];
  if (json.type === 'array') {
    lines.push(`| (a list) | required | ${cell(json.description ?? 'the fields to keep')} |`);
    return lines.join('\n');
  }
  const table = rows(json, '', json.required ?? []);
  if (table.length === 0) return 'No options.';
  for (const r of table) lines.push(`| ${r.join(' | ')} |`);
  return lines.join('\n');
}

/** The matcher conditions (filter, rate.resolveOn, correlate.match): which record kinds each applies to. */
function conditionTable(): string {
  const kinds = ['KubeEvent', 'Alert', 'Incident', 'EventWindow'] as const;
  // the matcher is recursive (not, any), so its schema is a $ref to its definition
  const json = z.toJSONSchema(RecordMatcherSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema & { $defs?: Record<string, JsonSchema> };
  const props = json.properties ?? json.$defs?.['Matcher']?.properties ?? {};
  const lines = [`| condition | ${kinds.map(kindName).join(' | ')} | meaning |`, `| --- | ${kinds.map(() => '---').join(' | ')} | --- |`];
  for (const [name, applies] of Object.entries(MATCHER_CONDITIONS)) {
    lines.push(`| \`${name}\` | ${kinds.map((k) => (applies.includes(k) ? 'yes' : '')).join(' | ')} | ${cell(props[name]?.description ?? '')} |`);
  }
  return lines.join('\n');
}

/** Every generated block of the docs, by file and block name. */
export function generatedBlocks(): Map<string, Map<string, string>> {
  const readme = new Map<string, string>();
  readme.set(
    'stage list',
    [
      '| stage | takes | makes | what it does |',
      '| --- | --- | --- | --- |',
      ...STAGES.map((s) => {
        const takes = s.accepts.map(kindName).join(', ');
        const makes = s.emits ? [...new Set(s.accepts.map((k) => s.emits!(k)))].map(kindName).join(', ') : 'the same';
        return `| [\`${s.type}\`](#${s.type}) | ${takes} | ${makes} | ${cell(s.summary)}${s.shorthand ? ' Can be written without options.' : ''} |`;
      }),
      '| [`fork`](#fork) | any | the same | Tees the stream into branches, each with its own stages and sinks. |',
    ].join('\n'),
  );
  for (const s of STAGES) readme.set(`stage ${s.type}`, s.type === 'filter' ? conditionTable() : optionTable(s.options));
  readme.set('sink list', ['| sink | what it does |', '| --- | --- |', ...SINKS.map((s) => `| \`${s.type}\` | ${cell(s.summary)} |`)].join('\n'));
  for (const s of SINKS) readme.set(`sink ${s.type}`, optionTable(s.options));
  const alerting = new Map<string, string>();
  for (const r of RECEIVERS) alerting.set(`receiver ${r.type}`, optionTable(r.options));
  return new Map([
    ['pipelines/README.md', readme],
    ['docs/alerting.md', alerting],
  ]);
}

const BLOCK = /(<!-- BEGIN GENERATED: ([^>]+?) -->\n)([\s\S]*?)(<!-- END GENERATED -->)/g;

/** `text` with its generated blocks replaced; problems when a block is missing or unknown. */
export function fillBlocks(file: string, text: string, blocks: ReadonlyMap<string, string>): { text: string; problems: string[] } {
  const problems: string[] = [];
  const seen = new Set<string>();
  const out = text.replace(BLOCK, (_m, begin: string, name: string, _old: string, end: string) => {
    const block = blocks.get(name.trim());
    seen.add(name.trim());
    if (block === undefined) {
      problems.push(`${file}: no generated block named "${name.trim()}" (blocks: ${[...blocks.keys()].join(', ')})`);
      return `${begin}${_old}${end}`;
    }
    return `${begin}${block}\n${end}`;
  });
  for (const name of blocks.keys())
    if (!seen.has(name)) problems.push(`${file}: add a block for "${name}": <!-- BEGIN GENERATED: ${name} --> ... <!-- END GENERATED -->`);
  return { text: out, problems };
}

/** Every generated file with the content `npm run gen` writes. */
export function generatedFiles(root = packageRoot()): { files: Map<string, string>; problems: string[] } {
  const files = new Map<string, string>();
  const problems: string[] = [];
  files.set('schemas/pipeline.schema.json', pipelineJsonSchemaText());
  for (const [file, blocks] of generatedBlocks()) {
    const filled = fillBlocks(file, readFileSync(join(root, file), 'utf8'), blocks);
    files.set(file, filled.text);
    problems.push(...filled.problems);
  }
  return { files, problems };
}
