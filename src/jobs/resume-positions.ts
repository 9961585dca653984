/**
 * Where the live job's Event watches resume (src/jobs/live-job.ts): the positions committed with
 * the operator state when it was restored, else each watch's checkpoint. One watch per scope: all
 * namespaces (checkpoint resource `events`) or one namespace (`events@<namespace>`); a watch whose
 * scope had no position of its own takes one from the watches that covered its Events before.
 */
import type { JobCheckpointer } from '../checkpoint/job-checkpointer.js';
import type { CheckpointKey, CheckpointStore, StatePosition } from '../checkpoint/store.js';
import type { Logger } from '../core/logger.js';
import { mergePipelinesSnapshots, parsePipelinesSnapshot, type PipelinesSnapshot } from '../pipeline/state.js';
import { compareResourceVersions } from '../sources/resource-version.js';

/**
 * The committed operator state (positions and the pipelines' snapshot), or null: none, no state
 * kept, or unreadable (logged: the pipelines start empty, the watches resume from their checkpoints).
 */
export async function loadOperatorState(
  cp: JobCheckpointer,
  logger: Logger,
): Promise<{ snapshot: PipelinesSnapshot; positions: Record<string, StatePosition> } | null> {
  if (!cp.keepsState) return null;
  try {
    const loaded = await cp.loadState();
    if (!loaded) {
      logger.info({ state: cp.name }, 'no operator state saved: the pipelines start empty');
      return null;
    }
    const started = performance.now();
    const snapshot = mergePipelinesSnapshots(loaded.chain.map(parsePipelinesSnapshot));
    const keys = snapshot.pipelines.reduce((n, p) => n + Object.values(p.stages).reduce((m, s) => m + s.keys.length, 0), 0);
    logger.info(
      {
        state: cp.name,
        epoch: loaded.meta.epoch,
        pieces: loaded.meta.pieces.length,
        bytes: loaded.bytes,
        keys,
        takenAt: new Date(loaded.meta.takenAt).toISOString(),
        positions: loaded.meta.positions,
        loadMs: Math.round(loaded.loadMs + performance.now() - started),
      },
      'operator state loaded',
    );
    return { snapshot, positions: loaded.meta.positions };
  } catch (error) {
    logger.warn({ err: error, state: cp.name }, 'operator state could not be loaded: the pipelines start empty, the watches resume from their checkpoints');
    return null;
  }
}

export class ResumePositions {
  /** Positions from the restored state, or the checkpoints in the store. */
  readonly from: 'state' | 'checkpoints';
  private readonly byResource: Record<string, StatePosition>;

  constructor(
    private readonly job: { cluster: string; pipeline: string },
    private readonly store: Pick<CheckpointStore, 'load'>,
    restored: Record<string, StatePosition> | null,
  ) {
    this.from = restored ? 'state' : 'checkpoints';
    this.byResource = restored ?? {};
  }

  keyOf(namespace: string | null): CheckpointKey {
    return { ...this.job, resource: namespace === null ? 'events' : `events@${namespace}` };
  }

  /**
   * Where the watch of `namespace` (null: all) resumes. Its own position when known; else one
   * taken from the watches that covered its Events before: all namespaces' for one namespace; the
   * earliest of the namespaces' for all (their Events up to their own positions then skipped).
   * None: it lists, as a first start does. Without restored state the positions are the
   * checkpoints in the store.
   */
  async positionFor(namespace: string | null): Promise<{ position: StatePosition | null; via: string | null }> {
    const known = async (resource: string): Promise<StatePosition | null> => {
      if (this.from === 'state') return this.byResource[resource] ?? null;
      const saved = await this.store.load({ ...this.job, resource });
      return saved ? { resourceVersion: saved.resourceVersion } : null;
    };
    const own = await known(this.keyOf(namespace).resource);
    if (own) return { position: own, via: null };
    if (namespace !== null) {
      const all = await known('events');
      if (all?.resourceVersion) {
        const upTo = all.covered?.[namespace];
        return { position: { resourceVersion: all.resourceVersion, ...(upTo ? { covered: { [namespace]: upTo } } : {}) }, via: 'events' };
      }
      return { position: null, via: null };
    }
    const namespaces =
      this.from === 'state'
        ? Object.entries(this.byResource)
            .filter(([r, p]) => r.startsWith('events@') && p.resourceVersion)
            .map(([r, p]) => [r.slice('events@'.length), p.resourceVersion!] as const)
        : [];
    if (namespaces.length === 0) return { position: null, via: null };
    return { position: takeOver(namespaces), via: namespaces.map(([ns]) => `events@${ns}`).join(',') };
  }
}

/**
 * The position of a watch taking over namespaces that watches of their own followed up to the
 * given resourceVersions: resume from the earliest, skip each namespace's Events up to its own.
 */
export function takeOver(handled: ReadonlyArray<readonly [string, string]>): StatePosition {
  let earliest = handled[0]![1];
  for (const [, rv] of handled) if (compareResourceVersions(rv, earliest) === -1) earliest = rv;
  const covered = Object.fromEntries(handled.filter(([, rv]) => rv !== earliest));
  return { resourceVersion: earliest, ...(Object.keys(covered).length > 0 ? { covered } : {}) };
}
