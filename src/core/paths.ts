import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

let cachedRoot: string | undefined;

/**
 * The installed package's root (where package.json, schemas/ and pipelines/ live). Found by
 * walking up from this module, because the code runs both from src/ (vitest) and dist/src/ (node).
 */
export function packageRoot(): string {
  if (cachedRoot) return cachedRoot;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string };
      if (pkg.name === 'kubevents') return (cachedRoot = dir);
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find the kubevents package root above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

/**
 * `mkdir -p`: creates `dir` and its missing parents. Not `mkdirSync(dir, { recursive: true })`:
 * Node 20's recursive mkdir loops for ever when the kernel answers ENOENT under a parent that
 * exists (`--out /proc/x`, some FUSE and overlay mounts); here each folder is made once and the
 * error of the first that cannot be made is thrown.
 */
export function makeDirectory(dir: string): void {
  const missing: string[] = [];
  for (let current = resolve(dir); ;) {
    try {
      if (statSync(current).isDirectory()) break;
      throw Object.assign(new Error(`${current} exists and is not a folder`), { code: current === resolve(dir) ? 'EEXIST' : 'ENOTDIR' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    missing.push(current);
    const parent = dirname(current);
    if (parent === current) break;
    current = parent;
  }
  for (const folder of missing.reverse()) {
    try {
      mkdirSync(folder);
    } catch (error) {
      // made meanwhile by someone else: fine
      if ((error as NodeJS.ErrnoException).code === 'EEXIST' && statSync(folder).isDirectory()) continue;
      throw error;
    }
  }
}
