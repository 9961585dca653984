/**
 * The real Kafka broker of the integration tests, from TypeScript: a thin wrapper around
 * test/env/kafka.sh (which does the work and owns the state, in a run directory).
 *
 * - startKafka(): used once by the vitest global setup; provisions (cached), starts a single-node
 *   KRaft broker on free 127.0.0.1 ports in a fresh run directory, returns its KafkaEnv and stop().
 * - restartKafka(env) / stopKafkaBroker(env) / startKafkaBroker(env): control actions that test
 *   workers may call (they only need the KafkaEnv they got from `inject('kafkaEnv')`).
 *
 * Node built-ins only.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tailOfFile, testEnvScript } from './script-files.js';
import type { KafkaEnv } from './types.js';

const LOG_TAIL_LINES = 40;

/** The broker's own log tail, plus the JVM's stdout/stderr when it said anything (e.g. a JVM error). */
function logTail(runDir: string): string {
  const server = join(runDir, 'logs', 'server.log');
  const stdout = join(runDir, 'logs', 'stdout.log');
  let text = `--- last ${LOG_TAIL_LINES} lines of ${server} ---\n${tailOfFile(server, LOG_TAIL_LINES)}`;
  if (existsSync(stdout)) text += `\n--- last 10 lines of ${stdout} ---\n${tailOfFile(stdout, 10)}`;
  return text;
}

/**
 * Runs `kafka.sh COMMAND [RUN_DIR]`; its progress lines go to our stderr as they come.
 * Rejects with the script's last error lines and the broker's log tail when it exits non-zero.
 */
function runScript(command: string, runDir?: string, extraEnv: Record<string, string> = {}): Promise<string> {
  const args = [testEnvScript('kafka.sh'), command, ...(runDir ? [runDir] : [])];
  return new Promise((resolvePromise, reject) => {
    const child = spawn('bash', args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...extraEnv },
    });
    let stdout = '';
    const errLines: string[] = [];
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    let partial = '';
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
      if (code === 0) {
        resolvePromise(stdout);
        return;
      }
      // The script's own verdict: its ERROR / timed-out lines (e.g. which prerequisite to install).
      const verdict = errLines.filter((l) => /ERROR|timed out|exited|did not|FAILED|not found/.test(l)).slice(-5);
      const status = signal ? `signal ${signal}` : `exit ${code}`;
      let message = `kafka.sh ${command} failed (${status})`;
      if (verdict.length > 0) message += `:\n${verdict.join('\n')}`;
      if (runDir && command !== 'provision') message += `\n${logTail(runDir)}`;
      reject(new Error(message));
    });
  });
}

function readEnv(runDir: string): KafkaEnv {
  const state = JSON.parse(readFileSync(join(runDir, 'state.json'), 'utf8')) as KafkaEnv;
  // only the KafkaEnv fields: it must stay plain JSON for vitest's provide/inject
  return { brokers: [...state.brokers], runDir: state.runDir, logFile: state.logFile, security: { ...state.security } };
}

/**
 * Provisions (cached after the first time) and starts a fresh single-node broker in a new run
 * directory under os.tmpdir(). The broker is tied to this process: if it dies without calling
 * stop(), the broker stops by itself. stop() is idempotent and removes the run directory
 * (kept when KUBEVENTS_TESTENV_KEEP=1, or when stopping failed).
 */
export async function startKafka(): Promise<{ env: KafkaEnv; stop(): Promise<void> }> {
  const started = Date.now();
  await runScript('provision');
  const runDir = mkdtempSync(join(tmpdir(), 'kubevents-kafka-'));
  try {
    await runScript('start', runDir, { KUBEVENTS_TESTENV_OWNER_PID: String(process.pid) });
  } catch (error) {
    // no orphan on failure (start already cleans up; this covers a killed script)
    await runScript('stop', runDir).catch(() => undefined);
    throw error;
  }
  const env = readEnv(runDir);
  process.stderr.write(`[kafka] broker ${env.brokers.join(',')} ready (${((Date.now() - started) / 1000).toFixed(1)}s), run dir ${runDir}\n`);
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

/**
 * Stops the broker (clean shutdown) and starts it again on the same ports with the same data;
 * resolves once it serves metadata again. Callable from test workers.
 */
export async function restartKafka(env: KafkaEnv): Promise<void> {
  await runScript('restart', env.runDir);
}

/** Stops the broker, keeping its ports and data for startKafkaBroker(). Idempotent. */
export async function stopKafkaBroker(env: KafkaEnv): Promise<void> {
  await runScript('stop', env.runDir);
}

/** Starts a broker stopped by stopKafkaBroker() again, on the same ports and data. */
export async function startKafkaBroker(env: KafkaEnv): Promise<void> {
  await runScript('start', env.runDir);
}
