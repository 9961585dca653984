/**
 * YAML 1.1 tags (!!binary, !!set, !!omap, !!pairs, !!timestamp) in the files kubevents reads: the
 * `yaml` library would resolve them to a Buffer, a Set, a Map or a Date, which the schemas then
 * walked as objects (a `!!binary` alerts file gave one "unknown field" per byte, found by fuzzing).
 * Every parser reads them as plain YAML with a positioned warning that names the tag.
 */
import { describe, expect, it } from 'vitest';
import { parseAlertsConfig } from '../../../src/alerting/load-config.js';
import { loadRunConfig } from '../../../src/config/run-config.js';
import { parsePipelineText } from '../../../src/pipeline/load.js';
import { parseRecording } from '../../../src/sources/recording-format.js';

describe('YAML 1.1 tags', () => {
  it('alerts configuration: a !!binary document is one wrong-type error and a warning naming the tag, not a field per byte', () => {
    const result = parseAlertsConfig('!!binary aGVsbG8=\n', 'alerts.yaml', { env: {}, baseDir: '/etc/kubevents', readFile: () => '' });
    expect(result.config).toBeNull();
    expect(result.diagnostics).toHaveLength(2);
    expect(result.diagnostics[0]).toMatchObject({
      file: 'alerts.yaml',
      line: 1,
      column: 1,
      severity: 'warning',
      message: expect.stringContaining('tag:yaml.org,2002:binary'),
    });
    expect(result.diagnostics[0]!.hint).toMatch(/remove the tag/);
    expect(result.diagnostics[1]).toMatchObject({ severity: 'error', message: expect.stringContaining('got the string "aGVsbG8="') });
  });

  it('pipeline file: a !!set mapping is read as the mapping it is written as', () => {
    const { pipelines, diagnostics } = parsePipelineText(
      [
        '!!set',
        'apiVersion: kubevents/v1',
        'kind: Pipeline',
        'metadata: {name: tagged}',
        'spec:',
        '  source: {resource: events}',
        '  stages: []',
        '  sinks: [{console: {}}]',
        '',
      ].join('\n'),
      'tagged.yaml',
    );
    expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(diagnostics.filter((d) => d.severity === 'warning').map((d) => d.message)).toEqual(['YAML: Unresolved tag: tag:yaml.org,2002:set']);
    expect(pipelines.map((p) => p.name)).toEqual(['tagged']);
  });

  it('run configuration: a !!timestamp value stays the string written, with a warning at its line', () => {
    const text = 'logLevel: info\ncheckpoint:\n  interval: !!timestamp 2020-01-01\n';
    const attempt = () => loadRunConfig({ file: 'kubevents.yaml', env: {}, readFile: () => text, checkFile: () => null });
    // a date is not a duration: the error quotes the string, not a Date object
    expect(attempt).toThrow(/2020-01-01/);
    const ok = loadRunConfig({ file: 'kubevents.yaml', env: {}, readFile: () => 'logLevel: !!str info\ncluster: !!binary aGVsbG8=\n', checkFile: () => null });
    expect(ok.config.cluster).toBe('aGVsbG8=');
    expect(ok.warnings).toEqual([expect.stringMatching(/^kubevents\.yaml:2:10: YAML: Unresolved tag: tag:yaml\.org,2002:binary .*remove the tag/)]);
  });

  it('recordings: a kubectl -o yaml capture with a !!binary message replays the string written', () => {
    const capture = [
      'apiVersion: v1',
      'kind: List',
      'items:',
      '- apiVersion: v1',
      '  kind: Event',
      '  metadata: {name: web.1, namespace: shop, uid: u-1, resourceVersion: "7"}',
      '  involvedObject: {kind: Pod, name: web, namespace: shop}',
      '  reason: Tagged',
      '  message: !!binary aGVsbG8=',
      '  type: Normal',
      '',
    ].join('\n');
    const parsed = parseRecording(capture, 'events.yaml');
    expect(parsed.malformed).toEqual([]);
    expect(parsed.records).toHaveLength(1);
    expect((parsed.records[0]!.event.object as { message: unknown }).message).toBe('aGVsbG8=');
  });
});
