import { from, lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { KubeEvent } from '../../../src/model/kube-event.js';
import { formatOutputLine, routeTarget, runPipelines, toOutRecord, watchScope, writeOutputs, type RoutedOutput } from '../../../src/pipeline/run-pipelines.js';
import { EMPTY_OBJECT_LOOKUP } from '../../../src/sources/object-lookup.js';
import { ev } from '../operators/helpers.js';
import { inline, silent } from './helpers.js';

const pipeline = inline(`apiVersion: kubevents/v1
kind: Pipeline
metadata: {name: p}
spec:
  sinks:
    - kafka: {topic: k8s.events, encoding: raw}
    - file: {name: copy}
    - stdout: {format: line}
    - console
`);

describe('runPipelines', () => {
  it('routes kafka sinks to the Avro file of the topic in embedded mode, to Kafka in live mode', async () => {
    const events = [ev({ at: 0 }), ev({ at: 1 })];
    const embedded = await lastValueFrom(runPipelines({ events$: from(events), lookup: EMPTY_OBJECT_LOOKUP, pipelines: pipeline, mode: 'embedded', logger: silent }).outputs$.pipe(toArray()));
    expect(embedded.map((o) => o.routeId)).toEqual(['file:k8s.events', 'file:copy', 'stdout', 'console', 'file:k8s.events', 'file:copy', 'stdout', 'console']);
    const live = await lastValueFrom(runPipelines({ events$: from(events), lookup: EMPTY_OBJECT_LOOKUP, pipelines: pipeline, mode: 'live', logger: silent }).outputs$.pipe(toArray()));
    expect(live[0]).toMatchObject({ routeId: 'kafka:k8s.events', route: { type: 'kafka', topic: 'k8s.events', encoding: 'raw' }, target: { type: 'kafka' } });
    expect(routeTarget({ type: 'kafka', topic: 't', encoding: 'confluent' }, 'live', false)).toEqual({ type: 'file', name: 't' });
    expect(toOutRecord(live[0]!)).toEqual({ kind: 'KubeEvent', value: events[0], key: 'c1/Pod/shop/web-1', idempotencyKey: events[0]!.idempotencyKey, timestamp: events[0]!.lastTimestamp });
  });

  it('writes each destination in order, one writer per destination', async () => {
    const events = Array.from({ length: 5 }, (_, i) => ev({ at: i, eventUid: `e${i}` }));
    const written: Record<string, string[]> = {};
    let writers = 0;
    const writer = (id: string) => {
      writers++;
      return async (o: RoutedOutput) => {
        await new Promise((r) => setTimeout(r, id === 'file:copy' ? 2 : 0));
        (written[id] ??= []).push((o.record as KubeEvent).uid);
      };
    };
    const { outputs$ } = runPipelines({ events$: from(events), lookup: EMPTY_OBJECT_LOOKUP, pipelines: pipeline, mode: 'embedded', logger: silent });
    await lastValueFrom(
      outputs$.pipe(
        writeOutputs({ file: (t) => writer(`file:${t.name}`), stdout: () => writer('stdout'), console: () => writer('console') }),
      ),
      { defaultValue: undefined },
    );
    const uids = events.map((e) => e.uid);
    expect(written).toEqual({ 'file:k8s.events': uids, 'file:copy': uids, stdout: uids, console: uids });
    expect(writers).toBe(4);
  });

  it('formats console lines per record kind', () => {
    const e = ev({ at: 0, reason: 'BackOff', message: 'boom' });
    expect(formatOutputLine({ kind: 'KubeEvent', record: e })).toContain('BackOff');
    expect(formatOutputLine({ kind: 'Projection', record: { reason: 'x' } })).toBe('{"reason":"x"}');
  });
});

describe('watchScope', () => {
  const p = (name: string, source: string) => inline(`apiVersion: kubevents/v1\nkind: Pipeline\nmetadata: {name: ${name}}\nspec:\n  source: ${source}\n  sinks: [console]\n`, `${name}.yaml`)[0]!;
  it('covers every pipeline of the shared watch', () => {
    expect(watchScope([p('a', '{namespaces: [shop]}'), p('b', '{namespaces: [web, shop], fieldSelector: type=Warning}')])).toEqual({ namespaces: ['shop', 'web'], fieldSelector: undefined, labelSelector: undefined });
    expect(watchScope([p('a', '{namespaces: [shop]}'), p('b', '{}')])).toEqual({ namespaces: null, fieldSelector: undefined, labelSelector: undefined });
    expect(watchScope([p('a', '{fieldSelector: type=Warning, labelSelector: x=y}'), p('b', '{fieldSelector: type=Warning, labelSelector: x=y}')])).toEqual({ namespaces: null, fieldSelector: 'type=Warning', labelSelector: 'x=y' });
  });
});
