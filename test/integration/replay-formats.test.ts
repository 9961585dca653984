/**
 * `kubevents run --source replay:FILE` (the built CLI, as users run it) on what users have: every
 * output of kubectl and of the API captured in test/fixtures/replay-formats/ (see the README there),
 * and the files that are not recordings at all. Needs `npm run build` (npm test builds first).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const cli = join(root, 'dist', 'src', 'cli', 'main.js');
const fixtures = join(root, 'test', 'fixtures', 'replay-formats');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { cwd: root, maxBuffer: 64 * 1024 * 1024, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** The totals row of the summary (stderr). */
function totals(stderr: string): Record<string, number> {
  const lines = stderr.split('\n');
  const header = lines.findIndex((l) => l.includes('events') && l.includes('warnings') && l.includes('malformed'));
  const cells = (l: string) =>
    l
      .split('│')
      .map((c) => c.trim())
      .filter(Boolean);
  const head = cells(lines[header] ?? '');
  const values = cells(lines[header + 2] ?? '').map(Number);
  return Object.fromEntries(head.map((h, i) => [h, values[i] ?? NaN]));
}

interface Enriched {
  idempotencyKey: string;
  reason: string;
  regarding: { kind: string; name: string };
  enrichment: { ownerChain: Array<{ kind: string; name: string }>; workload: { kind: string; name: string } | null; node: string | null } | null;
}

let work: string;
let enrichPipeline: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'kubevents-replay-formats-'));
  enrichPipeline = join(work, 'enriched.yaml');
  // every event, enriched from the objects in the recording, as JSON Lines on stdout
  writeFileSync(
    enrichPipeline,
    [
      'apiVersion: kubevents/v1',
      'kind: Pipeline',
      'metadata: {name: enriched}',
      'spec:',
      '  stages: [enrich]',
      '  sinks:',
      '    - stdout: {format: json}',
      '',
    ].join('\n'),
  );
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

const WATCHES = [
  'kubectl-get-events-w-o-json.json',
  'kubectl-get-events-w-o-json-jq-c.jsonl',
  'kubectl-get-events-w-o-yaml.yaml',
  'kubectl-get-events.events.k8s.io-w-o-json.json',
  'kubectl-get-events-w-output-watch-events.jsonl',
  'raw-watch-core-v1.jsonl',
  'raw-watch-events.k8s.io-v1.jsonl',
  'watch-events-no-kind-core-v1.jsonl',
  'watch-events-no-kind-events.k8s.io-v1.jsonl',
];

describe('kubevents run --source replay: on what kubectl and the API print', () => {
  const results = new Map<string, Run>();

  beforeAll(async () => {
    // two at a time: the machine's cores are shared
    const queue = [...WATCHES];
    await Promise.all(
      [0, 1].map(async (worker) => {
        for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
          results.set(file, await run(['run', '--source', `replay:${join(fixtures, file)}`, '--out', join(work, `out-${worker}`), '--log-level', 'warn']));
        }
      }),
    );
  }, 300_000);

  it.each(WATCHES)('%s: exit 0, no warning, the same events, warnings and alerts as the watch events kubectl prints', (file) => {
    const result = results.get(file)!;
    const reference = results.get('kubectl-get-events-w-output-watch-events.jsonl')!;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe('');
    // nothing logged at warn level or above (the summary and console lines are not JSON log lines)
    expect(result.stderr.split('\n').filter((l) => l.startsWith('{"level"'))).toEqual([]);
    const t = totals(result.stderr);
    expect(t['events']).toBe(23);
    expect(t['malformed (skipped)']).toBe(0);
    expect(t).toEqual({ ...totals(reference.stderr), seconds: t['seconds'] });
    expect(t['warnings']).toBeGreaterThan(0);
  });

  it('the summary says how each file was read: bare objects, inferred apiVersion/kind, bookmarks', () => {
    const line = (file: string) =>
      results
        .get(file)!
        .stderr.split('\n')
        .find((l) => l.startsWith('recording '));
    expect(line('kubectl-get-events-w-o-json.json')).toBe(
      `recording ${join(fixtures, 'kubectl-get-events-w-o-json.json')} (JSON documents one after the other): 23 records (events 23); 23 of them objects without a change type (the first of each uid replayed as ADDED, later ones as MODIFIED)`,
    );
    expect(line('kubectl-get-events-w-o-yaml.yaml')).toContain('(YAML): 23 records (events 23); 23 of them objects');
    expect(line('raw-watch-core-v1.jsonl')).toBe(
      `recording ${join(fixtures, 'raw-watch-core-v1.jsonl')} (JSON Lines): 23 records (events 23); 1 BOOKMARK skipped`,
    );
    expect(line('watch-events-no-kind-core-v1.jsonl')).toContain(
      '(JSON Lines): 23 records (events 23); apiVersion/kind inferred from the fields of 23 (v1 Event 23); 1 BOOKMARK skipped',
    );
    expect(line('watch-events-no-kind-events.k8s.io-v1.jsonl')).toContain('apiVersion/kind inferred from the fields of 23 (events.k8s.io/v1 Event 23)');
  });
});

describe('kubevents run --source replay: on Lists', () => {
  it('kubectl get events -A -o json and -o yaml give the same events', async () => {
    const [json, yaml] = await Promise.all(
      ['kubectl-get-events-o-json.json', 'kubectl-get-events-o-yaml.yaml'].map((f, i) =>
        run(['run', '--source', `replay:${join(fixtures, f)}`, '--out', join(work, `list-${i}`), '--log-level', 'warn', '--print-events']),
      ),
    );
    expect(json!.code, json!.stderr).toBe(0);
    expect(yaml!.code, yaml!.stderr).toBe(0);
    const keys = (r: Run) =>
      r.stdout
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { idempotencyKey: string }).idempotencyKey)
        .sort();
    expect(keys(json!)).toHaveLength(16);
    expect(keys(yaml!)).toEqual(keys(json!));
  }, 120_000);

  it('kubectl get of the workloads, pods and events: events come out enriched with the owner chain and the node from the List', async () => {
    const result = await run([
      'run',
      '--source',
      `replay:${join(fixtures, 'kubectl-get-workloads-pods-events-o-json.json')}`,
      '--pipelines',
      enrichPipeline,
      '--out',
      join(work, 'enriched'),
      '--log-level',
      'warn',
    ]);
    expect(result.code, result.stderr).toBe(0);
    const events = result.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Enriched);
    expect(events).toHaveLength(16);
    const onPods = events.filter((e) => e.regarding.kind === 'Pod' && e.reason === 'Scheduled');
    const chains = Object.fromEntries(onPods.map((e) => [e.regarding.name.replace(/-[a-z0-9]+(-[a-z0-9]+)?$/, ''), e.enrichment]));
    expect(chains['checkout']).toMatchObject({
      ownerChain: [{ kind: 'ReplicaSet' }, { kind: 'Deployment', name: 'checkout' }],
      workload: { kind: 'Deployment', name: 'checkout' },
      node: 'node-a',
    });
    expect(chains['agent']).toMatchObject({ ownerChain: [{ kind: 'DaemonSet', name: 'agent' }], node: 'node-a' });
    expect(chains['migrate']).toMatchObject({ ownerChain: [{ kind: 'Job', name: 'migrate' }], node: 'node-a' });
    expect(events.find((e) => e.regarding.kind === 'Pod' && e.regarding.name === 'db-0')?.enrichment).toMatchObject({
      ownerChain: [{ kind: 'StatefulSet', name: 'db' }],
    });
  }, 120_000);
});

describe('kubevents run --source replay: files that are not recordings', () => {
  const cases: Array<[name: string, content: string | Buffer, line: RegExp]> = [
    ['empty.jsonl', '', /^kubevents: cannot replay \S+empty\.jsonl: the file is empty: nothing to replay$/],
    [
      'random.bin',
      Buffer.from(Array.from({ length: 1024 * 1024 }, (_, i) => (Math.imul(i + 1, 2654435761) >>> 24) & 0xff)),
      /^kubevents: cannot replay \S+random\.bin: it is not a recording: (it holds binary data \(a NUL byte at offset \d+\), not text|.*)$/,
    ],
    [
      'pipeline.yaml',
      'apiVersion: kubevents/v1\nkind: Pipeline\nmetadata: {name: x}\nspec:\n  stages: [enrich]\n',
      /^kubevents: cannot replay \S+pipeline\.yaml: it holds no Event, only 1 Pipeline \(kubevents\/v1\): nothing to replay$/,
    ],
    [
      'app.log',
      Array.from({ length: 20_000 }, (_, i) => `2026-12-04 10:00:${String(i % 60).padStart(2, '0')} INFO request ${i} served`).join('\n'),
      /^kubevents: cannot replay \S+app\.log: it is not a recording: none of its first 100 entries/,
    ],
    [
      'expired.jsonl',
      '{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"The resourceVersion for the provided watch is too old.","reason":"Expired","code":410}}\n',
      /only a watch ERROR \(line 1: The resourceVersion for the provided watch is too old\. \(410 Expired\)\)$/,
    ],
  ];

  it.each(cases)(
    '%s: one line on stderr, exit 2, nothing on stdout',
    async (name, content, line) => {
      const path = join(work, name);
      writeFileSync(path, content);
      const result = await run(['run', '--source', `replay:${path}`, '--out', join(work, 'bad-out')]);
      expect(result.code, result.stderr).toBe(2);
      expect(result.stdout).toBe('');
      // the info line about starting the replay is a JSON log line; the rest is the one line
      const lines = result.stderr
        .trim()
        .split('\n')
        .filter((l) => !l.startsWith('{"level":30'));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(line);
    },
    60_000,
  );
});
