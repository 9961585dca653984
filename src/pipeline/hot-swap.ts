/**
 * The running set of pipelines, and its reload.
 *
 * `run(events$)` subscribes the shared event stream ONCE and hands every event to each pipeline's
 * compiled graph (one input Subject per pipeline), so a reload never touches the source: the
 * watch stays subscribed, its resume point and the object caches stay as they are.
 *
 * `reload()` re-reads the files (the `load` function given). An invalid set is refused: the
 * errors are logged with file:line:col and the running pipelines go on. A valid set takes over
 * at an event boundary, between two events (a reload requested while an event is being
 * dispatched waits for that event to reach every pipeline):
 *
 * - an unchanged pipeline (same effective definition) keeps running, with its state;
 * - a changed or removed pipeline's graph is completed: like at the end of a replay, buffered
 *   events are processed, timers fire, firing alerts resolve and open incidents close, and its
 *   last records are emitted; then the new version (if any) starts with empty state;
 * - an added pipeline starts.
 *
 * So every event is processed by exactly one version of each pipeline: none is lost, none twice.
 *
 * State for checkpoints (state.ts): `snapshot()`, between two events, gives the state of every
 * stateful stage of the running pipelines; a set built with `restore` resumes from such a
 * snapshot when it starts running: an unchanged pipeline (same name and fingerprint) takes its
 * stages' state back, a changed or new one starts empty, as on a reload.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { Observable, Subject, type SchedulerLike, type Subscriber, type Subscription } from 'rxjs';
import type { KubeEvent } from '../model/kube-event.js';
import type { ObjectLookup } from '../sources/object-lookup.js';
import type { OutRecord } from '../model/out-record.js';
import { compilePipeline, type CompileContext } from './compile.js';
import { formatDiagnostic, type Diagnostic } from '../core/diagnostics.js';
import type { LoadedPipeline, LoadResult } from './load.js';
import { PIPELINES_SNAPSHOT_VERSION, PipelineState, restorePlan, type PipelinesSnapshot } from './state.js';

export interface PipelineSetOptions {
  lookup: ObjectLookup;
  /** The initial set: loaded and valid (LoadResult.ok). */
  pipelines: readonly LoadedPipeline[];
  /** Re-reads the pipeline files (e.g. () => loadPipelines(paths)); needed by reload(). */
  load?: () => Promise<LoadResult>;
  logger?: Logger;
  /** prom-client registry for the operator metrics. */
  registry?: Registry;
  /** Embedded / replay mode: idleAdvance off (see CompileContext.replay). */
  replay?: boolean;
  scheduler?: SchedulerLike;
  /** The state to resume from (a full snapshot of an earlier run, see mergePipelinesSnapshots): taken by the first run(), see the module doc. */
  restore?: PipelinesSnapshot | null;
}

export interface SwapResult {
  added: string[];
  removed: string[];
  changed: string[];
  unchanged: string[];
}

export interface ReloadResult extends SwapResult {
  /** false when the new files were refused (the old set keeps running). */
  applied: boolean;
  diagnostics: Diagnostic[];
}

interface ActiveGraph {
  pipeline: LoadedPipeline;
  input: Subject<KubeEvent>;
  /** The compiled graph on `input`, not subscribed until started. */
  output$: Observable<OutRecord>;
  subscription: Subscription | null;
  state: PipelineState;
}

type Prepared = Map<string, ActiveGraph>;

interface Run {
  subscriber: Subscriber<OutRecord>;
  active: ActiveGraph[];
  /** Graphs still flushing after their input completed (a retired version, or all at the end). */
  open: Set<ActiveGraph>;
  sourceDone: boolean;
  dispatching: boolean;
  pending: { pipelines: readonly LoadedPipeline[]; prepared: Prepared } | null;
}

export class PipelineSet {
  private current: readonly LoadedPipeline[];
  private run$: Run | null = null;
  private reloading: Promise<unknown> = Promise.resolve();
  private readonly ctx: CompileContext;
  private readonly logger: Logger | undefined;
  private restore: PipelinesSnapshot | null;

  constructor(private readonly options: PipelineSetOptions) {
    this.current = [...options.pipelines];
    this.logger = options.logger;
    this.restore = options.restore ?? null;
    if (this.restore && !this.restore.full) throw new Error('PipelineSet: restore needs a full snapshot (mergePipelinesSnapshots folds a chain into one)');
    this.ctx = {
      lookup: options.lookup,
      ...(options.logger ? { logger: options.logger } : {}),
      ...(options.registry ? { registry: options.registry } : {}),
      ...(options.replay ? { replay: true } : {}),
      ...(options.scheduler ? { scheduler: options.scheduler } : {}),
    };
  }

  /** The pipelines currently in force. */
  get pipelines(): readonly LoadedPipeline[] {
    return this.current;
  }

  /**
   * The state of every stateful stage of the running pipelines (state.ts): all of it (`full`), or
   * what changed since the previous call (a delta; stages new since then are full). Call it
   * between two events and serialize it before the next one: it references the live state.
   * Before run() (or after its end) the pipelines hold no state: empty.
   */
  snapshot(full: boolean): PipelinesSnapshot {
    const run = this.run$;
    return { version: PIPELINES_SNAPSHOT_VERSION, full, pipelines: run ? run.active.map((g) => g.state.snapshot(full)) : [] };
  }

  /**
   * Runs the pipelines on `events$`: subscribing subscribes `events$` once (share it with other
   * consumers upstream if needed); the outputs complete when `events$` completed and every graph
   * flushed; unsubscribing stops everything. One run at a time.
   */
  run(events$: Observable<KubeEvent>): Observable<OutRecord> {
    return new Observable<OutRecord>((subscriber) => {
      if (this.run$) {
        subscriber.error(new Error('PipelineSet is already running: subscribe to run() once (share() its output for several consumers)'));
        return undefined;
      }
      const run: Run = { subscriber, active: [], open: new Set(), sourceDone: false, dispatching: false, pending: null };
      this.run$ = run;
      const restore = this.restore;
      this.restore = null;
      if (restore) {
        const plan = restorePlan(restore, this.current);
        this.logger?.info(
          plan,
          `pipeline state restored: ${plan.resumed.length} resumed, ${plan.changed.length} changed (start empty), ${plan.added.length} new, ${plan.dropped.length} no longer loaded`,
        );
      }
      const byName = new Map((restore?.pipelines ?? []).map((p) => [p.name, p]));
      for (const p of this.current) {
        const saved = byName.get(p.name);
        const g = this.prepare(p, saved && saved.fingerprint === p.fingerprint ? saved : null);
        run.active.push(g);
        this.start(run, g);
        const untaken = g.state.untaken;
        if (untaken.length > 0) this.logger?.warn({ pipeline: p.name, stages: untaken }, 'pipeline state: stages of the snapshot not found in the pipeline');
      }
      const source = events$.subscribe({
        next: (event) => {
          run.dispatching = true;
          try {
            for (const g of run.active) g.input.next(event);
          } finally {
            run.dispatching = false;
          }
          if (run.pending) {
            const { pipelines, prepared } = run.pending;
            run.pending = null;
            this.swap(run, pipelines, prepared);
          }
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => {
          run.sourceDone = true;
          for (const g of [...run.active]) g.input.complete();
          this.checkDone(run);
        },
      });
      return () => {
        source.unsubscribe();
        for (const g of [...run.active, ...run.open]) g.subscription?.unsubscribe();
        run.active = [];
        run.open.clear();
        if (this.run$ === run) this.run$ = null;
      };
    });
  }

  /**
   * Replaces the running set with `pipelines` (already validated) at the next event boundary.
   * Returns what changes. Before run() or after its end it only replaces the set.
   */
  apply(pipelines: readonly LoadedPipeline[]): SwapResult {
    const result = diff(this.current, pipelines);
    // build the new graphs first: a construction error leaves everything as it was
    const prepared: Prepared = new Map();
    for (const p of pipelines) if (result.added.includes(p.name) || result.changed.includes(p.name)) prepared.set(p.name, this.prepare(p));
    this.current = [...pipelines];
    const run = this.run$;
    if (run && !run.sourceDone) {
      if (run.dispatching) run.pending = { pipelines: this.current, prepared };
      else this.swap(run, this.current, prepared);
    }
    return result;
  }

  /**
   * Re-reads the pipeline files and, when they are valid, swaps them in (see the module doc).
   * Invalid files are refused and logged; the running pipelines go on. Calls are serialized.
   */
  reload(): Promise<ReloadResult> {
    const next = this.reloading.then(() => this.doReload());
    this.reloading = next.catch(() => undefined);
    return next;
  }

  private async doReload(): Promise<ReloadResult> {
    if (!this.options.load) throw new Error('PipelineSet.reload() needs the `load` option');
    const loaded = await this.options.load();
    const none: SwapResult = { added: [], removed: [], changed: [], unchanged: this.current.map((p) => p.name) };
    const errors = logLoadDiagnostics(loaded, this.logger);
    if (!loaded.ok) {
      this.logger?.error({ errors }, `pipeline reload refused: ${errors} error(s); the running pipelines go on unchanged`);
      return { applied: false, diagnostics: loaded.diagnostics, ...none };
    }
    let result: SwapResult;
    try {
      result = this.apply(loaded.pipelines);
    } catch (error) {
      this.logger?.error({ err: error }, 'pipeline reload refused: the new pipelines failed to build; the running pipelines go on unchanged');
      return { applied: false, diagnostics: loaded.diagnostics, ...none };
    }
    this.logger?.info(
      result,
      `pipelines reloaded: ${result.added.length} added, ${result.changed.length} changed, ${result.removed.length} removed, ${result.unchanged.length} unchanged`,
    );
    return { applied: true, diagnostics: loaded.diagnostics, ...result };
  }

  private prepare(pipeline: LoadedPipeline, restore: PipelinesSnapshot['pipelines'][number] | null = null): ActiveGraph {
    const input = new Subject<KubeEvent>();
    const state = new PipelineState(pipeline.name, pipeline.fingerprint, restore);
    // applying the operator builds every stage (and throws for a broken one) without subscribing
    const output$ = input.pipe(compilePipeline(pipeline.graph, { ...this.ctx, state }));
    return { pipeline, input, output$, subscription: null, state };
  }

  /** Subscribes a prepared graph (the caller puts it in run.active). */
  private start(run: Run, graph: ActiveGraph): void {
    run.open.add(graph);
    graph.subscription = graph.output$.subscribe({
      next: (o) => run.subscriber.next(o),
      error: (error: unknown) => run.subscriber.error(error),
      complete: () => {
        run.open.delete(graph);
        this.checkDone(run);
      },
    });
  }

  private retire(run: Run, graph: ActiveGraph): void {
    run.active = run.active.filter((g) => g !== graph);
    graph.input.complete(); // flushes the graph synchronously; its completion removes it from `open`
  }

  /** Runs between two events: retires changed and removed graphs (they flush), then starts the new ones. */
  private swap(run: Run, pipelines: readonly LoadedPipeline[], prepared: Prepared): void {
    const byName = new Map(run.active.map((g) => [g.pipeline.name, g]));
    const next: ActiveGraph[] = [];
    const toStart: ActiveGraph[] = [];
    for (const p of pipelines) {
      const existing = byName.get(p.name);
      if (existing && existing.pipeline.fingerprint === p.fingerprint) {
        existing.pipeline = p;
        next.push(existing);
        byName.delete(p.name);
      } else {
        const g = prepared.get(p.name) ?? this.prepare(p);
        next.push(g);
        toStart.push(g);
      }
    }
    for (const old of byName.values()) this.retire(run, old);
    run.active = next;
    for (const g of toStart) this.start(run, g);
  }

  private checkDone(run: Run): void {
    if (run.sourceDone && run.open.size === 0 && !run.subscriber.closed) run.subscriber.complete();
  }
}

function diff(before: readonly LoadedPipeline[], after: readonly LoadedPipeline[]): SwapResult {
  const old = new Map(before.map((p) => [p.name, p]));
  const result: SwapResult = { added: [], removed: [], changed: [], unchanged: [] };
  for (const p of after) {
    const o = old.get(p.name);
    if (!o) result.added.push(p.name);
    else if (o.fingerprint === p.fingerprint) result.unchanged.push(p.name);
    else result.changed.push(p.name);
    old.delete(p.name);
  }
  result.removed.push(...old.keys());
  return result;
}

/**
 * Logs a load's diagnostics with file:line:col: only the errors when it failed (what refused it),
 * else the warnings. Returns the number of errors.
 */
export function logLoadDiagnostics(loaded: LoadResult, logger: Logger | undefined): number {
  const errors = loaded.diagnostics.filter((d) => d.severity === 'error');
  if (!loaded.ok) for (const d of errors) logger?.error({ file: d.file, line: d.line, column: d.column }, formatDiagnostic(d));
  else for (const d of loaded.diagnostics) logger?.warn({ file: d.file, line: d.line, column: d.column }, formatDiagnostic(d));
  return errors.length;
}

/**
 * Reloads on a signal (SIGHUP by default) while the returned function has not been called.
 * Failures are logged by reload(); nothing here throws.
 */
export function reloadOnSignal(runtime: { reload(): Promise<unknown> }, options: { signal?: NodeJS.Signals; logger?: Logger } = {}): () => void {
  const signal = options.signal ?? 'SIGHUP';
  const handler = (): void => {
    options.logger?.info({ signal }, 'reloading the pipeline files');
    runtime.reload().catch((error: unknown) => options.logger?.error({ err: error }, 'pipeline reload failed; the running pipelines go on unchanged'));
  };
  process.on(signal, handler);
  return () => {
    process.off(signal, handler);
  };
}
