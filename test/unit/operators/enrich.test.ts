import { describe, expect, it } from 'vitest';
import type { Enrichment, KubeEvent } from '../../../src/model/kube-event.js';
import { enrich, enrichmentOf } from '../../../src/operators/enrich.js';
import { createStaticObjectLookup, EMPTY_OBJECT_LOOKUP, type KubeObject } from '../../../src/sources/object-lookup.js';
import { ev, letters, testScheduler } from './helpers.js';

const deployment: KubeObject = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'shop', uid: 'd-web', labels: { app: 'web' } },
};
const replicaSet: KubeObject = {
  apiVersion: 'apps/v1',
  kind: 'ReplicaSet',
  metadata: {
    name: 'web-5d8f',
    namespace: 'shop',
    uid: 'rs-web',
    ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'd-web', controller: true }],
  },
};
const pod: KubeObject = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: 'web-5d8f-x1',
    namespace: 'shop',
    uid: 'p-1',
    labels: { app: 'web', 'pod-template-hash': '5d8f', team: 'payments' },
    ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-5d8f', uid: 'rs-web', controller: true }],
  },
  spec: { nodeName: 'n1' },
  status: {
    phase: 'Running',
    initContainerStatuses: [
      { name: 'init', ready: true, restartCount: 0, state: { terminated: { reason: 'Completed', exitCode: 0, finishedAt: '2024-05-01T11:59:00Z' } } },
    ],
    containerStatuses: [
      {
        name: 'app',
        ready: false,
        restartCount: 7,
        state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 5m0s restarting failed container=app' } },
        lastState: { terminated: { reason: 'OOMKilled', exitCode: 137, finishedAt: '2024-05-01T12:00:00Z' } },
      },
      { name: 'sidecar', ready: true, restartCount: 0, state: { running: { startedAt: '2024-05-01T11:00:00Z' } } },
    ],
  },
};
const node: KubeObject = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1', uid: 'n-1', labels: { 'kubernetes.io/hostname': 'n1' } } };
const orphanPod: KubeObject = {
  kind: 'Pod',
  metadata: { name: 'batch-1', namespace: 'jobs', uid: 'p-2', ownerReferences: [{ kind: 'Job', name: 'nightly-28001', uid: 'j-1', controller: true }] },
  spec: {},
  status: { phase: 'Pending' },
};

const lookup = createStaticObjectLookup([deployment, replicaSet, pod, node, orphanPod]);
const podEvent = (extra: Partial<Parameters<typeof ev>[0]> = {}): KubeEvent =>
  ev({ at: 0, reason: 'BackOff', name: 'web-5d8f-x1', uid: 'p-1', namespace: 'shop', ...extra });

describe('enrich', () => {
  it('adds owner chain, workload, node, phase, container states and selected labels of a Pod', () => {
    expect(enrichmentOf(podEvent(), lookup)).toEqual<Enrichment>({
      workload: { kind: 'Deployment', name: 'web', uid: 'd-web' },
      ownerChain: [
        { kind: 'ReplicaSet', name: 'web-5d8f', uid: 'rs-web' },
        { kind: 'Deployment', name: 'web', uid: 'd-web' },
      ],
      node: 'n1',
      podPhase: 'Running',
      containers: [
        {
          name: 'init',
          ready: true,
          restartCount: 0,
          waitingReason: null,
          waitingMessage: null,
          lastTerminationReason: 'Completed',
          lastExitCode: 0,
          lastFinishedAt: Date.parse('2024-05-01T11:59:00Z'),
        },
        {
          name: 'app',
          ready: false,
          restartCount: 7,
          waitingReason: 'CrashLoopBackOff',
          waitingMessage: 'back-off 5m0s restarting failed container=app',
          lastTerminationReason: 'OOMKilled',
          lastExitCode: 137,
          lastFinishedAt: Date.parse('2024-05-01T12:00:00Z'),
        },
        {
          name: 'sidecar',
          ready: true,
          restartCount: 0,
          waitingReason: null,
          waitingMessage: null,
          lastTerminationReason: null,
          lastExitCode: null,
          lastFinishedAt: null,
        },
      ],
      labels: { app: 'web', team: 'payments' },
    });
  });

  it('finds the object by name when the event has no uid', () => {
    const noUid = podEvent();
    noUid.regarding.uid = null;
    expect(enrichmentOf(noUid, lookup)?.workload?.name).toBe('web');
  });

  it('enriches a Node event with the node itself, and a ReplicaSet event with its owner', () => {
    expect(enrichmentOf(ev({ at: 0, kind: 'Node', name: 'n1', uid: 'n-1', reason: 'NodeNotReady' }), lookup)).toEqual({
      workload: null,
      ownerChain: [],
      node: 'n1',
      podPhase: null,
      containers: [],
      labels: {},
    });
    expect(enrichmentOf(ev({ at: 0, kind: 'ReplicaSet', name: 'web-5d8f', uid: 'rs-web', reason: 'FailedCreate' }), lookup)).toMatchObject({
      workload: { kind: 'Deployment', name: 'web' },
      ownerChain: [{ kind: 'Deployment', name: 'web', uid: 'd-web' }],
      node: null,
    });
  });

  it('keeps an uncached owner from the reference (ending the chain); a bare object is its own workload', () => {
    expect(enrichmentOf(ev({ at: 0, kind: 'Pod', name: 'batch-1', namespace: 'jobs', uid: 'p-2' }), lookup)).toMatchObject({
      workload: { kind: 'Job', name: 'nightly-28001', uid: 'j-1' },
      ownerChain: [{ kind: 'Job', name: 'nightly-28001', uid: 'j-1' }],
      podPhase: 'Pending',
      containers: [],
    });
    expect(enrichmentOf(ev({ at: 0, kind: 'Deployment', name: 'web', uid: 'd-web' }), lookup)?.workload).toEqual({
      kind: 'Deployment',
      name: 'web',
      uid: 'd-web',
    });
  });

  it('accepts the kubelet\u2019s Node references, whose uid is the node name', () => {
    expect(enrichmentOf(ev({ at: 0, kind: 'Node', name: 'n1', uid: 'n1', reason: 'Rebooted' }), lookup)?.node).toBe('n1');
    expect(enrichmentOf(ev({ at: 0, kind: 'Node', name: 'n1', uid: 'n-old', reason: 'Rebooted' }), lookup)).toBeNull();
  });

  it('leaves the enrichment empty (null) when the object is missing, uncached or was recreated', () => {
    expect(enrichmentOf(podEvent({ name: 'gone', uid: 'p-gone' }), lookup)).toBeNull();
    expect(enrichmentOf(ev({ at: 0, kind: 'PersistentVolumeClaim', name: 'data', uid: 'pvc-1' }), lookup)).toBeNull();
    expect(enrichmentOf(podEvent({ uid: 'p-old-incarnation' }), lookup)).toBeNull();
    expect(enrichmentOf(podEvent(), EMPTY_OBJECT_LOOKUP)).toBeNull();
  });

  it('copies all labels with labels: *', () => {
    expect(enrichmentOf(podEvent(), lookup, { labels: '*' })?.labels).toEqual({ app: 'web', 'pod-template-hash': '5d8f', team: 'payments' });
    expect(enrichmentOf(podEvent(), lookup, { labels: ['team'] })?.labels).toEqual({ team: 'payments' });
  });

  it('sets enrichment on every event, one output per input (marbles)', () => {
    const events = [podEvent(), podEvent({ name: 'gone', uid: 'p-gone' })];
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('a-b|', letters(events)).pipe(enrich(lookup))).toBe('a-b|', {
        a: { ...events[0]!, enrichment: enrichmentOf(events[0]!, lookup) },
        b: { ...events[1]!, enrichment: null },
      });
    });
  });
});
