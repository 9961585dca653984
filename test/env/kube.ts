/**
 * The real Kubernetes control plane of the integration tests, from TypeScript: a thin wrapper around
 * test/env/kube.sh (which does the work and owns the state, in a run directory).
 *
 * - startKube(): used once by the vitest global setup; provisions (cached Go builds of etcd,
 *   kube-apiserver, kube-controller-manager, kube-scheduler and kwok), starts them on free
 *   127.0.0.1 ports in a fresh run directory, returns the KubeEnv and stop().
 * - restartApiserver / stopApiserver / startApiserver / compactEtcd: control actions that test
 *   workers may call with the KubeEnv they got from `inject('kubeEnv')`.
 *
 * Note on 410 Gone: kube-apiserver serves watches from its watch cache, which was filled at its
 * start. A watch from a resourceVersion older than the cache window gets 410 whether or not etcd was
 * compacted; `compactEtcd` makes old resourceVersions invalid in etcd itself (paginated lists with
 * old continue tokens, and everything served by etcd). To force 410 on every old resourceVersion:
 * `await compactEtcd(env); await restartApiserver(env);`.
 *
 * Environment knobs: KUBEVENTS_TESTENV_CACHE (build cache dir), KUBEVENTS_TESTENV_KEEP=1 (keep the
 * run directory with its logs after stop), KUBEVENTS_TESTENV_APISERVER_ARGS (extra kube-apiserver
 * flags, e.g. "--watch-cache=false"), KUBEVENTS_TESTENV_EVICTION_SECONDS (default not-ready /
 * unreachable toleration, 10).
 *
 * Node built-ins only.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tailOfFile, testEnvScript } from './script-files.js';
import type { KubeEnv } from './types.js';

const LOG_TAIL_LINES = 40;
export const KUBE_COMPONENTS = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok'] as const;
export type KubeComponent = (typeof KUBE_COMPONENTS)[number];

/** The component that failed to start, as recorded by kube.sh in RUN_DIR/run.env. */
function failedComponent(runDir: string): string | undefined {
  try {
    const m = /^FAILED_COMPONENT=(.+)$/m.exec(readFileSync(join(runDir, 'run.env'), 'utf8'));
    return m?.[1];
  } catch {
    return undefined;
  }
}

class ScriptError extends Error {
  constructor(
    message: string,
    readonly stderrTail: string,
  ) {
    super(message);
    this.name = 'KubeScriptError';
  }
}

interface RunOptions {
  /** forward the script's stderr (progress lines) to ours as it comes */
  stream?: boolean;
  env?: Record<string, string>;
}

/** Runs `kube.sh ARGS...`; resolves with its stdout, rejects with its last stderr lines. */
function runScript(args: string[], options: RunOptions = {}): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('bash', [testEnvScript('kube.sh'), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...options.env },
    });
    let stdout = '';
    let pending = '';
    const errLines: string[] = [];
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      if (options.stream) process.stderr.write(chunk);
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      errLines.push(...lines);
      if (errLines.length > 200) errLines.splice(0, errLines.length - 200);
    });
    child.on('error', (error) => reject(error));
    child.on('close', (code, signal) => {
      if (pending) errLines.push(pending);
      if (code === 0) {
        resolvePromise(stdout);
        return;
      }
      const how = signal ? `signal ${signal}` : `exit code ${String(code)}`;
      reject(new ScriptError(`kube.sh ${args.join(' ')} failed (${how})`, errLines.slice(-(LOG_TAIL_LINES * 2)).join('\n')));
    });
  });
}

interface StateFile {
  server: string;
  kubeconfigPath: string;
  token: string;
  etcdEndpoint: string;
  runDir: string;
  logFiles: Record<string, string>;
}

function readState(runDir: string): KubeEnv {
  const state = JSON.parse(readFileSync(join(runDir, 'state.json'), 'utf8')) as StateFile;
  return {
    server: state.server,
    kubeconfigPath: state.kubeconfigPath,
    token: state.token,
    etcdEndpoint: state.etcdEndpoint,
    runDir: state.runDir,
    logFiles: { ...state.logFiles },
  };
}

function describeFailure(error: unknown, runDir?: string): Error {
  const parts: string[] = [error instanceof Error ? error.message : String(error)];
  const component = runDir ? failedComponent(runDir) : undefined;
  if (error instanceof ScriptError && error.stderrTail) {
    // when the failing component's log is attached below, drop the copy kube.sh printed
    const output = component ? error.stderrTail.replace(/^----- last \d+ lines of .*-----\n[\s\S]*?^-----$/m, '(log tail below)') : error.stderrTail;
    parts.push(`--- kube.sh output (tail) ---\n${output}`);
  }
  if (runDir && component) {
    const log = join(runDir, 'logs', `${component}.log`);
    parts.push(`--- ${component} failed; last ${LOG_TAIL_LINES} lines of ${log} ---\n${tailOfFile(log, LOG_TAIL_LINES)}`);
  }
  return new Error(parts.join('\n'), { cause: error });
}

/**
 * Provisions (cached) and starts etcd, kube-apiserver, kube-controller-manager, kube-scheduler and
 * kwok in a fresh run directory under os.tmpdir(). Progress goes to stderr. On failure, everything
 * started is stopped and the Error carries the failing component's log tail.
 */
export async function startKube(): Promise<{ env: KubeEnv; stop(): Promise<void> }> {
  const started = Date.now();
  try {
    await runScript(['provision'], { stream: true });
  } catch (error) {
    throw describeFailure(error);
  }
  const runDir = mkdtempSync(join(tmpdir(), 'kubevents-kube-'));
  try {
    await runScript(['start', runDir], {
      stream: true,
      env: { KUBEVENTS_TESTENV_OWNER_PID: String(process.pid) },
    });
  } catch (error) {
    const failure = describeFailure(error, runDir);
    await runScript(['stop', runDir]).catch(() => undefined);
    throw failure;
  }
  const env = readState(runDir);
  process.stderr.write(`[kube] control plane ready at ${env.server} in ${((Date.now() - started) / 1000).toFixed(1)}s (run dir ${runDir})\n`);
  let stopped = false;
  return {
    env,
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      await runScript(['stop', runDir]);
      if (process.env.KUBEVENTS_TESTENV_KEEP) {
        process.stderr.write(`[kube] kept run directory ${runDir} (KUBEVENTS_TESTENV_KEEP)\n`);
      } else {
        rmSync(runDir, { recursive: true, force: true });
      }
    },
  };
}

async function control(env: KubeEnv, args: string[]): Promise<string> {
  try {
    return await runScript([args[0] ?? '', env.runDir, ...args.slice(1)]);
  } catch (error) {
    throw describeFailure(error, env.runDir);
  }
}

/** kill -9 kube-apiserver and start it again on the same port with the same flags; resolves when ready. */
export async function restartApiserver(env: KubeEnv): Promise<void> {
  await control(env, ['restart-apiserver']);
}

/** Stops kube-apiserver (SIGTERM, graceful; `{ kill: true }` for SIGKILL) and leaves it down. */
export async function stopApiserver(env: KubeEnv, options: { kill?: boolean } = {}): Promise<void> {
  await control(env, options.kill ? ['stop-apiserver', '--kill'] : ['stop-apiserver']);
}

/** Starts kube-apiserver again after stopApiserver (same port, same flags); resolves when ready. */
export async function startApiserver(env: KubeEnv): Promise<void> {
  await control(env, ['start-apiserver']);
}

/** Compacts etcd to its current revision; resolves with that revision. */
export async function compactEtcd(env: KubeEnv): Promise<number> {
  const out = await control(env, ['compact-etcd']);
  const revision = Number.parseInt(out.trim().split('\n').pop() ?? '', 10);
  if (!Number.isFinite(revision)) throw new Error(`compact-etcd printed no revision: ${out}`);
  return revision;
}

/** `kube.sh status`: one line per component; resolves true when all are running and healthy. */
export async function kubeStatus(env: KubeEnv): Promise<{ healthy: boolean; report: string }> {
  try {
    return { healthy: true, report: await runScript(['status', env.runDir]) };
  } catch (error) {
    return { healthy: false, report: error instanceof ScriptError ? error.stderrTail : String(error) };
  }
}

/** The last `lines` lines of a component's log, for diagnostics in failing tests. */
export function kubeLogTail(env: KubeEnv, component: KubeComponent, lines = LOG_TAIL_LINES): string {
  const file = env.logFiles[component] ?? join(env.runDir, 'logs', `${component}.log`);
  return tailOfFile(file, lines);
}
