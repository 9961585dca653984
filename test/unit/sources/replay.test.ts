import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { lastValueFrom, map, toArray, type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { KubeEvent } from '../../../src/model/kube-event.js';
import { normalizeEvent } from '../../../src/model/normalize.js';
import {
  RecordingContentError,
  RecordingReadError,
  replayFile,
  replayText,
  type MalformedRecord,
  type RecordedChange,
  type RecordedWatchError,
  type ReplayOptions,
} from '../../../src/sources/replay.js';
import { detectFormat, parseRecording } from '../../../src/sources/recording-format.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/', import.meta.url));
const RECORDED = join(FIXTURES, '..', '..', 'recordings', 'recorded-cluster.jsonl');
const KUBECTL_EVENTS = join(FIXTURES, 'kubectl-get-events.json');

const SEC = 1000;
const MIN = 60 * SEC;
const T = Date.parse('2026-11-01T10:00:00Z');
const iso = (offsetMs: number): string => new Date(T + offsetMs).toISOString();

// ------------------------------------------------------------------ builders

interface ObjectSpec {
  kind?: string;
  apiVersion?: string;
  name: string;
  namespace?: string;
  rv?: string;
}

function object(spec: ObjectSpec, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    kind: spec.kind ?? 'Pod',
    apiVersion: spec.apiVersion ?? 'v1',
    metadata: { name: spec.name, namespace: spec.namespace ?? 'shop', uid: `uid-${spec.name}`, resourceVersion: spec.rv ?? '1' },
    ...extra,
  };
}

/** An events.k8s.io/v1 Event occurring at T + at (ms), with a series when count > 1. */
function k8sEvent(name: string, at: number, count = 1): Record<string, unknown> {
  return object(
    { kind: 'Event', apiVersion: 'events.k8s.io/v1', name },
    {
      eventTime: iso(0),
      ...(count > 1 ? { series: { count, lastObservedTime: iso(at) } } : {}),
      reason: 'BackOff',
      type: 'Warning',
      note: 'Back-off restarting failed container',
      reportingController: 'kubelet',
      reportingInstance: 'node-b',
      regarding: { kind: 'Pod', namespace: 'shop', name: 'web-1', uid: 'uid-web-1', apiVersion: 'v1' },
    },
  );
}

function line(type: string, obj: unknown, observedAtMs?: number): string {
  return JSON.stringify(observedAtMs === undefined ? { type, object: obj } : { type, object: obj, observedAt: iso(observedAtMs) });
}

const nameOf = (r: RecordedChange): string => (r.event.object as { metadata: { name: string } }).metadata.name;

function all(changes$: Observable<RecordedChange>): Promise<RecordedChange[]> {
  return lastValueFrom(changes$.pipe(toArray()));
}

function virtual(): TestScheduler {
  const scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  scheduler.maxFrames = Number.POSITIVE_INFINITY;
  return scheduler;
}

/** Replays `text` on a TestScheduler: [virtual ms, name] per emission and when it completed. */
function runVirtual(text: string, options: ReplayOptions = {}): { emitted: [number, string][]; completedAt: number | null } {
  const scheduler = virtual();
  const emitted: [number, string][] = [];
  let completedAt: number | null = null;
  replayText(text, 'mem.jsonl', { ...options, scheduler }).changes$.subscribe({
    next: (r) => emitted.push([scheduler.now(), nameOf(r)]),
    complete: () => (completedAt = scheduler.now()),
  });
  scheduler.flush();
  return { emitted, completedAt };
}

// ------------------------------------------------------------------ formats

describe('replay: formats', () => {
  it('reads JSON Lines of watch events: type, object, observedAt, resource, source line', async () => {
    const text = [
      line('ADDED', object({ kind: 'Node', name: 'node-a', rv: '10' }), 0),
      '',
      line('MODIFIED', object({ kind: 'ReplicaSet', apiVersion: 'apps/v1', name: 'api-7d9f8b6c5', rv: '11' }), 1000),
      line('DELETED', k8sEvent('web-1.1', 2000), 2000),
    ].join('\n');
    const replay = replayText(text, 'rec.jsonl');
    const records = await all(replay.changes$);
    expect(records.map((r) => [r.event.type, r.resource, r.apiVersion, r.kind, r.event.resourceVersion, r.source.line])).toEqual([
      ['ADDED', 'nodes', 'v1', 'Node', '10', 1],
      ['MODIFIED', 'replicasets', 'apps/v1', 'ReplicaSet', '11', 3],
      ['DELETED', 'events', 'events.k8s.io/v1', 'Event', '1', 4],
    ]);
    expect(records.map((r) => r.observedAt)).toEqual([T, T + 1000, T + 2000]);
    expect(records.every((r) => r.source.file === 'rec.jsonl')).toBe(true);
    expect(replay.stats).toMatchObject({ format: 'jsonl', lines: 4, total: 3, emitted: 3, malformed: 0, byResource: { nodes: 1, replicasets: 1, events: 1 } });
  });

  it('reads a `kubectl get events -A -o json` List: every item ADDED, source = the item first line', async () => {
    const text = await readFile(KUBECTL_EVENTS, 'utf8');
    const replay = replayFile(KUBECTL_EVENTS);
    const records = await all(replay.changes$);
    const items = (JSON.parse(text) as { items: { metadata: { uid: string } }[] }).items;
    expect(records).toHaveLength(items.length);
    expect(replay.stats).toMatchObject({ format: 'list', total: items.length, malformed: 0, byResource: { events: items.length } });
    expect(records.every((r) => r.event.type === 'ADDED' && r.kind === 'Event' && r.apiVersion === 'v1')).toBe(true);
    // each item is a pretty-printed object: its first line is "{" and the lines before it close the previous item
    const lines = text.split('\n');
    for (const r of records) {
      expect(lines[r.source.line - 1]?.trim()).toBe('{');
      expect(r.source.file).toBe(KUBECTL_EVENTS);
    }
    expect(new Set(records.map((r) => (r.event.object as { metadata: { uid: string } }).metadata.uid))).toEqual(new Set(items.map((i) => i.metadata.uid)));
    // no observedAt: ordered by the Events' own occurrence times
    const times = records.map((r) => r.time);
    expect(times.every((t) => t !== null)).toBe(true);
    expect([...times].sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual(times);
  });

  it('takes apiVersion and kind of typed-list items (EventList) from the list', async () => {
    const text = JSON.stringify({
      apiVersion: 'v1',
      kind: 'EventList',
      metadata: { resourceVersion: '42' },
      items: [
        { metadata: { name: 'a.1', namespace: 'shop', uid: 'u1', resourceVersion: '40' }, involvedObject: { kind: 'Pod', name: 'a' }, lastTimestamp: iso(0) },
      ],
    });
    const records = await all(replayText(text, 'list.json').changes$);
    expect(records.map((r) => [r.apiVersion, r.kind, r.resource, r.source.line])).toEqual([['v1', 'Event', 'events', 1]]);
  });

  it('tells the formats apart from the content', () => {
    expect(detectFormat(line('ADDED', object({ name: 'a' })))).toBe('jsonl');
    expect(detectFormat(JSON.stringify({ kind: 'List', items: [] }))).toBe('list');
    expect(detectFormat(JSON.stringify({ kind: 'List', items: [] }, null, 2))).toBe('list');
    expect(detectFormat(JSON.stringify([object({ name: 'a' })], null, 2))).toBe('list');
    expect(detectFormat(`${JSON.stringify(object({ name: 'a' }), null, 4)}\n${JSON.stringify(object({ name: 'b' }), null, 4)}`)).toBe('json-stream');
    expect(detectFormat('apiVersion: v1\nkind: Event\n')).toBe('yaml');
    expect(detectFormat('---\ntype: ADDED\n')).toBe('yaml');
    expect(detectFormat('')).toBe('empty');
    expect(detectFormat(' \n\t\r\n')).toBe('empty');
    expect(detectFormat('not json\n{"type":"ADDED"}')).toBe('jsonl');
    expect(detectFormat('not json\nnor this')).toBe('text');
  });

  it('reads a one-line List followed by more lines as JSON Lines: the items of the List, then the rest', async () => {
    const text = `${JSON.stringify({ kind: 'List', items: [object({ name: 'l' })] })}\n${line('ADDED', object({ name: 'a' }), 0)}\n`;
    const bad: MalformedRecord[] = [];
    const records = await all(replayText(text, 'mixed', { onMalformed: (m) => bad.push(m) }).changes$);
    expect(records.map((r) => [nameOf(r), r.source.line])).toEqual([
      ['l', 1],
      ['a', 2],
    ]);
    expect(bad).toEqual([]);
  });

  it('names resources the way watches are named', async () => {
    const text = [
      ['v1', 'Event'],
      ['events.k8s.io/v1', 'Event'],
      ['apps/v1', 'Deployment'],
      ['networking.k8s.io/v1', 'Ingress'],
      ['networking.k8s.io/v1', 'NetworkPolicy'],
      ['v1', 'Endpoints'],
      ['cert-manager.io/v1', 'Certificate'],
    ]
      .map(([apiVersion, kind], i) => line('ADDED', object({ apiVersion, kind, name: `o${i}` }), i))
      .join('\n');
    const records = await all(replayText(text, 'kinds').changes$);
    expect(records.map((r) => r.resource)).toEqual([
      'events',
      'events',
      'deployments',
      'ingresses',
      'networkpolicies',
      'endpoints',
      'certificates.cert-manager.io',
    ]);
  });
});

// ------------------------------------------------------------------ ordering

describe('replay: event-time order', () => {
  it('emits by observedAt, keeping file order for equal times', async () => {
    const text = [
      line('ADDED', object({ name: 'c' }), 3000),
      line('ADDED', object({ name: 'a' }), 1000),
      line('ADDED', object({ name: 'b1' }), 2000),
      line('ADDED', object({ name: 'b2' }), 2000),
      line('ADDED', object({ name: 'b3' }), 2000),
      line('ADDED', object({ name: 'z' }), 0),
    ].join('\n');
    const records = await all(replayText(text, 'm').changes$);
    expect(records.map(nameOf)).toEqual(['z', 'a', 'b1', 'b2', 'b3', 'c']);
  });

  it('without observedAt orders Events by occurrence time (series.lastObservedTime first) and keeps context objects after the record before them', async () => {
    const text = [
      line('ADDED', object({ kind: 'Node', name: 'first-context' })), // before any timed record
      line('MODIFIED', k8sEvent('late', 50 * SEC, 3)), // series.lastObservedTime = +50s
      line('ADDED', object({ name: 'pod-after-late' })), // no time of its own: stays after "late"
      line('ADDED', k8sEvent('early', 10 * SEC)), // eventTime = +0s (no series)
      line('MODIFIED', k8sEvent('middle', 20 * SEC, 2)),
    ].join('\n');
    const records = await all(replayText(text, 'm').changes$);
    expect(records.map(nameOf)).toEqual(['first-context', 'early', 'middle', 'late', 'pod-after-late']);
    expect(records.map((r) => r.time)).toEqual([null, T, T + 20 * SEC, T + 50 * SEC, null]);
  });

  it('replays the recorded fixture in non-decreasing event time, every record once', async () => {
    const replay = replayFile(RECORDED);
    const records = await all(replay.changes$);
    const text = await readFile(RECORDED, 'utf8');
    expect(records).toHaveLength(text.trim().split('\n').length);
    const times = records.map((r) => r.time ?? Number.NaN);
    for (let i = 1; i < times.length; i++) expect(times[i]).toBeGreaterThanOrEqual(times[i - 1] as number);
    expect(new Set(records.map((r) => r.source.line)).size).toBe(records.length);
    expect(replay.stats).toMatchObject({ format: 'jsonl', malformed: 0, bookmarks: 0, emitted: records.length, total: records.length });
    expect(Object.keys(replay.stats.byResource).sort()).toEqual(['deployments', 'events', 'nodes', 'pods', 'replicasets']);
  });
});

// ------------------------------------------------------------------ pacing (virtual time)

describe('replay: speed', () => {
  const paced = [
    line('ADDED', object({ name: 'a' }), 0),
    line('ADDED', object({ name: 'b' }), 1 * SEC),
    line('ADDED', object({ name: 'c' }), 5 * SEC),
    line('ADDED', object({ name: 'd' }), 5 * SEC),
    line('ADDED', object({ name: 'e' }), 20 * SEC),
  ].join('\n');

  it("'max' emits everything at once, in order, without waiting for event time", () => {
    const scheduler = virtual();
    scheduler.run(({ expectObservable }) => {
      expectObservable(replayText(paced, 'm', { scheduler }).changes$.pipe(map(nameOf))).toBe('(abcde|)', { a: 'a', b: 'b', c: 'c', d: 'd', e: 'e' });
    });
  });

  it("'max' yields between batches but stays at the same virtual instant", () => {
    expect(runVirtual(paced, { speed: 'max', batchSize: 2 })).toEqual({
      emitted: [
        [0, 'a'],
        [0, 'b'],
        [0, 'c'],
        [0, 'd'],
        [0, 'e'],
      ],
      completedAt: 0,
    });
  });

  it('speed 1 keeps the recorded gaps', () => {
    expect(runVirtual(paced, { speed: 1 })).toEqual({
      emitted: [
        [0, 'a'],
        [1000, 'b'],
        [5000, 'c'],
        [5000, 'd'],
        [20_000, 'e'],
      ],
      completedAt: 20_000,
    });
  });

  it('speed 10 divides the gaps by ten', () => {
    expect(runVirtual(paced, { speed: 10 })).toEqual({
      emitted: [
        [0, 'a'],
        [100, 'b'],
        [500, 'c'],
        [500, 'd'],
        [2000, 'e'],
      ],
      completedAt: 2000,
    });
  });

  it('paces from the earliest event time even when the file starts later', () => {
    const text = [line('ADDED', object({ name: 'late' }), 4 * SEC), line('ADDED', object({ name: 'early' }), 2 * SEC)].join('\n');
    expect(runVirtual(text, { speed: 2 }).emitted).toEqual([
      [0, 'early'],
      [1000, 'late'],
    ]);
  });

  it('paces the whole recorded fixture at speed 10: 40 minutes in 4 virtual minutes', async () => {
    const text = await readFile(RECORDED, 'utf8');
    const scheduler = virtual();
    const seen: { at: number; observedAt: number }[] = [];
    let completedAt = -1;
    replayText(text, RECORDED, { speed: 10, scheduler }).changes$.subscribe({
      next: (r) => seen.push({ at: scheduler.now(), observedAt: r.observedAt ?? Number.NaN }),
      complete: () => (completedAt = scheduler.now()),
    });
    scheduler.flush();
    const base = seen[0]?.observedAt ?? 0;
    for (const s of seen) expect(s.at).toBe(Math.round((s.observedAt - base) / 10));
    const last = seen[seen.length - 1];
    expect(completedAt).toBe(last?.at);
    expect(completedAt).toBeGreaterThan(230 * SEC);
    expect(completedAt).toBeLessThan(240 * SEC);
  });

  it('reports progress at most once per interval of scheduler time, and once at the end', () => {
    const scheduler = virtual();
    const progress: [number, number, number | null][] = [];
    replayText(paced, 'm', {
      speed: 1,
      scheduler,
      progressIntervalMs: 4000,
      onProgress: (p) => progress.push([scheduler.now(), p.emitted, p.eventTimeMs]),
    }).changes$.subscribe();
    scheduler.flush();
    expect(progress).toEqual([
      [5000, 4, T + 5 * SEC],
      [20_000, 5, T + 20 * SEC],
    ]);
  });

  it('refuses a negative or non-finite speed', () => {
    expect(() => replayText('', 'm', { speed: -1 })).toThrow(RangeError);
    expect(() => replayText('', 'm', { speed: Number.NaN })).toThrow(RangeError);
    expect(() => replayText('', 'm', { batchSize: 0 })).toThrow(RangeError);
  });
});

// ------------------------------------------------------------------ malformed input

describe('replay: malformed lines are reported and skipped', () => {
  it('reports each bad line with file, line and reason; the good ones flow', async () => {
    const lines = [
      line('ADDED', object({ name: 'ok-1' }), 0), // 1
      '{"type":"ADDED","object":{"kind":"Pod"', // 2 truncated
      '', // 3 blank: skipped silently
      JSON.stringify({ object: object({ name: 'x' }) }), // 4 no type
      line('UPSERTED', object({ name: 'x' })), // 5 unknown type
      JSON.stringify({ type: 'ADDED', object: 'pod' }), // 6 object not an object
      JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'x' } } }), // 7 no apiVersion/kind
      JSON.stringify({ type: 'ADDED', object: object({ name: 'x' }), observedAt: 'yesterday' }), // 8
      JSON.stringify({ type: 'ERROR', object: { kind: 'Status', code: 410, message: 'too old resource version: 1 (42)' } }), // 9
      JSON.stringify({ type: 'BOOKMARK', object: { kind: 'Pod', apiVersion: 'v1', metadata: { resourceVersion: '50' } } }), // 10
      '[1,2]', // 11
      line('ADDED', object({ name: 'ok-2' }), 1000), // 12
    ];
    const bad: MalformedRecord[] = [];
    const watchErrors: RecordedWatchError[] = [];
    const replay = replayText(lines.join('\r\n'), 'cluster.jsonl', { onMalformed: (m) => bad.push(m), onWatchError: (e) => watchErrors.push(e) });
    const records = await all(replay.changes$);
    expect(records.map(nameOf)).toEqual(['ok-1', 'ok-2']);
    expect(records.map((r) => r.source.line)).toEqual([1, 12]);
    expect(bad.map((m) => `${m.file}:${m.line}`)).toEqual([2, 4, 5, 6, 7, 8, 11, 11].map((n) => `cluster.jsonl:${n}`));
    expect(bad.map((m) => m.reason)).toEqual([
      expect.stringContaining('invalid JSON'),
      'missing "type"',
      expect.stringContaining('unknown watch event type "UPSERTED"'),
      '"object" is not a JSON object, got a string "pod"',
      expect.stringMatching(/^the object has no apiVersion and kind: .*match none of the kinds/),
      expect.stringContaining('"observedAt" is not an RFC 3339 time'),
      'items[0]: not an object, got a number 1',
      'items[1]: not an object, got a number 2',
    ]);
    expect(bad[0]?.text).toBe(lines[1]);
    expect(watchErrors).toEqual([{ file: 'cluster.jsonl', line: 9, message: 'too old resource version: 1 (42) (410)' }]);
    expect(replay.stats).toMatchObject({ lines: 12, total: 2, emitted: 2, malformed: 8, bookmarks: 1, watchErrors: 1 });
  });

  it('reports bad lines of a real recording by path and line, and replays the rest', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kubevents-replay-'));
    try {
      const lines = (await readFile(RECORDED, 'utf8')).trimEnd().split('\n');
      const total = lines.length;
      lines[9] = (lines[9] ?? '').slice(0, 120); // line 10 cut short
      lines.splice(500, 0, 'this is not JSON'); // a new line 501
      const path = join(dir, 'damaged.jsonl');
      await writeFile(path, `${lines.join('\n')}\n`);
      const bad: string[] = [];
      const replay = replayFile(path, { onMalformed: (m) => bad.push(`${m.file}:${m.line}`) });
      const records = await all(replay.changes$);
      expect(bad).toEqual([`${path}:10`, `${path}:501`]);
      expect(records).toHaveLength(total - 1);
      expect(replay.stats).toMatchObject({ lines: total + 1, malformed: 2, total: total - 1, emitted: total - 1 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reports a bad List item at the line where it starts', async () => {
    const text = JSON.stringify(
      { kind: 'List', apiVersion: 'v1', items: [object({ kind: 'Event', name: 'e1' }), 'oops', { metadata: { name: 'nokind' } }] },
      null,
      2,
    );
    const bad: MalformedRecord[] = [];
    const records = await all(replayText(text, 'events.json', { onMalformed: (m) => bad.push(m) }).changes$);
    expect(records.map(nameOf)).toEqual(['e1']);
    const textLines = text.split('\n');
    expect(bad.map((m) => [m.reason, textLines[m.line - 1]?.trim()])).toEqual([
      ['items[1]: not an object, got a string "oops"', '"oops",'],
      [expect.stringMatching(/^items\[2\] has no apiVersion and kind: /), '{'],
    ]);
  });

  it('reports a pretty-printed document with a syntax error once, at the line of the error, and replays the next one', async () => {
    const text = `{\n  "kind": "Pod",\n  "apiVersion": "v1",\n}\n${JSON.stringify(object({ name: 'next' }), null, 2)}\n`;
    const bad: MalformedRecord[] = [];
    const records = await all(replayText(text, 'pod.json', { onMalformed: (m) => bad.push(m) }).changes$);
    expect(records.map((r) => [nameOf(r), r.source.line])).toEqual([['next', 5]]);
    expect(bad).toHaveLength(1);
    expect(bad[0]?.reason).toBe('invalid JSON: Expected double-quoted property name (in the value that starts at line 1)');
    expect(bad[0]?.line).toBe(4);
  });

  it('cuts long offending text', async () => {
    const long = `{"type":"ADDED","object":${'x'.repeat(5000)}\n${line('ADDED', object({ name: 'a' }))}`;
    const bad: MalformedRecord[] = [];
    await all(replayText(long, 'm', { onMalformed: (m) => bad.push(m) }).changes$);
    expect(bad[0]?.text.length).toBeLessThanOrEqual(1001);
  });

  it('errors the stream when the malformed handler throws', async () => {
    const replay = replayText(`garbage\n${line('ADDED', object({ name: 'a' }))}`, 'm', {
      onMalformed: () => {
        throw new Error('strict mode: refusing malformed input');
      },
    });
    await expect(all(replay.changes$)).rejects.toThrow('strict mode');
  });
});

// ------------------------------------------------------------------ unreadable files

describe('replay: unreadable recordings', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kubevents-replay-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('errors with RecordingReadError naming the path and the OS reason (missing file)', async () => {
    const path = join(dir, 'nope.jsonl');
    const error = await all(replayFile(path).changes$).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RecordingReadError);
    const e = error as RecordingReadError;
    expect(e.path).toBe(path);
    expect(e.code).toBe('ENOENT');
    expect(e.message).toBe(`cannot read recording ${path}: ENOENT: no such file or directory`);
    expect((e.cause as { code?: string }).code).toBe('ENOENT');
  });

  it('errors with RecordingReadError for a directory', async () => {
    await expect(all(replayFile(dir).changes$)).rejects.toMatchObject({ name: 'RecordingReadError', code: 'EISDIR', path: dir });
  });

  it('errors with RecordingContentError, and reports no malformed entry, when there is nothing to replay', async () => {
    const cases: Array<[string, string | Uint8Array, RegExp]> = [
      ['empty.jsonl', '', /: the file is empty: nothing to replay$/],
      ['blank.jsonl', '\n\n', /: the file holds only blank lines: nothing to replay$/],
      [
        'image.png',
        Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d]),
        /: it is not a recording: it holds binary data \(a NUL byte at offset 8\), not text$/,
      ],
      [
        'notes.txt',
        Array.from({ length: 3000 }, (_, i) => `note ${i}`).join('\n'),
        /: it is not a recording: none of its first 100 entries is a watch event or a Kubernetes object \(line 1: not JSON or YAML\)/,
      ],
      [
        'bookmarks.jsonl',
        `${JSON.stringify({ type: 'BOOKMARK', object: { kind: 'Event', apiVersion: 'v1', metadata: { resourceVersion: '9' } } })}\n`,
        /: it holds no changes, only 1 watch BOOKMARK$/,
      ],
      [
        'empty-list.json',
        JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [], metadata: { resourceVersion: '' } }),
        /: it holds no objects \(an empty List\?\): nothing to replay$/,
      ],
    ];
    for (const [name, content, message] of cases) {
      const path = join(dir, name);
      await writeFile(path, content);
      const bad: MalformedRecord[] = [];
      const replay = replayFile(path, { onMalformed: (m) => bad.push(m) });
      const error = await all(replay.changes$).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error, name).toBeInstanceOf(RecordingContentError);
      expect((error as RecordingContentError).message, name).toMatch(
        new RegExp(`^cannot replay ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}${message.source}`),
      );
      expect(bad, name).toEqual([]);
    }
  });

  it('with requireEvents, a recording of other objects only has nothing to replay', async () => {
    const text = `${line('ADDED', object({ name: 'a' }), 0)}\n${line('ADDED', object({ kind: 'Node', name: 'n' }), 0)}\n`;
    expect((await all(replayText(text, 'pods.jsonl').changes$)).map(nameOf)).toEqual(['a', 'n']);
    await expect(all(replayText(text, 'pods.jsonl', { requireEvents: true }).changes$)).rejects.toThrow(
      'cannot replay pods.jsonl: it holds no Event, only 1 Pod (v1), 1 Node (v1): nothing to replay',
    );
  });

  it('reads nothing until subscribed, and again on each subscription', async () => {
    const path = join(dir, 'later.jsonl');
    const replay = replayFile(path);
    await writeFile(path, `${line('ADDED', object({ name: 'a' }), 0)}\n`);
    expect((await all(replay.changes$)).map(nameOf)).toEqual(['a']);
    await writeFile(path, `${line('ADDED', object({ name: 'b' }), 0)}\n${line('ADDED', object({ name: 'c' }), 1)}\n`);
    expect((await all(replay.changes$)).map(nameOf)).toEqual(['b', 'c']);
    expect(replay.stats).toMatchObject({ total: 2, emitted: 2 });
  });
});

// ------------------------------------------------------------------ cancellation

describe('replay: unsubscribing stops the timers', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  const spaced = Array.from({ length: 10 }, (_, i) => line('ADDED', object({ name: `p${i}` }), i * MIN)).join('\n');

  it('in virtual time: no action stays scheduled', () => {
    const scheduler = virtual();
    const seen: string[] = [];
    const subscription = replayText(spaced, 'm', { speed: 1, scheduler }).changes$.subscribe((r) => seen.push(nameOf(r)));
    scheduler.schedule(() => subscription.unsubscribe(), 2.5 * MIN);
    scheduler.flush();
    expect(seen).toEqual(['p0', 'p1', 'p2']);
    expect(scheduler.actions).toHaveLength(0);
  });

  it('on the real async scheduler: no timer is left, nothing is emitted later', () => {
    vi.useFakeTimers();
    const seen: string[] = [];
    const subscription = replayText(spaced, 'm', { speed: 60 }).changes$.subscribe((r) => seen.push(nameOf(r)));
    vi.advanceTimersByTime(2500); // one recorded minute per second
    expect(seen).toEqual(['p0', 'p1', 'p2']);
    expect(vi.getTimerCount()).toBe(1);
    subscription.unsubscribe();
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(60_000);
    expect(seen).toEqual(['p0', 'p1', 'p2']);
  });

  it("at 'max' speed: unsubscribing between batches stops the rest", () => {
    vi.useFakeTimers();
    const many = Array.from({ length: 50 }, (_, i) => line('ADDED', object({ name: `p${i}` }), i)).join('\n');
    const seen: string[] = [];
    const subscription = replayText(many, 'm', { batchSize: 10 }).changes$.subscribe((r) => {
      seen.push(nameOf(r));
      if (seen.length === 15) subscription.unsubscribe();
    });
    vi.runAllTimers();
    expect(seen).toHaveLength(15);
    expect(vi.getTimerCount()).toBe(0);
  });
});

// ------------------------------------------------------------------ the recorded fixture: API shapes and stories

interface Meta {
  name: string;
  namespace?: string;
  uid: string;
  resourceVersion: string;
  ownerReferences?: { kind: string; name: string; uid: string }[];
  deletionTimestamp?: string;
}
interface ContainerStatus {
  name: string;
  restartCount: number;
  state: { waiting?: { reason: string; message?: string }; running?: object; terminated?: { reason: string; exitCode: number } };
  lastState: { terminated?: { reason: string; exitCode: number } };
}
interface PodObject {
  metadata: Meta;
  spec: { nodeName?: string };
  status: { phase: string; containerStatuses?: ContainerStatus[] };
}
interface NodeObject {
  metadata: Meta;
  spec: { taints?: { key: string; effect: string }[] };
  status: { conditions: { type: string; status: string; message?: string }[] };
}

describe('recorded fixture (recordings/recorded-cluster.jsonl)', () => {
  const cluster = 'fixture';
  let records: RecordedChange[];
  /**
   * Every Event occurrence (ADDED or MODIFIED), normalized, in replay order, with `change` the
   * recorded watch change (these tests are about the recording; normalizeEvent decides `change`
   * from the count).
   */
  let events: KubeEvent[];
  /** Latest state of every non-Event object by uid (owner lookups). */
  const objects = new Map<string, { kind: string; object: { metadata: Meta } }>();

  beforeAll(async () => {
    records = await all(replayFile(RECORDED).changes$);
    events = records
      .filter((r) => r.resource === 'events' && r.event.type !== 'DELETED')
      .map((r) => ({ ...normalizeEvent(r.event.object, r.event.type, { cluster }), change: r.event.type }));
    for (const r of records) {
      if (r.resource !== 'events')
        objects.set((r.event.object as { metadata: Meta }).metadata.uid, { kind: r.kind, object: r.event.object as { metadata: Meta } });
    }
  });

  const podStates = (uid: string): { type: string; at: number; pod: PodObject }[] =>
    records
      .filter((r) => r.kind === 'Pod' && (r.event.object as PodObject).metadata.uid === uid)
      .map((r) => ({ type: r.event.type, at: r.time ?? Number.NaN, pod: r.event.object as PodObject }));

  /** "ReplicaSet/x -> Deployment/y" through ownerReferences and the objects the recording holds. */
  const ownerChain = (meta: Meta): string[] => {
    const chain: string[] = [];
    let current: Meta | undefined = meta;
    while (current?.ownerReferences?.[0]) {
      const owner: { kind: string; name: string; uid: string } = current.ownerReferences[0];
      chain.push(`${owner.kind}/${owner.name}`);
      current = objects.get(owner.uid)?.object.metadata;
      expect(current, `owner ${owner.kind}/${owner.name} is in the recording`).toBeDefined();
    }
    return chain;
  };

  const maxInWindow = (times: number[], windowMs: number): number => {
    const sorted = [...times].sort((a, b) => a - b);
    let best = 0;
    for (let i = 0, j = 0; j < sorted.length; j++) {
      while ((sorted[j] as number) - (sorted[i] as number) > windowMs) i++;
      best = Math.max(best, j - i + 1);
    }
    return best;
  };

  it('every Event (both APIs) normalizes without error', () => {
    const raw = records.filter((r) => r.resource === 'events');
    expect(raw.length).toBeGreaterThan(600);
    for (const r of raw) {
      const e = normalizeEvent(r.event.object, r.event.type, { cluster });
      expect(e.idempotencyKey).toBe(`${e.uid}/${e.count}`);
      expect(e.regarding.kind).not.toBeNull();
      expect(e.reportingController).not.toBeNull();
    }
    const apis = events.map((e) => e.sourceApi);
    expect(apis.filter((a) => a === 'core/v1').length).toBeGreaterThanOrEqual(2);
    expect(apis.filter((a) => a === 'core/v1').length).toBeLessThanOrEqual(3);
    expect(apis.filter((a) => a === 'events.k8s.io/v1').length).toBeGreaterThan(600);
  });

  it('is a plausible watch stream: one global increasing resourceVersion, occurrences at their observedAt', () => {
    const byLine = [...records].sort((a, b) => a.source.line - b.source.line);
    expect(byLine.map((r) => r.source.line)).toEqual(records.map((r) => r.source.line));
    let previous = 0;
    for (const r of byLine) {
      const rv = Number(r.event.resourceVersion);
      expect(rv).toBeGreaterThan(previous);
      previous = rv;
    }
    // after the initial list, an Event occurrence is observed when it happens (core/v1: second precision)
    const initialListEnd = T + SEC;
    for (const r of records.filter((x) => x.resource === 'events' && x.event.type !== 'DELETED' && (x.observedAt ?? 0) > initialListEnd)) {
      const e = normalizeEvent(r.event.object, r.event.type, { cluster });
      expect(Math.abs(e.lastTimestamp - (r.observedAt ?? 0))).toBeLessThan(e.sourceApi === 'core/v1' ? 1000 : 1);
    }
    const first = records[0]?.observedAt ?? 0;
    const last = records[records.length - 1]?.observedAt ?? 0;
    expect(first).toBe(T);
    expect(last - first).toBeGreaterThan(35 * MIN);
    expect(last - first).toBeLessThan(45 * MIN);
  });

  it('writes repeats as MODIFIED of the same Event with the count one higher and a new resourceVersion', () => {
    const last = new Map<string, KubeEvent>();
    let repeats = 0;
    for (const e of events) {
      const before = last.get(e.uid);
      if (e.change === 'ADDED') expect(before).toBeUndefined();
      else {
        expect(before, `MODIFIED ${e.name} after its ADDED`).toBeDefined();
        expect(e.count).toBe((before as KubeEvent).count + 1);
        expect(Number(e.resourceVersion)).toBeGreaterThan(Number((before as KubeEvent).resourceVersion));
        expect(e.firstTimestamp).toBe((before as KubeEvent).firstTimestamp);
        repeats++;
      }
      last.set(e.uid, e);
    }
    expect(repeats).toBeGreaterThan(300);
  });

  it('story 1: the payments Pod gets >= 5 FailedScheduling within 3 minutes, more later, then is scheduled', () => {
    const failed = events.filter((e) => e.reason === 'FailedScheduling');
    expect(new Set(failed.map((e) => e.regarding.uid)).size).toBe(1);
    const podUid = failed[0]?.regarding.uid as string;
    for (const e of failed) {
      expect(e).toMatchObject({ namespace: 'payments', type: 'Warning', reportingController: 'default-scheduler', action: 'Scheduling' });
      expect(e.message).toBe(
        '0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.',
      );
      expect(e.regarding.name).toMatch(/^api-7d9f8b6c5-[a-z0-9]{5}$/);
    }
    const times = failed.map((e) => e.lastTimestamp);
    const burst = maxInWindow(times, 3 * MIN);
    expect(burst).toBeGreaterThanOrEqual(6);
    expect(failed.length).toBeGreaterThan(burst);

    const states = podStates(podUid);
    const pending = states.filter((s) => s.at <= Math.max(...times));
    expect(pending.every((s) => s.pod.status.phase === 'Pending' && s.pod.spec.nodeName === undefined)).toBe(true);
    expect(ownerChain(states[0]?.pod.metadata as Meta)).toEqual(['ReplicaSet/api-7d9f8b6c5', 'Deployment/api']);

    const scheduled = events.filter((e) => e.reason === 'Scheduled' && e.regarding.uid === podUid);
    expect(scheduled).toHaveLength(1);
    expect(scheduled[0]?.lastTimestamp).toBeGreaterThan(Math.max(...times));
    expect(scheduled[0]?.message).toBe(`Successfully assigned payments/${failed[0]?.regarding.name} to node-c`);
    const running = states.find((s) => s.pod.status.phase === 'Running');
    expect(running?.pod.spec.nodeName).toBe('node-c');
    expect(running?.at).toBeGreaterThanOrEqual(scheduled[0]?.lastTimestamp as number);
  });

  it('story 2: a crash loop on node-b with CrashLoopBackOff, climbing restarts, Error exit 1, interleaved BackOff', () => {
    const backOff = events.filter((e) => e.reason === 'BackOff' && e.namespace === 'shop' && e.message.includes(' in pod checkout-'));
    expect(new Set(backOff.map((e) => e.uid)).size).toBe(1);
    const podUid = backOff[0]?.regarding.uid as string;
    const podName = backOff[0]?.regarding.name as string;
    expect(backOff[0]).toMatchObject({ type: 'Warning', reportingController: 'kubelet', reportingInstance: 'node-b' });
    expect(backOff[0]?.regarding.fieldPath).toBe('spec.containers{app}');
    expect(backOff[0]?.message).toBe(`Back-off restarting failed container app in pod ${podName}_shop(${podUid})`);

    const states = podStates(podUid);
    expect(states[0]?.pod.spec.nodeName).toBe('node-b');
    expect(ownerChain(states[0]?.pod.metadata as Meta)).toEqual([expect.stringMatching(/^ReplicaSet\/checkout-/), 'Deployment/checkout']);
    const looping = states.filter((s) => s.pod.status.containerStatuses?.[0]?.state.waiting?.reason === 'CrashLoopBackOff');
    const restarts = [...new Set(looping.map((s) => s.pod.status.containerStatuses?.[0]?.restartCount))];
    expect(restarts).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    for (const s of looping) {
      const c = s.pod.status.containerStatuses?.[0] as ContainerStatus;
      expect(c.name).toBe('app');
      expect(c.lastState.terminated).toMatchObject({ reason: 'Error', exitCode: 1 });
    }
    // a BackOff occurrence between each back-off and the next one
    const loopStarts = restarts.map((n) => looping.find((s) => s.pod.status.containerStatuses?.[0]?.restartCount === n)?.at as number);
    for (let i = 0; i + 1 < loopStarts.length; i++) {
      expect(backOff.some((e) => e.lastTimestamp >= (loopStarts[i] as number) && e.lastTimestamp < (loopStarts[i + 1] as number))).toBe(true);
    }
  });

  it('story 2b: an OOMKilled container (exit 137) on shop/cart with BackOff', () => {
    const oom = records.filter(
      (r) => r.kind === 'Pod' && (r.event.object as PodObject).status.containerStatuses?.[0]?.lastState.terminated?.reason === 'OOMKilled',
    );
    expect(oom.length).toBeGreaterThan(0);
    const pod = oom[0]?.event.object as PodObject;
    expect(pod.metadata.namespace).toBe('shop');
    expect(ownerChain(pod.metadata)).toEqual([expect.stringMatching(/^ReplicaSet\/cart-/), 'Deployment/cart']);
    expect(pod.status.containerStatuses?.[0]?.lastState.terminated?.exitCode).toBe(137);
    expect(events.some((e) => e.reason === 'BackOff' && e.regarding.uid === pod.metadata.uid)).toBe(true);
  });

  it('story 3: node-a goes NotReady, its pods get NodeNotReady then TaintManagerEviction and are replaced elsewhere', () => {
    const nodeStates = records.filter((r) => r.kind === 'Node' && (r.event.object as NodeObject).metadata.name === 'node-a');
    const notReady = nodeStates.find((r) => (r.event.object as NodeObject).status.conditions.some((c) => c.type === 'Ready' && c.status === 'Unknown'));
    expect(notReady).toBeDefined();
    const readyCondition = (notReady?.event.object as NodeObject).status.conditions.find((c) => c.type === 'Ready');
    expect(readyCondition?.message).toBe('Kubelet stopped posting node status.');
    expect(
      nodeStates.some((r) => (r.event.object as NodeObject).spec.taints?.some((t) => t.key === 'node.kubernetes.io/unreachable' && t.effect === 'NoExecute')),
    ).toBe(true);

    const nodeEvent = events.find((e) => e.reason === 'NodeNotReady' && e.regarding.kind === 'Node');
    expect(nodeEvent).toMatchObject({ reportingController: 'node-controller', message: 'Node node-a status is now: NodeNotReady', namespace: 'default' });
    expect(nodeEvent?.regarding.name).toBe('node-a');

    const podEvents = events.filter((e) => e.reason === 'NodeNotReady' && e.regarding.kind === 'Pod');
    expect(podEvents.length).toBeGreaterThanOrEqual(4);
    expect(podEvents.length).toBeLessThanOrEqual(6);
    const namespaces = new Set(podEvents.map((e) => e.namespace));
    expect(namespaces.size).toBeGreaterThanOrEqual(2);
    expect(namespaces.size).toBeLessThanOrEqual(3);
    for (const e of podEvents) {
      expect(e).toMatchObject({ type: 'Warning', message: 'Node is not ready', reportingController: 'node-controller' });
      const states = podStates(e.regarding.uid as string);
      expect(states.filter((st) => st.at <= e.lastTimestamp).at(-1)?.pod.spec.nodeName).toBe('node-a');
      const eviction = events.find((x) => x.reason === 'TaintManagerEviction' && x.regarding.uid === e.regarding.uid);
      expect(eviction).toMatchObject({
        reportingController: 'taint-eviction-controller',
        message: `Marking for deletion Pod ${e.namespace}/${e.regarding.name}`,
      });
      // the pods tolerate the unreachable taint for 300s
      expect((eviction?.lastTimestamp as number) - e.lastTimestamp).toBeGreaterThanOrEqual(299 * SEC);
      expect((eviction?.lastTimestamp as number) - e.lastTimestamp).toBeLessThan(301 * SEC);
      const deleted = states.find((s) => s.type === 'DELETED');
      expect(deleted?.at).toBeGreaterThan(eviction?.lastTimestamp as number);
      // the ReplicaSet recreated it on another node
      const rsUid = states[0]?.pod.metadata.ownerReferences?.[0]?.uid;
      const created = new Set(
        records
          .filter((r) => r.kind === 'Pod' && r.event.type === 'ADDED' && (r.time ?? 0) > (eviction?.lastTimestamp as number))
          .map((r) => r.event.object as PodObject)
          .filter((p) => p.metadata.ownerReferences?.[0]?.uid === rsUid)
          .map((p) => p.metadata.uid),
      );
      const replacement = records.find(
        (r) => r.kind === 'Pod' && created.has((r.event.object as PodObject).metadata.uid) && (r.event.object as PodObject).status.phase === 'Running',
      );
      expect(replacement, `a replacement for ${e.regarding.name}`).toBeDefined();
      expect(['node-b', 'node-c']).toContain((replacement?.event.object as PodObject).spec.nodeName);
    }
    expect(nodeEvent?.lastTimestamp).toBeLessThanOrEqual(Math.min(...podEvents.map((e) => e.lastTimestamp)));
  });

  it('image pull failures on web/frontend: Pulling, Failed, ErrImagePull, BackOff, ImagePullBackOff', () => {
    const frontend = events.filter((e) => e.namespace === 'web' && e.regarding.name?.startsWith('frontend-') && e.reportingController === 'kubelet');
    const image = 'registry.example.com/frontend:v2.3.1';
    const seen = (reason: string, message: string | RegExp): KubeEvent | undefined =>
      frontend.find((e) => e.reason === reason && (typeof message === 'string' ? e.message === message : message.test(e.message)));
    expect(seen('Pulling', `Pulling image "${image}"`)).toBeDefined();
    expect(seen('Failed', new RegExp(`^Failed to pull image "${image.replace(/[.]/g, '\\.')}": .*not found$`))?.type).toBe('Warning');
    expect(seen('Failed', 'Error: ErrImagePull')).toBeDefined();
    expect(seen('BackOff', `Back-off pulling image "${image}"`)).toBeDefined();
    expect(seen('Failed', 'Error: ImagePullBackOff')).toBeDefined();
    const podUid = frontend[0]?.regarding.uid as string;
    expect(podStates(podUid).some((s) => s.pod.status.containerStatuses?.[0]?.state.waiting?.reason === 'ImagePullBackOff')).toBe(true);
  });

  it('story 4: the batch Warning rate jumps far above its baseline for about 5 minutes', () => {
    const warnings = events.filter((e) => e.namespace === 'batch' && e.type === 'Warning' && e.lastTimestamp >= T);
    const perMinute = new Map<number, number>();
    for (const e of warnings) {
      const minute = Math.floor((e.lastTimestamp - T) / MIN);
      perMinute.set(minute, (perMinute.get(minute) ?? 0) + 1);
    }
    const rate = (from: number, to: number): number => {
      let n = 0;
      for (let m = from; m < to; m++) n += perMinute.get(m) ?? 0;
      return n / (to - from);
    };
    const baseline = rate(0, 19);
    expect(baseline).toBeGreaterThan(0.2);
    expect(baseline).toBeLessThan(1);
    const stormMinutes = [...perMinute].filter(([, n]) => n >= 10).map(([m]) => m);
    expect(stormMinutes.length).toBeGreaterThanOrEqual(4);
    expect(stormMinutes.length).toBeLessThanOrEqual(7);
    expect(rate(20, 25)).toBeGreaterThan(30 * baseline);
    expect(rate(20, 25)).toBeGreaterThan(24); // dozens per minute
    expect(rate(27, 40)).toBeLessThan(1);

    const storm = warnings.filter((e) => e.lastTimestamp >= T + 19 * MIN && e.lastTimestamp < T + 26 * MIN);
    expect(new Set(storm.map((e) => e.reason))).toEqual(new Set(['Unhealthy', 'FailedMount', 'BackOff']));
    expect(storm.some((e) => e.message.startsWith('MountVolume.SetUp failed for volume "data" : '))).toBe(true);
    const pods = new Set(storm.map((e) => e.regarding.uid as string));
    expect(pods.size).toBeGreaterThanOrEqual(3);
    for (const uid of pods) expect(ownerChain(podStates(uid)[0]?.pod.metadata as Meta).at(-1)).toBe('Deployment/worker');
  });

  it('normal rollouts in payments, shop, web and monitoring', () => {
    const scaling = events.filter((e) => e.reason === 'ScalingReplicaSet');
    expect(new Set(scaling.map((e) => e.namespace))).toEqual(new Set(['payments', 'shop', 'web', 'monitoring', 'batch']));
    expect(scaling.every((e) => e.reportingController === 'deployment-controller' && e.regarding.kind === 'Deployment')).toBe(true);
    expect(scaling.map((e) => e.message)).toContain('Scaled up replica set api-7d9f8b6c5 from 0 to 3');
    const created = events.filter((e) => e.reason === 'SuccessfulCreate');
    expect(created.every((e) => e.reportingController === 'replicaset-controller' && /^Created pod: /.test(e.message))).toBe(true);
    expect(created.map((e) => e.message)).toContain('Created pod: api-7d9f8b6c5-x2x9q');
    const started = events.filter((e) => e.reason === 'Started');
    expect(started.length).toBeGreaterThan(10);
    expect(started.every((e) => e.reportingController === 'kubelet' && /^spec\.containers\{[a-z-]+\}$/.test(e.regarding.fieldPath ?? ''))).toBe(true);
    for (const reason of ['Scheduled', 'Pulling', 'Pulled', 'Created']) expect(events.some((e) => e.reason === reason)).toBe(true);
  });

  it('ends with Events expiring (DELETED) and carries a few core/v1 Events', () => {
    const deleted = records.filter((r) => r.resource === 'events' && r.event.type === 'DELETED');
    expect(deleted.length).toBeGreaterThanOrEqual(2);
    expect(deleted.every((r) => (r.observedAt ?? 0) >= T + 35 * MIN)).toBe(true);
    const core = records.filter((r) => r.resource === 'events' && r.apiVersion === 'v1');
    expect(core.length).toBeGreaterThanOrEqual(2);
    expect(core.length).toBeLessThanOrEqual(3);
    for (const r of core)
      expect(Object.keys(r.event.object as object)).toEqual(
        expect.arrayContaining(['involvedObject', 'message', 'source', 'count', 'firstTimestamp', 'lastTimestamp']),
      );
  });

  it('parses the same way whole and through parseRecording', async () => {
    const parsed = parseRecording(await readFile(RECORDED, 'utf8'), RECORDED);
    expect(parsed.malformed).toEqual([]);
    expect(parsed.records).toHaveLength(records.length);
  });
});
