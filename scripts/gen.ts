/**
 * `npm run gen`: writes what is generated from the component registries and schemas (see
 * scripts/docs.ts): schemas/pipeline.schema.json and the option tables of pipelines/README.md and
 * docs/alerting.md. test/unit/docs/generated.test.ts fails when one of them is stale.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../src/core/paths.js';
import { generatedFiles } from './docs.js';

const root = packageRoot();
const { files, problems } = generatedFiles(root);
for (const problem of problems) process.stderr.write(`gen: ${problem}\n`);
for (const [file, text] of files) {
  const path = join(root, file);
  let before = '';
  try {
    before = readFileSync(path, 'utf8');
  } catch {
    // a new file
  }
  if (before === text) continue;
  writeFileSync(path, text);
  process.stdout.write(`wrote ${file}\n`);
}
process.exitCode = problems.length > 0 ? 1 : 0;
