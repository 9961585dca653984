import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A script of test/env/ (kube.sh, kafka.sh), from the sources or from a compiled copy under dist/. */
export function testEnvScript(name: string): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, name), resolve(here, '../../../test/env', name)];
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`${name} not found (looked at ${candidates.join(', ')})`);
  return found;
}

/** The last `lines` lines of a log file, or a note that there is none. */
export function tailOfFile(file: string, lines: number): string {
  try {
    const text = readFileSync(file, 'utf8').replace(/\n$/, '');
    return text.split('\n').slice(-lines).join('\n');
  } catch {
    return `(no ${file})`;
  }
}
