/**
 * The real Schema Registry of the integration tests (Apicurio Registry 3, Confluent-compatible API
 * under /apis/ccompat/v7), from TypeScript: a thin wrapper around test/env/registry.sh, which does
 * the work and owns the state, in a run directory.
 *
 * - startRegistry(): used once by the vitest global setup; provisions (cached), starts the registry
 *   on free 127.0.0.1 ports in a fresh run directory, returns its RegistryEnv and stop().
 * - RegistryRestClient: the few Confluent REST calls tests make directly (what CI or another team
 *   would do with curl: pre-register a subject, set its compatibility, read it back), each with a
 *   timeout and the response body in its errors.
 *
 * Node built-ins only.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tailOfFile, testEnvScript } from './script-files.js';
import type { RegistryEnv } from './types.js';

function runScript(command: string, runDir?: string, extraEnv: Record<string, string> = {}): Promise<string> {
  const args = [testEnvScript('registry.sh'), command, ...(runDir ? [runDir] : [])];
  return new Promise((resolvePromise, reject) => {
    const child = spawn('bash', args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...extraEnv } });
    let stdout = '';
    const errLines: string[] = [];
    let partial = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      process.stderr.write(chunk);
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      errLines.push(...lines);
      if (errLines.length > 200) errLines.splice(0, errLines.length - 200);
    });
    child.on('error', (error) => reject(new Error(`could not run ${args.join(' ')}: ${error.message}`)));
    child.on('close', (code, signal) => {
      if (partial) errLines.push(partial);
      if (code === 0) return resolvePromise(stdout);
      // the script's own verdict (e.g. which Java to install)
      const verdict = errLines.filter((l) => /ERROR|timed out|exited|did not|FAILED|not found/.test(l)).slice(-5);
      let message = `registry.sh ${command} failed (${signal ? `signal ${signal}` : `exit ${code}`})`;
      if (verdict.length > 0) message += `:\n${verdict.join('\n')}`;
      if (runDir && command !== 'provision') {
        const log = join(runDir, 'logs', 'registry.log');
        message += `\n--- last 40 lines of ${log} ---\n${tailOfFile(log, 40)}`;
      }
      reject(new Error(message));
    });
  });
}

/**
 * Provisions (cached after the first time) and starts a fresh registry in a new run directory under
 * os.tmpdir(), tied to this process (it stops by itself if this process dies without stop()).
 * stop() is idempotent and removes the run directory (kept with KUBEVENTS_TESTENV_KEEP=1).
 */
export async function startRegistry(): Promise<{ env: RegistryEnv; stop(): Promise<void> }> {
  const started = Date.now();
  await runScript('provision');
  const runDir = mkdtempSync(join(tmpdir(), 'kubevents-registry-'));
  try {
    await runScript('start', runDir, { KUBEVENTS_TESTENV_OWNER_PID: String(process.pid) });
  } catch (error) {
    await runScript('stop', runDir).catch(() => undefined);
    throw error;
  }
  const state = JSON.parse(readFileSync(join(runDir, 'state.json'), 'utf8')) as RegistryEnv & Record<string, unknown>;
  const env: RegistryEnv = { url: state.url, runDir: state.runDir, logFile: state.logFile, version: state.version };
  process.stderr.write(`[registry] ${env.version} at ${env.url} ready (${((Date.now() - started) / 1000).toFixed(1)}s), run dir ${runDir}\n`);
  let stopped: Promise<void> | undefined;
  return {
    env,
    stop() {
      stopped ??= runScript('stop', runDir).then(() => {
        if (process.env.KUBEVENTS_TESTENV_KEEP !== '1') rmSync(runDir, { recursive: true, force: true });
      });
      return stopped;
    },
  };
}

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

/** An error answer of the registry: HTTP status, Confluent error_code and message. */
export class RegistryHttpError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: number | undefined,
    readonly body: string,
    what: string,
  ) {
    super(`schema registry: ${what}: HTTP ${status}: ${body.slice(0, 500)}`);
    this.name = 'RegistryHttpError';
  }
}

/** Direct Confluent REST calls (the ones a CI job or another producer makes), each with a timeout. */
export class RegistryRestClient {
  constructor(
    readonly url: string,
    private readonly timeoutMs = 10_000,
  ) {}

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const what = `${method} ${path}`;
    let response: Response;
    try {
      response = await fetch(`${this.url}${path}`, {
        method,
        headers: { accept: CONTENT_TYPE, ...(body === undefined ? {} : { 'content-type': CONTENT_TYPE }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw new Error(`schema registry: ${what} at ${this.url}: ${(error as Error).message}`, { cause: error });
    }
    const text = await response.text();
    if (!response.ok) {
      let code: number | undefined;
      try {
        code = (JSON.parse(text) as { error_code?: number }).error_code;
      } catch {
        code = undefined;
      }
      throw new RegistryHttpError(response.status, code, text, what);
    }
    return (text ? JSON.parse(text) : undefined) as T;
  }

  subjects(): Promise<string[]> {
    return this.call('GET', '/subjects');
  }

  versions(subject: string): Promise<number[]> {
    return this.call('GET', `/subjects/${encodeURIComponent(subject)}/versions`);
  }

  latest(subject: string): Promise<{ id: number; version: number; schema: string }> {
    return this.call('GET', `/subjects/${encodeURIComponent(subject)}/versions/latest`);
  }

  register(subject: string, schema: string): Promise<{ id: number }> {
    return this.call('POST', `/subjects/${encodeURIComponent(subject)}/versions`, { schema });
  }

  schemaById(id: number): Promise<{ schema: string }> {
    return this.call('GET', `/schemas/ids/${id}`);
  }

  /** The subject-level compatibility (404 when the subject is unknown). */
  compatibility(subject: string): Promise<{ compatibilityLevel: string }> {
    return this.call('GET', `/config/${encodeURIComponent(subject)}`);
  }

  setCompatibility(subject: string, compatibility: string): Promise<unknown> {
    return this.call('PUT', `/config/${encodeURIComponent(subject)}`, { compatibility });
  }
}
