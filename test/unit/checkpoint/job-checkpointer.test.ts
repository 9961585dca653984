/**
 * JobCheckpointer (issue #20): the sources' positions and the pipelines' state committed as one.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JobCheckpointer, type CheckpointSource } from '../../../src/checkpoint/job-checkpointer.js';
import { ResumePointStore } from '../../../src/checkpoint/resume-point-store.js';
import { FileCheckpointStore, keepsState, MemoryCheckpointStore, type CheckpointStore, type StatePosition } from '../../../src/checkpoint/store.js';
import { CheckpointTracker } from '../../../src/checkpoint/tracker.js';
import { silentLogger } from '../../../src/core/logger.js';

const stateKey = { cluster: 'c1', pipeline: 'default' };

/** A source standing at `rv` after its last position; `inList` while listing. */
class FakeSource implements CheckpointSource {
  readonly tracker: CheckpointTracker;
  rv: string | null = null;
  inList = false;
  retired = false;
  constructor(readonly key = { cluster: 'c1', pipeline: 'default', resource: 'events' }) {
    this.tracker = new CheckpointTracker(key.resource);
  }
  cutPoint(): { seq: number; position: StatePosition } | null {
    return this.inList ? null : { seq: this.tracker.lastOpened, position: { resourceVersion: this.rv } };
  }
  /** An item at `rv` whose record is not acknowledged yet: returns the ack. */
  item(rv: string): () => void {
    const p = this.tracker.open(rv);
    this.tracker.retain(p);
    this.tracker.close(p);
    this.rv = rv;
    return () => this.tracker.ack(p);
  }
}

/** The "pipelines": a counter, snapshotted in full or as the increments since the last call. */
class FakeState {
  total = 0;
  private sinceLast = 0;
  bump(n = 1): void {
    this.total += n;
    this.sinceLast += n;
  }
  snapshot = (full: boolean) => {
    const value = full ? { full: true, total: this.total } : { full: false, add: this.sinceLast };
    this.sinceLast = 0;
    return { value, pipelines: [{ name: 'p', fingerprint: 'f' }] };
  };
}

/** Folds a decoded chain of FakeState snapshots. */
const fold = (chain: unknown[]): number =>
  chain.reduce<number>((n, v) => ((v as { full: boolean }).full ? (v as { total: number }).total : n + (v as { add: number }).add), 0);

/** `inner`, whose commitState throws when `fail()` says so (pieces are still written to `inner`). */
function failingCommits(inner: MemoryCheckpointStore, fail: () => boolean): CheckpointStore {
  return Object.assign(Object.create(inner) as MemoryCheckpointStore, {
    commitState: async (...args: Parameters<MemoryCheckpointStore['commitState']>) => {
      if (fail()) throw new Error('broker away');
      return inner.commitState(...args);
    },
  });
}

/** Lets the acknowledgements and the commit they allow happen (a commit writes files: on a loaded machine it outlasts any fixed wait). */
const settle = async (cp: JobCheckpointer): Promise<void> => {
  await new Promise((r) => setTimeout(r, 20));
  await cp.idle();
};

describe('JobCheckpointer', () => {
  it('commits a cut once its records are acknowledged: the state and the positions together', async () => {
    const store = new MemoryCheckpointStore();
    const state = new FakeState();
    const source = new FakeSource();
    const cp = new JobCheckpointer({ store, key: stateKey, snapshot: state.snapshot, logger: silentLogger });
    cp.addSource(source);
    const ack = source.item('10');
    state.bump();
    cp.tick(); // the cut: not committable yet
    await settle(cp);
    expect(store.states.size).toBe(0);
    // more happens after the cut: not part of it
    const ack2 = source.item('11');
    state.bump();
    ack();
    await settle(cp);
    const meta = store.states.get('c1/default/state')!;
    expect(meta).toMatchObject({ epoch: 1, positions: { events: { resourceVersion: '10' } }, pipelines: [{ name: 'p', fingerprint: 'f' }] });
    expect(await store.load(source.key)).toMatchObject({ resourceVersion: '10' });
    expect(cp.saved()).toEqual({ events: '10' });
    // the next cut is a delta on it
    ack2();
    cp.tick();
    await settle(cp);
    const loaded = await new JobCheckpointer({ store, key: stateKey, snapshot: state.snapshot }).loadState();
    expect(loaded!.meta.pieces.map((p) => p.index)).toEqual([0, 1]);
    expect(loaded!.meta.positions).toEqual({ events: { resourceVersion: '11' } });
    expect(fold(loaded!.chain)).toBe(2);
  });

  it('waits for the records written without a source position, and takes no cut inside a list', async () => {
    const store = new MemoryCheckpointStore();
    const state = new FakeState();
    const source = new FakeSource();
    const cp = new JobCheckpointer({ store, key: stateKey, snapshot: state.snapshot });
    cp.addSource(source);
    source.item('5')();
    // a timer's record
    const p = cp.unpositioned.open('');
    cp.unpositioned.retain(p);
    cp.unpositioned.close(p);
    state.bump();
    cp.tick();
    await settle(cp);
    expect(store.states.size).toBe(0);
    cp.unpositioned.ack(p);
    await settle(cp);
    expect(store.states.get('c1/default/state')?.positions).toEqual({ events: { resourceVersion: '5' } });

    source.inList = true;
    source.item('')();
    state.bump();
    cp.tick();
    await settle(cp);
    expect(store.states.get('c1/default/state')?.positions).toEqual({ events: { resourceVersion: '5' } });
    source.inList = false;
    source.item('9')();
    cp.tick();
    await settle(cp);
    expect(store.states.get('c1/default/state')?.positions).toEqual({ events: { resourceVersion: '9' } });
  });

  it('starts a new chain when the deltas outweigh the full piece, and deletes the old one; nothing moved: no cut', async () => {
    const store = new MemoryCheckpointStore();
    const source = new FakeSource();
    let n = 0;
    const cp = new JobCheckpointer({
      store,
      key: stateKey,
      // a small full snapshot, large deltas
      snapshot: (full) => ({
        value: full ? { full: true, total: n, pad: randomBytes(1500).toString('hex') } : { full: false, add: 1, pad: randomBytes(1000).toString('hex') },
        pipelines: [],
      }),
    });
    cp.addSource(source);
    const epochs: number[] = [];
    for (let i = 1; i <= 6; i++) {
      n = i;
      source.item(String(i))();
      cp.tick();
      await settle(cp);
      epochs.push(store.states.get('c1/default/state')!.epoch);
    }
    // full 1500 bytes, deltas 1000: a new chain once two deltas (2000) outweigh it
    expect(epochs).toEqual([1, 1, 1, 2, 2, 2]);
    // only the pieces of the committed epoch are left
    expect([...store.pieces.keys()].every((k) => k.includes('/2/'))).toBe(true);
    const saves = store.saves;
    cp.tick();
    await settle(cp);
    expect(store.saves).toBe(saves);
  });

  it('after a failed commit the next cut is full (the delta it would build on is lost)', async () => {
    const inner = new MemoryCheckpointStore();
    let failNext = false;
    const store = failingCommits(inner, () => {
      const fail = failNext;
      failNext = false;
      return fail;
    });
    const state = new FakeState();
    const source = new FakeSource();
    const cp = new JobCheckpointer({ store, key: stateKey, snapshot: state.snapshot, logger: silentLogger });
    cp.addSource(source);
    for (const [rv, fail] of [
      ['1', false],
      ['2', true],
      ['3', false],
    ] as const) {
      failNext = fail;
      source.item(rv)();
      state.bump();
      cp.tick();
      await settle(cp);
    }
    const loaded = await new JobCheckpointer({ store: inner, key: stateKey, snapshot: state.snapshot }).loadState();
    expect(loaded!.meta).toMatchObject({ epoch: 2, positions: { events: { resourceVersion: '3' } } });
    expect(loaded!.meta.pieces).toHaveLength(1);
    expect(fold(loaded!.chain)).toBe(3);
    // the piece written for the failed commit (epoch 1, piece 1) went with epoch 1's chain
    await settle(cp);
    expect([...inner.pieces.keys()]).toEqual([expect.stringContaining('/2/')]);
  });

  it('a failed full commit: its piece is replaced by the next full one at the same epoch, and kept', async () => {
    const inner = new MemoryCheckpointStore();
    let commits = 0;
    const store = failingCommits(inner, () => commits++ === 0);
    const state = new FakeState();
    const source = new FakeSource();
    const cp = new JobCheckpointer({ store, key: stateKey, snapshot: state.snapshot, logger: silentLogger });
    cp.addSource(source);
    for (const rv of ['1', '2', '3']) {
      source.item(rv)();
      state.bump();
      cp.tick();
      await settle(cp);
    }
    const loaded = await new JobCheckpointer({ store: inner, key: stateKey, snapshot: state.snapshot }).loadState();
    expect(loaded!.meta).toMatchObject({ epoch: 1, positions: { events: { resourceVersion: '3' } } });
    expect(fold(loaded!.chain)).toBe(3);
  });

  it('stop(): the cut waiting for acknowledgements and a last one are committed; abandon(): nothing more', async () => {
    const store = new MemoryCheckpointStore();
    const state = new FakeState();
    const source = new FakeSource();
    const cp = new JobCheckpointer({ store, key: stateKey, snapshot: state.snapshot });
    cp.addSource(source);
    const ack = source.item('1');
    state.bump();
    cp.tick();
    const ack2 = source.item('2');
    state.bump(5);
    cp.prepareStop(); // the input stopped
    state.bump(100); // (the pipelines torn down: not in the last cut)
    ack();
    ack2(); // the sinks flushed
    await cp.stop();
    const loaded = await cp.loadState();
    expect(loaded!.meta.positions).toEqual({ events: { resourceVersion: '2' } });
    expect(fold(loaded!.chain)).toBe(6);

    const other = new MemoryCheckpointStore();
    const b = new JobCheckpointer({ store: other, key: stateKey, snapshot: state.snapshot });
    const s2 = new FakeSource();
    b.addSource(s2);
    s2.item('7')();
    b.abandon();
    b.tick();
    await b.stop();
    expect(other.states.size).toBe(0);
    expect(other.saves).toBe(0);
  });

  it('a retired source is waited for but no longer saved', async () => {
    const store = new MemoryCheckpointStore();
    const state = new FakeState();
    const a = new FakeSource({ cluster: 'c1', pipeline: 'default', resource: 'events@a' });
    const all = new FakeSource();
    const cp = new JobCheckpointer({ store, key: stateKey, snapshot: state.snapshot });
    cp.addSource(a);
    const ack = a.item('3');
    a.retired = true;
    cp.addSource(all);
    all.item('4')();
    cp.tick();
    await settle(cp);
    expect(store.states.size).toBe(0);
    ack();
    await settle(cp);
    expect(store.states.get('c1/default/state')?.positions).toEqual({ events: { resourceVersion: '4' } });
    expect(cp.saved()).toEqual({ events: '4' });
  });

  it('without a store that keeps state: the positions only, each when it moved', async () => {
    const saved: string[] = [];
    const store: CheckpointStore = { load: async () => null, save: async (c) => void saved.push(c.resourceVersion), close: async () => undefined };
    expect(keepsState(store)).toBe(false);
    const source = new FakeSource();
    const cp = new JobCheckpointer({ store, key: stateKey, snapshot: new FakeState().snapshot });
    expect(cp.keepsState).toBe(false);
    cp.addSource(source);
    source.item('1')();
    cp.tick();
    await settle(cp);
    cp.tick();
    await settle(cp);
    source.item('2')();
    await cp.stop();
    expect(saved).toEqual(['1', '2']);
  });
});

describe('FileCheckpointStore: operator state', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kv-state-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('pieces beside the file, the state record and the checkpoints in one rewrite; read back in a new process; a changed piece is refused', async () => {
    const path = join(dir, 'checkpoints.json');
    const state = new FakeState();
    const source = new FakeSource();
    const store = new ResumePointStore(new FileCheckpointStore(path), silentLogger);
    expect(keepsState(store)).toBe(true);
    const cp = new JobCheckpointer({ store, key: stateKey, snapshot: state.snapshot });
    cp.addSource(source);
    for (const rv of ['1', '2', '3']) {
      source.item(rv)();
      state.bump(2);
      cp.tick();
      await settle(cp);
    }
    expect(readdirSync(dir).sort()).toEqual(['checkpoints.json', 'checkpoints.json.state']);
    expect(readdirSync(join(dir, 'checkpoints.json.state'))).toEqual(['c1_default.1.0.bin', 'c1_default.1.1.bin', 'c1_default.1.2.bin']);
    const again = new FileCheckpointStore(path);
    expect(await again.load(source.key)).toMatchObject({ resourceVersion: '3' });
    const loaded = await new JobCheckpointer({ store: again, key: stateKey, snapshot: state.snapshot }).loadState();
    expect(fold(loaded!.chain)).toBe(6);
    writeFileSync(join(dir, 'checkpoints.json.state', 'c1_default.1.1.bin'), 'tampered');
    await expect(new JobCheckpointer({ store: new FileCheckpointStore(path), key: stateKey, snapshot: state.snapshot }).loadState()).rejects.toThrow(
      /does not match its record/,
    );
  });
});
