/**
 * Compiles pipeline graphs (graph.ts) to RxJS.
 *
 * One pipeline is one operator from KubeEvents to outputs (a record bound for one sink). Inside
 * it, a fork multicasts with `connect`: the branches and the rest of the line subscribe to one
 * shared stream before the upstream is subscribed, so every stage before a fork runs once per
 * record, and a synchronous source cannot race past a branch that subscribes late. Several
 * pipelines share their input the same way (compilePipelines), or through the runtime's swap
 * point (runtime.ts), which also keeps the source subscribed across reloads.
 *
 * Outputs are emitted in a deterministic order: per record, the rest of the line before the
 * branches (in file order), and the sinks of one segment in file order.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { connect, EMPTY, filter, map, merge, mergeMap, Observable, type OperatorFunction, type SchedulerLike } from 'rxjs';
import type { Alert } from '../model/alert.js';
import type { Incident } from '../model/incident.js';
import { objectKey, type KubeEvent } from '../model/kube-event.js';
import { classify } from '../operators/classify.js';
import { correlate } from '../operators/correlate.js';
import { dedupe } from '../operators/dedupe.js';
import { enrich } from '../operators/enrich.js';
import { group } from '../operators/group.js';
import { rate } from '../operators/rate.js';
import { spike } from '../operators/spike.js';
import type { ObjectLookup } from '../sources/object-lookup.js';
import { compileMatcher, compileTemplate, EVENT_FIELDS, fieldSelectorPredicate, type StreamKind } from './fields.js';
import { RATE_SUMMARY_FIELDS, type BranchNode, type PipelineGraph, type SinkNode, type SinkTarget, type StageNode, type StepNode } from './graph.js';
import { showDuration } from '../core/duration.js';
import type { SinkType } from './schema.js';

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
}

/** One record bound for one sink. */
export interface PipelineOutput {
  pipeline: string;
  /** Branch path (`scheduling`, `a/b`), null on the pipeline's main line. */
  branch: string | null;
  sink: SinkType;
  target: SinkTarget;
  /** Which Avro schema the record follows (KubeEvent, Alert, Incident), or Projection after select. */
  kind: StreamKind;
  record: unknown;
  /** Partition key: objectKey for events, alertId for alerts, incidentId for incidents; null for projections. */
  key: string | null;
  idempotencyKey: string | null;
  /** Event time of the record (Kafka record timestamp): lastTimestamp or updatedAt. */
  timestamp: number | null;
}

type Any = any;

function recordIdentity(kind: StreamKind, record: Any): Pick<PipelineOutput, 'key' | 'idempotencyKey' | 'timestamp'> {
  switch (kind) {
    case 'KubeEvent':
      return { key: objectKey(record as KubeEvent), idempotencyKey: (record as KubeEvent).idempotencyKey, timestamp: (record as KubeEvent).lastTimestamp };
    case 'Alert':
      return { key: (record as Alert).alertId, idempotencyKey: (record as Alert).idempotencyKey, timestamp: (record as Alert).updatedAt };
    case 'Incident':
      return { key: (record as Incident).incidentId, idempotencyKey: (record as Incident).idempotencyKey, timestamp: (record as Incident).updatedAt };
    default:
      return { key: null, idempotencyKey: null, timestamp: null };
  }
}

const eventField = (name: string) => EVENT_FIELDS[name] ?? (() => null);

function labelsFn(by: readonly string[], fixed: Record<string, string>): (e: KubeEvent) => Record<string, string | null> {
  const getters = by.map((f) => [f, eventField(f)] as const);
  return (e) => {
    const out: Record<string, string | null> = { ...fixed };
    for (const [name, get] of getters) out[name] = get(e);
    return out;
  };
}

function pick(record: Any, paths: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const path of paths) {
    const segments = path.split('.');
    let src: Any = record;
    for (const s of segments) src = src === null || src === undefined ? undefined : src[s];
    let dst: Record<string, unknown> = out;
    segments.forEach((s, i) => {
      if (i === segments.length - 1) dst[s] = src === undefined ? null : src;
      else dst = (dst[s] ??= {}) as Record<string, unknown>;
    });
  }
  return out;
}

function mapOperator(set: Record<string, string>, kind: StreamKind): OperatorFunction<Any, Any> {
  const entries = Object.entries(set).map(([field, template]) => [field, compileTemplate<Any>(template, kind)] as const);
  if (kind === 'KubeEvent') {
    return map((e: KubeEvent) => {
      const out: KubeEvent = { ...e };
      let labels: Record<string, string> | null = null;
      for (const [field, render] of entries) {
        const value = render(e);
        if (field.startsWith('labels.')) (labels ??= { ...(e.enrichment?.labels ?? {}) })[field.slice('labels.'.length)] = value;
        else (out as Any)[field] = value;
      }
      if (labels) {
        out.enrichment = e.enrichment
          ? { ...e.enrichment, labels }
          : { workload: null, ownerChain: [], node: null, podPhase: null, containers: [], labels };
      }
      return out;
    });
  }
  return map((a: Alert) => {
    const out: Alert = { ...a };
    let annotations: Record<string, string> | null = null;
    for (const [field, render] of entries) {
      const value = render(a);
      if (field.startsWith('annotations.')) (annotations ??= { ...a.annotations })[field.slice('annotations.'.length)] = value;
      else (out as Any)[field] = value;
    }
    if (annotations) out.annotations = annotations;
    return out;
  });
}

function stageOperator(step: StageNode, graph: PipelineGraph, ctx: CompileContext): OperatorFunction<Any, Any> {
  const common = (o: { allowedLateness: number; latePolicy: 'clamp' | 'drop'; maxKeys: number; idleTtl: number }) => ({
    name: step.id,
    allowedLateness: o.allowedLateness,
    latePolicy: o.latePolicy,
    idleAdvance: ctx.replay ? null : graph.eventTime.idleAdvance,
    maxKeys: o.maxKeys,
    idleTtl: o.idleTtl,
    ...(ctx.logger ? { logger: ctx.logger } : {}),
    ...(ctx.registry ? { registry: ctx.registry } : {}),
    ...(ctx.scheduler ? { scheduler: ctx.scheduler } : {}),
  });
  switch (step.type) {
    case 'filter':
      return filter(compileMatcher(step.options, step.input));
    case 'enrich':
      return enrich(ctx.lookup, { labels: step.options.labels });
    case 'classify':
      return classify({ rules: step.options.rules, builtIn: step.options.builtIn, fallback: step.options.fallback });
    case 'dedupe': {
      const o = step.options;
      const getters = o.by.map(eventField);
      return dedupe({ ...common(o), window: o.window, extendOnRepeat: o.extendOnRepeat, key: (e) => getters.map((g) => g(e) ?? '').join('/') });
    }
    case 'rate': {
      const o = step.options;
      const summary = o.summary === undefined ? undefined : compileTemplate<KubeEvent>(o.summary, 'KubeEvent', RATE_SUMMARY_FIELDS);
      const annotations = Object.entries(o.annotations).map(([k, t]) => [k, compileTemplate<KubeEvent>(t, 'KubeEvent')] as const);
      const resolveOn = o.resolveOn ? compileMatcher(o.resolveOn, 'KubeEvent') : undefined;
      return rate({
        ...common(o),
        threshold: o.threshold,
        window: o.window,
        hold: o.hold,
        holdUntilQuiet: o.holdUntilQuiet,
        labels: labelsFn(o.by, o.labels),
        alertname: o.alertname,
        ...(o.severity ? { severity: o.severity } : {}),
        ...(o.category ? { category: o.category } : {}),
        ...(summary
          ? { summary: (i) => summary(i.event, { count: String(i.count), threshold: String(i.threshold), window: showDuration(i.window), status: i.status }) }
          : {}),
        ...(annotations.length ? { annotations: (e: KubeEvent) => Object.fromEntries(annotations.map(([k, render]) => [k, render(e)])) } : {}),
        ...(resolveOn ? { resolveOn } : {}),
        maxSamples: o.maxSamples,
        maxMemberKeys: o.maxMemberKeys,
      });
    }
    case 'spike': {
      const o = step.options;
      return spike({
        ...common(o),
        interval: o.interval,
        factor: o.factor,
        minCount: o.minCount,
        alpha: o.alpha,
        minBaseline: o.minBaseline,
        warmup: o.warmup,
        learnDuringAnomaly: o.learnDuringAnomaly,
        labels: labelsFn(o.by, o.labels),
        alertname: o.alertname,
        severity: o.severity,
        ...(o.category ? { category: o.category } : {}),
        maxSamples: o.maxSamples,
        maxMemberKeys: o.maxMemberKeys,
      });
    }
    case 'correlate': {
      const o = step.options;
      return correlate({
        ...common(o),
        window: o.window,
        maxDuration: o.maxDuration,
        minMembers: o.minMembers,
        maxMembers: o.maxMembers,
        kinds: o.kinds,
        ...(o.match ? { filter: compileMatcher(o.match, 'KubeEvent') } : {}),
        nodeDownReasons: o.nodeDownReasons,
        nodeUpReasons: o.nodeUpReasons,
        emitOpen: o.emitOpen,
      });
    }
    case 'group': {
      const o = step.options;
      return group({
        ...common(o),
        groupBy: o.groupBy,
        groupWait: o.groupWait,
        groupInterval: o.groupInterval,
        repeatInterval: o.repeatInterval,
        resolveTimeout: o.resolveTimeout,
        sendResolved: o.sendResolved,
        maxAlertsPerGroup: o.maxAlertsPerGroup,
      });
    }
    case 'map':
      return mapOperator(step.options.set, step.input);
    case 'select': {
      const fields = step.options;
      return map((r) => pick(r, fields));
    }
  }
}

function sinkOutputs(sinks: readonly SinkNode[], pipeline: string, branch: string | null): OperatorFunction<Any, PipelineOutput> {
  const build = (sink: SinkNode, record: Any): PipelineOutput => ({
    pipeline,
    branch,
    sink: sink.type,
    target: sink.target,
    kind: sink.recordKind,
    record,
    ...recordIdentity(sink.recordKind, record),
  });
  if (sinks.length === 1) {
    const only = sinks[0]!;
    return map((record) => build(only, record));
  }
  return mergeMap((record) => sinks.map((sink) => build(sink, record)));
}

function segment(steps: readonly StepNode[], sinks: readonly SinkNode[], input$: Observable<Any>, graph: PipelineGraph, ctx: CompileContext, branch: string | null): Observable<PipelineOutput> {
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
  return stream$.pipe(sinkOutputs(sinks, graph.name, branch));
}

function writes(steps: readonly StepNode[], sinks: readonly SinkNode[]): boolean {
  return sinks.length > 0 || steps.some((s) => s.kind === 'fork' && s.branches.some((b) => writes(b.steps, b.sinks)));
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
 * One pipeline as an operator: events in, outputs (records bound for sinks) out. Stateful stages
 * get their own state per subscription. Construction validates nothing (load.ts did); it throws
 * only for a graph that was not loaded through load.ts and is broken.
 */
export function compilePipeline(graph: PipelineGraph, ctx: CompileContext): OperatorFunction<KubeEvent, PipelineOutput> {
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
export function compilePipelines(graphs: readonly PipelineGraph[], ctx: CompileContext): OperatorFunction<KubeEvent, PipelineOutput> {
  const operators = graphs.map((g) => compilePipeline(g, ctx));
  if (operators.length === 1) return operators[0]!;
  return (events$) => events$.pipe(connect((shared$) => merge(...operators.map((op) => shared$.pipe(op)))));
}
