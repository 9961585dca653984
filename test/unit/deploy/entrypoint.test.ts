/**
 * deploy/entrypoint.sh sizes V8's old generation (and its semi-spaces) from the container's memory
 * limit: cgroup v2 and v1 files (a fake cgroup root), no limit, an explicit --max-old-space-size or
 * --max-semi-space-size left alone; MALLOC_ARENA_MAX. The node it execs is a stand-in that prints
 * its arguments (and, with `withArenas`, MALLOC_ARENA_MAX first).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../../src/core/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'kubevents-entrypoint-'));
const fakeNode = join(dir, 'node');
writeFileSync(fakeNode, '#!/bin/sh\necho "$@"\n');
chmodSync(fakeNode, 0o755);
const fakeNodeArenas = join(dir, 'node-arenas');
writeFileSync(fakeNodeArenas, '#!/bin/sh\necho "MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-unset} $@"\n');
chmodSync(fakeNodeArenas, 0o755);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(files: Record<string, string>, args: string[] = ['run'], env: Record<string, string> = {}, withArenas = false): string {
  const root = mkdtempSync(join(dir, 'cg-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(root, name, '..'), { recursive: true });
    writeFileSync(join(root, name), text);
  }
  return execFileSync('sh', [join(packageRoot(), 'deploy', 'entrypoint.sh'), ...args], {
    env: {
      PATH: process.env['PATH'] ?? '',
      KUBEVENTS_CGROUP_ROOT: root,
      KUBEVENTS_NODE: withArenas ? fakeNodeArenas : fakeNode,
      KUBEVENTS_MAIN: 'main.js',
      ...env,
    },
    encoding: 'utf8',
  }).trim();
}

describe('deploy/entrypoint.sh', () => {
  it('cgroup v2: 60 % of memory.max, semi-spaces of 1/64 of that', () => {
    expect(run({ 'memory.max': `${512 * 1024 * 1024}\n` }, ['run', '--source=kube'])).toBe(
      '--max-old-space-size=307 --max-semi-space-size=4 main.js run --source=kube',
    );
  });
  it('cgroup v1: 60 % of memory.limit_in_bytes; KUBEVENTS_HEAP_PERCENT changes the share; at least 64 MiB', () => {
    expect(run({ 'memory/memory.limit_in_bytes': `${256 * 1024 * 1024}\n` })).toBe('--max-old-space-size=153 --max-semi-space-size=2 main.js run');
    expect(run({ 'memory/memory.limit_in_bytes': `${256 * 1024 * 1024}\n` }, ['run'], { KUBEVENTS_HEAP_PERCENT: '50' })).toBe(
      '--max-old-space-size=128 --max-semi-space-size=2 main.js run',
    );
    expect(run({ 'memory.max': `${64 * 1024 * 1024}\n` })).toBe('--max-old-space-size=64 --max-semi-space-size=1 main.js run');
  });
  it('semi-spaces: at most 16 MiB; KUBEVENTS_SEMI_SPACE_MB instead (0: none); an explicit --max-semi-space-size left alone', () => {
    expect(run({ 'memory.max': `${4096 * 1024 * 1024}\n` })).toBe('--max-old-space-size=2457 --max-semi-space-size=16 main.js run');
    expect(run({ 'memory.max': `${512 * 1024 * 1024}\n` }, ['run'], { KUBEVENTS_SEMI_SPACE_MB: '8' })).toBe(
      '--max-old-space-size=307 --max-semi-space-size=8 main.js run',
    );
    expect(run({ 'memory.max': `${512 * 1024 * 1024}\n` }, ['run'], { KUBEVENTS_SEMI_SPACE_MB: '0' })).toBe('--max-old-space-size=307 main.js run');
    expect(run({ 'memory.max': `${512 * 1024 * 1024}\n` }, ['run'], { NODE_OPTIONS: '--max-semi-space-size=16' })).toBe('--max-old-space-size=307 main.js run');
  });
  it('MALLOC_ARENA_MAX=2 unless set, with or without a limit', () => {
    expect(run({ 'memory.max': `${256 * 1024 * 1024}\n` }, ['run'], {}, true)).toBe(
      'MALLOC_ARENA_MAX=2 --max-old-space-size=153 --max-semi-space-size=2 main.js run',
    );
    expect(run({}, ['run'], {}, true)).toBe('MALLOC_ARENA_MAX=2 main.js run');
    expect(run({}, ['run'], { MALLOC_ARENA_MAX: '4' }, true)).toBe('MALLOC_ARENA_MAX=4 main.js run');
  });
  it('no limit (v2 "max", v1 2^63), or no cgroup files: node as it is', () => {
    expect(run({ 'memory.max': 'max\n' })).toBe('main.js run');
    expect(run({ 'memory/memory.limit_in_bytes': '9223372036854771712\n' })).toBe('main.js run');
    expect(run({})).toBe('main.js run');
  });
  it('an explicit --max-old-space-size (NODE_OPTIONS or arguments) is left alone', () => {
    expect(run({ 'memory.max': `${512 * 1024 * 1024}\n` }, ['run'], { NODE_OPTIONS: '--max-old-space-size=100' })).toBe('main.js run');
  });
});
