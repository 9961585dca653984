/**
 * The state of running pipelines, for checkpoints: what every stateful stage of every pipeline
 * holds between two events (src/operators/event-time.ts `StageSnapshot`), by pipeline and stage id.
 *
 * Snapshots come as a chain: a full one, then deltas holding only what changed since the
 * snapshot before (a stage seen for the first time in the chain, e.g. a pipeline added or changed
 * by a reload, is always full). `mergePipelinesSnapshots` folds the chain into one full snapshot.
 *
 * A snapshot names each pipeline with its fingerprint (the canonical form of its effective
 * definition, src/pipeline/load.ts). Restoring it into a set of pipelines (hot-swap.ts):
 * - a pipeline with the same name and fingerprint resumes: each of its stages takes its own state;
 * - a changed pipeline (another fingerprint), or one the snapshot does not know, starts empty;
 * - a pipeline of the snapshot that is no longer loaded is dropped.
 * The reload of a running set keeps the same rule: an unchanged pipeline keeps its state, a
 * changed one starts empty.
 */
import { mergeStageSnapshots, type StageCheckpoint, type StageSnapshot } from '../operators/event-time.js';

export const PIPELINES_SNAPSHOT_VERSION = 1;

export interface PipelineSnapshot {
  name: string;
  fingerprint: string;
  /** Stage id (`<pipeline>/<branch>/.../<type>`) -> its state (full, or a delta). */
  stages: Record<string, StageSnapshot>;
}

export interface PipelinesSnapshot {
  version: number;
  /** Every stage full (true), or a delta on the chain before it. */
  full: boolean;
  /** The pipelines running when it was taken. */
  pipelines: PipelineSnapshot[];
}

/** The stages of one running pipeline: the snapshot each resumes from, and their live snapshots. */
export class PipelineState {
  private readonly live = new Map<string, (full: boolean) => StageSnapshot>();
  private readonly pending: Map<string, StageSnapshot>;
  /** Stages whose snapshots are in the chain since its last full snapshot. */
  private readonly chained = new Set<string>();

  constructor(
    readonly pipeline: string,
    readonly fingerprint: string,
    restore: PipelineSnapshot | null = null,
  ) {
    this.pending = new Map(restore ? Object.entries(restore.stages) : []);
  }

  /** The checkpoint of one stage (StateOptions.checkpoint). */
  stage(id: string): StageCheckpoint {
    return {
      take: () => {
        const s = this.pending.get(id);
        this.pending.delete(id);
        return s;
      },
      register: (snapshot) => {
        this.live.set(id, snapshot);
        this.chained.delete(id);
        return () => {
          if (this.live.get(id) === snapshot) this.live.delete(id);
        };
      },
    };
  }

  /** Stages of the snapshot resumed from that no stage has taken (yet). */
  get untaken(): string[] {
    return [...this.pending.keys()];
  }

  /** Every stage's state: full, or what changed since the previous call (stages new to the chain full). */
  snapshot(full: boolean): PipelineSnapshot {
    if (full) this.chained.clear();
    const stages: Record<string, StageSnapshot> = {};
    for (const [id, take] of this.live) {
      stages[id] = take(!this.chained.has(id));
      this.chained.add(id);
    }
    return { name: this.pipeline, fingerprint: this.fingerprint, stages };
  }
}

/** Checks the shape of a decoded snapshot; throws with what is wrong. */
export function parsePipelinesSnapshot(value: unknown): PipelinesSnapshot {
  const v = value as Partial<PipelinesSnapshot> | null;
  if (!v || typeof v !== 'object' || !Array.isArray(v.pipelines) || typeof v.full !== 'boolean') {
    throw new Error('pipelines snapshot: not a {version, full, pipelines} object');
  }
  if (v.version !== PIPELINES_SNAPSHOT_VERSION) throw new Error(`pipelines snapshot: version ${String(v.version)}, expected ${PIPELINES_SNAPSHOT_VERSION}`);
  for (const [i, p] of v.pipelines.entries()) {
    if (!p || typeof p.name !== 'string' || typeof p.fingerprint !== 'string' || typeof p.stages !== 'object' || p.stages === null) {
      const name = p && typeof p.name === 'string' ? ` (${p.name})` : '';
      throw new Error(`pipelines snapshot: pipeline ${i}${name} has no name, fingerprint or stages`);
    }
  }
  return v as PipelinesSnapshot;
}

/**
 * Folds a chain (a full snapshot, then deltas, in the order taken) into one full snapshot: the
 * pipelines and stages of the last one, each stage merged over the chain since its last full
 * snapshot. Throws when the chain is broken (a delta without the full snapshot it builds on).
 */
export function mergePipelinesSnapshots(chain: readonly PipelinesSnapshot[]): PipelinesSnapshot {
  const first = chain[0];
  if (!first) throw new Error('pipelines snapshot chain: empty');
  if (!first.full) throw new Error('pipelines snapshot chain: does not start with a full snapshot');
  // stage state by pipeline name and stage id, as of the snapshot folded so far
  let merged = new Map<string, Map<string, StageSnapshot>>();
  let last = first;
  for (const snapshot of chain) {
    const next = new Map<string, Map<string, StageSnapshot>>();
    for (const p of snapshot.pipelines) {
      const before = merged.get(p.name);
      const stages = new Map<string, StageSnapshot>();
      for (const [id, s] of Object.entries(p.stages)) {
        if (s.full) stages.set(id, s);
        else {
          const base = before?.get(id);
          if (!base) throw new Error(`pipelines snapshot chain: a delta of stage ${id} without its full snapshot`);
          stages.set(id, mergeStageSnapshots(base, s));
        }
      }
      next.set(p.name, stages);
    }
    merged = next;
    last = snapshot;
  }
  return {
    version: PIPELINES_SNAPSHOT_VERSION,
    full: true,
    pipelines: last.pipelines.map((p) => ({ name: p.name, fingerprint: p.fingerprint, stages: Object.fromEntries(merged.get(p.name) ?? []) })),
  };
}

/** What restoring `snapshot` into pipelines named with these fingerprints does to each. */
export function restorePlan(
  snapshot: PipelinesSnapshot | null,
  pipelines: ReadonlyArray<{ name: string; fingerprint: string }>,
): { resumed: string[]; changed: string[]; added: string[]; dropped: string[] } {
  const byName = new Map((snapshot?.pipelines ?? []).map((p) => [p.name, p]));
  const plan = { resumed: [] as string[], changed: [] as string[], added: [] as string[], dropped: [] as string[] };
  for (const p of pipelines) {
    const s = byName.get(p.name);
    if (!s) plan.added.push(p.name);
    else if (s.fingerprint === p.fingerprint) plan.resumed.push(p.name);
    else plan.changed.push(p.name);
    byName.delete(p.name);
  }
  plan.dropped.push(...byName.keys());
  return plan;
}
