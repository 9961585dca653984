/**
 * The pipeline graph: a parsed pipeline document turned into typed nodes with effective options
 * (defaults filled in, pipeline-level event-time settings applied to stateful stages), the record
 * kind flowing into and out of every stage, and sink targets resolved. Building it runs the checks
 * the schema cannot: the ones every stage gets (the record kind it takes) and each stage's and
 * sink's own (checks.ts and the component definitions), plus branches writing nowhere and field
 * selectors.
 *
 * compile.ts turns a graph into RxJS; explain.ts prints it.
 */
import type { DiagnosticSeverity } from '../core/diagnostics.js';
import { closest } from '../core/diagnostics.js';
import type { PathSegment } from '../core/yaml-locator.js';
import type { SinkDefinition } from '../sinks/definition.js';
import { sinkOf } from '../sinks/registry.js';
import { checksAt } from './checks.js';
import { FIELD_SELECTOR_FIELDS, parseFieldSelector, type FieldRequirement } from './fields.js';
import { KIND_SPECS, kindName, type StreamKind } from './record-kinds.js';
import type { BranchSpec, PipelineDocument, SinkSpec, StepSpec } from './schema.js';
import type { Flow, StageDefinition } from './stage.js';
import type { EventTimeSpec, StateSettings } from './stage-options.js';
import { stageOf } from './stages/registry.js';

export interface StageNode {
  kind: 'stage';
  type: string;
  definition: StageDefinition;
  /** Stage name for metrics and logs: `<pipeline>/<branch>/.../<type>` (#n when repeated). */
  id: string;
  /** Effective options: defaults filled in; stateful stages with their effective state settings. */
  options: any;
  /** Stateful stages: allowedLateness, latePolicy, maxKeys, idleTtl in force; null for the others. */
  state: StateSettings | null;
  input: StreamKind;
  output: StreamKind;
  path: PathSegment[];
}

export interface ForkNode {
  kind: 'fork';
  id: string;
  input: StreamKind;
  branches: BranchNode[];
  path: PathSegment[];
}

export type StepNode = StageNode | ForkNode;

export interface SinkNode {
  type: string;
  definition: SinkDefinition;
  options: any;
  /** Its address for these records: a topic, a file name, a format (see the sink definition). */
  target: string | undefined;
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

/** The one key of a stage or sink map, with its value (or the bare name with null). */
function entryOf(spec: StepSpec | SinkSpec): [string, unknown] | null {
  if (typeof spec === 'string') return [spec, null];
  return (Object.entries(spec).find(([, v]) => v !== undefined) as [string, unknown] | undefined) ?? null;
}

function kindHint(definition: StageDefinition, kind: StreamKind): string | undefined {
  const own = definition.kindHint?.(kind);
  if (own) return own;
  if (kind === 'Alert' && definition.accepts.includes('KubeEvent')) return 'put it before the stage that makes alerts, or in a fork before it';
  if (kind === 'Projection') return 'select must come last';
  return undefined;
}

class Builder {
  readonly problems: GraphProblem[] = [];
  private readonly usedIds = new Map<string, number>();

  constructor(private readonly eventTime: EventTimeSpec) {}

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
      const entry = entryOf(step);
      if (entry === null) return; // reported by the schema
      const [type, raw] = entry;
      if (type === 'fork') {
        nodes.push(this.fork(raw as BranchSpec[], [...path, 'fork'], current, prefix));
        return;
      }
      const definition = stageOf(type);
      if (!definition) return; // reported by the schema
      const bare = typeof step === 'string';
      const optionsPath = bare ? path : [...path, type];
      if (!definition.accepts.includes(current.kind)) {
        const after = current.madeBy ? ` (made by the ${current.madeBy} stage before it)` : '';
        this.problem(
          optionsPath,
          `stage "${type}" takes ${definition.accepts.map(kindName).join(' or ')}, but here the stream carries ${kindName(current.kind)}${after}`,
          kindHint(definition, current.kind),
          'error',
          !bare,
        );
      }
      const parsed = raw ?? definition.options.parse({});
      definition.check?.(parsed, checksAt(this, current), optionsPath);
      const state = definition.state ? this.stateOf(parsed, definition.state.idleTtl(parsed)) : null;
      const options = state ? { ...parsed, ...state } : parsed;
      const output = definition.emits ? definition.emits(current.kind) : current.kind;
      nodes.push({ kind: 'stage', type, definition, id: this.stageId(prefix, type), options, state, input: current.kind, output, path: optionsPath });
      current = {
        kind: output,
        classified: current.classified || definition.marks === 'classified',
        enriched: current.enriched || definition.marks === 'enriched',
        madeBy: output !== current.kind ? type : current.madeBy,
      };
    });
    return { nodes, flow: current };
  }

  /** The stage's own allowedLateness / latePolicy / idleTtl, else the pipeline's and the stage's default. */
  private stateOf(options: { allowedLateness?: number; latePolicy?: 'clamp' | 'drop'; idleTtl?: number; maxKeys: number }, idleTtl: number): StateSettings {
    return {
      allowedLateness: options.allowedLateness ?? this.eventTime.allowedLateness,
      latePolicy: options.latePolicy ?? this.eventTime.latePolicy,
      maxKeys: options.maxKeys,
      idleTtl: options.idleTtl ?? idleTtl,
    };
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
      const entry = entryOf(spec);
      if (entry === null) return;
      const [type, raw] = entry;
      const definition = sinkOf(type);
      if (!definition) return; // reported by the schema
      const bare = typeof spec === 'string';
      const options = raw ?? definition.options.parse({});
      const kind = flow.kind;
      const avro = KIND_SPECS[kind].avro;
      if (definition.avro && !avro) {
        this.problem(
          bare ? path : [...path, type],
          `sink "${type}" writes Avro records, but here the stream carries ${kindName(kind)}`,
          'select makes records without a schema: send them to stdout or console',
          'error',
          !bare,
        );
      }
      const target = definition.target(options, KIND_SPECS[kind].defaultTopic ?? KIND_SPECS.KubeEvent.defaultTopic);
      definition.check?.(options, target, (at, message, hint) => this.problem([...path, type, ...at], message, hint));
      out.push({ type, definition, options, target, recordKind: kind, path });
    });
    return out;
  }
}

export function writes(steps: readonly StepNode[], sinks: readonly SinkNode[]): boolean {
  return sinks.length > 0 || steps.some((s) => s.kind === 'fork' && s.branches.some((b) => writes(b.steps, b.sinks)));
}

/**
 * Builds the graph of one parsed pipeline document and reports what is wrong with it beyond
 * the schema (problems carry document paths; load.ts turns them into file:line:col).
 */
export function buildGraph(doc: PipelineDocument): { graph: PipelineGraph; problems: GraphProblem[] } {
  const name = doc.metadata.name;
  const b = new Builder(doc.spec.eventTime);
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
          const c = closest(r.field, known);
          b.problem(
            ['spec', 'source', 'fieldSelector'],
            `field selector: events have no field "${r.field}"`,
            c ? `did you mean "${c}"?` : `fields: ${known.join(', ')}`,
          );
        }
      }
    }
  }
  const flow: Flow = { kind: 'KubeEvent', classified: false, enriched: false, madeBy: null };
  const { nodes, flow: out } = b.steps(doc.spec.stages as StepSpec[], ['spec', 'stages'], flow, name);
  const sinks = b.sinks(doc.spec.sinks as SinkSpec[], ['spec', 'sinks'], out);
  if (!writes(nodes, sinks))
    b.problem(['spec'], `pipeline "${name}" writes nowhere`, 'add sinks (kafka, file, stdout, console) to spec.sinks or to a fork branch', 'error', true);
  else if (sinks.length === 0 && nodes.length > 0 && nodes[nodes.length - 1]!.kind !== 'fork') {
    const lastFork = nodes.map((n) => n.kind).lastIndexOf('fork');
    if (lastFork >= 0)
      b.problem(
        nodes[lastFork + 1]!.path,
        'the stages after the last fork lead nowhere: spec.sinks is empty',
        'add sinks or move these stages into a branch',
        'warning',
      );
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
