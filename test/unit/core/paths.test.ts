import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { prepareOutDir } from '../../../src/cli/out-dir.js';
import { makeDirectory } from '../../../src/core/paths.js';

const codeOf = (f: () => void): string | undefined => {
  try {
    f();
    return undefined;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code;
  }
};

describe('makeDirectory (mkdir -p)', () => {
  it('creates missing parents, and is fine with folders that exist', () => {
    const root = mkdtempSync(join(tmpdir(), 'kv-mkdir-'));
    const deep = join(root, 'a', 'b', 'c');
    makeDirectory(deep);
    expect(statSync(deep).isDirectory()).toBe(true);
    makeDirectory(deep);
    makeDirectory(root);
  });

  it('a file on the way is ENOTDIR, a file at the place EEXIST', () => {
    const root = mkdtempSync(join(tmpdir(), 'kv-mkdir-'));
    writeFileSync(join(root, 'file'), 'x');
    expect(codeOf(() => makeDirectory(join(root, 'file', 'sub')))).toBe('ENOTDIR');
    expect(codeOf(() => makeDirectory(join(root, 'file')))).toBe('EEXIST');
  });

  it.runIf(process.platform === 'linux')('a folder the kernel refuses with ENOENT under a parent that exists (/proc): an error, not an endless loop', () => {
    // mkdirSync('/proc/x', { recursive: true }) never returns on Node 20
    expect(codeOf(() => makeDirectory('/proc/kubevents-no-such-folder/out'))).toBe('ENOENT');
    expect(() => prepareOutDir('/proc/kubevents-no-such-folder')).toThrow(
      'cannot write to --out /proc/kubevents-no-such-folder: the folder cannot be created there (ENOENT)',
    );
  });
});
