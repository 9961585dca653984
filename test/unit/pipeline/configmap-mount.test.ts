/**
 * Pipelines mounted from a ConfigMap, in the kubelet's exact layout: each key is a symlink into
 * `..data`, itself a symlink to a timestamped folder that an update replaces by an atomic rename
 * of a new `..data` link (what kubelet's AtomicWriter does).
 */
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadPipelines } from '../../../src/pipeline/load.js';
import { watchPipelineFiles } from '../../../src/pipeline/watch-files.js';

const pipeline = (name: string, reason: string) =>
  `apiVersion: kubevents/v1\nkind: Pipeline\nmetadata: {name: ${name}}\nspec:\n  stages: [{filter: {reason: ${reason}}}]\n  sinks: [console]\n`;

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A mounted ConfigMap with these keys; returns the mount and an `update` that swaps in new contents. */
function mount(files: Record<string, string>): { dir: string; update(next: Record<string, string>): void } {
  const dir = mkdtempSync(join(tmpdir(), 'kubevents-configmap-'));
  dirs.push(dir);
  let n = 0;
  const version = (contents: Record<string, string>): string => {
    const name = `..2026_12_04_10_00_0${n++}.${100 + n}`;
    mkdirSync(join(dir, name));
    for (const [key, text] of Object.entries(contents)) writeFileSync(join(dir, name, key), text);
    return name;
  };
  symlinkSync(version(files), join(dir, '..data'));
  for (const key of Object.keys(files)) symlinkSync(join('..data', key), join(dir, key));
  return {
    dir,
    update(next) {
      const name = version(next);
      symlinkSync(name, join(dir, '..data_tmp'));
      renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
      for (const key of Object.keys(next)) {
        try {
          symlinkSync(join('..data', key), join(dir, key));
        } catch {
          // the key existed already
        }
      }
    },
  };
}

describe('pipelines from a kubelet-mounted ConfigMap', () => {
  it('loads the keys through their symlinks and skips the kubelet entries (..data, ..<timestamp>)', async () => {
    const { dir } = mount({ 'a.yaml': pipeline('a', 'BackOff'), 'b.yml': pipeline('b', 'Failed') });
    const result = await loadPipelines([dir]);
    expect(result.diagnostics).toEqual([]);
    expect(result.pipelines.map((p) => p.name)).toEqual(['a', 'b']);
    expect(result.files).toEqual([join(dir, 'a.yaml'), join(dir, 'b.yml')]);
  });

  it('after the ..data swap, loading again (the reload) reads the new version', async () => {
    const cm = mount({ 'a.yaml': pipeline('a', 'BackOff') });
    cm.update({ 'a.yaml': pipeline('a', 'Evicted'), 'c.yaml': pipeline('c', 'Killing') });
    const result = await loadPipelines([cm.dir]);
    expect(result.ok).toBe(true);
    expect(result.pipelines.map((p) => [p.name, JSON.stringify(p.document.spec.stages)])).toEqual([
      ['a', JSON.stringify([{ filter: { reason: 'Evicted' } }])],
      ['c', JSON.stringify([{ filter: { reason: 'Killing' } }])],
    ]);
  });

  it('a dangling key (its target gone) is not a pipeline file; an empty mount says so', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kubevents-configmap-'));
    dirs.push(dir);
    symlinkSync(join('..data', 'gone.yaml'), join(dir, 'gone.yaml'));
    const result = await loadPipelines([dir]);
    expect(result.ok).toBe(false);
    expect(result.diagnostics.map((d) => d.message)).toEqual(['no pipeline files (*.yaml, *.yml) in this folder']);
  });

  it('the swap is seen by the watcher: one reload after the burst of changes', async () => {
    const cm = mount({ 'a.yaml': pipeline('a', 'BackOff') });
    let reloads = 0;
    const stop = await watchPipelineFiles([cm.dir], () => reloads++, { debounceMs: 100 });
    try {
      cm.update({ 'a.yaml': pipeline('a', 'Evicted') });
      await new Promise((r) => setTimeout(r, 600));
      expect(reloads).toBe(1);
    } finally {
      stop();
    }
  });
});
