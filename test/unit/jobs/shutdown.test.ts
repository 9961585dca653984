import { describe, expect, it } from 'vitest';
import { Checkpointer } from '../../../src/checkpoint/checkpointer.js';
import { MemoryCheckpointStore } from '../../../src/checkpoint/store.js';
import { gracefulShutdown, onShutdownSignals } from '../../../src/jobs/shutdown.js';

const key = { cluster: 'c1', pipeline: 'p', resource: 'v1/events' };

describe('gracefulShutdown', () => {
  it('stops sources, flushes sinks, then saves what was acknowledged', async () => {
    const order: string[] = [];
    const store = new MemoryCheckpointStore();
    const cp = new Checkpointer({ store, key });
    await cp.load();
    const p = cp.tracker.open('42');
    cp.tracker.retain(p);
    cp.tracker.close(p);
    const report = await gracefulShutdown({
      stopSources: () => void order.push('sources'),
      sinks: [
        {
          async close(deadlineMs: number) {
            order.push(`sink(${deadlineMs > 0 ? 'time left' : 'no time'})`);
            cp.tracker.ack(p); // the flush got the ack
            return { flushed: true, abandoned: 0 };
          },
        },
      ],
      checkpointers: [cp],
      stores: [store],
      finally: () => void order.push('finally'),
    });
    expect(order).toEqual(['sources', 'sink(time left)', 'finally']);
    expect(report).toMatchObject({ clean: true, abandonedRecords: 0, checkpoints: { 'v1/events': '42' }, errors: [] });
    expect(await store.load(key)).toMatchObject({ resourceVersion: '42' });
  });

  it('reports records left at the deadline and failures, and still saves the checkpoint', async () => {
    const store = new MemoryCheckpointStore();
    const cp = new Checkpointer({ store, key });
    await cp.load();
    cp.tracker.close(cp.tracker.open('7'));
    const report = await gracefulShutdown(
      {
        stopSources: () => {
          throw new Error('source stuck');
        },
        sinks: [{ close: async () => ({ flushed: false, abandoned: 3 }) }],
        checkpointers: [cp],
      },
      { deadlineMs: 1000 },
    );
    expect(report).toMatchObject({ clean: false, abandonedRecords: 3, checkpoints: { 'v1/events': '7' } });
    expect(report.errors).toEqual(['stopping sources: source stuck']);
  });

  it('gives a hanging checkpoint save only the time that is left', async () => {
    const cp = new Checkpointer({
      store: { load: async () => null, save: () => new Promise<void>(() => undefined), close: async () => undefined },
      key,
    });
    await cp.load();
    cp.tracker.close(cp.tracker.open('1'));
    const t = Date.now();
    const report = await gracefulShutdown({ checkpointers: [cp] }, { deadlineMs: 100 });
    expect(Date.now() - t).toBeLessThan(1000);
    expect(report.clean).toBe(false);
    expect(report.errors[0]).toMatch(/saving checkpoint v1\/events: not done within/);
  });
});

describe('onShutdownSignals', () => {
  it('runs the shutdown once on the first signal, exits with its verdict; a second signal exits at once', async () => {
    const exits: number[] = [];
    let calls = 0;
    let finish!: () => void;
    const off = onShutdownSignals(
      () => {
        calls += 1;
        return new Promise((resolve) => (finish = () => resolve({ clean: true, abandonedRecords: 0, checkpoints: {}, errors: [], elapsedMs: 1 })));
      },
      { exit: (code) => exits.push(code), signals: ['SIGUSR2'] },
    );
    try {
      process.emit('SIGUSR2', 'SIGUSR2');
      process.emit('SIGUSR2', 'SIGUSR2');
      expect(exits).toEqual([130]);
      finish();
      await new Promise((r) => setTimeout(r, 0));
      expect(exits).toEqual([130, 0]);
      expect(calls).toBe(1);
    } finally {
      off();
    }
  });
});
