/**
 * Runs the independent Avro decoder (Apache Avro's Java library, test/interop/java/) on records
 * taken from a Kafka topic. First use on a machine resolves the jars from Maven Central with
 * `mvn dependency:copy-dependencies` and compiles the sources with javac, into the test-env cache
 * (${KUBEVENTS_TESTENV_CACHE:-~/.cache/kubevents/testenv}/avro-java/<avro version>-<sources hash>).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const HERE = dirname(fileURLToPath(import.meta.url));
const JAVA_DIR = join(HERE, 'java');
const SOURCES = join(JAVA_DIR, 'src/main/java');

function listJava(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? listJava(join(dir, d.name)) : d.name.endsWith('.java') ? [join(dir, d.name)] : [],
  );
}

function avroVersion(): string {
  const pom = readFileSync(join(JAVA_DIR, 'pom.xml'), 'utf8');
  return /<avro\.version>([^<]+)<\/avro\.version>/.exec(pom)?.[1] ?? 'unknown';
}

export function cacheDir(): string {
  return process.env.KUBEVENTS_TESTENV_CACHE ?? join(process.env.HOME ?? homedir(), '.cache/kubevents/testenv');
}

/** Jars + compiled classes, provisioned once per Avro version and sources. Returns the java classpath. */
export async function provisionAvroJava(): Promise<string> {
  const sources = listJava(SOURCES).sort();
  const hash = createHash('sha256');
  for (const f of sources) hash.update(readFileSync(f));
  const dir = join(cacheDir(), 'avro-java', `${avroVersion()}-${hash.digest('hex').slice(0, 12)}`);
  const lib = join(dir, 'lib');
  const classes = join(dir, 'classes');
  const ready = join(dir, 'ready');
  if (!existsSync(ready)) {
    const tmp = `${dir}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    try {
      await run('mvn', ['-q', '-B', '-f', join(JAVA_DIR, 'pom.xml'), 'dependency:copy-dependencies', `-DoutputDirectory=${join(tmp, 'lib')}`], {
        maxBuffer: 16 * 1024 * 1024,
        timeout: 900_000,
      });
    } catch (error) {
      rmSync(tmp, { recursive: true, force: true });
      throw new Error(`resolving org.apache.avro:avro with Maven failed (is mvn installed? apt-get install maven): ${(error as Error).message}`);
    }
    await run('javac', ['-d', join(tmp, 'classes'), '-cp', `${join(tmp, 'lib')}/*`, ...sources], { timeout: 300_000 });
    writeFileSync(join(tmp, 'ready'), new Date().toISOString());
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dirname(dir), { recursive: true });
    renameSync(tmp, dir);
  }
  return `${classes}:${lib}/*`;
}

export interface JavaInput {
  encoding: 'confluent' | 'avro-binary';
  kind: string;
  fingerprint: string;
  value: Buffer;
}

export interface JavaDecoded {
  schemaId: number | null;
  record: unknown;
}

/**
 * Decodes `records` with Avro Java, reading schemas/<Kind>.avsc as reader schemas and
 * `registrySchemas` (id -> schema text) as the confluent writer schemas.
 */
export async function decodeWithAvroJava(records: readonly JavaInput[], registrySchemas: ReadonlyMap<number, string>, workDir: string): Promise<JavaDecoded[]> {
  const classpath = await provisionAvroJava();
  const registryDir = join(workDir, 'registry');
  mkdirSync(registryDir, { recursive: true });
  for (const [id, text] of registrySchemas) writeFileSync(join(registryDir, `${id}.avsc`), text);
  const input = join(workDir, 'records.tsv');
  writeFileSync(input, records.map((r) => `${r.encoding}\t${r.kind}\t${r.fingerprint}\t${r.value.toString('base64')}\n`).join(''));
  const schemasDir = resolve(HERE, '../../schemas');
  const { stdout } = await run('java', ['-cp', classpath, 'io.kubevents.interop.DecodeRecords', schemasDir, registryDir, input], {
    maxBuffer: 256 * 1024 * 1024,
    timeout: 120_000,
  });
  return stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => {
      const tab = l.indexOf('\t');
      const id = l.slice(0, tab);
      return { schemaId: id === '-' ? null : Number(id), record: JSON.parse(l.slice(tab + 1)) as unknown };
    });
}
