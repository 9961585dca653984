import { describe, expect, it } from 'vitest';
import { normalizeEvent, NormalizeError } from '../../../src/model/normalize.js';

const options = { cluster: 'prod-eu' };

// Shapes as served by kube-apiserver v1.34 (kube-scheduler writes events.k8s.io/v1 Events with series).
const eventsV1Series = {
  apiVersion: 'events.k8s.io/v1',
  kind: 'Event',
  metadata: {
    name: 'api-7d9f8b6c5-x2x9q.1873a2b4c5d6e7f8',
    namespace: 'payments',
    uid: '0d4c1e2a-1111-4a2b-9c3d-5e6f7a8b9c0d',
    resourceVersion: '48213',
    creationTimestamp: '2026-11-01T10:00:00Z',
  },
  eventTime: '2026-11-01T10:00:00.123456Z',
  series: { count: 6, lastObservedTime: '2026-11-01T10:02:30.654321Z' },
  reportingController: 'default-scheduler',
  reportingInstance: 'default-scheduler-node-a',
  action: 'Scheduling',
  reason: 'FailedScheduling',
  regarding: { kind: 'Pod', namespace: 'payments', name: 'api-7d9f8b6c5-x2x9q', uid: 'pod-uid-1', apiVersion: 'v1', resourceVersion: '48100' },
  note: '0/3 nodes are available: 3 Insufficient cpu.',
  type: 'Warning',
};

const coreV1Counted = {
  apiVersion: 'v1',
  kind: 'Event',
  metadata: {
    name: 'checkout-5c6d7e8f9-abcde.1873a2b4c5d6e7f9',
    namespace: 'shop',
    uid: '7a7a7a7a-2222-4a2b-9c3d-5e6f7a8b9c0d',
    resourceVersion: '50001',
    creationTimestamp: '2026-11-01T10:05:00Z',
  },
  involvedObject: { kind: 'Pod', namespace: 'shop', name: 'checkout-5c6d7e8f9-abcde', uid: 'pod-uid-2', apiVersion: 'v1', fieldPath: 'spec.containers{app}' },
  reason: 'BackOff',
  message: 'Back-off restarting failed container app in pod checkout-5c6d7e8f9-abcde_shop(pod-uid-2)',
  source: { component: 'kubelet', host: 'node-b' },
  firstTimestamp: '2026-11-01T10:05:00Z',
  lastTimestamp: '2026-11-01T10:09:00Z',
  count: 12,
  type: 'Warning',
  eventTime: null,
  reportingComponent: '',
  reportingInstance: '',
};

describe('normalizeEvent', () => {
  it('maps an events.k8s.io/v1 series event: note, regarding, series count and last observed time', () => {
    const e = normalizeEvent(eventsV1Series, 'MODIFIED', options);
    expect(e).toMatchObject({
      uid: '0d4c1e2a-1111-4a2b-9c3d-5e6f7a8b9c0d',
      namespace: 'payments',
      change: 'MODIFIED',
      type: 'Warning',
      reason: 'FailedScheduling',
      message: '0/3 nodes are available: 3 Insufficient cpu.',
      action: 'Scheduling',
      reportingController: 'default-scheduler',
      reportingInstance: 'default-scheduler-node-a',
      count: 6,
      cluster: 'prod-eu',
      sourceApi: 'events.k8s.io/v1',
      idempotencyKey: '0d4c1e2a-1111-4a2b-9c3d-5e6f7a8b9c0d/6',
    });
    expect(e.regarding).toEqual({ apiVersion: 'v1', kind: 'Pod', namespace: 'payments', name: 'api-7d9f8b6c5-x2x9q', uid: 'pod-uid-1', fieldPath: null });
    expect(e.lastTimestamp).toBe(Date.parse('2026-11-01T10:02:30.654Z'));
    expect(e.eventTime).toBe(Date.parse('2026-11-01T10:00:00.123Z'));
    expect(e.firstTimestamp).toBe(e.eventTime);
  });

  it('maps a core/v1 event: involvedObject, message, source.component, count, lastTimestamp', () => {
    const e = normalizeEvent(coreV1Counted, 'MODIFIED', options);
    expect(e.sourceApi).toBe('core/v1');
    expect(e.regarding.fieldPath).toBe('spec.containers{app}');
    expect(e.message).toMatch(/^Back-off restarting failed container app/);
    expect(e.reportingController).toBe('kubelet');
    expect(e.reportingInstance).toBe('node-b');
    expect(e.count).toBe(12);
    expect(e.idempotencyKey).toBe('7a7a7a7a-2222-4a2b-9c3d-5e6f7a8b9c0d/12');
    expect(e.firstTimestamp).toBe(Date.parse('2026-11-01T10:05:00Z'));
    expect(e.lastTimestamp).toBe(Date.parse('2026-11-01T10:09:00Z'));
    expect(e.eventTime).toBeNull();
  });

  it('gives both API views of the same stored event the same identity and time', () => {
    const asEventsV1 = {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: coreV1Counted.metadata,
      regarding: coreV1Counted.involvedObject,
      note: coreV1Counted.message,
      reason: 'BackOff',
      type: 'Warning',
      deprecatedSource: coreV1Counted.source,
      deprecatedFirstTimestamp: coreV1Counted.firstTimestamp,
      deprecatedLastTimestamp: coreV1Counted.lastTimestamp,
      deprecatedCount: 12,
      eventTime: null,
    };
    const a = normalizeEvent(coreV1Counted, 'ADDED', options);
    const b = normalizeEvent(asEventsV1, 'ADDED', options);
    const { sourceApi: _a, ...restA } = a;
    const { sourceApi: _b, ...restB } = b;
    expect(restB).toEqual(restA);
  });

  it('accepts client-node typed objects (Date instances, no apiVersion/kind)', () => {
    const typed = {
      metadata: { ...eventsV1Series.metadata, creationTimestamp: new Date('2026-11-01T10:00:00Z') },
      eventTime: new Date('2026-11-01T10:00:01Z'),
      regarding: eventsV1Series.regarding,
      note: 'x',
      reason: 'Scheduled',
      type: 'Normal',
    };
    const e = normalizeEvent(typed, 'ADDED', options);
    expect(e.sourceApi).toBe('events.k8s.io/v1');
    expect(e.lastTimestamp).toBe(Date.parse('2026-11-01T10:00:01Z'));
    expect(e.count).toBe(1);
  });

  it('fills defaults when optional fields are missing, falling back to creationTimestamp for time', () => {
    const minimal = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'n', uid: 'u', resourceVersion: '1', creationTimestamp: '2026-11-01T00:00:00Z' },
      involvedObject: { kind: 'Node', name: 'node-a' },
    };
    const e = normalizeEvent(minimal, 'ADDED', options);
    expect(e).toMatchObject({ namespace: null, type: 'Normal', reason: '', message: '', action: null, related: null, count: 1, reportingController: null });
    expect(e.lastTimestamp).toBe(Date.parse('2026-11-01T00:00:00Z'));
    expect(e.regarding).toEqual({ apiVersion: null, kind: 'Node', namespace: null, name: 'node-a', uid: null, fieldPath: null });
  });

  it.each([
    ['not an object', 'x', /not an object/],
    ['no metadata', { involvedObject: {} }, /no metadata/],
    ['no uid', { metadata: { name: 'n', resourceVersion: '1' } }, /uid is missing/],
    [
      'no regarding',
      { apiVersion: 'events.k8s.io/v1', metadata: { name: 'n', uid: 'u', resourceVersion: '1' }, eventTime: '2026-11-01T00:00:00Z' },
      /regarding is missing/,
    ],
    ['no time', { apiVersion: 'v1', metadata: { name: 'n', uid: 'u', resourceVersion: '1' }, involvedObject: { kind: 'Pod' } }, /no time/],
    [
      'bad time',
      { apiVersion: 'v1', metadata: { name: 'n', uid: 'u', resourceVersion: '1' }, involvedObject: { kind: 'Pod' }, lastTimestamp: 'yesterday' },
      /lastTimestamp is not an RFC 3339 time/,
    ],
  ])('rejects %s with a NormalizeError that says why', (_label, raw, reason) => {
    let caught: unknown;
    try {
      normalizeEvent(raw, 'ADDED', options);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(NormalizeError);
    expect((caught as Error).message).toMatch(reason);
    expect((caught as NormalizeError).raw).toBe(raw);
  });
});
