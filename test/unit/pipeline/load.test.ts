import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { closest, didYouMean, editDistance, formatDiagnostic, formatDiagnosticWithSource } from '../../../src/core/diagnostics.js';
import { loadPipelines, loadPipelineTexts } from '../../../src/pipeline/load.js';
import { parseDuration, showDuration } from '../../../src/core/duration.js';

const lines = (texts: Record<string, string>): string[] => loadPipelineTexts(texts).diagnostics.map(formatDiagnostic);

const head = (name = 'p') => `apiVersion: kubevents/v1\nkind: Pipeline\nmetadata:\n  name: ${name}\n`;

describe('durations', () => {
  it('parses units largest first and formats them back', () => {
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('2d')).toBe(172_800_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('1m30s250ms')).toBe(90_250);
    for (const bad of ['', '5', '5 m', '30m1h', 'm5', '1.5h', '-5m', '5M']) expect(parseDuration(bad)).toBeNull();
    for (const text of ['0s', '30s', '5m', '1h30m', '2d', '500ms', '1m30s250ms', '1d1h1m1s']) expect(showDuration(parseDuration(text)!)).toBe(text);
  });
});

describe('did you mean', () => {
  it('finds typos, transpositions and prefixes, and nothing for unrelated names', () => {
    expect(editDistance('dedup', 'dedupe')).toBe(1);
    expect(editDistance('kafak', 'kafka')).toBe(1);
    expect(closest('filtr', ['filter', 'rate'])).toBe('filter');
    expect(closest('Dedupe', ['dedupe'])).toBe('dedupe');
    expect(closest('correl', ['correlate', 'classify'])).toBe('correlate');
    expect(closest('xyz', ['filter', 'enrich'])).toBeNull();
    expect(didYouMean('windw', ['window', 'hold'])).toBe('did you mean "window"?');
  });
});

describe('validation: every error with file:line:col and a hint', () => {
  it('reports an unknown stage like a compiler', () => {
    const text = `${head()}spec:\n  stages:\n    - enrich\n    - dedup:\n        window: 5m\n  sinks: [console]\n`;
    expect(lines({ 'pipelines/x.yaml': text })).toEqual(['pipelines/x.yaml:8:7: error: unknown stage "dedup" (did you mean "dedupe"?)']);
    const [d] = loadPipelineTexts({ 'pipelines/x.yaml': text }).diagnostics;
    expect(formatDiagnosticWithSource(d!, text)).toBe(
      ['pipelines/x.yaml:8:7: error: unknown stage "dedup" (did you mean "dedupe"?)', ' 8 |     - dedup:', '   |       ^^^^^'].join('\n'),
    );
  });

  it('reports every problem of a file, in order', () => {
    const text = [
      'apiVersion: kubevents/v2', // 1
      'kind: Pipeline',
      'metadata:',
      '  name: Bad_Name', // 4
      '  descripton: x', // 5
      'spec:',
      '  source:',
      '    namespace: [shop]', // 8
      '  stages:',
      '    - filtr', // 10
      '    - rate', // 11
      '    - filter:',
      '        reason: 5', // 13
      '        category: Crashloop', // 14
      '    - rate:',
      '        threshold: 0', // 16
      '        windw: 3m', // 17
      '    - dedupe:',
      '        window: 5 min', // 19
      '        by: [objekt]', // 20
      '    - dedupe:',
      '        window: 300', // 22
      '    - filter:',
      '        type: Warning',
      '      rate:', // 25
      '        threshold: 1',
      '        window: 1m',
      '  sinks:',
      '    - kafak: {}', // 29
      '    - kafka: {topic: "bad topic", encoding: avro}', // 30
      '    - stdout:',
      '        format: 3', // 32
      '',
    ].join('\n');
    expect(lines({ 'x.yaml': text })).toEqual([
      'x.yaml:1:13: error: field "apiVersion" must be "kubevents/v1", got the string "kubevents/v2"',
      'x.yaml:4:9: error: field "metadata.name": a pipeline name is lower-case letters, digits and -, e.g. failed-scheduling',
      'x.yaml:5:3: error: unknown field "metadata.descripton" (did you mean "description"?)',
      'x.yaml:8:5: error: unknown field "spec.source.namespace" (did you mean "namespaces"?)',
      'x.yaml:10:7: error: unknown stage "filtr" (did you mean "filter"?)',
      'x.yaml:11:7: error: stage "rate" needs options: threshold, window (write it as a map: "- rate:" followed by its options)',
      'x.yaml:13:17: error: stage "filter" option "reason": expected a string or a list, got number 5',
      'x.yaml:14:19: error: stage "filter" option "category": invalid value "Crashloop"; expected one of Scheduling, Image, CrashLoop, OOM, Probe, Storage, Network, Node, Eviction, Scaling, Lifecycle, Other (did you mean "CrashLoop"?)',
      'x.yaml:15:7: error: stage "rate": missing required option "window"',
      'x.yaml:16:20: error: stage "rate" option "threshold" must be >= 1',
      'x.yaml:17:9: error: unknown option "windw" for stage "rate" (did you mean "window"?)',
      'x.yaml:19:17: error: stage "dedupe" option "window": invalid duration "5 min": write a whole number with a unit (ms, s, m, h, d), largest unit first, e.g. 500ms, 30s, 5m, 1h30m',
      'x.yaml:20:14: error: stage "dedupe" option "by[0]": invalid value "objekt"; expected one of cluster, namespace, kind, name, uid, object, reason, type, category, severity, workload, node, reportingController (did you mean "object"?)',
      'x.yaml:22:17: error: stage "dedupe" option "window": expected a duration such as 30s, 5m or 1h30m, got number 300 (a duration needs a unit: ms, s, m, h or d)',
      'x.yaml:25:7: error: a stage is a map with exactly one key (the stage type), found "filter", "rate": is the indentation of "rate" right?',
      'x.yaml:29:7: error: unknown sink "kafak" (did you mean "kafka"?)',
      'x.yaml:30:22: error: sink "kafka" option "topic": a Kafka topic name: letters, digits, ".", "_" and "-", at most 249',
      'x.yaml:30:45: error: sink "kafka" option "encoding": invalid value "avro"; expected one of confluent, raw',
      'x.yaml:32:17: error: sink "stdout" option "format": invalid value 3; expected one of auto, json, line',
    ]);
  });

  it('reports YAML syntax errors with their position, and checks the other documents of the file', () => {
    const ok = `${head('good')}spec:\n  sinks: [console]\n`;
    const text = `${ok}---\n${head('broken')}spec:\n  stages: [enrich\n  sinks: [console]\n---\n${head('also-bad')}spec:\n  stages: [enrich]\n`;
    const result = loadPipelineTexts({ 'multi.yaml': text });
    expect(result.pipelines.map((p) => p.name)).toEqual(['good']);
    expect(result.diagnostics.map(formatDiagnostic)).toEqual([
      'multi.yaml:14:3: error: YAML: Flow sequence in block collection must be sufficiently indented and end with a ]',
      'multi.yaml:20:1: error: pipeline "also-bad" writes nowhere (add sinks (kafka, file, stdout, console) to spec.sinks or to a fork branch)',
    ]);
    expect(result.ok).toBe(false);
  });

  it('warns on an Event reason that is a container state, and needs enrich for container conditions', () => {
    const text = `${head()}spec:
  stages:
    - filter: {reason: [BackOff, OOMKilled], exitCode: 137}
    - enrich
    - filter: {reason: Started, containerReason: OOMKilled}
  sinks: [console]
`;
    expect(lines({ 'c.yaml': text })).toEqual([
      'c.yaml:7:34: warning: reason "OOMKilled" is a container state, not an Event reason: Kubernetes writes no Event with it, so this never matches (match the container instead (after enrich): containerReason: OOMKilled, with reason: Started to count each restart after an OOM kill once)',
      'c.yaml:7:46: error: filter on "exitCode" before any enrich stage: events carry no container states yet, so it never matches (add an enrich stage before it)',
    ]);
  });

  it('checks the record kinds flowing through the stages', () => {
    const text = `${head()}spec:
  stages:
    - filter: {category: CrashLoop}
    - rate: {threshold: 2, window: 1m, summary: "{reasn} x{count}"}
    - dedupe
    - filter: {type: Warning, status: open}
    - group
    - select: [labels.alertname, sumary]
  sinks: [kafka]
`;
    expect(lines({ 'k.yaml': text })).toEqual([
      'k.yaml:7:16: error: filter on "category" before any classify stage: events are not classified yet, so it never matches (add a classify stage before it)',
      'k.yaml:8:49: error: unknown placeholder {reasn} for events (did you mean {reason}?)',
      'k.yaml:9:7: error: stage "dedupe" takes events, but here the stream carries alerts (made by the rate stage before it) (put it before the stage that makes alerts, or in a fork before it)',
      'k.yaml:10:16: error: condition "type" does not apply to alerts (conditions for alerts: reason, reasonPattern, kind, namespace, name, category, severity, minSeverity, message, node, labels, alertname, status, not, any)',
      'k.yaml:10:39: error: status "open" is not a status of alerts (alerts are firing or resolved)',
      'k.yaml:12:34: error: alerts have no field "sumary" (did you mean "summary"?)',
      'k.yaml:13:11: error: sink "kafka" writes Avro records, but here the stream carries selected fields (select makes records without a schema: send them to stdout or console)',
    ]);
  });

  it('checks selectors, map targets, branch names and rules', () => {
    const text = `${head()}spec:
  source:
    fieldSelector: involvedObject.knd=Pod
  stages:
    - classify:
        rules:
          - {name: mine, reason: X, category: Other, severity: info}
          - {name: mine, reason: Y, category: Other, severity: info}
    - map:
        set: {mesage: "x", labels.team: "{namespace}"}
    - fork:
        - name: a
          sinks: [console]
        - name: a
          stages: [enrich]
  sinks: [console]
`;
    expect(lines({ 's.yaml': text })).toEqual([
      's.yaml:7:20: error: field selector: events have no field "involvedObject.knd" (did you mean "involvedObject.kind"?)',
      's.yaml:12:20: error: rule mine is defined twice',
      's.yaml:14:15: error: map cannot set "mesage" on events (did you mean "message"?)',
      's.yaml:18:11: error: branch "a" writes nowhere (give it sinks)',
      's.yaml:18:17: error: duplicate branch name "a" in this fork (the first is branch 1)',
    ]);
  });

  it('checks the set: duplicate names, one schema per topic or file, one label selector', () => {
    const a = `${head('same')}spec:\n  source: {labelSelector: team=a}\n  sinks: [{kafka: {topic: t1}}]\n`;
    const b = `${head('same')}spec:\n  stages: [{rate: {threshold: 1, window: 1m}}]\n  sinks: [{file: {name: t1}}]\n`;
    const c = `${head('other')}spec:\n  sinks: [{kafka: {topic: t1}}]\n`;
    expect(lines({ 'a.yaml': a, 'b.yaml': b, 'c.yaml': c })).toEqual([
      'b.yaml:4:9: error: duplicate pipeline name "same" (first defined at a.yaml:4)',
      'b.yaml:5:1: error: labelSelector none differs from pipeline "same" ("team=a") (all pipelines share one watch of events: use the same labelSelector (or none), and fieldSelector or filter stages for the rest)',
      'b.yaml:7:11: error: file "t1" gets Alert records here but KubeEvent records from pipeline "same" (a.yaml:7) (one record schema per topic and per file: pick another name)',
      'c.yaml:5:1: error: labelSelector none differs from pipeline "same" ("team=a") (all pipelines share one watch of events: use the same labelSelector (or none), and fieldSelector or filter stages for the rest)',
      'c.yaml:6:11: warning: pipelines "same" and "other" both write events to "t1" (in embedded mode a topic is the file of the same name): an event passing both is written twice (load only one of them, or make their filters disjoint)',
    ]);
  });

  it('accepts the short forms: a stage or sink by name, an empty option map', () => {
    const text = `${head()}spec:\n  stages:\n    - enrich\n    - classify:\n    - dedupe: {}\n  sinks:\n    - console\n    - stdout:\n`;
    const result = loadPipelineTexts({ 'short.yaml': text });
    expect(result.diagnostics).toEqual([]);
    const [p] = result.pipelines;
    expect(p!.graph.steps.map((s) => (s.kind === 'stage' ? s.type : 'fork'))).toEqual(['enrich', 'classify', 'dedupe']);
    expect(p!.graph.steps[2]).toMatchObject({
      options: { window: 300_000, by: ['cluster', 'object', 'reason'], maxKeys: 50_000, idleTtl: 3_600_000, allowedLateness: 0, latePolicy: 'clamp' },
    });
    expect(p!.graph.sinks.map((s) => [s.type, s.target])).toEqual([
      ['console', undefined],
      ['stdout', 'auto'],
    ]);
  });
});

describe('loading files and folders', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kubevents-load-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads every *.yaml / *.yml of a folder (not recursively), sorted, and reports missing paths', async () => {
    mkdirSync(join(dir, 'set', 'nested'), { recursive: true });
    writeFileSync(join(dir, 'set', 'b.yml'), `${head('b')}spec: {sinks: [console]}\n`);
    writeFileSync(join(dir, 'set', 'a.yaml'), `${head('a')}spec: {sinks: [console]}\n---\n${head('a2')}spec: {sinks: [stdout]}\n---\n`);
    writeFileSync(join(dir, 'set', 'notes.md'), 'not a pipeline');
    writeFileSync(join(dir, 'set', 'nested', 'c.yaml'), 'not: loaded');
    mkdirSync(join(dir, 'empty'));
    const result = await loadPipelines([join(dir, 'set')]);
    expect(result.files).toEqual([join(dir, 'set', 'a.yaml'), join(dir, 'set', 'b.yml')]);
    expect(result.pipelines.map((p) => [p.name, p.line])).toEqual([
      ['a', 4],
      ['a2', 10],
      ['b', 4],
    ]);
    expect(result.diagnostics.map(formatDiagnostic)).toEqual([]);
    const missing = await loadPipelines([join(dir, 'nope.yaml'), join(dir, 'empty')]);
    expect(missing.ok).toBe(false);
    expect(missing.diagnostics.map(formatDiagnostic)).toEqual([
      `${join(dir, 'empty')}:1:1: error: no pipeline files (*.yaml, *.yml) in this folder`,
      `${join(dir, 'nope.yaml')}:1:1: error: cannot read: no such file or folder`,
    ]);
  });
});

describe('values that would never match', () => {
  it('refuses event types other than Normal and Warning, warns on reasons close to known ones', () => {
    const text = `${head()}spec:\n  stages:\n    - filter: {type: Warnin, reason: [FailedSchedulng, MyCustomReason, Failed*]}\n  sinks: [console]\n`;
    expect(lines({ 't.yaml': text })).toEqual([
      't.yaml:7:22: error: event type "Warnin" never matches: events are Normal or Warning (did you mean "Warning"?)',
      't.yaml:7:39: warning: reason "FailedSchedulng" is not a reason Kubernetes writes (did you mean "FailedScheduling"?)',
    ]);
  });
});
