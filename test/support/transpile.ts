/**
 * Makes a TypeScript entry file runnable by plain `node` in a child process, without a build:
 * transpiles it and every module it imports by relative path (no type check, TypeScript's
 * transpileModule) into a directory under node_modules/.cache, so that the output resolves the
 * project's packages from /work/main/node_modules as the sources do.
 *
 *   const script = transpileTree('test/integration/support/elector-child.ts');
 *   spawn(process.execPath, [script, ...args]);
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Transpiles `entry` (relative to the project root) and its relative imports; returns the entry's .js path. */
export function transpileTree(entry: string, outDir = join(PROJECT_ROOT, 'node_modules/.cache/kubevents-test-js')): string {
  const done = new Set<string>();
  const queue = [resolve(PROJECT_ROOT, entry)];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (done.has(file)) continue;
    done.add(file);
    const source = readFileSync(file, 'utf8');
    const output = ts.transpileModule(source, {
      fileName: file,
      compilerOptions: {
        module: ts.ModuleKind.ES2022,
        moduleResolution: ts.ModuleResolutionKind.Bundler,
        target: ts.ScriptTarget.ES2022,
        verbatimModuleSyntax: true,
        esModuleInterop: true,
        sourceMap: false,
      },
    }).outputText;
    const out = join(outDir, relative(PROJECT_ROOT, file)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, output);
    for (const m of output.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)\.js['"]/g)) {
      queue.push(resolve(dirname(file), `${m[1]}.ts`));
    }
  }
  return join(outDir, relative(PROJECT_ROOT, resolve(PROJECT_ROOT, entry))).replace(/\.ts$/, '.js');
}
