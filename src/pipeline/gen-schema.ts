/**
 * Writes schemas/pipeline.schema.json from the zod definition (src/pipeline/schema.ts), for editor
 * completion of pipeline files. Run with `npm run gen:schemas`; test/unit/pipeline/json-schema.test.ts
 * fails when the committed file is out of date.
 *
 *   node dist/src/pipeline/gen-schema.js [OUTPUT]     (default <package>/schemas/pipeline.schema.json)
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../core/paths.js';
import { pipelineJsonSchemaText } from './schema.js';

export const PIPELINE_JSON_SCHEMA_PATH = 'schemas/pipeline.schema.json';

const output = process.argv[2] ?? join(packageRoot(), PIPELINE_JSON_SCHEMA_PATH);
writeFileSync(output, pipelineJsonSchemaText());
process.stdout.write(`wrote ${output}\n`);
