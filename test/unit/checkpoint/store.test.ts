import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FileCheckpointStore, MemoryCheckpointStore, type Checkpoint } from '../../../src/checkpoint/store.js';
import { Checkpointer } from '../../../src/checkpoint/checkpointer.js';

const key = { cluster: 'c1', pipeline: 'events', resource: 'events.k8s.io/v1/events' };

describe('FileCheckpointStore', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kv-cp-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('loads null when there is no file, then what was saved, across instances', async () => {
    const path = join(dir, 'sub', 'checkpoints.json');
    const a = new FileCheckpointStore(path);
    expect(await a.load(key)).toBeNull();
    const cp: Checkpoint = { ...key, resourceVersion: '12345', updatedAt: 1 };
    await a.save(cp);
    await a.save({ ...key, resource: 'v1/pods', resourceVersion: '7', updatedAt: 2 });
    await a.close();
    const b = new FileCheckpointStore(path);
    expect(await b.load(key)).toEqual(cp);
    expect(await b.load({ ...key, resource: 'v1/pods' })).toMatchObject({ resourceVersion: '7' });
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ version: 1 });
  });

  it('writes atomically: no temp files left, serialized saves keep the last value', async () => {
    const path = join(dir, 'checkpoints.json');
    const store = new FileCheckpointStore(path);
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.save({ ...key, resourceVersion: String(i), updatedAt: i })));
    expect(readdirSync(dir)).toEqual(['checkpoints.json']);
    expect(await new FileCheckpointStore(path).load(key)).toMatchObject({ resourceVersion: '19' });
  });

  it('refuses a corrupt file with its path instead of starting from scratch', async () => {
    const path = join(dir, 'checkpoints.json');
    writeFileSync(path, '{"version":1,"checkpoints":{"x":{"cluster":1}}}');
    await expect(new FileCheckpointStore(path).load(key)).rejects.toThrow(/checkpoints.json \[x\]: checkpoint field cluster/);
    writeFileSync(path, 'not json');
    await expect(new FileCheckpointStore(path).load(key)).rejects.toThrow(/not valid JSON/);
  });

  it('a failed save does not block later ones', async () => {
    const store = new FileCheckpointStore(join(dir, 'missing-dir-is-created', 'cp.json'));
    writeFileSync(join(dir, 'a-file'), '');
    const bad = new FileCheckpointStore(join(dir, 'a-file', 'cp.json')); // ENOTDIR
    await expect(bad.save({ ...key, resourceVersion: '1', updatedAt: 1 })).rejects.toThrow();
    await expect(bad.close()).resolves.toBeUndefined();
    await store.save({ ...key, resourceVersion: '2', updatedAt: 2 });
    expect(await store.load(key)).toMatchObject({ resourceVersion: '2' });
  });
});

describe('Checkpointer', () => {
  it('resumes from the stored checkpoint and saves only when the committed position moved', async () => {
    const store = new MemoryCheckpointStore();
    await store.save({ ...key, resourceVersion: '100', updatedAt: 0 });
    store.saves = 0;
    const registry = new Registry();
    const cp = new Checkpointer({ store, key, registry, now: () => 5000 });
    expect(await cp.load()).toBe('100');
    await cp.save();
    expect(store.saves).toBe(0);
    const p = cp.tracker.open('101');
    cp.tracker.retain(p);
    cp.tracker.close(p);
    await cp.save();
    expect(store.saves).toBe(0); // not acked yet
    cp.tracker.ack(p);
    await cp.stop();
    expect(store.saves).toBe(1);
    expect(await store.load(key)).toEqual({ ...key, resourceVersion: '101', updatedAt: 5000 });
    expect(await registry.getSingleMetricAsString('kubevents_checkpoint_saves_total')).toContain('resource="events.k8s.io/v1/events"} 1');
  });

  it('saves periodically once started', async () => {
    const store = new MemoryCheckpointStore();
    const cp = new Checkpointer({ store, key, intervalMs: 10 });
    await cp.load();
    cp.start();
    cp.tracker.close(cp.tracker.open('5'));
    await new Promise((r) => setTimeout(r, 60));
    expect(await store.load(key)).toMatchObject({ resourceVersion: '5' });
    await cp.stop();
  });

  it('abandon(): no periodic save, no save on stop(), and a save already running completes', async () => {
    vi.useFakeTimers();
    try {
      let release: () => void = () => undefined;
      const store = new MemoryCheckpointStore();
      const save = store.save.bind(store);
      const gated = vi.spyOn(store, 'save').mockImplementation(async (c) => {
        await new Promise<void>((r) => (release = r));
        await save(c);
      });
      const cp = new Checkpointer({ store, key, intervalMs: 10 });
      await cp.load();
      cp.start();
      cp.tracker.close(cp.tracker.open('5'));
      await vi.advanceTimersByTimeAsync(10); // the periodic save of 5 starts, and waits on the store
      expect(gated).toHaveBeenCalledTimes(1);
      cp.abandon();
      release();
      await vi.advanceTimersByTimeAsync(0);
      expect(await store.load(key)).toMatchObject({ resourceVersion: '5' }); // the running save completed
      cp.tracker.close(cp.tracker.open('6'));
      await vi.advanceTimersByTimeAsync(100);
      await cp.save();
      await cp.stop();
      expect(gated).toHaveBeenCalledTimes(1);
      expect(await store.load(key)).toMatchObject({ resourceVersion: '5' });
      expect(cp.savedResourceVersion).toBe('5');
    } finally {
      vi.useRealTimers();
    }
  });
});
