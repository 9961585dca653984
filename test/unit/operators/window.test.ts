import { from, lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { EventWindow } from '../../../src/model/event-window.js';
import type { KubeEvent } from '../../../src/model/kube-event.js';
import { eventWindows } from '../../../src/operators/window.js';
import { MIN, SEC, T0, ev, letters, quiet, testScheduler } from './helpers.js';

const byNamespace = (e: KubeEvent) => ({ namespace: e.regarding.namespace });
const run = (events: KubeEvent[], options: Partial<Parameters<typeof eventWindows>[0]> = {}) =>
  lastValueFrom(from(events).pipe(eventWindows({ size: MIN, labels: byNamespace, name: 'p/window', ...quiet(), ...options }), toArray()));

describe('window', () => {
  it('tumbling: one record per key and window, emitted once the watermark passes its end (the rest at completion)', () => {
    const e = [
      ev({ at: 10 * SEC, reason: 'BackOff' }),
      ev({ at: 20 * SEC, reason: 'BackOff', type: 'Normal', name: 'web-2' }),
      ev({ at: 30 * SEC, reason: 'Failed' }),
      ev({ at: 70 * SEC }),
    ];
    testScheduler().run(({ cold, expectObservable }) => {
      const w0 = expect.objectContaining({
        stage: 'p/window',
        cluster: 'c1',
        labels: { namespace: 'shop' },
        start: T0,
        end: T0 + MIN,
        count: 3,
        warnings: 2,
        firstTime: T0 + 10 * SEC,
        lastTime: T0 + 30 * SEC,
        distinctObjects: 2,
        distinctObjectsCapped: false,
        topReasons: [
          { reason: 'BackOff', count: 2 },
          { reason: 'Failed', count: 1 },
        ],
      });
      const w1 = expect.objectContaining({ start: T0 + MIN, count: 1, topReasons: [{ reason: 'FailedScheduling', count: 1 }] });
      expectObservable(cold('abcd|', letters(e)).pipe(eventWindows({ size: MIN, labels: byNamespace, name: 'p/window', ...quiet() }))).toBe('---x(y|)', {
        x: w0,
        y: w1,
      });
    });
  });

  it('sliding: an event counts in every window covering it', async () => {
    const windows = await run([ev({ at: 30 * SEC }), ev({ at: 90 * SEC })], { size: 2 * MIN, slide: MIN });
    expect(windows.map((w) => [(w.start - T0) / MIN, w.count])).toEqual([
      [-1, 1],
      [0, 2],
      [1, 1],
    ]);
  });

  it('counts keys apart, and leaves out labels without a value', async () => {
    const windows = await run([ev({ at: 0 }), ev({ at: SEC, namespace: 'web' }), ev({ at: 2 * SEC, kind: 'Node', name: 'n1' })]);
    expect(windows.map((w) => [w.labels, w.count])).toEqual([
      [{ namespace: 'shop' }, 1],
      [{ namespace: 'web' }, 1],
      [{}, 1],
    ]);
  });

  it('windowId is stable for a stage, key and window start, and differs otherwise', async () => {
    const [a] = await run([ev({ at: 0 })]);
    const [b] = await run([ev({ at: 30 * SEC, reason: 'Other' })]);
    const [c] = await run([ev({ at: MIN })]);
    const [d] = await run([ev({ at: 0 })], { name: 'q/window' });
    expect(a!.windowId).toMatch(/^[0-9a-f]{16}$/);
    expect(b!.windowId).toBe(a!.windowId);
    expect(c!.windowId).not.toBe(a!.windowId);
    expect(d!.windowId).not.toBe(a!.windowId);
    expect(a!.idempotencyKey).toBe(a!.windowId);
  });

  it('distinct objects are capped per window, and marked so', async () => {
    const events = Array.from({ length: 5 }, (_, i) => ev({ at: i * SEC, name: `p-${i}` }));
    const [w] = await run(events, { maxObjects: 3 });
    expect(w).toMatchObject({ count: 5, distinctObjects: 3, distinctObjectsCapped: true });
  });

  it('an evicted key (maxKeys) emits its open windows as they are', async () => {
    const windows = await run([ev({ at: 0 }), ev({ at: SEC, namespace: 'web' })], { maxKeys: 1 });
    expect(windows.map((w: EventWindow) => [w.labels['namespace'], w.count])).toEqual([
      ['shop', 1],
      ['web', 1],
    ]);
  });

  it('refuses a slide longer than the size', () => {
    expect(() => eventWindows({ size: MIN, slide: 2 * MIN, labels: byNamespace })).toThrow(/slide/);
  });
});
