/**
 * The pipeline graph: a parsed pipeline document turned into typed nodes with effective options
 * (defaults filled in, pipeline-level event-time settings applied), the record kind flowing into
 * and out of every stage, and sink targets resolved. Building it performs the checks the schema
 * cannot: a stage receiving the wrong record kind (e.g. dedupe after rate), filter conditions
 * that do not apply to the records at that point or can never match (category before classify),
 * template placeholders, field selectors, Avro sinks after select, branches writing nowhere.
 *
 * compile.ts turns a graph into RxJS; `kubevents explain` prints it (explainGraph).
 */
import { stringify } from 'yaml';
import { showDuration } from '../core/duration.js';
import { loadSchema } from '../avro/schemas.js';
import { CATEGORIES, SEVERITIES } from '../model/kube-event.js';
import { BUILT_IN_RULES, compileRules, RuleError } from '../operators/classify.js';
import { closest, type DiagnosticSeverity } from '../core/diagnostics.js';
import { formatPath, type PathSegment } from '../core/yaml-locator.js';
import { displayValue } from '../core/zod-schema.js';
import {
  FIELD_SELECTOR_FIELDS,
  MATCHER_CONDITIONS,
  NEEDS_CLASSIFY,
  NEEDS_ENRICH,
  STREAM_KIND_NAMES,
  fieldGetter,
  fieldNames,
  describeMatcher,
  parseFieldSelector,
  templateFields,
  type FieldRequirement,
  type StreamKind,
} from './fields.js';
import {
  SINK_OPTION_SCHEMAS,
  STAGE_OPTION_SCHEMAS,
  type BranchSpec,
  type ClassifyStageOptions,
  type CorrelateStageOptions,
  type DedupeStageOptions,
  type EnrichStageOptions,
  type EventTimeSpec,
  type GroupStageOptions,
  type MapStageOptions,
  type Matcher,
  type PipelineDocument,
  type RateStageOptions,
  type SinkSpec,
  type SinkType,
  type SpikeStageOptions,
  type StageType,
  type StepSpec,
} from './schema.js';

/** Default Kafka topic / file name per record kind (the same as the Kafka sink's DEFAULT_TOPICS). */
export const DEFAULT_TOPIC_BY_KIND = {
  KubeEvent: 'k8s.events',
  Alert: 'k8s.alerts',
  Incident: 'k8s.incidents',
} as const;

export type AvroKind = keyof typeof DEFAULT_TOPIC_BY_KIND;

/** Topics / files the runtime writes itself (the Kafka sink's DEFAULT_TOPICS for these kinds). */
const RESERVED_NAMES: Record<string, string> = { 'k8s.deadletter': 'dead letters (DeadLetter records)', 'k8s.gaps': 'gap records (Gap records)' };
const AVRO_KINDS: readonly StreamKind[] = ['KubeEvent', 'Alert', 'Incident'];

export type SinkTarget =
  | { type: 'kafka'; topic: string; encoding: 'confluent' | 'raw' }
  | { type: 'file'; name: string }
  | { type: 'stdout'; format: 'auto' | 'json' | 'line' }
  | { type: 'console' };

/** One id per destination: `kafka:k8s.alerts`, `file:k8s.events`, `stdout`, `console`. */
export function targetId(target: SinkTarget): string {
  switch (target.type) {
    case 'kafka':
      return `kafka:${target.topic}`;
    case 'file':
      return `file:${target.name}`;
    default:
      return target.type;
  }
}

/** Effective options of each stage type. Durations are ms. */
export interface StageOptionsByType {
  filter: Matcher;
  enrich: EnrichStageOptions;
  classify: ClassifyStageOptions;
  dedupe: DedupeStageOptions & { idleTtl: number; allowedLateness: number; latePolicy: 'clamp' | 'drop' };
  rate: RateStageOptions & { idleTtl: number; allowedLateness: number; latePolicy: 'clamp' | 'drop' };
  spike: SpikeStageOptions & { idleTtl: number; allowedLateness: number; latePolicy: 'clamp' | 'drop' };
  correlate: CorrelateStageOptions & { idleTtl: number; allowedLateness: number; latePolicy: 'clamp' | 'drop' };
  group: GroupStageOptions & { idleTtl: number; allowedLateness: number; latePolicy: 'clamp' | 'drop' };
  map: MapStageOptions;
  select: string[];
}

export type OperatorStageType = Exclude<StageType, 'fork'>;

export type StageNode = {
  [K in OperatorStageType]: {
    kind: 'stage';
    type: K;
    /** Stage name for metrics and logs: `<pipeline>/<branch>/.../<type>` (#n when repeated). */
    id: string;
    options: StageOptionsByType[K];
    input: StreamKind;
    output: StreamKind;
    path: PathSegment[];
  };
}[OperatorStageType];

export interface ForkNode {
  kind: 'fork';
  id: string;
  input: StreamKind;
  branches: BranchNode[];
  path: PathSegment[];
}

export type StepNode = StageNode | ForkNode;

export interface SinkNode {
  type: SinkType;
  target: SinkTarget;
  /** Kind of the records this sink receives. */
  recordKind: StreamKind;
  path: PathSegment[];
}

export interface BranchNode {
  name: string;
  id: string;
  steps: StepNode[];
  sinks: SinkNode[];
  output: StreamKind;
  path: PathSegment[];
}

export interface SourceNode {
  resource: 'events';
  namespaces: string[] | null;
  fieldSelector: string | null;
  labelSelector: string | null;
  requirements: FieldRequirement[];
}

export interface PipelineGraph {
  name: string;
  description: string | null;
  source: SourceNode;
  eventTime: EventTimeSpec;
  steps: StepNode[];
  sinks: SinkNode[];
  output: StreamKind;
}

export interface GraphProblem {
  path: PathSegment[];
  /** Point at the key of the last path segment rather than its value. */
  key?: boolean;
  severity: DiagnosticSeverity;
  message: string;
  hint?: string;
}

/** What each stage accepts and makes. */
const ACCEPTS: Record<OperatorStageType, readonly StreamKind[]> = {
  filter: ['KubeEvent', 'Alert', 'Incident'],
  enrich: ['KubeEvent'],
  classify: ['KubeEvent'],
  dedupe: ['KubeEvent'],
  rate: ['KubeEvent'],
  spike: ['KubeEvent'],
  correlate: ['KubeEvent'],
  group: ['Alert'],
  map: ['KubeEvent', 'Alert'],
  select: ['KubeEvent', 'Alert', 'Incident'],
};

function outputOf(type: OperatorStageType, input: StreamKind): StreamKind {
  switch (type) {
    case 'rate':
    case 'spike':
    case 'group':
      return 'Alert';
    case 'correlate':
      return 'Incident';
    case 'select':
      return 'Projection';
    default:
      return input;
  }
}

const kindName = (k: StreamKind): string => STREAM_KIND_NAMES[k];

/** Settable fields of `map` per record kind (`labels.` / `annotations.` prefixes take a name). */
const MAP_TARGETS: Partial<Record<StreamKind, { fields: readonly string[]; prefixes: readonly string[] }>> = {
  KubeEvent: { fields: ['message', 'reason', 'type', 'cluster'], prefixes: ['labels.'] },
  Alert: { fields: ['summary', 'severity', 'category'], prefixes: ['annotations.'] },
};

/** Event types the API accepts (events.k8s.io/v1 and core/v1 validation). */
const EVENT_TYPES = ['Normal', 'Warning'];

/** Reasons kubevents knows (the built-in classification rules), for "did you mean" on typos. */
const KNOWN_REASONS: readonly string[] = [
  ...new Set(BUILT_IN_RULES.flatMap((r) => (r.reason === undefined ? [] : Array.isArray(r.reason) ? r.reason : [r.reason]))),
];

/** Extra placeholders a rate summary template may use. */
export const RATE_SUMMARY_FIELDS = ['count', 'threshold', 'window', 'status'] as const;

interface Flow {
  kind: StreamKind;
  classified: boolean;
  enriched: boolean;
  /** The stage that last changed the record kind (for messages). */
  madeBy: string | null;
}

class Builder {
  readonly problems: GraphProblem[] = [];
  private readonly usedIds = new Map<string, number>();

  constructor(
    private readonly pipeline: string,
    private readonly eventTime: EventTimeSpec,
  ) {}

  problem(path: PathSegment[], message: string, hint?: string, severity: DiagnosticSeverity = 'error', key = false): void {
    this.problems.push({ path, message, severity, ...(hint ? { hint } : {}), ...(key ? { key } : {}) });
  }

  private stageId(prefix: string, type: string): string {
    const base = `${prefix}/${type}`;
    const n = (this.usedIds.get(base) ?? 0) + 1;
    this.usedIds.set(base, n);
    return n === 1 ? base : `${base}#${n}`;
  }

  steps(steps: readonly StepSpec[], basePath: PathSegment[], flow: Flow, prefix: string): { nodes: StepNode[]; flow: Flow } {
    const nodes: StepNode[] = [];
    let current = { ...flow };
    steps.forEach((step, index) => {
      const path = [...basePath, index];
      const [type, raw] = typeof step === 'string' ? [step, null] : (Object.entries(step).find(([, v]) => v !== undefined) as [StageType, unknown] | undefined) ?? [null, null];
      if (type === null) return; // reported by the schema
      if (type === 'fork') {
        nodes.push(this.fork(raw as BranchSpec[], [...path, 'fork'], current, prefix));
        return;
      }
      const optionsPath = typeof step === 'string' ? path : [...path, type];
      const accepts = ACCEPTS[type];
      if (!accepts.includes(current.kind)) {
        const after = current.madeBy ? ` (made by the ${current.madeBy} stage before it)` : '';
        this.problem(
          typeof step === 'string' ? path : [...path, type],
          `stage "${type}" takes ${accepts.map(kindName).join(' or ')}, but here the stream carries ${kindName(current.kind)}${after}`,
          this.kindHint(type, current.kind),
          'error',
          typeof step !== 'string',
        );
      }
      const options = this.options(type, raw, optionsPath, current);
      const output = outputOf(type, current.kind);
      nodes.push({ kind: 'stage', type, id: this.stageId(prefix, type), options, input: current.kind, output, path: optionsPath } as StageNode);
      current = {
        kind: output,
        classified: current.classified || type === 'classify',
        enriched: current.enriched || type === 'enrich',
        madeBy: output !== current.kind ? type : current.madeBy,
      };
    });
    return { nodes, flow: current };
  }

  private kindHint(type: OperatorStageType, kind: StreamKind): string | undefined {
    if (kind === 'Alert' && ACCEPTS[type].includes('KubeEvent')) return 'put it before the stage that makes alerts, or in a fork before it';
    if (kind === 'KubeEvent' && type === 'group') return 'group takes the alerts of a rate or spike stage: put it after one';
    if (kind === 'Projection') return 'select must come last';
    return undefined;
  }

  private fork(branches: BranchSpec[], path: PathSegment[], flow: Flow, prefix: string): ForkNode {
    const seen = new Map<string, number>();
    const nodes = branches.map((branch, j) => {
      const name = branch.name ?? `branch-${j + 1}`;
      const bpath = [...path, j];
      if (seen.has(name)) this.problem([...bpath, 'name'], `duplicate branch name "${name}" in this fork`, `the first is branch ${seen.get(name)! + 1}`);
      seen.set(name, j);
      return this.branch(branch, name, bpath, flow, `${prefix}/${name}`);
    });
    return { kind: 'fork', id: this.stageId(prefix, 'fork'), input: flow.kind, branches: nodes, path };
  }

  branch(branch: BranchSpec, name: string, path: PathSegment[], flow: Flow, prefix: string): BranchNode {
    const { nodes, flow: out } = this.steps(branch.stages, [...path, 'stages'], flow, prefix);
    const sinks = this.sinks(branch.sinks, [...path, 'sinks'], out);
    if (!writes(nodes, sinks)) this.problem(path, `branch "${name}" writes nowhere`, 'give it sinks');
    return { name, id: prefix, steps: nodes, sinks, output: out.kind, path };
  }

  sinks(specs: readonly SinkSpec[], basePath: PathSegment[], flow: Flow): SinkNode[] {
    const out: SinkNode[] = [];
    specs.forEach((spec, index) => {
      const path = [...basePath, index];
      const [type, raw] = typeof spec === 'string' ? [spec, null] : ((Object.entries(spec).find(([, v]) => v !== undefined) as [SinkType, unknown] | undefined) ?? [null, null]);
      if (type === null) return;
      const options = (raw ?? SINK_OPTION_SCHEMAS[type].parse({})) as Record<string, unknown>;
      const kind = flow.kind;
      if ((type === 'kafka' || type === 'file') && !AVRO_KINDS.includes(kind)) {
        this.problem(typeof spec === 'string' ? path : [...path, type], `sink "${type}" writes Avro records, but here the stream carries ${kindName(kind)}`, 'select makes records without a schema: send them to stdout or console', 'error', typeof spec !== 'string');
      }
      const fallbackName = AVRO_KINDS.includes(kind) ? DEFAULT_TOPIC_BY_KIND[kind as AvroKind] : 'k8s.events';
      let target: SinkTarget;
      if (type === 'kafka') target = { type, topic: (options['topic'] as string | undefined) ?? fallbackName, encoding: options['encoding'] as 'confluent' | 'raw' };
      else if (type === 'file') target = { type, name: (options['name'] as string | undefined) ?? fallbackName };
      else if (type === 'stdout') target = { type, format: options['format'] as 'auto' | 'json' | 'line' };
      else target = { type: 'console' };
      const name = target.type === 'kafka' ? target.topic : target.type === 'file' ? target.name : null;
      if (name !== null && RESERVED_NAMES[name]) {
        this.problem([...path, type, target.type === 'kafka' ? 'topic' : 'name'], `"${name}" is reserved for ${RESERVED_NAMES[name]}`, 'pick another name');
      }
      out.push({ type, target, recordKind: kind, path });
    });
    return out;
  }

  private stateful<T extends { allowedLateness?: number | undefined; latePolicy?: 'clamp' | 'drop' | undefined; idleTtl?: number | undefined }>(
    options: T,
    idleTtl: number,
  ): T & { idleTtl: number; allowedLateness: number; latePolicy: 'clamp' | 'drop' } {
    return {
      ...options,
      allowedLateness: options.allowedLateness ?? this.eventTime.allowedLateness,
      latePolicy: options.latePolicy ?? this.eventTime.latePolicy,
      idleTtl: options.idleTtl ?? idleTtl,
    };
  }

  private options(type: OperatorStageType, raw: unknown, path: PathSegment[], flow: Flow): StageOptionsByType[OperatorStageType] {
    const schema = STAGE_OPTION_SCHEMAS[type];
    const parsed = (raw ?? schema.parse({})) as never;
    switch (type) {
      case 'filter':
        this.matcher(parsed as Matcher, path, flow, 'filter');
        return parsed as Matcher;
      case 'enrich':
        return parsed as EnrichStageOptions;
      case 'classify': {
        const o = parsed as ClassifyStageOptions;
        this.classifyRules(o, path, flow);
        return o;
      }
      case 'dedupe': {
        const o = parsed as DedupeStageOptions;
        this.keyFields(o.by, [...path, 'by'], flow);
        return this.stateful(o, 60 * 60_000);
      }
      case 'rate': {
        const o = parsed as RateStageOptions;
        this.keyFields(o.by, [...path, 'by'], flow);
        if (o.resolveOn) this.matcher(o.resolveOn, [...path, 'resolveOn'], { ...flow, kind: 'KubeEvent' }, 'resolveOn');
        if (o.summary !== undefined) this.template(o.summary, [...path, 'summary'], 'KubeEvent', RATE_SUMMARY_FIELDS);
        for (const [name, value] of Object.entries(o.annotations)) this.template(value, [...path, 'annotations', name], 'KubeEvent');
        return this.stateful(o, o.window + o.hold + 60 * 60_000);
      }
      case 'spike': {
        const o = parsed as SpikeStageOptions;
        this.keyFields(o.by, [...path, 'by'], flow);
        return this.stateful(o, 24 * 60 * 60_000);
      }
      case 'correlate': {
        const o = parsed as CorrelateStageOptions;
        if (o.match) this.matcher(o.match, [...path, 'match'], { ...flow, kind: 'KubeEvent' }, 'match');
        return this.stateful(o, o.maxDuration + o.window);
      }
      case 'group': {
        const o = parsed as GroupStageOptions;
        return this.stateful(o, o.repeatInterval + o.groupInterval);
      }
      case 'map': {
        const o = parsed as MapStageOptions;
        this.mapTargets(o, path, flow.kind);
        return o;
      }
      case 'select': {
        const fields = parsed as string[];
        this.selectFields(fields, path, flow.kind);
        return fields;
      }
    }
  }

  private matcher(m: Matcher, path: PathSegment[], flow: Flow, what: string): void {
    const kind = flow.kind;
    if (kind === 'Projection') return; // the stage itself is reported
    for (const [key, value] of Object.entries(m)) {
      if (value === undefined) continue;
      const kinds = MATCHER_CONDITIONS[key] ?? [];
      if (!kinds.includes(kind)) {
        const usable = Object.keys(MATCHER_CONDITIONS).filter((k) => MATCHER_CONDITIONS[k]!.includes(kind));
        this.problem([...path, key], `condition "${key}" does not apply to ${kindName(kind)}`, `conditions for ${kindName(kind)}: ${usable.join(', ')}`, 'error', true);
        continue;
      }
      if (kind === 'KubeEvent' && !flow.classified && (NEEDS_CLASSIFY as readonly string[]).includes(key)) {
        this.problem([...path, key], `${what} on "${key}" before any classify stage: events are not classified yet, so it never matches`, 'add a classify stage before it', 'error', true);
      }
      if (kind === 'KubeEvent' && !flow.enriched && (NEEDS_ENRICH as readonly string[]).includes(key)) {
        this.problem([...path, key], `${what} on "${key}" before any enrich stage: events carry no labels yet, so it never matches`, 'add an enrich stage before it', 'error', true);
      }
      const items = (): Array<[string, PathSegment[]]> =>
        Array.isArray(value) ? value.map((v, i) => [String(v), [...path, key, i]]) : [[String(value), [...path, key]]];
      if (key === 'type') {
        for (const [t, at] of items()) {
          if (t.includes('*') || EVENT_TYPES.includes(t)) continue;
          const c = closest(t, EVENT_TYPES);
          this.problem(at, `event type "${t}" never matches: events are Normal or Warning`, c ? `did you mean "${c}"?` : undefined);
        }
      }
      if (key === 'reason') {
        for (const [r, at] of items()) {
          if (r.includes('*') || KNOWN_REASONS.includes(r)) continue;
          const c = closest(r, KNOWN_REASONS);
          if (c) this.problem(at, `reason "${r}" is not a reason Kubernetes writes`, `did you mean "${c}"?`, 'warning');
        }
      }
      if (key === 'status') {
        const allowed = kind === 'Alert' ? ['firing', 'resolved'] : ['open', 'closed'];
        for (const v of Array.isArray(value) ? value : [value]) {
          if (!allowed.includes(String(v))) this.problem([...path, key], `status "${String(v)}" is not a status of ${kindName(kind)}`, `${kindName(kind)} are ${allowed.join(' or ')}`);
        }
      }
      if (key === 'not') this.matcher(value as Matcher, [...path, key], flow, what);
      if (key === 'any') (value as Matcher[]).forEach((inner, i) => this.matcher(inner, [...path, key, i], flow, what));
    }
  }

  private keyFields(by: readonly string[], path: PathSegment[], flow: Flow): void {
    by.forEach((field, i) => {
      if (!flow.classified && (field === 'category' || field === 'severity')) {
        this.problem([...path, i], `"${field}" before any classify stage is always empty`, 'add a classify stage before it', 'warning');
      }
      if (!flow.enriched && field === 'workload') {
        this.problem([...path, i], `"workload" before any enrich stage is always empty`, 'add an enrich stage before it', 'warning');
      }
    });
  }

  private classifyRules(o: ClassifyStageOptions, path: PathSegment[], flow: Flow): void {
    o.rules.forEach((rule, i) => {
      for (const t of rule.type === undefined ? [] : Array.isArray(rule.type) ? rule.type : [rule.type]) {
        if (!EVENT_TYPES.includes(t)) this.problem([...path, 'rules', i, 'type'], `event type "${t}" never matches: events are Normal or Warning`, closest(t, EVENT_TYPES) ? `did you mean "${closest(t, EVENT_TYPES)}"?` : undefined);
      }
      if (rule.containerReason !== undefined && !flow.enriched) {
        this.problem([...path, 'rules', i, 'containerReason'], `rule "${rule.name}" matches on container reasons, but no enrich stage runs before this classify: it never matches`, 'put an enrich stage before classify', 'warning', true);
      }
    });
    try {
      compileRules({ rules: o.rules, builtIn: o.builtIn, fallback: o.fallback });
    } catch (error) {
      if (!(error instanceof RuleError)) throw error;
      const indexes = o.rules.map((r, i) => (r.name === error.rule ? i : -1)).filter((i) => i >= 0);
      const index = indexes.length > 1 ? indexes[1]! : (indexes[0] ?? -1);
      this.problem(index >= 0 ? [...path, 'rules', index, 'name'] : [...path, 'rules'], error.message);
    }
  }

  private template(template: string, path: PathSegment[], kind: StreamKind, extra: readonly string[] = []): void {
    for (const field of templateFields(template)) {
      if (extra.includes(field) || fieldGetter(kind, field)) continue;
      const names = [...fieldNames(kind).filter((n) => !n.includes('<')), ...extra];
      const suggestion = closest(field, names);
      this.problem(path, `unknown placeholder {${field}} for ${kindName(kind)}`, suggestion ? `did you mean {${suggestion}}?` : `placeholders: ${fieldNames(kind).concat(extra).map((n) => `{${n}}`).join(' ')}`);
    }
  }

  private mapTargets(o: MapStageOptions, path: PathSegment[], kind: StreamKind): void {
    const targets = MAP_TARGETS[kind];
    if (!targets) return; // the stage itself is reported
    for (const [field, template] of Object.entries(o.set)) {
      const fpath = [...path, 'set', field];
      const prefix = targets.prefixes.find((p) => field.startsWith(p) && field.length > p.length);
      if (!targets.fields.includes(field) && !prefix) {
        const names = [...targets.fields, ...targets.prefixes.map((p) => `${p}<name>`)];
        this.problem(fpath, `map cannot set "${field}" on ${kindName(kind)}`, closest(field, targets.fields) ? `did you mean "${closest(field, targets.fields)}"?` : `settable: ${names.join(', ')}`, 'error', true);
        continue;
      }
      this.template(template, fpath, kind);
      if (field === 'severity' || field === 'category') {
        const allowed: readonly string[] = field === 'severity' ? SEVERITIES : CATEGORIES;
        if (templateFields(template).length > 0) this.problem(fpath, `${field} must be a fixed value, not a template`);
        else if (!allowed.includes(template)) this.problem(fpath, `invalid ${field} "${template}"`, closest(template, allowed) ? `did you mean "${closest(template, allowed)}"?` : `one of ${allowed.join(', ')}`);
      }
    }
  }

  private selectFields(fields: readonly string[], path: PathSegment[], kind: StreamKind): void {
    if (!AVRO_KINDS.includes(kind)) return;
    const schema = loadSchema(kind).json as unknown as AvroRecord;
    fields.forEach((field, i) => {
      const problem = checkAvroPath(schema, field.split('.'));
      if (problem) this.problem([...path, i], `${kindName(kind)} have no field "${field}"`, problem);
    });
  }
}

interface AvroRecord {
  type: 'record';
  name: string;
  fields: Array<{ name: string; type: unknown }>;
}

function checkAvroPath(root: AvroRecord, segments: readonly string[]): string | null {
  const named = new Map<string, AvroRecord>();
  const collect = (t: unknown): void => {
    if (Array.isArray(t)) t.forEach(collect);
    else if (t && typeof t === 'object') {
      const o = t as { type?: unknown; name?: string; fields?: Array<{ type: unknown }>; items?: unknown; values?: unknown };
      if (o.type === 'record' && o.name) {
        named.set(o.name, o as AvroRecord);
        o.fields?.forEach((f) => collect(f.type));
      }
      if (o.items) collect(o.items);
      if (o.values) collect(o.values);
      if (o.type && typeof o.type === 'object') collect(o.type);
    }
  };
  collect(root);
  const recordOf = (t: unknown): AvroRecord | null => {
    if (typeof t === 'string') return named.get(t) ?? null;
    if (Array.isArray(t)) return t.map(recordOf).find((r) => r !== null) ?? null;
    if (t && typeof t === 'object') {
      const o = t as { type?: unknown };
      if (o.type === 'record') return t as AvroRecord;
      if (o.type === 'map') return null;
      if (o.type && typeof o.type === 'object') return recordOf(o.type);
    }
    return null;
  };
  const isMap = (t: unknown): boolean => {
    if (Array.isArray(t)) return t.some(isMap);
    return !!t && typeof t === 'object' && (t as { type?: unknown }).type === 'map';
  };
  let record: AvroRecord | null = root;
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    if (!record) return null;
    const field = record.fields.find((f) => f.name === seg);
    if (!field) {
      const names = record.fields.map((f) => f.name);
      const c = closest(seg, names);
      return c ? `did you mean "${[...segments.slice(0, i), c].join('.')}"?` : `fields: ${names.join(', ')}`;
    }
    if (isMap(field.type)) return null; // labels.app, annotations.x: any key
    record = recordOf(field.type);
    if (!record && i < segments.length - 1) return `"${segments.slice(0, i + 1).join('.')}" has no fields`;
  }
  return null;
}

function writes(steps: readonly StepNode[], sinks: readonly SinkNode[]): boolean {
  return sinks.length > 0 || steps.some((s) => s.kind === 'fork' && s.branches.some((b) => writes(b.steps, b.sinks)));
}

/**
 * Builds the graph of one parsed pipeline document and reports what is wrong with it beyond
 * the schema (problems carry document paths; load.ts turns them into file:line:col).
 */
export function buildGraph(doc: PipelineDocument): { graph: PipelineGraph; problems: GraphProblem[] } {
  const name = doc.metadata.name;
  const b = new Builder(name, doc.spec.eventTime);
  const source = doc.spec.source;
  let requirements: FieldRequirement[] = [];
  if (source.fieldSelector !== undefined) {
    const parsed = parseFieldSelector(source.fieldSelector);
    if (typeof parsed === 'string') b.problem(['spec', 'source', 'fieldSelector'], `field selector: ${parsed}`);
    else {
      requirements = parsed;
      for (const r of parsed) {
        if (!(r.field in FIELD_SELECTOR_FIELDS)) {
          const known = Object.keys(FIELD_SELECTOR_FIELDS);
          b.problem(['spec', 'source', 'fieldSelector'], `field selector: events have no field "${r.field}"`, closest(r.field, known) ? `did you mean "${closest(r.field, known)}"?` : `fields: ${known.join(', ')}`);
        }
      }
    }
  }
  const flow: Flow = { kind: 'KubeEvent', classified: false, enriched: false, madeBy: null };
  const { nodes, flow: out } = b.steps(doc.spec.stages, ['spec', 'stages'], flow, name);
  const sinks = b.sinks(doc.spec.sinks, ['spec', 'sinks'], out);
  if (!writes(nodes, sinks)) b.problem(['spec'], `pipeline "${name}" writes nowhere`, 'add sinks (kafka, file, stdout, console) to spec.sinks or to a fork branch', 'error', true);
  else if (sinks.length === 0 && nodes.length > 0 && nodes[nodes.length - 1]!.kind !== 'fork') {
    const lastFork = nodes.map((n) => n.kind).lastIndexOf('fork');
    if (lastFork >= 0) b.problem(nodes[lastFork + 1]!.path, 'the stages after the last fork lead nowhere: spec.sinks is empty', 'add sinks or move these stages into a branch', 'warning');
  }
  const graph: PipelineGraph = {
    name,
    description: doc.metadata.description ?? null,
    source: {
      resource: source.resource,
      namespaces: source.namespaces ?? null,
      fieldSelector: source.fieldSelector ?? null,
      labelSelector: source.labelSelector ?? null,
      requirements,
    },
    eventTime: doc.spec.eventTime,
    steps: nodes,
    sinks,
    output: out.kind,
  };
  return { graph, problems: b.problems };
}

/** Every sink node of a graph, branches included, with the branch path (null on the main line). */
export function allSinks(graph: PipelineGraph): Array<{ sink: SinkNode; branch: string | null }> {
  const out: Array<{ sink: SinkNode; branch: string | null }> = [];
  const walk = (steps: readonly StepNode[], sinks: readonly SinkNode[], branch: string | null): void => {
    for (const s of steps) if (s.kind === 'fork') for (const br of s.branches) walk(br.steps, br.sinks, branch ? `${branch}/${br.name}` : br.name);
    for (const sink of sinks) out.push({ sink, branch });
  };
  walk(graph.steps, graph.sinks, null);
  return out;
}

// ---------------------------------------------------------------------------------------------
// explain

function describeTarget(target: SinkTarget, kind: StreamKind): string {
  const what = AVRO_KINDS.includes(kind) ? `${kind} records` : kindName(kind);
  switch (target.type) {
    case 'kafka':
      return `kafka topic ${target.topic} (${target.encoding} encoding; embedded mode: file ${target.topic}.avro) <- ${what}`;
    case 'file':
      return `file ${target.name}.avro (Avro container) <- ${what}`;
    case 'stdout':
      return `stdout (${target.format}) <- ${what}`;
    case 'console':
      return `console lines <- ${what}`;
  }
}

function optionLines(type: OperatorStageType, options: unknown, indent: string): string[] {
  if (type === 'filter') return [`${indent}match: ${describeMatcher(options as Matcher)}`];
  if (type === 'select') return [`${indent}fields: ${(options as string[]).join(', ')}`];
  const display = displayValue(STAGE_OPTION_SCHEMAS[type], options) as Record<string, unknown>;
  if (type === 'rate' && display['resolveOn']) display['resolveOn'] = describeMatcher((options as RateStageOptions).resolveOn!);
  if (type === 'correlate' && display['match']) display['match'] = describeMatcher((options as CorrelateStageOptions).match!);
  if (type === 'classify') {
    const o = options as ClassifyStageOptions;
    display['rules'] = o.rules.length ? o.rules.map((r) => r.name) : [];
    display['effectiveRules'] = compileRules(o).rules.length;
  }
  // one line per option, flow style for values: readable and compact
  return Object.entries(display).map(([k, v]) => `${indent}${k}: ${stringify(v, { lineWidth: 0, collectionStyle: 'flow' }).trimEnd()}`);
}

/** The compiled graph in words: stages in order with record kinds, forks, sinks, effective options. */
export function explainGraph(graph: PipelineGraph, origin?: string): string {
  const lines: string[] = [];
  lines.push(`pipeline ${graph.name}${origin ? `  (${origin})` : ''}`);
  if (graph.description) lines.push(`  ${graph.description.trim().replace(/\s+/g, ' ')}`);
  const s = graph.source;
  const scope = [s.namespaces ? `namespaces ${s.namespaces.join(', ')}` : 'all namespaces', s.fieldSelector ? `fieldSelector "${s.fieldSelector}"` : null, s.labelSelector ? `labelSelector "${s.labelSelector}"` : null]
    .filter(Boolean)
    .join(', ');
  lines.push(`  source: ${s.resource} (${scope}); shared watch`);
  const et = graph.eventTime;
  lines.push(`  eventTime: allowedLateness ${showDuration(et.allowedLateness)}, latePolicy ${et.latePolicy}, idleAdvance ${et.idleAdvance === null ? 'off' : showDuration(et.idleAdvance)}`);
  const walk = (steps: readonly StepNode[], sinks: readonly SinkNode[], indent: string): void => {
    steps.forEach((step, i) => {
      if (step.kind === 'fork') {
        lines.push(`${indent}${i + 1}. fork into ${step.branches.length} branch${step.branches.length === 1 ? '' : 'es'} (${kindName(step.input)}; the next stage gets them too)`);
        for (const br of step.branches) {
          lines.push(`${indent}   branch ${br.name}:`);
          walk(br.steps, br.sinks, `${indent}     `);
        }
        return;
      }
      const kinds = step.input === step.output ? kindName(step.input) : `${kindName(step.input)} -> ${kindName(step.output)}`;
      lines.push(`${indent}${i + 1}. ${step.type}  [${kinds}]  stage ${step.id}`);
      lines.push(...optionLines(step.type, step.options, `${indent}     `));
    });
    if (sinks.length === 0) lines.push(`${indent}sinks: none`);
    else {
      lines.push(`${indent}sinks:`);
      for (const sink of sinks) lines.push(`${indent}  - ${describeTarget(sink.target, sink.recordKind)}`);
    }
  };
  walk(graph.steps, graph.sinks, '  ');
  return lines.join('\n');
}

/** The document path of a node, for messages. */
export const pathText = formatPath;
