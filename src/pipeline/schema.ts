/**
 * The pipeline file format (`apiVersion: kubevents/v1`, `kind: Pipeline`), made from the stage
 * and sink registries (stages/registry.ts, src/sinks/registry.ts): a stage or sink key takes that
 * component's options schema, so registering a component is all it takes to make it writable in
 * a pipeline file, checked, completed by editors and documented.
 *
 * Everything else derives from it: parsing and defaults (load.ts), the error messages and
 * "did you mean" hints (errors.ts walks these schemas for the allowed names), the JSON Schema
 * published in schemas/pipeline.schema.json (`npm run gen` regenerates it,
 * test/unit/docs/generated.test.ts fails when it is stale) and `kubevents explain`.
 *
 * Durations are strings with units (`500ms`, `30s`, `5m`, `1h30m`, `2d`) and parse to
 * milliseconds. What needs the whole pipeline (which record kind flows into each stage, whether a
 * filter condition applies to it, template placeholders, selectors, sinks accepting the records)
 * is checked by graph.ts and the components' checks; what needs every file (duplicate names, one
 * schema per topic) by load.ts.
 */
import { z } from 'zod';
import { quoteShort } from '../core/zod-diagnostics.js';
import { SINKS } from '../sinks/registry.js';
import { EventTimeSchema } from './stage-options.js';
import { STAGES } from './stages/registry.js';

export const PIPELINE_API_VERSION = 'kubevents/v1';
export const PIPELINE_KIND = 'Pipeline';

/** Every stage type a pipeline file may use: the registered stages, and fork. */
export const STAGE_TYPES: readonly string[] = [...STAGES.map((s) => s.type), 'fork'];
/** Stages that can be written without options (`- enrich`). */
export const SHORTHAND_STAGES: readonly string[] = STAGES.filter((s) => s.shorthand).map((s) => s.type);
export const SINK_TYPES: readonly string[] = SINKS.map((s) => s.type);

/** Marks the "one key" issue so the error formatter can drop it when an unknown key explains it. */
export const ONE_KEY_ISSUE = 'kubevents.one-key';

function exactlyOneKey(what: 'stage' | 'sink') {
  return (value: Record<string, unknown>, ctx: z.RefinementCtx): void => {
    // runs even when the value failed the object check (when: () => true): `- null` is no map
    if (value === null || typeof value !== 'object') return;
    const keys = Object.keys(value).filter((k) => value[k] !== undefined);
    if (keys.length === 1) return;
    ctx.addIssue({
      code: 'custom',
      params: { [ONE_KEY_ISSUE]: true, keys },
      message:
        keys.length === 0
          ? `empty ${what}: write a map with one key, the ${what} type`
          : `a ${what} is a map with exactly one key (the ${what} type), found ${keys
              .slice(0, 5)
              .map((k) => quoteShort(k))
              .join(', ')}${keys.length > 5 ? ` and ${keys.length - 5} more` : ''}: is the indentation of ${quoteShort(keys[1]!)} right?`,
    });
  };
}

// ---------------------------------------------------------------------------------------------
// Sinks

const sinkShape = Object.fromEntries(SINKS.map((s) => [s.type, s.options.nullable().optional().describe(`${s.summary} Options may be left empty.`)]));

export const SinkSchema = z.union([
  z.enum(SINK_TYPES as [string, ...string[]]).describe('A sink with its default options.'),
  z
    .strictObject(sinkShape)
    .check(z.superRefine(exactlyOneKey('sink'), { when: () => true }))
    .describe('One sink: a map with exactly one key, the sink type, and its options.')
    .meta({ id: 'Sink', minProperties: 1, maxProperties: 1 }),
]);

// ---------------------------------------------------------------------------------------------
// Steps and forks

export type StepInput = string | Record<string, unknown>;

export interface BranchInput {
  name?: string;
  stages?: StepInput[];
  sinks?: Array<z.input<typeof SinkSchema>>;
}

export const BranchSchema = z
  .strictObject({
    name: z
      .string()
      .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, { error: 'lower-case letters, digits and -' })
      .optional()
      .describe('Branch name (in explain, metrics and logs). Default branch-<n>.'),
    get stages() {
      return z.array(StepSchema).default([]).describe('Stages of this branch, applied to the records arriving at the fork.');
    },
    sinks: z.array(SinkSchema).default([]).describe('Where this branch writes its records.'),
  })
  .describe('A branch: receives every record arriving at the fork, applies its own stages and writes to its own sinks.')
  .meta({ id: 'Branch' });

const stageShape = Object.fromEntries(
  STAGES.map((s) => [
    s.type,
    (s.shorthand ? s.options.nullable() : s.options).optional().describe(s.shorthand ? `${s.summary} Options may be left empty.` : s.summary),
  ]),
);

export const StageObjectSchema = z
  .strictObject({
    ...stageShape,
    get fork() {
      return z
        .array(BranchSchema)
        .min(1)
        .optional()
        .describe('Tees the stream: every branch receives each record arriving here; the stages after the fork receive them too.');
    },
  })
  .check(z.superRefine(exactlyOneKey('stage'), { when: () => true }))
  .describe('One stage: a map with exactly one key, the stage type, and its options.')
  .meta({ id: 'Stage', minProperties: 1, maxProperties: 1 });

export const StepSchema = z
  .union([z.enum(SHORTHAND_STAGES as [string, ...string[]]).describe('A stage with its default options.'), StageObjectSchema])
  .describe(`A stage: its name alone (${SHORTHAND_STAGES.join(', ')}) or a map with one key, the stage type, and its options.`)
  .meta({ id: 'Step' });

// ---------------------------------------------------------------------------------------------
// The document

export const SOURCE_RESOURCES = ['events'] as const;

export const SourceSchema = z
  .strictObject({
    resource: z.enum(SOURCE_RESOURCES).default('events').describe('What to read (events is the only resource for now).'),
    namespaces: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe('Only events of these namespaces. Default all. The watch is shared by every pipeline; each filters its own.'),
    fieldSelector: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Kubernetes field selector on Event fields, e.g. "type=Warning,involvedObject.kind=Pod" (=, ==, !=). Applied to this pipeline (and sent to the API server when every pipeline uses the same one). Default none.',
      ),
    labelSelector: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Kubernetes label selector on the Event objects, sent to the API server: every pipeline loaded together must use the same one (or none). Default none.',
      ),
  })
  .describe('Where the records come from. All pipelines of a process share one watch per resource.');

export const PipelineSchema = z
  .strictObject({
    apiVersion: z.literal(PIPELINE_API_VERSION).describe(`Always ${PIPELINE_API_VERSION}.`),
    kind: z.literal(PIPELINE_KIND).describe(`Always ${PIPELINE_KIND}.`),
    metadata: z
      .strictObject({
        name: z
          .string()
          .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, { error: 'a pipeline name is lower-case letters, digits and -, e.g. failed-scheduling' })
          .max(63)
          .describe('Unique name of the pipeline among all loaded files (metrics, logs, dead letters).'),
        description: z.string().optional().describe('What the pipeline detects or delivers.'),
        labels: z.record(z.string(), z.string()).optional().describe('Free-form labels (not used by the runtime).'),
      })
      .describe('Name and description.'),
    spec: z
      .strictObject({
        source: SourceSchema.prefault({}),
        eventTime: EventTimeSchema.prefault({}),
        stages: z.array(StepSchema).default([]).describe('The stages, applied in order. A fork tees the stream into branches.'),
        sinks: z.array(SinkSchema).default([]).describe('Where the records leaving the last stage go.'),
      })
      .describe('Source, stages and sinks.'),
  })
  .meta({ title: 'kubevents pipeline', description: 'A kubevents pipeline file (apiVersion kubevents/v1, kind Pipeline). Reference: pipelines/README.md.' });

export type PipelineDocument = z.output<typeof PipelineSchema>;
export type PipelineSpec = PipelineDocument['spec'];
export type PipelineSourceSpec = z.output<typeof SourceSchema>;
export type StepSpec = string | Record<string, unknown>;
export type BranchSpec = { name?: string | undefined; stages: StepSpec[]; sinks: SinkSpec[] };
export type SinkSpec = string | Record<string, unknown>;

// ---------------------------------------------------------------------------------------------
// JSON Schema

/** The JSON Schema of a pipeline file (what schemas/pipeline.schema.json holds). */
export function pipelineJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(PipelineSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return { $schema: schema['$schema'], $id: 'https://kubevents.dev/schemas/pipeline.schema.json', ...schema };
}

/** The JSON Schema file content, exactly as committed (2-space indent, trailing newline). */
export function pipelineJsonSchemaText(): string {
  return `${JSON.stringify(pipelineJsonSchema(), null, 2)}\n`;
}
