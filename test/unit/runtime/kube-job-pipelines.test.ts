/**
 * The seams between the live job (src/runtime/kube-job.ts) and the pipelines: which Kafka topics
 * the pipelines name (checked, created and registered at start) and which namespaces the Event
 * watch covers. The wiring itself runs on the real stack: test/integration/kube-pipelines-reload.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { loadPipelines, loadPipelineTexts, defaultPipelinePaths } from '../../../src/pipeline/load.js';
import { combineNamespaces, pipelineRoutes } from '../../../src/runtime/kube-job.js';
import { DEFAULT_TOPICS } from '../../../src/sinks/kafka-sink.js';

const custom = { ...DEFAULT_TOPICS, KubeEvent: 'prod.events', Alert: 'prod.alerts', Incident: 'prod.incidents' };

function pipelines(text: string) {
  const result = loadPipelineTexts({ 'p.yaml': text });
  expect(result.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return result.pipelines;
}

describe('pipelineRoutes', () => {
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
    expect(pipelineRoutes(p, true, custom)).toEqual(
      expect.arrayContaining([
        { kind: 'KubeEvent', topic: 'team.warnings' },
        { kind: 'Alert', topic: 'prod.alerts' },
        { kind: 'KubeEvent', topic: 'prod.events' },
      ]),
    );
    expect(pipelineRoutes(p, true, custom)).toHaveLength(3);
    expect(pipelineRoutes(p, false, custom)).toEqual([]);
  });

  it('the bundled default publishes to the three kind topics', async () => {
    const result = await loadPipelines(defaultPipelinePaths());
    expect(result.ok).toBe(true);
    const routes = pipelineRoutes(result.pipelines, true, custom);
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
