/**
 * Shared helpers of the benchmark processes: arguments, the result hand-off to bench/run.ts,
 * memory sampling, load average, the machine's description, percentiles.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';

/** `--kubeconfig` and `--brokers`, which every benchmark on the test control plane and broker needs. */
export function clusterArgs(args: Map<string, string>): { kubeconfig: string; brokers: string[] } {
  const kubeconfig = args.get('kubeconfig');
  const brokers = (args.get('brokers') ?? '').split(',').filter(Boolean);
  if (!kubeconfig || brokers.length === 0) throw new Error('--kubeconfig FILE and --brokers HOST:PORT are required');
  return { kubeconfig, brokers };
}

/** `--name value` and `--flag` arguments into a map. */
export function parseArgs(argv: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) continue;
    const eq = a.indexOf('=');
    if (eq > 0) {
      out.set(a.slice(2, eq), a.slice(eq + 1));
      continue;
    }
    const next = argv[i + 1];
    if (next !== undefined && !next.startsWith('--')) {
      out.set(a.slice(2), next);
      i++;
    } else {
      out.set(a.slice(2), 'true');
    }
  }
  return out;
}

export function intArg(args: Map<string, string>, name: string, fallback: number): number {
  const v = args.get(name);
  if (v === undefined) return fallback;
  const n = Number(v.replace(/_/g, ''));
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got ${v}`);
  return Math.floor(n);
}

/** Where a benchmark child writes its result (JSON) for bench/run.ts; printed to stdout when run alone. */
export function writeResult(args: Map<string, string>, result: unknown): void {
  const text = JSON.stringify(result, null, 2);
  const file = args.get('result-file');
  if (file) writeFileSync(file, text);
  else process.stdout.write(`${text}\n`);
}

export const MB = 1024 * 1024;

export function mb(bytes: number): number {
  return Math.round((bytes / MB) * 10) / 10;
}

export function loadAverage(): [number, number, number] {
  const [a, b, c] = os.loadavg();
  return [round2(a!), round2(b!), round2(c!)];
}

export function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

/** Peak RSS of this process so far, bytes (getrusage maxrss, reported in KiB on Linux). */
export function peakRss(): number {
  return process.resourceUsage().maxRSS * 1024;
}

/**
 * RSS samples: call `sample()` from hot loops (it reads RSS at most every `everyMs`), or
 * `start()` a timer for code that yields to the event loop.
 */
export class RssSampler {
  max = 0;
  samples = 0;
  private last = 0;
  private timer: NodeJS.Timeout | undefined;
  constructor(private readonly everyMs = 50) {}
  sample(): void {
    const now = performance.now();
    if (now - this.last < this.everyMs) return;
    this.last = now;
    this.read();
  }
  read(): void {
    const rss = process.memoryUsage.rss();
    this.samples++;
    if (rss > this.max) this.max = rss;
  }
  start(): this {
    this.timer = setInterval(() => this.read(), this.everyMs);
    this.timer.unref();
    return this;
  }
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.read();
  }
}

/** Heap used after a full GC (needs node --expose-gc), or null without it. */
export function heapAfterGc(): number | null {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return null;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** Nearest-rank percentile of sorted numbers. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export interface MachineInfo {
  nproc: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  os: string;
  hostname: string;
}

export function machineInfo(): MachineInfo {
  let nproc = os.availableParallelism();
  try {
    nproc = Number(execFileSync('nproc', { encoding: 'utf8' }).trim()) || nproc;
  } catch {
    // keep availableParallelism
  }
  let cpuModel = os.cpus()[0]?.model ?? 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpuModel = m[1]!.trim();
  } catch {
    // keep os.cpus()
  }
  return {
    nproc,
    cpuModel,
    memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    hostname: os.hostname(),
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Progress lines on stderr (stdout may carry the result). */
export function progress(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/**
 * A fixed reference workload (JSON round trips, Map lookups, string building), in ms of this
 * process's CPU time. On an idle machine of the same kind it is stable; when other processes share
 * the cores (hyperthreads, caches, memory bandwidth) it grows: compare runs by it.
 */
export function calibrate(): number {
  const doc = {
    metadata: { name: 'calibration', namespace: 'default', labels: { a: '1', b: '2' } },
    items: Array.from({ length: 20 }, (_, i) => ({ i, s: `item-${i}`, v: i * 1.5 })),
  };
  const map = new Map<string, number>();
  const cpu0 = process.cpuUsage();
  let acc = 0;
  for (let i = 0; i < 20_000; i++) {
    const text = JSON.stringify(doc);
    const back = JSON.parse(text) as typeof doc;
    const key = `${back.metadata.name}/${i % 1000}`;
    map.set(key, (map.get(key) ?? 0) + back.items.length);
    acc += text.length;
  }
  const c = process.cpuUsage(cpu0);
  if (acc === 42) process.stderr.write(''); // keep acc alive
  return Math.round((c.user + c.system) / 100) / 10;
}
