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
import { formatDuration, LATE_POLICIES } from '../operators/event-time.js';

export const PIPELINE_API_VERSION = 'kubevents/v1';
export const PIPELINE_KIND = 'Pipeline';

// ---------------------------------------------------------------------------------------------
// Durations

/** `1h30m`, `5m`, `30s`, `500ms`, `2d`: units in decreasing order, each at most once. */
export const DURATION_PATTERN = '^(?=\\d)(?:(\\d+)d)?(?:(\\d+)h)?(?:(\\d+)m(?!s))?(?:(\\d+)s)?(?:(\\d+)ms)?$';
const DURATION_RE = new RegExp(DURATION_PATTERN);
const UNIT_MS = [24 * 60 * 60_000, 60 * 60_000, 60_000, 1000, 1];

/** Milliseconds of a duration string (`1h30m` -> 5400000), or null when it is not one. */
export function parseDuration(text: string): number | null {
  const m = DURATION_RE.exec(text);
  if (!m) return null;
  let ms = 0;
  for (let i = 0; i < UNIT_MS.length; i++) {
    const v = m[i + 1];
    if (v !== undefined) ms += Number(v) * UNIT_MS[i]!;
  }
  return ms;
}

/** Formats ms as a duration string that parseDuration reads back (`5400000` -> `1h30m`). */
export function showDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms % 1000 !== 0) {
    const s = Math.floor(ms / 1000);
    return `${s > 0 ? formatDuration(s * 1000) : ''}${ms % 1000}ms`;
  }
  const days = Math.floor(ms / UNIT_MS[0]!);
  const rest = ms - days * UNIT_MS[0]!;
  return `${days > 0 ? `${days}d` : ''}${rest > 0 ? formatDuration(rest) : ''}`;
}

function describeInput(input: unknown): string {
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'a list';
  if (typeof input === 'object') return 'a map';
  if (typeof input === 'string') return JSON.stringify(input);
  return `${typeof input} ${String(input)}`;
}

const toMs = (text: string): number => parseDuration(text) ?? NaN;

function durationSchema(min: 'positive' | 'non-negative') {
  const base = z
    .string({
      error: (issue) =>
        issue.input === undefined
          ? undefined
          : `expected a duration such as 30s, 5m or 1h30m, got ${describeInput(issue.input)}${typeof issue.input === 'number' ? ' (a duration needs a unit: ms, s, m, h or d)' : ''}`,
    })
    .regex(DURATION_RE, {
      error: (issue) => `invalid duration ${describeInput(issue.input)}: write a whole number with a unit (ms, s, m, h, d), largest unit first, e.g. 500ms, 30s, 5m, 1h30m`,
    })
    .transform(toMs);
  return min === 'positive' ? base.refine((ms) => ms > 0, { error: 'must be longer than 0s' }) : base;
}

/** A duration string, > 0, parsed to ms. */
export const positiveDuration = () => durationSchema('positive');
/** A duration string, >= 0, parsed to ms. */
export const nonNegativeDuration = () => durationSchema('non-negative');

/** Whether a (possibly wrapped) schema is one of the duration schemas above. */
export function isDurationSchema(schema: z.ZodType): boolean {
  let s: z.ZodType | undefined = schema;
  for (let depth = 0; s && depth < 10; depth++) {
    const def = s.def as { type: string; in?: z.ZodType; out?: z.ZodType; innerType?: z.ZodType; transform?: unknown };
    if (def.type === 'transform') return def.transform === toMs;
    if (def.type === 'pipe') {
      const out = def.out!.def as { type: string; transform?: unknown };
      if (out.type === 'transform' && out.transform === toMs) return true;
      s = def.in;
      continue;
    }
    if (def.innerType) {
      s = def.innerType;
      continue;
    }
    return false;
  }
  return false;
}

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

type AnyDef = {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  out?: z.ZodType;
  element?: z.ZodType;
  options?: readonly z.ZodType[];
  valueType?: z.ZodType;
  getter?: () => z.ZodType;
};

/** Unwraps optional/nullable/default/prefault/readonly/lazy and non-duration pipes. */
export function unwrapSchema(schema: z.ZodType): z.ZodType {
  let s = schema;
  for (let depth = 0; depth < 20; depth++) {
    if (isDurationSchema(s)) return s;
    const def = s.def as AnyDef;
    if (def.innerType && ['optional', 'nullable', 'default', 'prefault', 'readonly', 'catch', 'nonoptional'].includes(def.type)) s = def.innerType;
    else if (def.type === 'pipe' && def.in) s = def.in;
    else if (def.type === 'lazy' && def.getter) s = def.getter();
    else return s;
  }
  return s;
}

/** The object shape of a schema (after unwrapping), or null when it is not an object. */
export function shapeOf(schema: z.ZodType): Record<string, z.ZodType> | null {
  const s = unwrapSchema(schema);
  if (s.def.type !== 'object') return null;
  return (s as z.ZodObject).shape as Record<string, z.ZodType>;
}

/**
 * An effective option value formatted for people: durations back to `5m`, the rest as is.
 * Used by `kubevents explain`.
 */
export function displayValue(schema: z.ZodType | undefined, value: unknown): unknown {
  if (value === undefined || value === null || !schema) return value;
  if (isDurationSchema(schema) && typeof value === 'number') return showDuration(value);
  const s = unwrapSchema(schema);
  const def = s.def as AnyDef;
  if (def.type === 'object' && typeof value === 'object' && !Array.isArray(value)) {
    const shape = (s as z.ZodObject).shape as Record<string, z.ZodType>;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (v === undefined) continue;
      out[k] = displayValue(shape[k], v);
    }
    return out;
  }
  if (def.type === 'array' && Array.isArray(value)) return value.map((v) => displayValue(def.element, v));
  if (def.type === 'record' && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, displayValue(def.valueType, v)]));
  }
  if (def.type === 'union' && def.options) {
    const duration = def.options.find((o) => isDurationSchema(o));
    if (duration && typeof value === 'number') return showDuration(value);
    const objectOption = def.options.find((o) => unwrapSchema(o).def.type === 'object');
    if (objectOption && typeof value === 'object' && !Array.isArray(value)) return displayValue(objectOption, value);
    const arrayOption = def.options.find((o) => unwrapSchema(o).def.type === 'array');
    if (arrayOption && Array.isArray(value)) return displayValue(arrayOption, value);
  }
  return value;
}
