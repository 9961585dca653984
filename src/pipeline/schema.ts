/**
 * The pipeline file format (`apiVersion: kubevents/v1`, `kind: Pipeline`): ONE zod definition.
 *
 * Everything else derives from it: parsing and defaults (load.ts), the error messages and
 * "did you mean" hints (errors.ts walks these schemas for the allowed names), the JSON Schema
 * published in schemas/pipeline.schema.json for editor completion (pipelineJsonSchema below;
 * `npm run gen:schemas` regenerates it, test/unit/pipeline/json-schema.test.ts fails when it is
 * stale) and `kubevents explain` (displayOptions formats effective options back to YAML form).
 *
 * Every default is written in the `.describe()` text and, where it is a fixed value, as a zod
 * default (so it shows up in the JSON Schema and in `explain`). Durations are strings with units
 * (`500ms`, `30s`, `5m`, `1h30m`, `2d`) and parse to milliseconds.
 *
 * The schema checks shape and values. What needs the whole pipeline (which record kind flows into
 * each stage, whether a filter condition applies to it, template placeholders, selectors, sinks
 * accepting the records) is checked by graph.ts; what needs every file (duplicate names, one
 * schema per topic) by load.ts.
 */
import { z } from 'zod';
import { CATEGORIES, SEVERITIES } from '../model/kube-event.js';
import { CORRELATION_KINDS } from '../model/incident.js';
import { DEFAULT_ENRICH_LABELS } from '../operators/enrich.js';
import type { ClassificationRule } from '../operators/classify-rules.js';
import { LATE_POLICIES } from '../operators/event-time.js';
import { isDurationSchema, nonNegativeDuration, positiveDuration, showDuration } from '../core/duration.js';

export const PIPELINE_API_VERSION = 'kubevents/v1';
export const PIPELINE_KIND = 'Pipeline';

// ---------------------------------------------------------------------------------------------
// Small building blocks

/** A value or a non-empty list of values (any of them matches). */
const oneOrMany = <T extends z.ZodType>(item: T) => z.union([item, z.array(item).min(1)]);

const regexString = () =>
  z.string().superRefine((source, ctx) => {
    try {
      new RegExp(source, 'i');
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: `not a valid regular expression: ${(error as Error).message}`, input: source });
    }
  });

const positiveInt = () => z.number().int().min(1);

/** Record fields usable as a key / labels of events (see fields.ts for what each one is). */
export const EVENT_KEY_FIELDS = [
  'cluster',
  'namespace',
  'kind',
  'name',
  'uid',
  'object',
  'reason',
  'type',
  'category',
  'severity',
  'workload',
  'node',
  'reportingController',
] as const;
export type EventKeyField = (typeof EVENT_KEY_FIELDS)[number];

const keyFields = (def: readonly EventKeyField[], what: string) =>
  z
    .array(z.enum(EVENT_KEY_FIELDS))
    .min(1)
    .default([...def])
    .describe(`${what} Event fields: ${EVENT_KEY_FIELDS.join(', ')}. Default [${def.join(', ')}].`);

const staticLabels = () =>
  z
    .record(z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, { error: 'label names are letters, digits and _ (not starting with a digit)' }), z.string())
    .default({})
    .describe('Fixed labels added to every alert (they are part of its identity). Default none.');

// ---------------------------------------------------------------------------------------------
// Event time and state (shared by the stateful stages)

export const EventTimeSchema = z
  .strictObject({
    allowedLateness: nonNegativeDuration()
      .prefault('0s')
      .describe('How far behind the newest event time an event may arrive and still be processed in order. Default 0s.'),
    latePolicy: z
      .enum(LATE_POLICIES)
      .default('clamp')
      .describe('Events older than the watermark: clamp (process them at the watermark; never lose an event) or drop. Both are counted. Default clamp.'),
    idleAdvance: positiveDuration()
      .nullable()
      .default(null)
      .describe(
        'Live streams only: when no event arrived for this long (processing time), advance event time by the time elapsed, so alerts still resolve in quiet periods. Default null (off). Ignored in replay/embedded mode so a replay gives the same output at any speed.',
      ),
  })
  .describe('Event-time settings of every stateful stage of this pipeline (a stage may override allowedLateness and latePolicy).');

const stateOptions = (maxKeys: number, idleTtl: string) => ({
  allowedLateness: nonNegativeDuration().optional().describe('Overrides spec.eventTime.allowedLateness for this stage.'),
  latePolicy: z.enum(LATE_POLICIES).optional().describe('Overrides spec.eventTime.latePolicy for this stage.'),
  maxKeys: positiveInt()
    .default(maxKeys)
    .describe(`Most keys held in state; beyond it the least recently used key is evicted (counted and logged). Default ${maxKeys}.`),
  idleTtl: positiveDuration().optional().describe(`State of a key untouched this long (event time) is dropped. Default ${idleTtl}.`),
});

// ---------------------------------------------------------------------------------------------
// Matchers (filter, rate.resolveOn, correlate.match)

export const ALERT_STATUS_VALUES = ['firing', 'resolved', 'open', 'closed'] as const;

export interface MatcherInput {
  type?: string | string[];
  reason?: string | string[];
  reasonPattern?: string;
  kind?: string | string[];
  namespace?: string | string[];
  name?: string | string[];
  category?: (typeof CATEGORIES)[number] | Array<(typeof CATEGORIES)[number]>;
  severity?: (typeof SEVERITIES)[number] | Array<(typeof SEVERITIES)[number]>;
  minSeverity?: (typeof SEVERITIES)[number];
  message?: string;
  reportingController?: string | string[];
  node?: string | string[];
  labels?: Record<string, string>;
  alertname?: string | string[];
  status?: (typeof ALERT_STATUS_VALUES)[number] | Array<(typeof ALERT_STATUS_VALUES)[number]>;
  correlation?: (typeof CORRELATION_KINDS)[number] | Array<(typeof CORRELATION_KINDS)[number]>;
  not?: MatcherInput;
  any?: MatcherInput[];
}

const names = (what: string) => oneOrMany(z.string().min(1)).optional().describe(what);

export const MatcherSchema: z.ZodType<MatcherInput> = z
  .strictObject({
    type: names('Event type(s): Normal, Warning. Events only.'),
    reason: names('Reason(s), e.g. FailedScheduling (events), the reason label (alerts), the root reason (incidents). A * in a value is a wildcard.'),
    reasonPattern: regexString().optional().describe('Regular expression (case-insensitive) on the reason.'),
    kind: names('Kind(s) of the regarding object (events) or the kind label (alerts), e.g. Pod, Node. A * is a wildcard.'),
    namespace: names("Namespace(s) of the regarding object (events) or the record's namespace. A * is a wildcard, e.g. kube-*."),
    name: names('Name(s) of the regarding object (events) or the name label (alerts). A * is a wildcard.'),
    category: oneOrMany(z.enum(CATEGORIES)).optional().describe(`Category(ies): ${CATEGORIES.join(', ')}. Events need a classify stage before.`),
    severity: oneOrMany(z.enum(SEVERITIES)).optional().describe(`Severity(ies): ${SEVERITIES.join(', ')}. Events need a classify stage before.`),
    minSeverity: z.enum(SEVERITIES).optional().describe('At least this severity (info < warning < error < critical). Events need a classify stage before.'),
    message: regexString().optional().describe('Regular expression (case-insensitive) on the message (events), summary (alerts) or root cause (incidents).'),
    reportingController: names('Reporting controller(s), e.g. kubelet, default-scheduler. Events only.'),
    node: names('Node name(s): the enriched node, the Node itself, the related Node or the reporting kubelet. A * is a wildcard.'),
    labels: z
      .record(z.string(), z.string())
      .optional()
      .describe('Label values that must all be equal: the enriched labels of the regarding object (events, needs enrich before) or the alert labels.'),
    alertname: names('alertname label(s). Alerts only.'),
    status: oneOrMany(z.enum(ALERT_STATUS_VALUES)).optional().describe('firing, resolved (alerts); open, closed (incidents).'),
    correlation: oneOrMany(z.enum(CORRELATION_KINDS)).optional().describe('Correlation kind(s) of incidents: node, owner, object.'),
    get not() {
      return MatcherSchema.optional().describe('Matches when this matcher does not.');
    },
    get any() {
      return z.array(MatcherSchema).min(1).optional().describe('Matches when at least one of these matchers does.');
    },
  })
  .describe(
    'Conditions on a record. Every condition given must hold (AND); a list matches any of its values (OR). Exact, case-sensitive values unless a * wildcard is used; patterns are case-insensitive regular expressions. Use not and any for negation and alternatives.',
  )
  .meta({ id: 'Matcher' });

// ---------------------------------------------------------------------------------------------
// Stages

const ClassificationRuleSchema = z
  .strictObject({
    name: z.string().min(1).describe('Unique rule name; a rule named like a built-in rule replaces it in place.'),
    reason: oneOrMany(z.string().min(1)).optional().describe('Exact event reason(s).'),
    reasonPattern: regexString().optional().describe('Regular expression on the reason.'),
    kind: oneOrMany(z.string().min(1)).optional().describe('Kind(s) of the regarding object.'),
    type: oneOrMany(z.string().min(1)).optional().describe('Event type(s): Normal, Warning.'),
    messagePattern: regexString().optional().describe('Regular expression on the message.'),
    reportingController: oneOrMany(z.string().min(1)).optional().describe('Reporting controller(s).'),
    containerReason: oneOrMany(z.string().min(1)).optional().describe("Any container's last termination or waiting reason, e.g. OOMKilled (needs enrich before classify)."),
    category: z.enum(CATEGORIES).describe(`Category given to matching events: ${CATEGORIES.join(', ')}.`),
    severity: z.enum(SEVERITIES).describe(`Severity given to matching events: ${SEVERITIES.join(', ')}.`),
  })
  .describe('A classification rule: every condition given must hold; the first matching rule wins. Patterns are case-insensitive.')
  .meta({ id: 'ClassificationRule' });

// the YAML rule type must stay assignable to the operator's rule type
type RuleFromYaml = z.output<typeof ClassificationRuleSchema>;
const ruleTypeCheck = (r: RuleFromYaml): ClassificationRule => r;
void ruleTypeCheck;

export const ClassifyStageSchema = z
  .strictObject({
    rules: z
      .array(ClassificationRuleSchema)
      .default([])
      .describe('Extra rules, tried before the built-in ones in the order given; a rule named like a built-in rule replaces it in place. Default none.'),
    builtIn: z.boolean().default(true).describe('Use the built-in rules (after `rules`). Default true.'),
    fallback: z
      .strictObject({
        category: z.enum(CATEGORIES).default('Other').describe('Category of events no rule matches. Default Other.'),
        warningSeverity: z.enum(SEVERITIES).default('warning').describe('Severity of unmatched Warning events. Default warning.'),
        normalSeverity: z.enum(SEVERITIES).default('info').describe('Severity of unmatched events of other types. Default info.'),
      })
      .prefault({})
      .describe('Classification of events no rule matches.'),
  })
  .describe('Sets classification (category, severity, rule) on every event: the first matching rule, else the fallback. Put it after enrich so rules on container reasons can match.');

export const EnrichStageSchema = z
  .strictObject({
    labels: z
      .union([z.literal('*'), z.array(z.string().min(1))])
      .default([...DEFAULT_ENRICH_LABELS])
      .describe(`Labels of the regarding object to copy into enrichment.labels; "*" copies all. Default [${DEFAULT_ENRICH_LABELS.join(', ')}].`),
  })
  .describe('Sets enrichment on every event from the watched object caches: owner chain and workload, node, Pod phase, container states, labels. Null when the object is not cached.');

export const DedupeStageSchema = z
  .strictObject({
    window: positiveDuration().prefault('5m').describe('Suppression window (event time). Default 5m.'),
    by: keyFields(['cluster', 'object', 'reason'], 'What makes events "the same": their values of these fields.'),
    extendOnRepeat: z.boolean().default(false).describe('Extend the window on every suppressed repeat (suppress until a quiet gap of `window`). Default false.'),
    ...stateOptions(50_000, '1h'),
  })
  .describe('Lets the first event of a key through and suppresses repeats for `window`; the next one after the window carries dedupe.suppressed (how many were dropped).');

const summaryTemplate = (what: string) => z.string().min(1).optional().describe(what);

export const RateStageSchema = z
  .strictObject({
    threshold: positiveInt().describe('Fire when at least this many events of a key fall within `window`. Required.'),
    window: positiveDuration().describe('Sliding window (event time); an event at t counts in (t - window, t]. Required.'),
    hold: nonNegativeDuration().prefault('0s').describe('Resolve only after the count stayed under the threshold this long. Default 0s.'),
    holdUntilQuiet: z
      .boolean()
      .default(false)
      .describe(
        'Restart the hold at every counted event: resolve once the count is under the threshold and no event of the key came for `hold` (for conditions whose events keep trickling in under the threshold, e.g. the scheduler retrying an unschedulable Pod). Default false.',
      ),
    by: keyFields(['cluster', 'namespace', 'kind', 'name', 'reason'], 'One counter (and one alert) per distinct value of these fields; they become the alert labels.'),
    labels: staticLabels(),
    alertname: z.string().min(1).default('KubeEventRate').describe('alertname label. Default KubeEventRate.'),
    severity: z.enum(SEVERITIES).optional().describe('Alert severity. Default: the highest classified severity of the counted events (warning when unclassified).'),
    category: z.enum(CATEGORIES).optional().describe("Alert category. Default: the last counted event's category (Other when unclassified)."),
    summary: summaryTemplate(
      'Summary template: {field} placeholders of the last counted event plus {count}, {threshold}, {window}, {status}. Default "<reason> x<count> within <window> on <object> (<workload>): <message>".',
    ),
    annotations: z.record(z.string(), z.string()).default({}).describe('Extra annotations; values are templates with {field} placeholders of the last counted event. Default none.'),
    get resolveOn() {
      return MatcherSchema.optional().describe(
        'Events that end the condition for their object at once (e.g. reason Scheduled ends FailedScheduling): not counted; any firing alert about the same object resolves. Default none.',
      );
    },
    maxSamples: z.number().int().min(0).default(3).describe('Distinct sample messages kept per alert. Default 3.'),
    maxMemberKeys: z.number().int().min(0).default(20).describe('Idempotency keys of contributing events kept per alert. Default 20.'),
    ...stateOptions(20_000, 'window + hold + 1h'),
  })
  .describe('Counts events per key in a sliding window and emits a firing Alert when the count reaches the threshold, and a resolved one when it falls back under it (after `hold`). One firing and one resolved record per episode.');

export const SpikeStageSchema = z
  .strictObject({
    interval: positiveDuration().prefault('1m').describe('Bucket length (event time). Default 1m.'),
    factor: z.number().positive().default(5).describe('A bucket is anomalous when its count >= factor x baseline... Default 5.'),
    minCount: z.number().int().min(0).default(20).describe('...and its count >= minCount. Default 20.'),
    alpha: z.number().positive().max(1).default(0.3).describe('EWMA smoothing of the baseline (weight of the newest bucket), 0 < alpha <= 1. Default 0.3.'),
    minBaseline: z.number().min(0).default(1).describe('The baseline used is at least this (events per bucket). Default 1.'),
    warmup: z.number().int().min(0).default(5).describe('Buckets a key must have been observed before it can alert. Default 5.'),
    learnDuringAnomaly: z.boolean().default(false).describe('Update the baseline with anomalous buckets too. Default false (a sustained storm keeps firing).'),
    by: keyFields(['cluster', 'namespace'], 'One baseline (and one alert) per distinct value of these fields; they become the alert labels.'),
    labels: staticLabels(),
    alertname: z.string().min(1).default('KubeEventRateSpike').describe('alertname label. Default KubeEventRateSpike.'),
    severity: z.enum(SEVERITIES).default('warning').describe('Alert severity. Default warning.'),
    category: z.enum(CATEGORIES).optional().describe('Alert category. Default: the most frequent category in the bucket (Other when unclassified).'),
    maxSamples: z.number().int().min(0).default(3).describe('Distinct sample messages kept per alert. Default 3.'),
    maxMemberKeys: z.number().int().min(0).default(20).describe('Idempotency keys of contributing events kept per alert. Default 20.'),
    ...stateOptions(10_000, '24h'),
  })
  .describe("Compares each key's event count per bucket with its own baseline (EWMA of past buckets) and emits a firing Alert (KubeEventRateSpike) when a bucket is far above it, resolved when the rate comes back down. Filter first, e.g. type: Warning.");

export const CorrelateStageSchema = z
  .strictObject({
    window: positiveDuration().prefault('5m').describe('An incident closes when no member arrived for this long (event time). Default 5m.'),
    maxDuration: positiveDuration().prefault('1h').describe('An incident closes at the latest this long after its first member. Default 1h.'),
    minMembers: positiveInt().default(2).describe('Members an incident needs before it is emitted. Default 2.'),
    maxMembers: positiveInt().default(50).describe('Member events kept in the record (memberCount counts all). Default 50.'),
    kinds: z
      .array(z.enum(CORRELATION_KINDS))
      .min(1)
      .default([...CORRELATION_KINDS])
      .describe('Correlations to use, tried in the order node, owner, object. Default [node, owner, object].'),
    get match() {
      return MatcherSchema.optional().describe('Events taking part. Default: classified severity >= warning, or type Warning when unclassified.');
    },
    nodeDownReasons: z
      .array(z.string().min(1))
      .default(['NodeNotReady', 'NodeNotReachable'])
      .describe('Reasons of Node events that mark the node down: its incident stays open (up to maxDuration) until an up event. Default [NodeNotReady, NodeNotReachable].'),
    nodeUpReasons: z
      .array(z.string().min(1))
      .default(['NodeReady'])
      .describe('Reasons of Node events that mark the node back: they join its incident even when `match` would skip them; the incident then closes after `window`. Default [NodeReady].'),
    emitOpen: z.boolean().default(true).describe('Emit an `open` record when an incident reaches minMembers (besides `closed`). Default true.'),
    ...stateOptions(10_000, 'maxDuration + window'),
  })
  .describe(
    'Gathers problem events of related objects (same node, same owning workload, same object) within a window into one Incident: emitted open when it reaches minMembers and closed when it ends. A node incident stays open while its node is down (a down reason without an up reason since), then for `window`.',
  );

export const GroupStageSchema = z
  .strictObject({
    groupBy: z
      .array(z.string().min(1))
      .min(1)
      .default(['alertname'])
      .describe('Label names an alert group is made of; ["..."] = every label (no grouping). Default [alertname].'),
    groupWait: nonNegativeDuration().prefault('30s').describe('Wait before the first notification of a new group. Default 30s.'),
    groupInterval: positiveDuration().prefault('5m').describe('Wait between notifications of a group about changes. Default 5m.'),
    repeatInterval: positiveDuration().prefault('4h').describe('Re-send an unchanged firing notification this long after the last one. Default 4h.'),
    resolveTimeout: positiveDuration()
      .nullable()
      .default(null)
      .describe('A firing alert not updated for this long is considered resolved. Default null (alerts resolve only by a resolved record).'),
    sendResolved: z.boolean().default(true).describe('Notify when every alert of a group has resolved. Default true.'),
    maxAlertsPerGroup: positiveInt().default(1000).describe('Alerts held per group. Default 1000.'),
    ...stateOptions(10_000, 'repeatInterval + groupInterval'),
  })
  .describe("Groups alerts and decides when to notify, with Alertmanager's semantics (group_by, group_wait, group_interval, repeat_interval, resolve). Emits one Alert per notification.");

export const MapStageSchema = z
  .strictObject({
    set: z
      .record(z.string().min(1), z.string())
      .refine((v) => Object.keys(v).length > 0, { error: 'set needs at least one field' })
      .describe(
        'Fields to set; values are templates with {field} placeholders. Events: message, reason, type, cluster, labels.<name> (enrichment labels). Alerts: summary, severity, category, annotations.<name>.',
      ),
  })
  .describe('Changes fields of every record (the record keeps its schema).');

export const SelectStageSchema = z
  .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_.-]+)*$/, { error: 'a field path, e.g. reason or regarding.name' }))
  .min(1)
  .describe('Keeps only these fields (dotted paths, e.g. regarding.name). The records no longer match an Avro schema: only stdout and console sinks can take them.');

// ---------------------------------------------------------------------------------------------
// Sinks

export const KAFKA_ENCODINGS = ['confluent', 'raw'] as const;

export const KafkaSinkSchema = z
  .strictObject({
    topic: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,249}$/, { error: 'a Kafka topic name: letters, digits, ".", "_" and "-", at most 249' })
      .optional()
      .describe('Topic. Default by record kind: k8s.events, k8s.alerts, k8s.incidents. In embedded/replay mode the records go to the Avro file <out>/<topic>.avro instead.'),
    encoding: z
      .enum(KAFKA_ENCODINGS)
      .default('confluent')
      .describe('confluent: Confluent wire format (magic byte + Schema Registry id + Avro binary); raw: plain Avro binary with the schema fingerprint in a header. Default confluent.'),
  })
  .describe('Avro records on a Kafka topic, keyed by object (events), alertId (alerts) or incidentId (incidents). One record schema per topic.');

export const FileSinkSchema = z
  .strictObject({
    name: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,200}$/, { error: 'a file name without directories: letters, digits, ".", "_" and "-"' })
      .optional()
      .describe('File name without extension, written as <out>/<name>.avro (the --out directory). Default by record kind: k8s.events, k8s.alerts, k8s.incidents.'),
  })
  .describe('An Avro object container file (deflate, schema embedded). Pipelines writing the same name share the file; one record schema per file.');

export const StdoutSinkSchema = z
  .strictObject({
    format: z.enum(['auto', 'json', 'line']).default('auto').describe('json: JSON Lines; line: one readable line per record; auto: line on a terminal, else json. Default auto.'),
  })
  .describe('Records on standard output.');

export const ConsoleSinkSchema = z.strictObject({}).describe('One readable line per record (alerts: status, severity, what, where, evidence) on the console (stderr when stdout carries data).');

export const SINK_TYPES = ['kafka', 'file', 'stdout', 'console'] as const;
export type SinkType = (typeof SINK_TYPES)[number];

export const SinkSchema = z.union([
  z.enum(SINK_TYPES).describe('A sink with its default options.'),
  z
    .strictObject({
      kafka: KafkaSinkSchema.nullable().optional().describe(`${KafkaSinkSchema.description} Options may be left empty.`),
      file: FileSinkSchema.nullable().optional().describe(`${FileSinkSchema.description} Options may be left empty.`),
      stdout: StdoutSinkSchema.nullable().optional().describe(`${StdoutSinkSchema.description} Options may be left empty.`),
      console: ConsoleSinkSchema.nullable().optional().describe(`${ConsoleSinkSchema.description} Options may be left empty.`),
    })
    .check(z.superRefine(exactlyOneKey('sink'), { when: () => true }))
    .describe('One sink: a map with exactly one key, the sink type, and its options.')
    .meta({ id: 'Sink', minProperties: 1, maxProperties: 1 }),
]);

// ---------------------------------------------------------------------------------------------
// Steps and forks

/** Stages that can be written without options (`- enrich`). */
export const SHORTHAND_STAGES = ['classify', 'enrich', 'dedupe', 'spike', 'correlate', 'group'] as const;

export const STAGE_TYPES = ['filter', 'enrich', 'classify', 'dedupe', 'rate', 'spike', 'correlate', 'group', 'map', 'select', 'fork'] as const;
export type StageType = (typeof STAGE_TYPES)[number];

/** Marks the "one key" issue so the error formatter can drop it when an unknown key explains it. */
export const ONE_KEY_ISSUE = 'kubevents.one-key';

function exactlyOneKey(what: 'stage' | 'sink') {
  return (value: Record<string, unknown>, ctx: z.RefinementCtx): void => {
    const keys = Object.keys(value).filter((k) => value[k] !== undefined);
    if (keys.length === 1) return;
    ctx.addIssue({
      code: 'custom',
      params: { [ONE_KEY_ISSUE]: true, keys },
      message:
        keys.length === 0
          ? `empty ${what}: write a map with one key, the ${what} type`
          : `a ${what} is a map with exactly one key (the ${what} type), found ${keys.map((k) => `"${k}"`).join(', ')}: is the indentation of "${keys[1]}" right?`,
    });
  };
}

export interface BranchInput {
  name?: string;
  stages?: StepInput[];
  sinks?: Array<z.input<typeof SinkSchema>>;
}
export type StepInput = string | Record<string, unknown>;

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

export const StageObjectSchema = z
  .strictObject({
    filter: MatcherSchema.optional().describe('Keeps the records matching these conditions.'),
    enrich: EnrichStageSchema.nullable().optional().describe(`${EnrichStageSchema.description} Options may be left empty.`),
    classify: ClassifyStageSchema.nullable().optional().describe(`${ClassifyStageSchema.description} Options may be left empty.`),
    dedupe: DedupeStageSchema.nullable().optional().describe(`${DedupeStageSchema.description} Options may be left empty.`),
    rate: RateStageSchema.optional().describe(RateStageSchema.description!),
    spike: SpikeStageSchema.nullable().optional().describe(`${SpikeStageSchema.description} Options may be left empty.`),
    correlate: CorrelateStageSchema.nullable().optional().describe(`${CorrelateStageSchema.description} Options may be left empty.`),
    group: GroupStageSchema.nullable().optional().describe(`${GroupStageSchema.description} Options may be left empty.`),
    map: MapStageSchema.optional().describe(MapStageSchema.description!),
    select: SelectStageSchema.optional().describe(SelectStageSchema.description!),
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
  .union([z.enum(SHORTHAND_STAGES).describe('A stage with its default options.'), StageObjectSchema])
  .describe('A stage: its name alone (classify, enrich, dedupe, spike, correlate, group) or a map with one key, the stage type, and its options.')
  .meta({ id: 'Step' });

// ---------------------------------------------------------------------------------------------
// The document

export const SOURCE_RESOURCES = ['events'] as const;

export const SourceSchema = z
  .strictObject({
    resource: z.enum(SOURCE_RESOURCES).default('events').describe('What to read. Default events (the only resource for now).'),
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
      .describe('Kubernetes label selector on the Event objects, sent to the API server: every pipeline loaded together must use the same one (or none). Default none.'),
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
export type SourceSpec = z.output<typeof SourceSchema>;
export type EventTimeSpec = z.output<typeof EventTimeSchema>;
export type Matcher = z.output<typeof MatcherSchema>;
export type StepSpec = z.output<typeof StepSchema>;
export type StageObjectSpec = z.output<typeof StageObjectSchema>;
export type BranchSpec = z.output<typeof BranchSchema>;
export type SinkSpec = z.output<typeof SinkSchema>;
export type ClassifyStageOptions = z.output<typeof ClassifyStageSchema>;
export type EnrichStageOptions = z.output<typeof EnrichStageSchema>;
export type DedupeStageOptions = z.output<typeof DedupeStageSchema>;
export type RateStageOptions = z.output<typeof RateStageSchema>;
export type SpikeStageOptions = z.output<typeof SpikeStageSchema>;
export type CorrelateStageOptions = z.output<typeof CorrelateStageSchema>;
export type GroupStageOptions = z.output<typeof GroupStageSchema>;
export type MapStageOptions = z.output<typeof MapStageSchema>;
export type KafkaSinkOptions = z.output<typeof KafkaSinkSchema>;
export type FileSinkOptions = z.output<typeof FileSinkSchema>;
export type StdoutSinkOptions = z.output<typeof StdoutSinkSchema>;

/** The option schema of each stage type (fork's is the branch list, select's the field list). */
export const STAGE_OPTION_SCHEMAS = {
  filter: MatcherSchema,
  enrich: EnrichStageSchema,
  classify: ClassifyStageSchema,
  dedupe: DedupeStageSchema,
  rate: RateStageSchema,
  spike: SpikeStageSchema,
  correlate: CorrelateStageSchema,
  group: GroupStageSchema,
  map: MapStageSchema,
  select: SelectStageSchema,
} as const;

export const SINK_OPTION_SCHEMAS = {
  kafka: KafkaSinkSchema,
  file: FileSinkSchema,
  stdout: StdoutSinkSchema,
  console: ConsoleSinkSchema,
} as const;

// ---------------------------------------------------------------------------------------------
// JSON Schema and display

/** The JSON Schema of a pipeline file (what schemas/pipeline.schema.json holds). */
export function pipelineJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(PipelineSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return { $schema: schema['$schema'], $id: 'https://kubevents.dev/schemas/pipeline.schema.json', ...schema };
}

/** The JSON Schema file content, exactly as committed (2-space indent, trailing newline). */
export function pipelineJsonSchemaText(): string {
  return `${JSON.stringify(pipelineJsonSchema(), null, 2)}\n`;
}
