/**
 * Summarises a V8 .cpuprofile (node --cpu-prof): the top functions by self time, and self time by
 * area (a source file of kubevents, a package, Node internals, GC). Compiled files are mapped back
 * to their TypeScript sources through the .js.map next to them.
 *
 *   node dist/bench/profile-summary.js FILE.cpuprofile [--top 15] [--json]
 */
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from './lib.js';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface FunctionRow {
  function: string;
  /** file:line, TypeScript source when a source map is found */
  location: string;
  area: string;
  selfMs: number;
  selfPct: number;
  totalMs: number;
  totalPct: number;
}

export interface ProfileSummary {
  totalMs: number;
  top: FunctionRow[];
  areas: Array<{ area: string; selfMs: number; selfPct: number }>;
}

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

const maps = new Map<string, SourceMap | null>();

function sourceMapFor(url: string): SourceMap | null {
  if (!url.startsWith('file://')) return null;
  let map = maps.get(url);
  if (map === undefined) {
    map = null;
    const file = `${fileURLToPath(url)}.map`;
    if (existsSync(file)) {
      try {
        map = new SourceMap(JSON.parse(readFileSync(file, 'utf8')));
      } catch {
        map = null;
      }
    }
    maps.set(url, map);
  }
  return map;
}

/** [file relative to the repository, 1-based line] of a frame, through its source map when there is one. */
function locate(frame: CallFrame): [string, number] {
  const { url } = frame;
  if (!url) return ['', 0];
  let file = url;
  let line = frame.lineNumber + 1;
  const map = sourceMapFor(url);
  if (map && frame.lineNumber >= 0) {
    const entry = map.findEntry(frame.lineNumber, Math.max(0, frame.columnNumber)) as { originalSource?: string; originalLine?: number };
    if (entry && entry.originalSource) {
      const src = entry.originalSource.startsWith('file://')
        ? entry.originalSource
        : pathToFileURL(resolve(dirname(fileURLToPath(url)), entry.originalSource)).href;
      file = src;
      line = (entry.originalLine ?? 0) + 1;
    }
  }
  if (file.startsWith('file://')) file = relative(ROOT, fileURLToPath(file));
  return [file, line];
}

/** The area a file belongs to: `src/operators/rate.ts`, `rxjs`, `node:internal`, ... */
function areaOf(file: string, fn: string): string {
  if (!file) {
    if (fn === '(garbage collector)') return 'GC';
    if (fn === '(program)' || fn === '(idle)' || fn === '(root)') return fn;
    return 'V8 builtins / native';
  }
  const nm = file.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = file.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (file.startsWith('node:')) return 'node internals';
  return file;
}

export function summarizeProfile(profile: CpuProfile, top = 15): ProfileSummary {
  const byId = new Map<number, ProfileNode>();
  for (const n of profile.nodes) byId.set(n.id, n);
  // self time per node: a sample lasts until the next one
  const selfUs = new Map<number, number>();
  const { samples, timeDeltas } = profile;
  let at = profile.startTime;
  for (let i = 0; i < samples.length; i++) {
    at += timeDeltas[i] ?? 0;
    const duration = i + 1 < samples.length ? (timeDeltas[i + 1] ?? 0) : profile.endTime - at;
    if (duration <= 0) continue;
    selfUs.set(samples[i]!, (selfUs.get(samples[i]!) ?? 0) + duration);
  }
  const keyOf = new Map<number, string>();
  const rows = new Map<string, { function: string; location: string; area: string; self: number; total: number }>();
  for (const n of profile.nodes) {
    const f = n.callFrame;
    const key = `${f.functionName}|${f.url}|${f.lineNumber}|${f.columnNumber}`;
    keyOf.set(n.id, key);
    if (!rows.has(key)) {
      const [file, line] = locate(f);
      rows.set(key, {
        function: f.functionName || '(anonymous)',
        location: file ? `${file}:${line}` : '',
        area: areaOf(file, f.functionName),
        self: 0,
        total: 0,
      });
    }
    rows.get(key)!.self += selfUs.get(n.id) ?? 0;
  }
  // inclusive time: each node's subtree, counted once per function on a path (recursion)
  const root = profile.nodes[0]!;
  const active = new Map<string, number>();
  const visit = (id: number): number => {
    const n = byId.get(id)!;
    const key = keyOf.get(id)!;
    active.set(key, (active.get(key) ?? 0) + 1);
    let sum = selfUs.get(id) ?? 0;
    for (const c of n.children ?? []) sum += visit(c);
    const depth = active.get(key)! - 1;
    if (depth === 0) active.delete(key);
    else active.set(key, depth);
    if (depth === 0) rows.get(key)!.total += sum;
    return sum;
  };
  const totalUs = visit(root.id);
  const idle = [...rows.values()].filter((r) => r.function === '(idle)').reduce((s, r) => s + r.self, 0);
  const busyUs = Math.max(1, totalUs - idle);
  const ms = (us: number) => Math.round(us / 100) / 10;
  const pct = (us: number) => Math.round((us / busyUs) * 1000) / 10;
  const sorted = [...rows.values()].filter((r) => r.function !== '(idle)' && r.function !== '(root)').sort((a, b) => b.self - a.self);
  const areas = new Map<string, number>();
  for (const r of rows.values()) if (r.function !== '(idle)' && r.function !== '(root)') areas.set(r.area, (areas.get(r.area) ?? 0) + r.self);
  return {
    totalMs: ms(busyUs),
    top: sorted.slice(0, top).map((r) => ({
      function: r.function,
      location: r.location,
      area: r.area,
      selfMs: ms(r.self),
      selfPct: pct(r.self),
      totalMs: ms(r.total),
      totalPct: pct(r.total),
    })),
    areas: [...areas].sort((a, b) => b[1] - a[1]).map(([area, us]) => ({ area, selfMs: ms(us), selfPct: pct(us) })),
  };
}

export function profileMarkdown(summary: ProfileSummary, areas = 12): string {
  const lines = [
    `CPU time sampled (excluding idle): ${summary.totalMs.toLocaleString('en')} ms`,
    '',
    '| # | function | where | self ms | self % | total % |',
    '| ---: | --- | --- | ---: | ---: | ---: |',
    ...summary.top.map((r, i) => `| ${i + 1} | \`${r.function}\` | ${r.location || r.area} | ${r.selfMs} | ${r.selfPct} | ${r.totalPct} |`),
    '',
    '| area (self time) | ms | % |',
    '| --- | ---: | ---: |',
    ...summary.areas.slice(0, areas).map((a) => `| ${a.area} | ${a.selfMs} | ${a.selfPct} |`),
  ];
  return lines.join('\n');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = parseArgs(process.argv.slice(2));
  const file = process.argv.slice(2).find((a) => !a.startsWith('--') && a.endsWith('.cpuprofile'));
  if (!file) {
    process.stderr.write('usage: node dist/bench/profile-summary.js FILE.cpuprofile [--top 15] [--json]\n');
    process.exit(2);
  }
  const summary = summarizeProfile(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, Number(args.get('top') ?? 15));
  process.stdout.write(args.has('json') ? `${JSON.stringify(summary, null, 2)}\n` : `${profileMarkdown(summary)}\n`);
}
