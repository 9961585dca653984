import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const cli = join(root, 'dist', 'src', 'cli', 'main.js');
const pyavro = join(root, 'test', 'env', 'pyavro.sh');

/** Rows of the summary's "files written" table: topic | schema | records | file. */
function filesTable(stdout: string): Array<{ topic: string; schema: string; records: number; path: string }> {
  const rows: Array<{ topic: string; schema: string; records: number; path: string }> = [];
  for (const line of stdout.split('\n')) {
    const cells = line
      .split('│')
      .map((c) => c.trim())
      .filter(Boolean);
    if (cells.length === 4 && cells[3]!.endsWith('.avro')) {
      rows.push({ topic: cells[0]!, schema: cells[1]!, records: Number(cells[2]), path: cells[3]! });
    }
  }
  return rows;
}

function totalsRow(stdout: string): Record<string, number> {
  const lines = stdout.split('\n');
  const headerIndex = lines.findIndex((l) => l.includes('events') && l.includes('warnings') && l.includes('malformed'));
  const cells = (l: string) =>
    l
      .split('│')
      .map((c) => c.trim())
      .filter(Boolean);
  const head = cells(lines[headerIndex]!);
  const values = cells(lines[headerIndex + 2]!).map(Number);
  return Object.fromEntries(head.map((h, i) => [h, values[i]!]));
}

describe('the embedded default (kubevents run with nothing configured)', () => {
  let out: string;
  let stdout: string;
  let stderr: string;

  beforeAll(async () => {
    out = mkdtempSync(join(tmpdir(), 'kubevents-embedded-'));
    // the built CLI, as `npm start` runs it (npm test builds first)
    ({ stdout, stderr } = await run(process.execPath, [cli, 'run', '--out', out, '--log-level', 'warn'], { cwd: root, maxBuffer: 64 * 1024 * 1024 }));
  }, 120_000);

  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('prints a summary with events, warnings and the files written on stderr; stdout (not a terminal) carries no data, so it stays empty', () => {
    expect(stdout).toBe('');
    const totals = totalsRow(stderr);
    expect(totals['events']).toBeGreaterThan(300);
    expect(totals['warnings']).toBeGreaterThan(50);
    expect(totals['malformed (skipped)']).toBe(0);
    const files = filesTable(stderr);
    expect(files.find((f) => f.topic === 'k8s.events')?.records).toBe(totals['events']);
    expect(readdirSync(out).sort()).toEqual(files.map((f) => `${f.topic}.avro`).sort());
  });

  it('writes Avro files that Apache Avro (Python) decodes with the published schemas, as many records as the summary says', async () => {
    const files = filesTable(stderr);
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const schema = join(root, 'schemas', `${file.schema}.avsc`);
      const { stdout: decoded } = await run('bash', [pyavro, 'decode', schema, file.path], { maxBuffer: 256 * 1024 * 1024 });
      const [meta, ...records] = decoded
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(meta).toEqual({ codec: 'deflate' });
      expect(records).toHaveLength(file.records);
      if (file.schema === 'KubeEvent') {
        for (const r of records) {
          expect(typeof r['idempotencyKey']).toBe('string');
          expect(typeof r['lastTimestamp']).toBe('number');
        }
        // occurrences are unique by their idempotency key
        expect(new Set(records.map((r) => r['idempotencyKey'])).size).toBe(records.length);
      }
    }
  }, 300_000);
});
