/**
 * The live job's checkpoints: the positions of its Event sources and the state of its pipelines,
 * committed as one (as Flink's checkpoints do), so that a restart, a crash or a failover resumes
 * the windows where the positions resume the watches.
 *
 * Every `intervalMs` (between two source items: the job handles an item synchronously) a cut is
 * taken when something moved since the last one and every source stands at a resume point (not
 * inside a list): for each source the last position it opened and where it would resume after it,
 * the last position of the records written without a source position (timers, a reload's flush:
 * `unpositioned`), and the pipelines' state, serialized at once (state-codec.ts): in full, or only
 * what changed since the previous cut (a delta). The cut is committed once every one of those
 * positions is done (all its records acknowledged): the state piece is written, then the state
 * record naming the chain (the epoch's full piece and its deltas) and the positions, then the
 * sources' checkpoints (store.ts `StateStore`). One cut at a time; a cut waits for its
 * acknowledgements, then the next one is taken at the next interval.
 *
 * A new chain (epoch) starts with a full snapshot: at the first cut of a process, after a failed
 * commit (the delta's base is unknown), and when the chain's deltas outweigh its full piece, so a
 * load reads at most about twice the state's size. The pieces of the epoch before are then
 * deleted.
 *
 * So the committed state always corresponds to the committed positions: a restart replays the
 * Events after them into the restored state, and every record derived from events or timers before
 * them was acknowledged. Records after them are published again (the same idempotency keys).
 *
 * With a store that keeps no state, or no snapshot function, only positions are saved (each
 * source's committed position, as Checkpointer does).
 */
import type { Registry } from 'prom-client';
import { Counter, Gauge } from 'prom-client';
import type { Logger } from '../core/logger.js';
import { metricsFor, type CheckpointMetrics, type CheckpointSaver } from './checkpointer.js';
import { compressState, decodeState, serializeState, STATE_FORMAT } from './state-codec.js';
import {
  checkpointKeyString,
  keepsState,
  STATE_META_VERSION,
  stateKeyString,
  type Checkpoint,
  type CheckpointKey,
  type CheckpointStore,
  type StateKey,
  type StateMeta,
  type StatePieceRef,
  type StatePosition,
  type StateStore,
} from './store.js';
import { CheckpointTracker } from './tracker.js';

/** A source whose positions the checkpoints follow (an Event feed of the live job). */
export interface CheckpointSource {
  readonly key: CheckpointKey;
  readonly tracker: CheckpointTracker;
  /**
   * The last position opened (its sequence number, 0 for none) and where the source resumes after
   * it; null while the source is inside a list (its items have no resume point of their own).
   */
  cutPoint(): { seq: number; position: StatePosition } | null;
  /** A retired source (replaced by another) is waited for at a cut, but its position is no longer saved. */
  readonly retired: boolean;
}

/** The pipelines' state for a cut: `value` is serialized at once. */
export interface StateSnapshot {
  value: unknown;
  pipelines: Array<{ name: string; fingerprint: string }>;
}

export interface JobCheckpointerOptions {
  store: CheckpointStore;
  /** Whose state: the job's cluster and pipeline (the state record's key). */
  key: StateKey;
  /** Time between two cuts, ms (default 1000). */
  intervalMs?: number;
  /** The pipelines' state: all of it (`full`) or what changed since the previous call; null: positions only. */
  snapshot: ((full: boolean) => StateSnapshot) | null;
  logger?: Logger;
  registry?: Registry;
  now?: () => number;
}

/** The state a start resumes from: the committed record and its chain, decoded (full first). */
export interface LoadedState {
  meta: StateMeta;
  chain: unknown[];
  bytes: number;
  /** Time to read and decode it, ms. */
  loadMs: number;
}

interface Cut {
  mark: string;
  sources: Array<{ source: CheckpointSource; seq: number; position: StatePosition }>;
  unpositioned: number;
  full: boolean;
  takenAt: number;
  pipelines: StateSnapshot['pipelines'];
  data: Promise<Buffer>;
}

interface StateMetrics {
  snapshots: Counter<'type'>;
  storedBytes: Gauge;
  snapshotSeconds: Gauge<'type'>;
}

function stateMetricsFor(registry: Registry): StateMetrics {
  const registers = [registry];
  const get = <T>(name: string, make: () => T): T => (registry.getSingleMetric(name) as T | undefined) ?? make();
  return {
    snapshots: get(
      'kubevents_state_snapshots_total',
      () =>
        new Counter({ name: 'kubevents_state_snapshots_total', help: 'Operator state snapshots committed, full or delta.', labelNames: ['type'], registers }),
    ),
    storedBytes: get(
      'kubevents_state_stored_bytes',
      () =>
        new Gauge({ name: 'kubevents_state_stored_bytes', help: 'Bytes of the committed operator state chain (compressed): what a restart reads.', registers }),
    ),
    snapshotSeconds: get(
      'kubevents_state_snapshot_seconds',
      () =>
        new Gauge({
          name: 'kubevents_state_snapshot_seconds',
          help: 'Time the last snapshot of the operator state held the event loop (serialization), by type.',
          labelNames: ['type'],
          registers,
        }),
    ),
  };
}

/** Pieces of failed commits remembered for deletion (see JobCheckpointer.unreferenced). */
const MAX_UNREFERENCED_PIECES = 1_000;
export class JobCheckpointer implements CheckpointSaver {
  /** Positions of the records written without a source position: a cut waits for them too. */
  readonly unpositioned = new CheckpointTracker('records without a source position');
  private readonly sources: CheckpointSource[] = [];
  private readonly store: (CheckpointStore & StateStore) | null;
  private readonly positionsOnly: CheckpointStore;
  private readonly now: () => number;
  private readonly metrics: CheckpointMetrics | undefined;
  private readonly stateMetrics: StateMetrics | undefined;
  private timer: NodeJS.Timeout | undefined;
  private pending: Cut | null = null;
  /** The cut taken when the input stopped (prepareStop): what stop() commits. */
  private final: Cut | null = null;
  private committing: Promise<void> | null = null;
  private abandoned = false;
  private stopped = false;
  /** What the last cut, and the last committed one, covered: to skip cuts when nothing moved. */
  private lastMark = '';
  private committedMark = '';
  // the chain committed in this process
  private epoch = 0;
  private chain: StatePieceRef[] = [];
  private baseBytes = 0;
  private chainBytes = 0;
  private forceFull = true;
  /** The chain a start resumed from (deleted once this process commits its own). */
  private inherited: { epoch: number; pieces: StatePieceRef[] } | null = null;
  /**
   * Pieces written for commits that then failed. They cannot be deleted at once: a commit that
   * timed out may still have landed and be the latest. The next full commit (a failure forces one)
   * supersedes them, and deletes them then. Abandoned commits leave theirs alone: the chain is the
   * new leader's, who may write the same (epoch, index).
   */
  private unreferenced: Array<{ epoch: number; piece: StatePieceRef }> = [];
  private readonly savedRvs = new Map<string, string | null>();
  private readonly unsubscribe: Array<() => void> = [];

  constructor(private readonly options: JobCheckpointerOptions) {
    this.store = options.snapshot && keepsState(options.store) ? options.store : null;
    this.positionsOnly = options.store;
    this.now = options.now ?? Date.now;
    this.metrics = options.registry ? metricsFor(options.registry) : undefined;
    this.stateMetrics = options.registry && this.store ? stateMetricsFor(options.registry) : undefined;
    this.unsubscribe.push(this.unpositioned.onCommit(() => this.maybeCommit()));
  }

  /** Resolves once no commit is in flight (for whoever reads the store right after a tick: tests). */
  async idle(): Promise<void> {
    while (this.committing) await this.committing.catch(() => undefined);
  }

  /** Whether operator state is checkpointed (the store keeps it and there is a snapshot function). */
  get keepsState(): boolean {
    return this.store !== null;
  }

  get name(): string {
    return stateKeyString(this.options.key);
  }

  /** The committed state record and its chain, decoded; null when there is none (or no state is kept). Throws when it is unreadable. */
  async loadState(): Promise<LoadedState | null> {
    if (!this.store) return null;
    const started = this.now();
    const loaded = await this.store.loadState(this.options.key);
    if (!loaded) return null;
    if (loaded.meta.format !== STATE_FORMAT) throw new Error(`operator state ${this.name}: format ${loaded.meta.format}, expected ${STATE_FORMAT}`);
    const chain: unknown[] = [];
    for (const piece of loaded.pieces) chain.push(await decodeState(piece));
    this.epoch = loaded.meta.epoch;
    this.inherited = { epoch: loaded.meta.epoch, pieces: loaded.meta.pieces };
    return { meta: loaded.meta, chain, bytes: loaded.pieces.reduce((n, p) => n + p.length, 0), loadMs: this.now() - started };
  }

  /** A source to follow (before start(), or later: a watch added by a reload). */
  addSource(source: CheckpointSource): void {
    this.sources.push(source);
    this.savedRvs.set(source.key.resource, source.tracker.committed);
    this.unsubscribe.push(source.tracker.onCommit(() => this.maybeCommit()));
  }

  /** Cuts and commits every `intervalMs` from now on. */
  start(): void {
    if (this.timer || this.abandoned || this.stopped) return;
    this.timer = setInterval(() => this.tick(), this.options.intervalMs ?? 1000);
    this.timer.unref();
  }

  /**
   * One interval: commit what is committable, else take a cut. Exposed for tests (and called by
   * the timer); it never throws: failures are logged and counted.
   */
  tick(): void {
    if (this.abandoned || this.stopped) return;
    try {
      if (!this.store) {
        void this.savePositions();
        return;
      }
      if (!this.pending && !this.committing) this.cut(false);
      this.maybeCommit();
    } catch (error) {
      this.options.logger?.warn({ err: error }, 'checkpoint: the cut failed; retried at the next interval');
      this.pending = null;
      this.forceFull = true;
    }
  }

  /**
   * Takes a cut (see the module doc) unless a source is inside a list, or nothing moved since the
   * last one (unless `always`). Returns whether it took one.
   */
  private cut(always: boolean): boolean {
    const snapshot = this.options.snapshot;
    if (!snapshot) return false;
    const sources: Cut['sources'] = [];
    for (const source of this.sources) {
      const point = source.cutPoint();
      if (!point) {
        this.options.logger?.debug({ source: source.key.resource }, 'checkpoint: a source is inside a list, no cut now');
        return false;
      }
      sources.push({ source, seq: point.seq, position: point.position });
    }
    const unpositioned = this.unpositioned.lastOpened;
    const mark = `${sources.map((s) => `${s.source.key.resource}:${s.seq}`).join(',')}|${unpositioned}`;
    if (!always && mark === this.lastMark && !this.forceFull) return false;
    const full = this.forceFull || this.chain.length === 0 || this.chainBytes > this.baseBytes;
    const started = performance.now();
    const taken = snapshot(full);
    const serialized = serializeState(taken.value);
    this.stateMetrics?.snapshotSeconds.set({ type: full ? 'full' : 'delta' }, (performance.now() - started) / 1000);
    const data = compressState(serialized);
    data.catch(() => undefined); // handled at the commit
    this.pending = { mark, sources, unpositioned, full, takenAt: this.now(), pipelines: taken.pipelines, data };
    this.lastMark = mark;
    this.forceFull = false;
    return true;
  }

  private committable(cut: Cut): boolean {
    return cut.sources.every((s) => s.source.tracker.committedPosition >= s.seq) && this.unpositioned.committedPosition >= cut.unpositioned;
  }

  private maybeCommit(): void {
    const cut = this.pending;
    if (!cut || this.committing || this.abandoned || !this.committable(cut)) return;
    this.committing = this.commit(cut).finally(() => {
      this.committing = null;
    });
  }

  private async commit(cut: Cut): Promise<void> {
    const store = this.store!;
    const key = this.options.key;
    let written: { epoch: number; piece: StatePieceRef } | null = null;
    try {
      const data = await cut.data;
      if (this.abandoned) return;
      const epoch = cut.full ? this.epoch + 1 : this.epoch;
      const index = cut.full ? 0 : this.chain.length;
      const ref = await store.writeStatePiece(key, epoch, index, data);
      written = { epoch, piece: ref };
      const pieces = cut.full ? [ref] : [...this.chain, ref];
      const live = cut.sources.filter((s) => !s.source.retired);
      const savedAt = this.now();
      const meta: StateMeta = {
        kind: 'state',
        version: STATE_META_VERSION,
        cluster: key.cluster,
        pipeline: key.pipeline,
        format: STATE_FORMAT,
        epoch,
        pieces,
        positions: Object.fromEntries(live.map((s) => [s.source.key.resource, s.position])),
        pipelines: cut.pipelines,
        takenAt: cut.takenAt,
        savedAt,
      };
      const checkpoints: Checkpoint[] = live
        .filter((s) => s.position.resourceVersion)
        .map((s) => ({ ...s.source.key, resourceVersion: s.position.resourceVersion!, updatedAt: savedAt }));
      if (this.abandoned) return;
      await store.commitState(meta, checkpoints);
      // committed: the chain moves on
      this.committedMark = cut.mark;
      const before = cut.full ? { epoch: this.epoch, pieces: this.chain } : null;
      this.epoch = epoch;
      this.chain = pieces;
      if (cut.full) {
        this.baseBytes = data.length;
        this.chainBytes = 0;
      } else {
        this.chainBytes += data.length;
      }
      for (const s of live) if (s.position.resourceVersion) this.savedRvs.set(s.source.key.resource, s.position.resourceVersion);
      for (const s of live) {
        this.metrics?.saves.inc({ resource: s.source.key.resource });
        this.metrics?.lastSave.set({ resource: s.source.key.resource }, savedAt / 1000);
        this.metrics?.outstanding.set({ resource: s.source.key.resource }, s.source.tracker.outstanding);
      }
      this.stateMetrics?.snapshots.inc({ type: cut.full ? 'full' : 'delta' });
      this.stateMetrics?.storedBytes.set(pieces.reduce((n, p) => n + p.bytes, 0));
      this.options.logger?.debug({ state: this.name, epoch, piece: index, bytes: data.length, full: cut.full }, 'state and positions committed');
      if (before) {
        // a failed full commit wrote at the epoch just committed: that key now holds the new piece
        const failed = this.unreferenced.filter((u) => u.epoch !== epoch).map(({ epoch: e, piece }) => ({ epoch: e, pieces: [piece] }));
        this.unreferenced = [];
        const old = [before, this.inherited, ...failed].filter((c): c is { epoch: number; pieces: StatePieceRef[] } => c !== null && c.pieces.length > 0);
        this.inherited = null;
        for (const c of old) {
          store.discardStatePieces(key, c.epoch, c.pieces).catch((error: unknown) => {
            this.options.logger?.debug({ err: error, epoch: c.epoch }, 'could not delete the pieces of an older state chain (they are only garbage)');
          });
        }
      }
    } catch (error) {
      this.forceFull = true; // the next delta's base is unknown
      // bounded: a failure forces the next commit to be full, which deletes these; past the cap
      // (a store failing for hours) the oldest stay behind as garbage
      if (written && !this.abandoned && this.unreferenced.push(written) > MAX_UNREFERENCED_PIECES) this.unreferenced.shift();
      for (const s of cut.sources) this.metrics?.failures.inc({ resource: s.source.key.resource });
      this.options.logger?.warn({ err: error, state: this.name }, 'checkpoint: saving the state and positions failed; retried at the next interval');
    } finally {
      if (this.pending === cut) this.pending = null;
    }
  }

  /** Positions only: each source's committed resourceVersion, when it moved. */
  private async savePositions(): Promise<void> {
    if (this.committing) return;
    const run = (async () => {
      for (const source of this.sources) {
        if (this.abandoned) return;
        const resource = source.key.resource;
        const rv = source.tracker.committed;
        this.metrics?.outstanding.set({ resource }, source.tracker.outstanding);
        if (rv === null || rv === this.savedRvs.get(resource) || source.retired) continue;
        try {
          const at = this.now();
          await this.positionsOnly.save({ ...source.key, resourceVersion: rv, updatedAt: at });
          this.savedRvs.set(resource, rv);
          this.metrics?.saves.inc({ resource });
          this.metrics?.lastSave.set({ resource }, at / 1000);
        } catch (error) {
          this.metrics?.failures.inc({ resource });
          this.options.logger?.warn({ err: error, checkpoint: checkpointKeyString(source.key) }, 'checkpoint save failed');
        }
      }
    })();
    this.committing = run;
    await run.finally(() => {
      this.committing = null;
    });
  }

  /**
   * Stops saving, for good, without a last save: for a replica that lost its Lease, whose
   * checkpoints now belong to the new leader. A save already running completes.
   */
  abandon(): void {
    this.abandoned = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.pending = null;
  }

  /**
   * The input stopped (no more source items; call it between two items, before the pipelines are
   * torn down): stops the periodic cuts and takes the last one, in full, for stop() to commit once
   * the sinks are flushed. Idempotent.
   */
  prepareStop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.final || this.abandoned || this.stopped || !this.store) return;
    const waiting = this.pending;
    this.forceFull = true;
    try {
      if (this.cut(true)) this.final = this.pending;
    } catch (error) {
      this.options.logger?.warn({ err: error }, 'checkpoint: the last cut failed');
    }
    this.pending = waiting;
  }

  /**
   * Stops the periodic cuts and commits once more what was acknowledged by now (the job's sinks
   * are flushed first): the cut prepareStop() took (else the one waiting for acknowledgements),
   * so that a restart after a graceful stop publishes nothing twice.
   */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.stopped) return;
    this.stopped = true;
    for (const u of this.unsubscribe) u();
    if (this.abandoned) return;
    if (this.committing) await this.committing;
    if (!this.store) {
      await this.savePositions();
      return;
    }
    const final = this.final;
    const waiting = this.pending;
    this.pending = null;
    if (final && final.mark === this.committedMark) return; // nothing moved since the last commit
    if (final && this.committable(final)) {
      await this.commit(final);
      return;
    }
    if (waiting && this.committable(waiting)) {
      await this.commit(waiting);
      if (!final) return;
    }
    if (final || waiting) this.options.logger?.warn('checkpoint: records are still unacknowledged at the stop; the last committed state and positions stay');
  }

  saved(): Record<string, string | null> {
    return Object.fromEntries(this.sources.filter((s) => !s.retired).map((s) => [s.key.resource, this.savedRvs.get(s.key.resource) ?? null]));
  }
}
