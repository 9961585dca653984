import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { from, lastValueFrom, toArray } from 'rxjs';
import { createEventSource, eventOccurrences, type DeadLetter, type EventSourceItem } from '../../../src/sources/event-source.js';
import { WatchRegistry } from '../../../src/sources/watch-registry.js';
import type { WatchEvent } from '../../../src/model/watch-event.js';
import type { KubeEvent } from '../../../src/model/kube-event.js';
import { FAKE_RESOURCES, startFakeApiServer, type FakeApiServer, type Obj } from '../../support/fake-apiserver.js';
import { FAST, waitFor } from './support.js';

const EVENTS = FAKE_RESOURCES.events!;
const CORE_EVENTS = FAKE_RESOURCES.coreEvents!;

function v1Event(name: string, count: number | null, extra: Record<string, unknown> = {}): Obj {
  return {
    apiVersion: 'events.k8s.io/v1',
    kind: 'Event',
    metadata: { name, namespace: 'default', uid: `uid-${name}`, resourceVersion: '10', creationTimestamp: '2024-05-01T10:00:00Z' },
    eventTime: '2024-05-01T10:00:00.000000Z',
    regarding: { kind: 'Pod', namespace: 'default', name: 'web-1', uid: 'pod-1' },
    reason: 'FailedScheduling',
    note: '0/3 nodes are available',
    type: 'Warning',
    reportingController: 'default-scheduler',
    reportingInstance: 'default-scheduler-x',
    action: 'Scheduling',
    ...(count !== null ? { series: { count, lastObservedTime: '2024-05-01T10:01:00.000000Z' } } : {}),
    ...extra,
  };
}

function change(type: 'ADDED' | 'MODIFIED' | 'DELETED', object: Obj, rv: string, fromList?: boolean): WatchEvent<unknown> {
  const o = { ...object, metadata: { ...object.metadata, resourceVersion: rv } };
  return { type, object: o, resourceVersion: rv, ...(fromList ? { fromList } : {}) };
}

async function run(events: WatchEvent<unknown>[]): Promise<EventSourceItem[]> {
  return lastValueFrom(from(events).pipe(eventOccurrences({ cluster: 'c1', now: () => 42 }), toArray()));
}

describe('eventOccurrences', () => {
  it('emits ADDED, count/series bumps; not metadata-only changes, not DELETED', async () => {
    const items = await run([
      change('ADDED', v1Event('e1', null), '10', true),
      { type: 'SYNCED', resourceVersion: '10' },
      change('MODIFIED', v1Event('e1', 2), '11'),
      change('MODIFIED', { ...v1Event('e1', 2), metadata: { ...v1Event('e1', 2).metadata, annotations: { a: 'b' } } }, '12'),
      change('MODIFIED', v1Event('e1', 3), '13'),
      change('DELETED', v1Event('e1', 3), '14'),
    ]);
    expect(items.map((i) => (i.type === 'EVENT' ? `${i.event.change}:${i.event.count}:${i.checkpoint}` : i.type))).toEqual([
      'ADDED:1:null',
      'SYNCED',
      'MODIFIED:2:11',
      'MODIFIED:3:13',
    ]);
    const first = (items[0] as { event: KubeEvent }).event;
    expect(first).toMatchObject({ uid: 'uid-e1', cluster: 'c1', reason: 'FailedScheduling', sourceApi: 'events.k8s.io/v1', idempotencyKey: 'uid-e1/1' });
  });

  it('counts a MODIFIED of an unknown uid (after a resume) as an occurrence; forgets uids on DELETED', async () => {
    const items = await run([
      change('MODIFIED', v1Event('e2', 5), '20'),
      change('DELETED', v1Event('e2', 5), '21'),
      change('MODIFIED', v1Event('e2', 5), '22'),
    ]);
    expect(items.filter((i) => i.type === 'EVENT')).toHaveLength(2);
  });

  it('remembers at most maxTracked Events: the one changed least recently is forgotten, and a later change of it counts as an occurrence', async () => {
    const annotated = (name: string, count: number): Obj => ({
      ...v1Event(name, count),
      metadata: { ...v1Event(name, count).metadata, annotations: { a: 'b' } },
    });
    const items = await lastValueFrom(
      from([
        change('ADDED', v1Event('a', 2), '50'),
        change('ADDED', v1Event('b', 2), '51'),
        change('MODIFIED', v1Event('a', 3), '52'), // a changed after b: b is now the least recent
        change('ADDED', v1Event('c', 2), '53'), // a third: b is forgotten
        change('MODIFIED', annotated('a', 3), '54'), // remembered: not a bump, not an occurrence
        change('MODIFIED', annotated('b', 2), '55'), // forgotten: taken for one (same idempotency key as before)
      ]).pipe(eventOccurrences({ cluster: 'c1', now: () => 42, maxTracked: 2 }), toArray()),
    );
    expect(items.map((i) => (i.type === 'EVENT' ? i.event.idempotencyKey : i.type))).toEqual(['uid-a/2', 'uid-b/2', 'uid-a/3', 'uid-c/2', 'uid-b/2']);
  });

  it('decides change from the occurrence (count), not from the watch change that carried it', async () => {
    const items = await run([
      // a relist after 410 Gone lists a repeated Event as ADDED; a resumed watch may see a first occurrence as MODIFIED
      change('ADDED', v1Event('r1', 3), '40', true),
      change('MODIFIED', v1Event('r2', null), '41'),
      change('ADDED', v1Event('r3', null), '42'),
      change('MODIFIED', v1Event('r3', 2), '43'),
    ]);
    expect(items.map((i) => (i.type === 'EVENT' ? `${i.event.uid}:${i.event.change}:${i.event.count}` : i.type))).toEqual([
      'uid-r1:MODIFIED:3',
      'uid-r2:ADDED:1',
      'uid-r3:ADDED:1',
      'uid-r3:MODIFIED:2',
    ]);
  });

  it('sends malformed objects to dead letters and goes on', async () => {
    const bad = v1Event('bad', null);
    delete bad['regarding'];
    const items = await run([
      change('ADDED', bad, '30'),
      change('ADDED', v1Event('ok', null), '31'),
      { type: 'ADDED', object: 'garbage', resourceVersion: '' },
    ]);
    expect(items.map((i) => i.type)).toEqual(['DEAD_LETTER', 'EVENT', 'DEAD_LETTER']);
    expect((items[0] as { deadLetter: DeadLetter }).deadLetter).toMatchObject({
      reason: 'regarding is missing',
      change: 'ADDED',
      resourceVersion: '30',
      detectedAt: 42,
    });
  });

  it('passes GAP markers through', async () => {
    const gap = {
      type: 'GAP' as const,
      resource: 'r',
      fromResourceVersion: '1',
      toResourceVersion: '9',
      detectedAt: 1,
      fromTime: null,
      reason: 'x',
      cause: 'checkpoint-expired' as const,
    };
    expect(await run([gap])).toEqual([gap]);
  });
});

describe('createEventSource (fake apiserver)', () => {
  let server: FakeApiServer;
  beforeEach(async () => {
    server = await startFakeApiServer();
  });
  afterEach(async () => {
    await server.stop();
  });

  it('watches events.k8s.io/v1 once for every subscriber, emitting occurrences and dead letters', async () => {
    server.create(EVENTS, v1Event('a', null));
    const registry = new WatchRegistry(server.kubeConfig(), { timings: FAST });
    const callbacks: DeadLetter[] = [];
    const source = createEventSource(registry, { cluster: 'c1', onDeadLetter: (d) => callbacks.push(d) });
    const events: KubeEvent[] = [];
    const dead: DeadLetter[] = [];
    const items: EventSourceItem[] = [];
    const subs = [
      source.events$.subscribe((e) => events.push(e)),
      source.deadLetters$.subscribe((d) => dead.push(d)),
      source.items$.subscribe((i) => items.push(i)),
    ];
    await waitFor(() => items.some((i) => i.type === 'SYNCED'));
    await waitFor(() => server.liveWatches === 1);
    server.update(EVENTS, 'default', 'a', (o) => (o.series = { count: 2, lastObservedTime: '2024-05-01T10:02:00.000000Z' }));
    server.update(EVENTS, 'default', 'a', (o) => (o.metadata.annotations = { touched: 'yes' }));
    const bad = v1Event('b', null);
    delete bad['regarding'];
    server.create(EVENTS, bad);
    server.update(EVENTS, 'default', 'a', (o) => (o.series = { count: 3, lastObservedTime: '2024-05-01T10:03:00.000000Z' }));
    server.delete(EVENTS, 'default', 'a');
    await waitFor(() => events.length === 3 && dead.length === 1);
    expect(events.map((e) => `${e.change}:${e.count}`)).toEqual(['ADDED:1', 'MODIFIED:2', 'MODIFIED:3']);
    expect(callbacks).toHaveLength(1);
    expect(server.watchRequests()).toHaveLength(1);
    expect(server.requests.every((r) => r.path === '/apis/events.k8s.io/v1/events')).toBe(true);
    for (const s of subs) s.unsubscribe();
    await waitFor(() => server.liveWatches === 0);
  });

  it('falls back to core/v1 where events.k8s.io/v1 is not served', async () => {
    server.served.delete('events.k8s.io/v1/events');
    server.create(CORE_EVENTS, {
      metadata: { name: 'c', namespace: 'default', creationTimestamp: '2024-05-01T10:00:00Z' },
      involvedObject: { kind: 'Pod', name: 'web-1', namespace: 'default', uid: 'pod-1' },
      reason: 'BackOff',
      message: 'Back-off restarting failed container',
      type: 'Warning',
      count: 4,
      source: { component: 'kubelet', host: 'n1' },
      firstTimestamp: '2024-05-01T09:00:00Z',
      lastTimestamp: '2024-05-01T10:00:00Z',
    });
    const registry = new WatchRegistry(server.kubeConfig(), { timings: FAST });
    const source = createEventSource(registry, { cluster: 'c1', namespaces: ['default'] });
    const events: KubeEvent[] = [];
    const sub = source.events$.subscribe((e) => events.push(e));
    await waitFor(() => events.length === 1);
    expect(events[0]).toMatchObject({ sourceApi: 'core/v1', count: 4, reason: 'BackOff', reportingController: 'kubelet' });
    expect(server.requests.map((r) => r.path)).toContain('/api/v1/namespaces/default/events');
    sub.unsubscribe();
  });
});
