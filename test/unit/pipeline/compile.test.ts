import { defer, from, lastValueFrom, map, Subject, toArray, type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import type { Alert } from '../../../src/model/alert.js';
import type { KubeEvent } from '../../../src/model/kube-event.js';
import { compilePipeline, compilePipelines } from '../../../src/pipeline/compile.js';
import type { OutRecord } from '../../../src/model/out-record.js';
import { compileTemplate } from '../../../src/pipeline/fields.js';
import { compileMatcher, RecordMatcherSchema } from '../../../src/pipeline/matcher.js';
import type { LoadedPipeline } from '../../../src/pipeline/load.js';
import { createStaticObjectLookup, EMPTY_OBJECT_LOOKUP, type ObjectLookup } from '../../../src/sources/object-lookup.js';
import { ev, MIN, SEC } from '../operators/helpers.js';
import { inline, silent } from './helpers.js';

const head = (name: string) => `apiVersion: kubevents/v1\nkind: Pipeline\nmetadata: {name: ${name}}\n`;
const ctx = (lookup: ObjectLookup = EMPTY_OBJECT_LOOKUP) => ({ lookup, logger: silent, replay: true });
const run = (pipelines: LoadedPipeline[], events$: Observable<KubeEvent>, lookup?: ObjectLookup): Promise<OutRecord[]> =>
  lastValueFrom(
    events$.pipe(
      compilePipelines(
        pipelines.map((p) => p.graph),
        ctx(lookup),
      ),
      toArray(),
    ),
  );

describe('compiled pipelines', () => {
  it('several pipelines and forks share one subscription of a synchronous source, and each sees every event', async () => {
    let subscriptions = 0;
    const events = [ev({ at: 0, reason: 'A' }), ev({ at: SEC, reason: 'B' }), ev({ at: 2 * SEC, reason: 'A' })];
    const source$ = defer(() => {
      subscriptions++;
      return from(events);
    });
    const pipelines = [
      ...inline(
        `${head('one')}spec:\n  stages:\n    - fork:\n        - {name: x, stages: [{filter: {reason: A}}], sinks: [console]}\n        - {name: y, sinks: [stdout]}\n  sinks: [{file: {name: all}}]\n`,
        'one.yaml',
      ),
      ...inline(`${head('two')}spec:\n  stages: [{filter: {reason: B}}]\n  sinks: [console]\n`, 'two.yaml'),
    ];
    const out = await run(pipelines, source$);
    expect(subscriptions).toBe(1);
    // per event: pipeline one's main line, then its branches in file order; then pipeline two
    expect(out.map((o) => `${o.origin?.pipeline}/${o.origin?.branch ?? '-'}:${o.sink}:${(o.value as KubeEvent).reason}`)).toEqual([
      'one/-:file:A',
      'one/x:console:A',
      'one/y:stdout:A',
      'one/-:file:B',
      'one/y:stdout:B',
      'two/-:console:B',
      'one/-:file:A',
      'one/x:console:A',
      'one/y:stdout:A',
    ]);
    expect(out[0]).toMatchObject({
      kind: 'KubeEvent',
      key: 'c1/Pod/shop/web-1',
      idempotencyKey: events[0]!.idempotencyKey,
      timestamp: events[0]!.lastTimestamp,
    });
  });

  it('runs the stages before a fork once per record', async () => {
    let lookups = 0;
    const counted: ObjectLookup = {
      ...EMPTY_OBJECT_LOOKUP,
      getByUid: (uid) => {
        lookups++;
        return EMPTY_OBJECT_LOOKUP.getByUid(uid);
      },
    };
    const [p] = inline(
      `${head('p')}spec:\n  stages:\n    - enrich\n    - fork:\n        - {sinks: [console]}\n        - {sinks: [stdout]}\n        - {sinks: [stdout]}\n`,
    );
    const out = await run([p!], from([ev({ at: 0 }), ev({ at: 1 })]), counted);
    expect(out).toHaveLength(6);
    expect(lookups).toBe(2);
  });

  it('is one subscription of a hot source; completes with it, and unsubscribing reaches it (marbles)', () => {
    const scheduler = new TestScheduler((a, b) => expect(a).toEqual(b));
    scheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
      const e = { a: ev({ at: 0, reason: 'A' }), b: ev({ at: SEC, reason: 'B' }) };
      const source = hot('--a-----b-----a-----|', e);
      const pipelines = [
        ...inline(`${head('one')}spec:\n  stages: [{filter: {reason: A}}]\n  sinks: [console]\n`, 'one.yaml'),
        ...inline(`${head('two')}spec:\n  sinks: [console]\n`, 'two.yaml'),
      ];
      const out$ = source.pipe(
        compilePipelines(
          pipelines.map((p) => p.graph),
          ctx(),
        ),
        map((o) => `${o.origin?.pipeline}:${(o.value as KubeEvent).reason}`),
      );
      expectObservable(out$).toBe('--(xy)--z-----(xy)--|', { x: 'one:A', y: 'two:A', z: 'two:B' });
      expectSubscriptions(source.subscriptions).toBe('^-------------------!');
      const source2 = hot('--a-----b-----a-----|', e);
      const out2$ = source2.pipe(
        compilePipelines(
          pipelines.map((p) => p.graph),
          ctx(),
        ),
        map((o) => `${o.origin?.pipeline}:${(o.value as KubeEvent).reason}`),
      );
      expectObservable(out2$, '^----!').toBe('--(xy)', { x: 'one:A', y: 'two:A' });
      expectSubscriptions(source2.subscriptions).toBe('^----!');
    });
  });

  it('drives windows by event time: a rate alert fires at the crossing event and resolves at the end (marbles)', () => {
    const scheduler = new TestScheduler((a, b) => expect(a).toEqual(b));
    scheduler.run(({ cold, expectObservable }) => {
      const x = (at: number) => ev({ at, reason: 'FailedScheduling' });
      const source = cold('a-b-c-d|', { a: x(0), b: x(30 * SEC), c: x(60 * SEC), d: ev({ at: 90 * SEC, reason: 'Scheduled' }) });
      const [p] = inline(`${head('r')}spec:\n  stages:\n    - rate: {threshold: 3, window: 3m, resolveOn: {reason: Scheduled}}\n  sinks: [console]\n`);
      const out$ = source.pipe(
        compilePipeline(p!.graph, ctx()),
        map(
          (o) =>
            `${(o.value as Alert).status}@${((o.value as Alert).status === 'firing' ? (o.value as Alert).startsAt : (o.value as Alert).endsAt!) - x(0).lastTimestamp}`,
        ),
      );
      expectObservable(out$).toBe('----f-r|', { f: 'firing@60000', r: 'resolved@90000' });
    });
  });

  it('applies the source scope: namespaces and field selector', async () => {
    const [p] = inline(
      `${head('s')}spec:\n  source:\n    namespaces: [shop, web]\n    fieldSelector: type=Warning,involvedObject.kind!=Node\n  sinks: [console]\n`,
    );
    const events = [
      ev({ at: 0, namespace: 'shop', type: 'Warning' }),
      ev({ at: 1, namespace: 'web', type: 'Normal' }),
      ev({ at: 2, namespace: 'batch', type: 'Warning' }),
      ev({ at: 3, kind: 'Node', name: 'n1', namespace: null, type: 'Warning' }),
      ev({ at: 4, namespace: 'web', type: 'Warning', name: 'w' }),
    ];
    const out = await run([p!], from(events));
    expect(out.map((o) => o.value)).toEqual([events[0], events[4]]);
  });

  it('map and select on events (valid paths)', async () => {
    const [p] = inline(`${head('m')}spec:
  stages:
    - map:
        set:
          message: "[{namespace}/{name}] {message}"
          labels.team: "team-{namespace}"
    - select: [reason, message, regarding.name, enrichment.labels.team]
  sinks: [stdout]
`);
    const out = await run([p!], from([ev({ at: 0, reason: 'BackOff', message: 'boom' })]));
    expect(out).toEqual([
      expect.objectContaining({
        kind: 'Projection',
        key: '',
        idempotencyKey: '',
        value: { reason: 'BackOff', message: '[shop/web-1] boom', regarding: { name: 'web-1' }, enrichment: { labels: { team: 'team-shop' } } },
      }),
    ]);
  });

  it('enriches from the lookup before classifying with container reasons', async () => {
    const pod = {
      kind: 'Pod',
      metadata: { name: 'web-1', namespace: 'shop', uid: 'uid-Pod-web-1' },
      spec: { nodeName: 'n1' },
      status: { containerStatuses: [{ name: 'app', ready: false, restartCount: 4, lastState: { terminated: { reason: 'OOMKilled', exitCode: 137 } } }] },
    };
    const [p] = inline(`${head('c')}spec:\n  stages: [enrich, classify, {filter: {category: OOM}}]\n  sinks: [console]\n`);
    const out = await run([p!], from([ev({ at: 0, reason: 'BackOff', message: 'Back-off restarting failed container app' })]), createStaticObjectLookup([pod]));
    expect((out[0]!.value as KubeEvent).classification).toEqual({ category: 'OOM', severity: 'error', rule: 'backoff-after-oom' });
  });
});

describe('matchers and templates', () => {
  const m = (yaml: object) => RecordMatcherSchema.parse(yaml);
  it('AND across conditions, OR within lists, not, any, wildcards, minSeverity', () => {
    const e = (over: Parameters<typeof ev>[0]) => ev(over);
    const match = compileMatcher(m({ kind: 'Pod', reason: ['BackOff', 'Failed*'], not: { namespace: 'kube-*' } }), 'KubeEvent');
    expect(match(e({ at: 0, reason: 'BackOff' }))).toBe(true);
    expect(match(e({ at: 0, reason: 'FailedMount' }))).toBe(true);
    expect(match(e({ at: 0, reason: 'Started' }))).toBe(false);
    expect(match(e({ at: 0, reason: 'BackOff', namespace: 'kube-system' }))).toBe(false);
    expect(match(e({ at: 0, reason: 'BackOff', kind: 'Node', namespace: null, name: 'n' }))).toBe(false);
    const any = compileMatcher(m({ any: [{ type: 'Warning' }, { message: 'oom|killed' }] }), 'KubeEvent');
    expect(any(e({ at: 0, type: 'Normal', message: 'container was OOMKilled' }))).toBe(true);
    expect(any(e({ at: 0, type: 'Normal', message: 'fine' }))).toBe(false);
    const severe = compileMatcher(m({ minSeverity: 'error' }), 'KubeEvent');
    expect(severe(e({ at: 0, classification: { category: 'OOM', severity: 'critical', rule: null } }))).toBe(true);
    expect(severe(e({ at: 0, classification: { category: 'OOM', severity: 'warning', rule: null } }))).toBe(false);
    expect(severe(e({ at: 0 }))).toBe(false);
  });

  it('containerReason and exitCode look at the container the event names, or at any container when it names none', () => {
    const container = (name: string, lastTerminationReason: string | null, lastExitCode: number | null, waitingReason: string | null = null) => ({
      name,
      ready: false,
      restartCount: 1,
      waitingReason,
      waitingMessage: null,
      lastTerminationReason,
      lastExitCode,
      lastFinishedAt: null,
    });
    const enrichment = {
      workload: null,
      ownerChain: [],
      node: null,
      podPhase: 'Running',
      labels: {},
      containers: [container('app', 'OOMKilled', 137, 'CrashLoopBackOff'), container('sidecar', 'Error', 1)],
    };
    const about = (fieldPath: string | null, e = ev({ at: 0, reason: 'Started', enrichment })): KubeEvent => ({
      ...e,
      regarding: { ...e.regarding, fieldPath },
    });
    const oom = compileMatcher(m({ reason: 'Started', containerReason: 'OOMKilled' }), 'KubeEvent');
    expect(oom(about('spec.containers{app}'))).toBe(true);
    expect(oom(about('spec.containers{sidecar}'))).toBe(false); // the sidecar restarted after an Error, not an OOM kill
    expect(oom(about(null))).toBe(true); // a Pod-level event: any container
    expect(oom(about('spec.containers{app}', ev({ at: 0, reason: 'Started' })))).toBe(false); // not enriched: no container states
    expect(compileMatcher(m({ containerReason: 'CrashLoop*' }), 'KubeEvent')(about('spec.containers{app}'))).toBe(true); // the waiting reason
    const exit = compileMatcher(m({ exitCode: [1, 2] }), 'KubeEvent');
    expect(exit(about('spec.containers{sidecar}'))).toBe(true);
    expect(exit(about('spec.initContainers{app}'))).toBe(false);
    expect(exit(about(null))).toBe(true);
  });

  it('renders templates with missing values as empty', () => {
    const t = compileTemplate<KubeEvent>('{reason} on {kind} {namespace}/{name} in {workload}, {count}x {extra}', 'KubeEvent', ['extra']);
    expect(t(ev({ at: 0, reason: 'BackOff' }), { extra: 'E' })).toBe('BackOff on Pod shop/web-1 in , 1x E');
  });

  it('keeps subscriptions per run: state of stateful stages is not shared between subscriptions', async () => {
    const [p] = inline(`${head('d')}spec:\n  stages: [{dedupe: {window: 5m}}]\n  sinks: [console]\n`);
    const op = compilePipeline(p!.graph, ctx());
    const events = [ev({ at: 0, eventUid: 'x' }), ev({ at: MIN, eventUid: 'y' })];
    const first = await lastValueFrom(from(events).pipe(op, toArray()));
    const second = await lastValueFrom(from(events).pipe(op, toArray()));
    expect(first).toHaveLength(1);
    expect(second).toHaveLength(1);
    const subject = new Subject<KubeEvent>();
    expect(subject.observed).toBe(false);
  });
});
