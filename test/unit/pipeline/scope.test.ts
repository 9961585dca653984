/**
 * What a set of pipelines needs from the run (src/pipeline/scope.ts): which Kafka topics they name
 * (checked, created and registered at start), which namespaces the Event watch covers and which
 * sinks the router offers. The wiring itself runs on the real stack:
 * test/integration/kube-pipelines-reload.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { loadPipelines, loadPipelineTexts, defaultPipelinePaths } from '../../../src/pipeline/load.js';
import { combineNamespaces, pipelineTopics, sinkTypesOf, watchScope } from '../../../src/pipeline/scope.js';
import { inline } from './helpers.js';
import { DEFAULT_TOPICS } from '../../../src/sinks/kafka-topics.js';

const custom = { ...DEFAULT_TOPICS, KubeEvent: 'prod.events', Alert: 'prod.alerts', Incident: 'prod.incidents' };

function pipelines(text: string) {
  const result = loadPipelineTexts({ 'p.yaml': text });
  expect(result.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return result.pipelines;
}

describe('pipelineTopics', () => {
  it('lists the kafka topics with their record kind; a default topic name stands for the configured topic of its kind', () => {
    const p = pipelines(`apiVersion: kubevents/v1
kind: Pipeline
metadata: {name: team}
spec:
  stages:
    - fork:
        - name: warnings
          stages:
            - filter: {type: Warning}
          sinks:
            - kafka: {topic: team.warnings}
            - file: {name: team.files}
        - name: burst
          stages:
            - rate: {alertname: Burst, threshold: 3, window: 5m}
          sinks:
            - kafka: {topic: k8s.alerts}
            - console
  sinks:
    - kafka: {topic: k8s.events}
`);
    expect(pipelineTopics(p, custom)).toEqual(
      expect.arrayContaining([
        { kind: 'KubeEvent', topic: 'team.warnings' },
        { kind: 'Alert', topic: 'prod.alerts' },
        { kind: 'KubeEvent', topic: 'prod.events' },
      ]),
    );
    expect(pipelineTopics(p, custom)).toHaveLength(3);
    // the router offers the sink types used, and kafka for gaps and dead letters
    expect([...sinkTypesOf(p)].sort()).toEqual(['console', 'file', 'kafka']);
  });

  it('the bundled default publishes to the three kind topics', async () => {
    const result = await loadPipelines(defaultPipelinePaths());
    expect(result.ok).toBe(true);
    const routes = pipelineTopics(result.pipelines, custom);
    expect(new Set(routes.map((r) => `${r.kind}:${r.topic}`))).toEqual(new Set(['KubeEvent:prod.events', 'Alert:prod.alerts', 'Incident:prod.incidents']));
  });
});

describe('combineNamespaces', () => {
  it('--namespace alone, the pipelines alone, or their intersection', () => {
    expect(combineNamespaces(null, null)).toEqual([]);
    expect(combineNamespaces(['b', 'a', 'all'], null)).toEqual(['a', 'b']);
    expect(combineNamespaces(null, ['shop', 'batch'])).toEqual(['batch', 'shop']);
    expect(combineNamespaces(['shop', 'web'], ['shop', 'batch'])).toEqual(['shop']);
    // nothing in common: --namespace is kept (the pipelines then see nothing; logged)
    expect(combineNamespaces(['web'], ['batch'])).toEqual(['web']);
  });
});

describe('watchScope', () => {
  const p = (name: string, source: string) =>
    inline(`apiVersion: kubevents/v1\nkind: Pipeline\nmetadata: {name: ${name}}\nspec:\n  source: ${source}\n  sinks: [console]\n`, `${name}.yaml`)[0]!;
  it('covers every pipeline of the shared watch', () => {
    expect(watchScope([p('a', '{namespaces: [shop]}'), p('b', '{namespaces: [web, shop], fieldSelector: type=Warning}')])).toEqual({
      namespaces: ['shop', 'web'],
      fieldSelector: undefined,
      labelSelector: undefined,
    });
    expect(watchScope([p('a', '{namespaces: [shop]}'), p('b', '{}')])).toEqual({ namespaces: null, fieldSelector: undefined, labelSelector: undefined });
    expect(watchScope([p('a', '{fieldSelector: type=Warning, labelSelector: x=y}'), p('b', '{fieldSelector: type=Warning, labelSelector: x=y}')])).toEqual({
      namespaces: null,
      fieldSelector: 'type=Warning',
      labelSelector: 'x=y',
    });
  });
});
