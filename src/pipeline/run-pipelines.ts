/**
 * The seam between the pipelines and a job (src/runtime/replay-job.ts, the live `run`): given the
 * shared events, the object lookup, the loaded pipelines and sink factories, run the pipelines
 * and write their records, one ordered stream per destination.
 *
 * Modes:
 * - `embedded` (replay, no broker): a kafka sink falls back to the Avro container file of its
 *   topic, `<out>/<topic>.avro`, so `kafka: {topic: k8s.alerts}` and `file: {name: k8s.alerts}`
 *   land in the same file; spec.eventTime.idleAdvance is off (same output at any replay speed).
 * - `live`: kafka sinks go to the `kafka` factory.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { concatMap, groupBy, ignoreElements, map, mergeMap, type Observable, type OperatorFunction } from 'rxjs';
import { loadSchema, type RecordKind } from '../avro/schemas.js';
import type { Alert } from '../model/alert.js';
import type { Incident } from '../model/incident.js';
import type { KubeEvent } from '../model/kube-event.js';
import type { AvroFileSink } from '../sinks/avro-file-sink.js';
import { formatAlertLine } from '../sinks/alert-line.js';
import { formatEventLine } from '../sinks/stdout-sink.js';
import type { ObjectLookup } from '../sources/object-lookup.js';
import type { PipelineOutput } from './compile.js';
import { targetId, type SinkTarget } from './graph.js';
import type { LoadedPipeline, LoadResult } from './load.js';
import { PipelineRuntime } from './runtime.js';

export type RunMode = 'embedded' | 'live';

/** An output with its destination resolved for the mode (kafka -> file in embedded mode). */
export interface RoutedOutput extends PipelineOutput {
  route: SinkTarget;
  /** `kafka:<topic>`, `file:<name>`, `stdout`, `console`: one ordered stream per id. */
  routeId: string;
}

/** Writes the records of one destination; called in order, the next write waits for this one. */
export type RecordWriter = (output: RoutedOutput) => Promise<void> | void;

export interface SinkFactories {
  /** Live mode: a writer for a Kafka topic. Without it (or in embedded mode) kafka sinks write files. */
  kafka?: (target: Extract<SinkTarget, { type: 'kafka' }>) => RecordWriter;
  file: (target: Extract<SinkTarget, { type: 'file' }>) => RecordWriter;
  stdout: (target: Extract<SinkTarget, { type: 'stdout' }>) => RecordWriter;
  console: (target: Extract<SinkTarget, { type: 'console' }>) => RecordWriter;
}

export interface RunPipelinesOptions {
  /** The shared events (subscribed once by the runtime). */
  events$: Observable<KubeEvent>;
  lookup: ObjectLookup;
  /** Loaded and valid (LoadResult.ok). */
  pipelines: readonly LoadedPipeline[];
  mode: RunMode;
  /** Re-reads the pipeline files, for runtime.reload() (SIGHUP). */
  load?: () => Promise<LoadResult>;
  logger?: Logger;
  registry?: Registry;
}

export interface RunningPipelines {
  /** reload() / apply() while running. */
  runtime: PipelineRuntime;
  /** Every record bound for a sink, routed. Cold: subscribing runs the pipelines (once at a time). */
  outputs$: Observable<RoutedOutput>;
}

/**
 * What the one shared Event watch must cover for these pipelines (pass it to createKubeSource:
 * namespaces, eventFieldSelector, eventLabelSelector): the union of their namespaces (null = all
 * when any pipeline wants all), their field selector when they all use the same one (each
 * pipeline still applies its own), their label selector (load.ts makes them agree).
 */
export function watchScope(pipelines: readonly LoadedPipeline[]): { namespaces: string[] | null; fieldSelector: string | undefined; labelSelector: string | undefined } {
  const sources = pipelines.map((p) => p.graph.source);
  const namespaces = sources.some((s) => s.namespaces === null) ? null : [...new Set(sources.flatMap((s) => s.namespaces ?? []))].sort();
  const fields = new Set(sources.map((s) => s.fieldSelector));
  const labels = new Set(sources.map((s) => s.labelSelector));
  const only = (set: Set<string | null>): string | undefined => (set.size === 1 ? ([...set][0] ?? undefined) : undefined);
  return { namespaces: namespaces && namespaces.length > 0 ? namespaces : null, fieldSelector: only(fields), labelSelector: only(labels) };
}

/** Where a sink's records go in `mode`. */
export function routeTarget(target: SinkTarget, mode: RunMode, hasKafka: boolean): SinkTarget {
  if (target.type === 'kafka' && (mode === 'embedded' || !hasKafka)) return { type: 'file', name: target.topic };
  return target;
}

export function runPipelines(options: RunPipelinesOptions, hasKafka = options.mode === 'live'): RunningPipelines {
  const runtime = new PipelineRuntime({
    lookup: options.lookup,
    pipelines: options.pipelines,
    ...(options.load ? { load: options.load } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.registry ? { registry: options.registry } : {}),
    replay: options.mode === 'embedded',
  });
  const outputs$ = runtime.run(options.events$).pipe(
    map((o): RoutedOutput => {
      const route = routeTarget(o.target, options.mode, hasKafka);
      return { ...o, route, routeId: targetId(route) };
    }),
  );
  return { runtime, outputs$ };
}

/**
 * Writes every output through the writer of its destination (created once per destination by
 * the factories). Records of one destination are written in order, one at a time; destinations
 * proceed independently. Emits nothing; completes when everything was written; errors when a
 * write fails.
 */
export function writeOutputs(factories: SinkFactories): OperatorFunction<RoutedOutput, never> {
  const writers = new Map<string, RecordWriter>();
  const writerFor = (o: RoutedOutput): RecordWriter => {
    let w = writers.get(o.routeId);
    if (!w) {
      const r = o.route;
      if (r.type === 'kafka') {
        if (!factories.kafka) throw new Error(`no Kafka sink configured for topic ${r.topic}`);
        w = factories.kafka(r);
      } else if (r.type === 'file') w = factories.file(r);
      else if (r.type === 'stdout') w = factories.stdout(r);
      else w = factories.console(r);
      writers.set(o.routeId, w);
    }
    return w;
  };
  return (outputs$) =>
    outputs$.pipe(
      groupBy((o) => o.routeId),
      mergeMap((destination$) => destination$.pipe(concatMap(async (o) => writerFor(o)(o)))),
      ignoreElements(),
    );
}

/** One readable line for a record: events and alerts as elsewhere in kubevents, incidents, or JSON. */
export function formatOutputLine(o: Pick<PipelineOutput, 'kind' | 'record'>): string {
  switch (o.kind) {
    case 'KubeEvent':
      return formatEventLine(o.record as KubeEvent);
    case 'Alert':
      return formatAlertLine(o.record as Alert);
    case 'Incident': {
      const i = o.record as Incident;
      return `${new Date(i.status === 'open' ? i.firstTime : i.lastTime).toISOString()} INCIDENT ${i.status.toUpperCase().padEnd(6)} [${i.severity}] ${i.subject}: ${i.rootCause} (${i.memberCount} events)`;
    }
    default:
      return JSON.stringify(o.record);
  }
}

/** The Kafka sink's record shape (src/sinks/kafka-sink.ts OutRecord) of an Avro output. */
export function toOutRecord(o: PipelineOutput): { kind: RecordKind; value: unknown; key: string; idempotencyKey: string; timestamp?: number } {
  if (o.kind === 'Projection') throw new Error(`pipeline ${o.pipeline}: selected fields cannot go to Kafka`);
  return { kind: o.kind, value: o.record, key: o.key ?? '', idempotencyKey: o.idempotencyKey ?? '', ...(o.timestamp !== null ? { timestamp: o.timestamp } : {}) };
}

export interface EmbeddedSinkDeps {
  /** Avro container files, `<dir>/<name>.avro` (kafka sinks land here in embedded mode). */
  files: AvroFileSink;
  /** Console lines (alerts, incidents, events): e.g. stderr, or stdout when it carries no data. */
  console: (line: string) => void;
  /** Standard output (stdout sinks). Default process.stdout, honouring backpressure. */
  stdout?: (line: string) => Promise<void> | void;
  /** For `format: auto`: readable lines on a terminal. Default process.stdout.isTTY. */
  stdoutIsTerminal?: boolean;
}

function writeStdout(line: string): Promise<void> | void {
  if (!process.stdout.write(`${line}\n`)) return new Promise((resolve) => process.stdout.once('drain', () => resolve()));
}

/** Sink factories for embedded / replay mode: files, console, stdout (kafka routed to files). */
export function embeddedSinkFactories(deps: EmbeddedSinkDeps): SinkFactories {
  const stdout = deps.stdout ?? writeStdout;
  const terminal = deps.stdoutIsTerminal ?? Boolean(process.stdout.isTTY);
  return {
    file: (target) => (o) => {
      if (o.kind === 'Projection') throw new Error(`pipeline ${o.pipeline}: selected fields cannot go to an Avro file`);
      return deps.files.write(target.name, loadSchema(o.kind), o.record);
    },
    console: () => (o) => deps.console(formatOutputLine(o)),
    stdout: (target) => {
      const human = target.format === 'line' || (target.format === 'auto' && terminal);
      return (o) => stdout(human ? formatOutputLine(o) : JSON.stringify(o.record));
    },
  };
}
