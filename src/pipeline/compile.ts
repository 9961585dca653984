/**
 * Compiles pipeline graphs (graph.ts) to RxJS: each stage node through its definition's `build`,
 * and at each sink an OutRecord (src/model/out-record.ts) naming the sink type and its target.
 *
 * One pipeline is one operator from KubeEvents to OutRecords. Inside it, a fork multicasts with
 * `connect`: the branches and the rest of the line subscribe to one shared stream before the
 * upstream is subscribed, so every stage before a fork runs once per record, and a synchronous
 * source cannot race past a branch that subscribes late. Several pipelines share their input the
 * same way (compilePipelines), or through the hot swap (hot-swap.ts), which also keeps the source
 * subscribed across reloads.
 *
 * Records are emitted in a deterministic order: per record, the rest of the line before the
 * branches (in file order), and the sinks of one segment in file order.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { connect, EMPTY, filter, map, merge, mergeMap, type Observable, type OperatorFunction, type SchedulerLike } from 'rxjs';
import type { KubeEvent } from '../model/kube-event.js';
import type { OutRecord } from '../model/out-record.js';
import type { ObjectLookup } from '../sources/object-lookup.js';
import { fieldSelectorPredicate } from './fields.js';
import { writes, type BranchNode, type PipelineGraph, type SinkNode, type StageNode, type StepNode } from './graph.js';
import { KIND_SPECS } from './record-kinds.js';
import type { StageBuild } from './stage.js';
import type { PipelineState } from './state.js';

export interface CompileContext {
  /** The shared object caches, for enrich. */
  lookup: ObjectLookup;
  /** Operator logs (a child per pipeline). Default: the operators' own logger. */
  logger?: Logger;
  /** prom-client registry for the operator metrics. Default: the operators' registry. */
  registry?: Registry;
  /**
   * Embedded / replay mode: `spec.eventTime.idleAdvance` is ignored (off), so a replay gives the
   * same output at any speed.
   */
  replay?: boolean;
  /** Scheduler for idleAdvance heartbeats (tests). */
  scheduler?: SchedulerLike;
  /** The pipeline's state for checkpoints: its stateful stages restore from it and offer their snapshots (hot-swap.ts). */
  state?: PipelineState;
}

type Any = any;

function stageOperator(step: StageNode, graph: PipelineGraph, ctx: CompileContext): OperatorFunction<Any, Any> {
  const shared = {
    ...(ctx.logger ? { logger: ctx.logger } : {}),
    ...(ctx.registry ? { registry: ctx.registry } : {}),
    ...(ctx.scheduler ? { scheduler: ctx.scheduler } : {}),
  };
  const build: StageBuild = {
    id: step.id,
    input: step.input,
    lookup: ctx.lookup,
    ...shared,
    state: step.state
      ? {
          name: step.id,
          ...step.state,
          idleAdvance: ctx.replay ? null : graph.eventTime.idleAdvance,
          ...shared,
          ...(ctx.state ? { checkpoint: ctx.state.stage(step.id) } : {}),
        }
      : null,
  };
  return step.definition.build(step.options, build);
}

function sinkRecords(sinks: readonly SinkNode[], pipeline: string, branch: string | null): OperatorFunction<Any, OutRecord> {
  const origin = { pipeline, branch };
  const build = (sink: SinkNode, value: Any): OutRecord => ({
    kind: sink.recordKind,
    value,
    ...KIND_SPECS[sink.recordKind].identity(value),
    sink: sink.type,
    ...(sink.target !== undefined ? { target: sink.target } : {}),
    origin,
  });
  if (sinks.length === 1) {
    const only = sinks[0]!;
    return map((value) => build(only, value));
  }
  return mergeMap((value) => sinks.map((sink) => build(sink, value)));
}

function segment(
  steps: readonly StepNode[],
  sinks: readonly SinkNode[],
  input$: Observable<Any>,
  graph: PipelineGraph,
  ctx: CompileContext,
  branch: string | null,
): Observable<OutRecord> {
  let stream$ = input$;
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i]!;
    if (step.kind === 'fork') {
      const rest = steps.slice(i + 1);
      const live = (b: BranchNode) => writes(b.steps, b.sinks);
      return stream$.pipe(
        connect((shared$) =>
          merge(
            segment(rest, sinks, shared$, graph, ctx, branch),
            ...step.branches.filter(live).map((b) => segment(b.steps, b.sinks, shared$, graph, ctx, branch ? `${branch}/${b.name}` : b.name)),
          ),
        ),
      );
    }
    stream$ = stream$.pipe(stageOperator(step, graph, ctx));
  }
  // a line without sinks computes nothing (its stages would only burn CPU)
  if (sinks.length === 0) return EMPTY;
  return stream$.pipe(sinkRecords(sinks, graph.name, branch));
}

/** The per-pipeline source filter: spec.source.namespaces and fieldSelector, applied to the shared stream. */
export function sourceFilter(graph: PipelineGraph): ((e: KubeEvent) => boolean) | null {
  const tests: Array<(e: KubeEvent) => boolean> = [];
  const namespaces = graph.source.namespaces;
  if (namespaces) {
    const set = new Set(namespaces);
    tests.push((e) => e.namespace !== null && set.has(e.namespace));
  }
  if (graph.source.requirements.length > 0) tests.push(fieldSelectorPredicate(graph.source.requirements));
  if (tests.length === 0) return null;
  return (e) => tests.every((t) => t(e));
}

/**
 * One pipeline as an operator: events in, OutRecords (one per record and sink) out. Stateful
 * stages get their own state per subscription. Construction validates nothing (load.ts did); it
 * throws only for a graph that was not loaded through load.ts and is broken.
 */
export function compilePipeline(graph: PipelineGraph, ctx: CompileContext): OperatorFunction<KubeEvent, OutRecord> {
  const keep = sourceFilter(graph);
  const logger = ctx.logger?.child({ pipeline: graph.name });
  const local: CompileContext = { ...ctx, ...(logger ? { logger } : {}) };
  return (events$) => {
    const input$ = keep ? events$.pipe(filter(keep)) : events$;
    return segment(graph.steps, graph.sinks, input$, graph, local, null);
  };
}

/**
 * Several pipelines on one input: the input is subscribed once (connect), after every pipeline
 * subscribed to the shared stream, and completes / unsubscribes with them.
 */
export function compilePipelines(graphs: readonly PipelineGraph[], ctx: CompileContext): OperatorFunction<KubeEvent, OutRecord> {
  const operators = graphs.map((g) => compilePipeline(g, ctx));
  if (operators.length === 1) return operators[0]!;
  return (events$) => events$.pipe(connect((shared$) => merge(...operators.map((op) => shared$.pipe(op)))));
}
