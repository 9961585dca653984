/**
 * The recording parser on what users really have: the kubectl and kube-apiserver outputs captured
 * in test/fixtures/replay-formats/ (see the README there), and the ways such files get damaged.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { from, lastValueFrom, map, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { KubeEvent } from '../../../src/model/kube-event.js';
import { eventOccurrences, type EventItem } from '../../../src/sources/event-source.js';
import { inferObjectType } from '../../../src/sources/infer-kind.js';
import {
  GIVE_UP_AFTER,
  MAX_NESTING,
  nothingToReplay,
  parseRecording,
  parseRecordingBytes,
  type ParsedRecording,
  type RecordedChange,
} from '../../../src/sources/recording-format.js';
import { orderForReplay } from '../../../src/sources/replay-order.js';

const DIR = fileURLToPath(new URL('../../fixtures/replay-formats/', import.meta.url));
const read = (name: string): string => readFileSync(join(DIR, name), 'utf8');
const parse = (name: string): ParsedRecording => parseRecordingBytes(readFileSync(join(DIR, name)), name);

/** The Event occurrences a recording replays to, in replay order, as the fields that must not depend on the format. */
async function occurrences(parsed: ParsedRecording): Promise<Array<Record<string, unknown>>> {
  const changes = orderForReplay(parsed.records)
    .map((o) => o.record)
    .filter((r) => r.resource === 'events')
    .map((r) => r.event);
  const items = await lastValueFrom(from(changes).pipe(eventOccurrences({ cluster: 'c' }), toArray()));
  expect(items.filter((i) => i.type === 'DEAD_LETTER')).toEqual([]);
  return items
    .filter((i): i is EventItem => i.type === 'EVENT')
    .map(({ event: e }: { event: KubeEvent }) => ({
      key: e.idempotencyKey,
      type: e.type,
      reason: e.reason,
      message: e.message,
      regarding: `${e.regarding.kind}/${e.regarding.namespace ?? ''}/${e.regarding.name}`,
      count: e.count,
      at: e.lastTimestamp,
      controller: e.reportingController,
    }))
    .sort((a, b) => a.key.localeCompare(b.key));
}

const nameOf = (r: RecordedChange): string => (r.event.object as { metadata: { name: string } }).metadata.name;

// the watch outputs of one capture: all of them hold the same changes of the same Events
const WATCHES: Array<[file: string, format: string, expected: Partial<ParsedRecording>]> = [
  ['kubectl-get-events-w-o-json.json', 'json-stream', { objects: 23, bookmarks: 0, inferred: {} }],
  ['kubectl-get-events-w-o-json-jq-c.jsonl', 'jsonl', { objects: 23, bookmarks: 0, inferred: {} }],
  ['kubectl-get-events-w-o-yaml.yaml', 'yaml', { objects: 23, bookmarks: 0, inferred: {} }],
  ['kubectl-get-events.events.k8s.io-w-o-json.json', 'json-stream', { objects: 23, bookmarks: 0, inferred: {} }],
  ['kubectl-get-events-w-output-watch-events.jsonl', 'jsonl', { objects: 0, bookmarks: 0, inferred: {} }],
  ['raw-watch-core-v1.jsonl', 'jsonl', { objects: 0, bookmarks: 1, inferred: {} }],
  ['raw-watch-events.k8s.io-v1.jsonl', 'jsonl', { objects: 0, bookmarks: 1, inferred: {} }],
  ['watch-events-no-kind-core-v1.jsonl', 'jsonl', { objects: 0, bookmarks: 1, inferred: { 'v1 Event': 23 } }],
  ['watch-events-no-kind-events.k8s.io-v1.jsonl', 'jsonl', { objects: 0, bookmarks: 1, inferred: { 'events.k8s.io/v1 Event': 23 } }],
];

describe('recording formats: what kubectl and the API print', () => {
  it.each(WATCHES)('%s is read as %s: 23 Event changes, nothing malformed', (file, format, expected) => {
    const parsed = parse(file);
    expect(parsed.format).toBe(format);
    expect(parsed.malformed).toEqual([]);
    expect(parsed.watchErrors).toEqual([]);
    expect(parsed.records).toHaveLength(23);
    expect(parsed.records.every((r) => r.resource === 'events' && r.kind === 'Event')).toBe(true);
    expect(parsed).toMatchObject(expected);
    expect(nothingToReplay(parsed)).toBeNull();
  });

  it('every watch output replays to the same Event occurrences (same keys, reasons, messages, objects, counts, times)', async () => {
    const reference = await occurrences(parse('kubectl-get-events-w-output-watch-events.jsonl'));
    // 23 changes of 16 Events; a MODIFIED that only bumps the count is an occurrence
    expect(reference.length).toBeGreaterThanOrEqual(16);
    expect(new Set(reference.map((o) => o.key)).size).toBe(reference.length);
    for (const [file] of WATCHES) expect(await occurrences(parse(file)), file).toEqual(reference);
  });

  it('bare objects (kubectl get -w -o json): the first of each uid is ADDED, the later ones MODIFIED', () => {
    const parsed = parse('kubectl-get-events-w-o-json.json');
    const seen = new Set<string>();
    for (const r of parsed.records) {
      const uid = (r.event.object as { metadata: { uid: string } }).metadata.uid;
      expect(r.event.type).toBe(seen.has(uid) ? 'MODIFIED' : 'ADDED');
      seen.add(uid);
    }
    expect(parsed.records.some((r) => r.event.type === 'MODIFIED')).toBe(true);
    // each pretty-printed object starts with "{" at the line its record names
    const lines = read('kubectl-get-events-w-o-json.json').split('\n');
    for (const r of parsed.records) expect(lines[r.source.line - 1]).toBe('{');
  });

  it('YAML documents (kubectl get -w -o yaml) name the line each document starts at', () => {
    const parsed = parse('kubectl-get-events-w-o-yaml.yaml');
    const lines = read('kubectl-get-events-w-o-yaml.yaml').split('\n');
    const starts = [1, ...lines.flatMap((l, i) => (l === '---' ? [i + 2] : []))];
    expect(parsed.records.map((r) => r.source.line)).toEqual(starts);
  });

  it('the two Event APIs are told apart without apiVersion/kind: involvedObject is core/v1, regarding and note events.k8s.io/v1', () => {
    const core = parse('watch-events-no-kind-core-v1.jsonl').records;
    const events = parse('watch-events-no-kind-events.k8s.io-v1.jsonl').records;
    expect(new Set(core.map((r) => r.apiVersion))).toEqual(new Set(['v1']));
    expect(new Set(events.map((r) => r.apiVersion))).toEqual(new Set(['events.k8s.io/v1']));
  });

  it('a List in JSON and in YAML (kubectl get events -A -o json|yaml) give the same records', () => {
    const json = parse('kubectl-get-events-o-json.json');
    const yaml = parse('kubectl-get-events-o-yaml.yaml');
    expect([json.format, yaml.format]).toEqual(['list', 'yaml']);
    expect(json.malformed).toEqual([]);
    expect(yaml.malformed).toEqual([]);
    expect(json.records.length).toBe(16);
    expect(yaml.records.map((r) => r.event)).toEqual(json.records.map((r) => r.event));
    expect(json.records.every((r) => r.event.type === 'ADDED')).toBe(true);
    // the item's first line: "        {" in JSON, "- <first key>: ..." in YAML
    const jsonLines = read('kubectl-get-events-o-json.json').split('\n');
    const yamlLines = read('kubectl-get-events-o-yaml.yaml').split('\n');
    expect(json.records.map((r) => r.source.line)).toEqual(jsonLines.flatMap((l, i) => (l === '        {' ? [i + 1] : [])));
    expect(yaml.records.map((r) => r.source.line)).toEqual(yamlLines.flatMap((l, i) => (l.startsWith('- ') ? [i + 1] : [])));
  });

  it('mixed Lists keep every kind: kubectl get pods,events and the workloads enrichment needs', () => {
    const mixed = parse('kubectl-get-pods-events-o-json.json');
    expect(mixed.malformed).toEqual([]);
    expect(Object.keys(byResource(mixed)).sort()).toEqual(['events', 'pods']);
    const all = parse('kubectl-get-workloads-pods-events-o-json.json');
    expect(all.malformed).toEqual([]);
    expect(byResource(all)).toMatchObject({ nodes: 1, deployments: 1, replicasets: 1, statefulsets: 1, daemonsets: 1, jobs: 1, cronjobs: 1, events: 16 });
  });

  it('a raw watch that only says 410 Expired has nothing to replay, and says so', () => {
    const parsed = parse('raw-watch-expired.jsonl');
    expect(parsed.records).toEqual([]);
    expect(parsed.watchErrors).toEqual([
      { file: 'raw-watch-expired.jsonl', line: 1, message: 'The resourceVersion for the provided watch is too old. (410 Expired)' },
    ]);
    expect(nothingToReplay(parsed)).toBe(
      'it holds no changes, only a watch ERROR (line 1: The resourceVersion for the provided watch is too old. (410 Expired))',
    );
  });

  it('a watch ERROR in the middle of a raw stream is reported with its line; the changes around it replay', () => {
    const lines = read('raw-watch-core-v1.jsonl').trimEnd().split('\n');
    lines.splice(10, 0, read('raw-watch-expired.jsonl').trim());
    const parsed = parseRecording(lines.join('\n'), 'w.jsonl');
    expect(parsed.records).toHaveLength(23);
    expect(parsed.watchErrors.map((e) => e.line)).toEqual([11]);
    expect(parsed.malformed).toEqual([]);
  });
});

function byResource(parsed: ParsedRecording): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of parsed.records) counts[r.resource] = (counts[r.resource] ?? 0) + 1;
  return counts;
}

describe('recording formats: damaged and wrong files', () => {
  it('an empty file, and one of blank lines, have nothing to replay', () => {
    expect(nothingToReplay(parseRecordingBytes(new Uint8Array(), 'e'))).toBe('the file is empty: nothing to replay');
    expect(nothingToReplay(parseRecording('\n  \n\t\n', 'e'))).toBe('the file holds only blank lines: nothing to replay');
  });

  it('binary data stops at once with one reason', () => {
    const bytes = new Uint8Array(4096).map((_, i) => (i * 7919) % 256);
    const parsed = parseRecordingBytes(bytes, 'b.bin');
    expect(parsed.format).toBe('binary');
    expect(parsed.malformed).toEqual([]);
    expect(nothingToReplay(parsed)).toMatch(/^it is not a recording: it holds binary data \(a NUL byte at offset 0\), not text/);
  });

  it('random text stops after GIVE_UP_AFTER bad entries, with the first one named', () => {
    const text = Array.from({ length: 5000 }, (_, i) => `line ${i} of a log file`).join('\n');
    const parsed = parseRecording(text, 'app.log');
    expect(parsed.malformed).toHaveLength(GIVE_UP_AFTER);
    expect(parsed.stoppedEarly).not.toBeNull();
    expect(nothingToReplay(parsed)).toMatch(
      /^it is not a recording: none of its first 100 entries is a watch event or a Kubernetes object \(line 1: not JSON or YAML\); expected JSON Lines/,
    );
  });

  it("kubectl's table output gets a hint", () => {
    const text =
      'NAMESPACE   LAST SEEN   TYPE      REASON    OBJECT          MESSAGE\nshop        2m          Warning   BackOff   pod/cart-crash  Back-off restarting failed container\n';
    expect(nothingToReplay(parseRecording(text, 't'))).toContain("kubectl's table output: add -o json");
  });

  it('a `kubectl get -w -o json` cut short: the complete objects replay, the cut one is reported where it starts', () => {
    const text = read('kubectl-get-events-w-o-json.json');
    const cutAt = text.indexOf('"message"', Math.floor(text.length / 2));
    const parsed = parseRecording(text.slice(0, cutAt), 'cut.json');
    const starts = text
      .slice(0, cutAt)
      .split('\n')
      .flatMap((l, i) => (l === '{' ? [i + 1] : []));
    expect(parsed.records.map((r) => r.source.line)).toEqual(starts.slice(0, -1));
    expect(parsed.malformed).toHaveLength(1);
    expect(parsed.malformed[0]).toMatchObject({ line: starts.at(-1), reason: expect.stringContaining('the file ends before the value is closed') });
  });

  it('an object cut short in the middle of a stream does not take the next ones with it', () => {
    const text = read('kubectl-get-events-w-o-json.json');
    const objects = text.split(/\n(?=\{)/);
    const damaged = [objects[0], (objects[1] ?? '').slice(0, 200), ...objects.slice(2)].join('\n');
    const parsed = parseRecording(damaged, 'd.json');
    expect(parsed.records).toHaveLength(objects.length - 1);
    expect(parsed.malformed).toEqual([expect.objectContaining({ line: (objects[0] ?? '').split('\n').length + 1 })]);
    expect(parsed.malformed[0]?.reason).toMatch(/cut short|not closed/);
  });

  it('a cut List is one positioned error', () => {
    const text = read('kubectl-get-events-o-json.json');
    const parsed = parseRecording(text.slice(0, text.length / 2), 'l.json');
    expect(parsed.records).toEqual([]);
    expect(parsed.malformed).toHaveLength(1);
    expect(parsed.malformed[0]?.line).toBe(1);
  });

  it('lines that are not UTF-8 are reported and left out; the rest replays', () => {
    const lines = read('raw-watch-core-v1.jsonl').trimEnd().split('\n');
    const encoder = new TextEncoder();
    const parts = lines.map((l, i) => (i === 4 ? Uint8Array.from([...encoder.encode(l.slice(0, 50)), 0xc3, 0x28, 0xff]) : encoder.encode(l)));
    const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length + 1, 0));
    let at = 0;
    for (const p of parts) {
      bytes.set(p, at);
      at += p.length;
      bytes[at++] = 10;
    }
    const parsed = parseRecordingBytes(bytes, 'u.jsonl');
    expect(parsed.malformed).toEqual([{ file: 'u.jsonl', line: 5, reason: 'not valid UTF-8 text', text: '' }]);
    expect(parsed.records).toHaveLength(22);
  });

  it('UTF-16 with a byte order mark (PowerShell redirection) reads like UTF-8', () => {
    const text = read('kubectl-get-events-o-json.json');
    const utf16 = new Uint8Array(2 + text.length * 2);
    utf16[0] = 0xff;
    utf16[1] = 0xfe;
    for (let i = 0; i < text.length; i++) {
      utf16[2 + 2 * i] = text.charCodeAt(i) & 0xff;
      utf16[3 + 2 * i] = text.charCodeAt(i) >> 8;
    }
    expect(parseRecordingBytes(utf16, 'p.json').records.map(nameOf)).toEqual(parseRecording(text, 'p.json').records.map(nameOf));
  });

  it('text before the JSON (a warning kubectl printed with 2>&1) is reported, the JSON lines after it replay', () => {
    const text = `W1204 17:15:03.123456   12345 warnings.go:70] v1 ComponentStatus is deprecated\n${read('raw-watch-core-v1.jsonl')}`;
    const parsed = parseRecording(text, 'w.jsonl');
    expect(parsed.records).toHaveLength(23);
    expect(parsed.malformed.map((m) => m.line)).toEqual([1]);
  });

  it('a JSON array of objects (`jq .items`) and of watch events (`jq -s .`) read like a List, each item at its line', () => {
    const list = JSON.parse(read('kubectl-get-events-o-json.json')) as { items: unknown[] };
    const items = parseRecording(JSON.stringify(list.items, null, 2), 'items.json');
    expect(items.format).toBe('list');
    expect(items.records.map((r) => r.event.object)).toEqual(list.items);
    const watch = read('raw-watch-core-v1.jsonl').trim().split('\n');
    const slurped = parseRecording(`[${watch.join(',\n')}]`, 'slurped.json');
    expect(slurped.records.map((r) => r.event.type)).toEqual(parse('raw-watch-core-v1.jsonl').records.map((r) => r.event.type));
    expect(slurped.bookmarks).toBe(1);
    expect(slurped.records.map((r) => r.source.line)).toEqual(parse('raw-watch-core-v1.jsonl').records.map((r) => r.source.line));
  });

  it('values nested more than MAX_NESTING levels are refused, in every format; MAX_NESTING levels are read', () => {
    const nested = (depth: number): unknown => {
      let value: unknown = 'leaf';
      for (let i = 0; i < depth; i++) value = [value];
      return value;
    };
    const event = (depth: number) => ({ ...JSON.parse(read('kubectl-get-events-w-o-json-jq-c.jsonl').split('\n')[0] ?? ''), deep: nested(depth) });
    // the object is one level, `deep` the rest
    const ok = event(MAX_NESTING - 1);
    const deep = event(MAX_NESTING);
    for (const [name, render] of [
      ['jsonl', (o: unknown) => JSON.stringify(o)],
      ['json-stream', (o: unknown) => JSON.stringify(o, null, 2)],
      [
        'yaml',
        (o: unknown) =>
          `apiVersion: v1\nkind: Event\ndeep: ${JSON.stringify((o as { deep: unknown }).deep)}\nmetadata: {name: x, uid: u}\ninvolvedObject: {kind: Pod, name: p}\n`,
      ],
    ] as const) {
      expect(parseRecording(render(ok), name).records, name).toHaveLength(1);
      const refused = parseRecording(render(deep), name);
      expect(refused.records, name).toEqual([]);
      expect(refused.malformed[0]?.reason, name).toContain(`nested more than ${MAX_NESTING} levels deep`);
    }
  });

  it('an API error object among the objects is reported as such', () => {
    const status = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'events is forbidden: User "x" cannot list resource',
      reason: 'Forbidden',
      code: 403,
    };
    const parsed = parseRecording(`${JSON.stringify(status)}\n${read('kubectl-get-events-w-o-json-jq-c.jsonl')}`, 's.jsonl');
    expect(parsed.malformed).toEqual([
      expect.objectContaining({ line: 1, reason: expect.stringContaining('is an API error (Status Failure): events is forbidden') }),
    ]);
  });
});

describe('inferring apiVersion and kind from the fields', () => {
  const items = (JSON.parse(read('kubectl-get-workloads-pods-events-o-json.json')) as { items: Array<Record<string, unknown>> }).items;

  it.each(['Node', 'Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'Pod', 'Event'])(
    'a %s as the API serves it, without apiVersion and kind',
    (kind) => {
      const objects = items.filter((i) => i['kind'] === kind);
      expect(objects.length).toBeGreaterThan(0);
      for (const object of objects) {
        const { apiVersion, kind: _kind, ...rest } = object;
        expect(inferObjectType(rest, { apiVersion: null, kind: null })).toEqual({ ok: true, type: { apiVersion, kind } });
        // with only one of the two, the other is completed
        expect(inferObjectType(rest, { apiVersion: null, kind })).toEqual({ ok: true, type: { apiVersion, kind } });
        expect(inferObjectType(rest, { apiVersion: apiVersion as string, kind: null })).toEqual({ ok: true, type: { apiVersion, kind } });
      }
    },
  );

  it('refuses to guess: both Event APIs at once, an unknown shape, an unknown kind', () => {
    expect(inferObjectType({ involvedObject: {}, regarding: {} }, { apiVersion: null, kind: null })).toMatchObject({ ok: false });
    expect(inferObjectType({ message: 'x', note: 'y', reason: 'r' }, { apiVersion: null, kind: null })).toMatchObject({ ok: false });
    expect(inferObjectType({ metadata: { name: 'x' }, data: {} }, { apiVersion: null, kind: null })).toMatchObject({ ok: false });
    expect(inferObjectType({ metadata: { name: 'x' } }, { apiVersion: null, kind: 'Widget' })).toMatchObject({ ok: false });
  });

  it('a bare object stream with objects of no known kind reports each with its line', async () => {
    const text = [
      JSON.stringify({ metadata: { name: 'cm', namespace: 'a', uid: 'u' }, data: { a: '1' } }),
      read('kubectl-get-events-w-o-json-jq-c.jsonl'),
    ].join('\n');
    const parsed = parseRecording(text, 'x.jsonl');
    expect(parsed.malformed).toEqual([expect.objectContaining({ line: 1, reason: expect.stringContaining('match none of the kinds replay knows') })]);
    expect(await lastValueFrom(from(parsed.records).pipe(map(nameOf), toArray()))).toHaveLength(23);
  });
});
