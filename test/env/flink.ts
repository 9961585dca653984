/**
 * The Flink examples of docs/flink-example, from TypeScript: a thin wrapper around
 * test/env/flink.sh, which builds them once into the test-env cache (Maven, Flink 2.2.1 from Maven
 * Central) and runs them in a local Flink MiniCluster with `java -cp`.
 *
 * - provisionFlink(): builds (cached per content of docs/flink-example); call it in beforeAll.
 * - runEventCounts(args): the DataStream job (EventCounts) in bounded mode; its JSON lines.
 * - runFlinkSql(sql): a SQL file through RunSql; the rows of each query.
 * - flinkSqlTypes(files): the Flink SQL row type Flink derives from each .avsc.
 *
 * Every run has a timeout (the JVM is killed after it) and fails with the output's tail.
 * Node built-ins only.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testEnvScript } from './script-files.js';

interface Run {
  stdout: string;
  stderr: string;
  ms: number;
}

function flinkSh(args: string[], timeoutMs: number, echoStderr = false): Promise<Run> {
  const script = testEnvScript('flink.sh');
  const started = Date.now();
  return new Promise((resolve, reject) => {
    // own process group: a timeout kills the JVM with its wrapper
    const child = spawn('bash', [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
      if (stderr.length > 4_000_000) stderr = stderr.slice(-2_000_000);
      if (echoStderr) process.stderr.write(c);
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`could not run flink.sh ${args[0]}: ${error.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const ms = Date.now() - started;
      if (code === 0 && !timedOut) return resolve({ stdout, stderr, ms });
      const why = timedOut ? `timed out after ${timeoutMs} ms` : signal ? `signal ${signal}` : `exit ${code}`;
      // the interesting part of a Flink failure is its innermost "Caused by"
      const causes = stderr
        .split('\n')
        .filter((l) => /^Caused by:|ERROR|Exception:/.test(l))
        .slice(-6);
      reject(
        new Error(
          `flink.sh ${args.slice(0, 1).join(' ')} failed (${why}):\n${causes.join('\n')}\n--- last lines of its stderr ---\n${stderr.split('\n').slice(-25).join('\n')}`,
        ),
      );
    });
  });
}

/** Builds the examples (cold: about 30 s of Maven downloads; then cached). */
export async function provisionFlink(): Promise<void> {
  await flinkSh(['provision'], 900_000, true);
}

export interface WindowCount {
  windowStart: number;
  windowEnd: number;
  key: string;
  count: number;
}

export interface LateRecord {
  late: true;
  timestamp: number;
  key: string;
}

export interface EventCountsOptions {
  bootstrapServers: string;
  topic: string;
  encoding: 'confluent' | 'avro-binary';
  schema: string;
  key?: 'reason' | 'namespace';
  window?: string;
  outOfOrderness?: string;
  timeoutMs?: number;
}

/** EventCounts with --bounded: reads the topic to its end at start; the windows and late records it printed. */
export async function runEventCounts(o: EventCountsOptions): Promise<{ counts: WindowCount[]; late: LateRecord[]; ms: number }> {
  const args = ['job', '--bootstrap-servers', o.bootstrapServers, '--topic', o.topic, '--encoding', o.encoding, '--schema', o.schema, '--bounded'];
  if (o.key) args.push('--key', o.key);
  if (o.window) args.push('--window', o.window);
  if (o.outOfOrderness) args.push('--out-of-orderness', o.outOfOrderness);
  args.push('--group-id', `kubevents-test-${process.pid}-${Date.now()}`);
  const run = await flinkSh(args, o.timeoutMs ?? 180_000);
  const lines = run.stdout.split('\n').filter((l) => l.trim().length > 0);
  const parsed = lines.map((l) => {
    try {
      return JSON.parse(l) as WindowCount | LateRecord;
    } catch {
      throw new Error(`EventCounts printed a line that is not JSON: ${l}`);
    }
  });
  return {
    counts: parsed.filter((p): p is WindowCount => !('late' in p)),
    late: parsed.filter((p): p is LateRecord => 'late' in p),
    ms: run.ms,
  };
}

/** One row of a query: the query's number in the file, the row kind (+I, -U, +U, -D), the values. */
export interface SqlRow {
  query: number;
  kind: string;
  values: unknown[];
}

/** Runs `sql` (statements ending with ';' at the end of a line) with RunSql; the rows of its queries. */
export async function runFlinkSql(sql: string, options: { batch?: boolean; timeoutMs?: number } = {}): Promise<{ rows: SqlRow[]; ms: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'kv-flink-sql-'));
  try {
    const file = join(dir, 'statements.sql');
    writeFileSync(file, sql);
    const run = await flinkSh(['sql', ...(options.batch ? ['--batch'] : []), file], options.timeoutMs ?? 300_000);
    const rows = run.stdout
      .split('\n')
      .filter((l) => l.startsWith('['))
      .map((l) => {
        const [query, kind, values] = JSON.parse(l) as [number, string, unknown[]];
        return { query, kind, values };
      });
    return { rows, ms: run.ms };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Flink's own AvroSchemaConverter.convertToDataType of each .avsc (one string each). */
export async function flinkSqlTypes(files: string[]): Promise<string[]> {
  const run = await flinkSh(['sql-type', ...files], 120_000);
  return run.stdout.split('\n').filter((l) => l.startsWith('ROW<'));
}
