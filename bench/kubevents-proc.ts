/**
 * The real CLI (`kubevents run --source kube`) as a child process of a benchmark, measured from the
 * outside: its run config, the spawn, and /proc samples (RSS, peak RSS, CPU seconds). Used by
 * bench/cluster.ts, bench/peer.ts and bench/steady.ts.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { round2 } from './lib.js';

const here = dirname(fileURLToPath(import.meta.url)); // dist/bench
/** The built CLI. */
export const CLI = join(here, '..', 'src', 'cli', 'main.js');
/** The preload that logs the child's process.memoryUsage() (bench/mem-log.ts). */
export const MEM_LOG = join(here, 'mem-log.js');

export interface ProcStats {
  /** VmRSS, MB */
  rssMB: number;
  /** VmHWM (peak RSS so far), MB */
  hwmMB: number;
  /** utime + stime, s */
  cpuS: number;
}

/** A process's RSS, peak RSS and CPU seconds from /proc; null once it has exited. */
export function procStats(pid: number): ProcStats | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    // a zombie (exited, not yet reaped) has no memory lines: gone
    if (!/^VmRSS:/m.test(status)) return null;
    const kb = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return { rssMB: round2(kb('VmRSS') / 1024), hwmMB: round2(kb('VmHWM') / 1024), cpuS: round2(ticks / 100) };
  } catch {
    return null;
  }
}

/** A running child sampled every `everyMs`: its last /proc sample is kept, so its numbers survive a kill -9. */
export class MeasuredProcess {
  last: ProcStats | null = null;
  private readonly timer: NodeJS.Timeout;
  constructor(
    readonly proc: ChildProcess,
    everyMs = 200,
    private readonly onSample?: (s: ProcStats) => void,
  ) {
    this.timer = setInterval(() => this.sample(), everyMs);
  }
  sample(): ProcStats | null {
    const s = this.proc.pid ? procStats(this.proc.pid) : null;
    if (s) {
      this.last = s;
      this.onSample?.(s);
    }
    return this.last;
  }
  async stop(signal: NodeJS.Signals): Promise<ProcStats | null> {
    const s = this.sample();
    clearInterval(this.timer);
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      const exited = new Promise((r) => this.proc.once('exit', r));
      this.proc.kill(signal);
      await exited;
    }
    return s;
  }
}

export interface KubeventsTopics {
  events: string;
  alerts: string;
  incidents: string;
  gaps: string;
  deadLetters: string;
}

/** A run config: the broker, Avro binary, metrics on a free port, the topics. */
export function kubeventsConfig(brokers: readonly string[], topics: KubeventsTopics): string {
  return [
    'kafka:',
    `  brokers: [${brokers.map((b) => JSON.stringify(b)).join(', ')}]`,
    'encoding: avro-binary',
    'metrics: {address: 127.0.0.1, port: 0}',
    'topics:',
    `  events: ${topics.events}`,
    `  alerts: ${topics.alerts}`,
    `  incidents: ${topics.incidents}`,
    `  gaps: ${topics.gaps}`,
    `  deadLetters: ${topics.deadLetters}`,
    '',
  ].join('\n');
}

export interface KubeventsRun {
  kubeconfig: string;
  configFile: string;
  checkpointFile: string;
  cluster: string;
  /** --max-old-space-size; 0 or null: Node's default */
  heapMb: number | null;
  stdio: StdioOptions;
  /** more node flags (before the script) */
  nodeFlags?: string[];
  env?: Record<string, string>;
}

/** `node [--max-old-space-size=N] dist/src/cli/main.js run --source kube ... --create-topics`, leader election off, log level info. */
export function spawnKubevents(r: KubeventsRun): ChildProcess {
  return spawn(
    process.execPath,
    [
      ...(r.heapMb && r.heapMb > 0 ? [`--max-old-space-size=${r.heapMb}`] : []),
      ...(r.nodeFlags ?? []),
      CLI,
      'run',
      '--source',
      'kube',
      '--kubeconfig',
      r.kubeconfig,
      '--config',
      r.configFile,
      '--checkpoint-file',
      r.checkpointFile,
      '--create-topics',
      '--cluster',
      r.cluster,
      '--log-level',
      'info',
    ],
    { stdio: r.stdio, env: { ...process.env, KUBEVENTS_LEADER_ELECTION_ENABLED: 'false', ...r.env } },
  );
}
