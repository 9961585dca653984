/**
 * deploy/entrypoint.sh sizes V8's old generation from the container's memory limit: cgroup v2 and
 * v1 files (a fake cgroup root), no limit, an explicit --max-old-space-size left alone. The node it
 * execs is a stand-in that prints its arguments.
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
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(files: Record<string, string>, args: string[] = ['run'], env: Record<string, string> = {}): string {
  const root = mkdtempSync(join(dir, 'cg-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(root, name, '..'), { recursive: true });
    writeFileSync(join(root, name), text);
  }
  return execFileSync('sh', [join(packageRoot(), 'deploy', 'entrypoint.sh'), ...args], {
    env: { PATH: process.env['PATH'] ?? '', KUBEVENTS_CGROUP_ROOT: root, KUBEVENTS_NODE: fakeNode, KUBEVENTS_MAIN: 'main.js', ...env },
    encoding: 'utf8',
  }).trim();
}

describe('deploy/entrypoint.sh', () => {
  it('cgroup v2: 60 % of memory.max', () => {
    expect(run({ 'memory.max': `${512 * 1024 * 1024}\n` }, ['run', '--source=kube'])).toBe('--max-old-space-size=307 main.js run --source=kube');
  });
  it('cgroup v1: 60 % of memory.limit_in_bytes; KUBEVENTS_HEAP_PERCENT changes the share; at least 64 MiB', () => {
    expect(run({ 'memory/memory.limit_in_bytes': `${256 * 1024 * 1024}\n` })).toBe('--max-old-space-size=153 main.js run');
    expect(run({ 'memory/memory.limit_in_bytes': `${256 * 1024 * 1024}\n` }, ['run'], { KUBEVENTS_HEAP_PERCENT: '50' })).toBe(
      '--max-old-space-size=128 main.js run',
    );
    expect(run({ 'memory.max': `${64 * 1024 * 1024}\n` })).toBe('--max-old-space-size=64 main.js run');
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
