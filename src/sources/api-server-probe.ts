/**
 * Whether the Kubernetes API server answers, for people: until a first list succeeds, the API
 * server's /version is asked every few seconds (with a timeout), so that the reason it cannot be
 * reached (refused, timed out, TLS, 401) can be said plainly: in the log after a bounded time, in
 * /readyz ("connecting to the API server ..."), and in the exit line of `--fail-after`. The watches
 * themselves go on retrying with backoff; this only watches and tells.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { getJson } from './kube-http.js';

export interface ApiServerProbeOptions {
  /** Between two probes (default 5 s). */
  intervalMs?: number;
  /** One probe's timeout (default 5 s). */
  timeoutMs?: number;
}

export class ApiServerProbe {
  readonly server: string;
  private listed = false;
  private error: string | null = null;
  private readonly started = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private readonly abort = new AbortController();
  private probing = false;

  constructor(
    private readonly kc: KubeConfig,
    private readonly options: ApiServerProbeOptions = {},
  ) {
    this.server = kc.getCurrentCluster()?.server ?? '(no server in the kubeconfig)';
  }

  /** Starts probing until a list succeeded or stop(). */
  start(): void {
    const tick = (): void => {
      if (this.listed || this.abort.signal.aborted) return;
      void this.probe();
      this.timer = setTimeout(tick, this.options.intervalMs ?? 5_000);
      this.timer.unref();
    };
    tick();
  }

  private async probe(): Promise<void> {
    if (this.probing) return;
    this.probing = true;
    try {
      await getJson(this.kc, '/version', {}, { signal: this.abort.signal, timeoutMs: this.options.timeoutMs ?? 5_000 });
      // it answers: what is left (a 403 on a list, a slow list) is the watches' to say
      if (!this.listed) this.error = null;
    } catch (error) {
      if (!this.abort.signal.aborted) this.error = error instanceof Error ? error.message : String(error);
    } finally {
      this.probing = false;
    }
  }

  /** A list succeeded: the API server is reachable; probing ends. */
  markListed(): void {
    this.listed = true;
    this.error = null;
    clearTimeout(this.timer);
  }

  get reachable(): boolean {
    return this.listed;
  }

  /** Milliseconds since start without a successful list (0 once one succeeded). */
  get waitingMs(): number {
    return this.listed ? 0 : Date.now() - this.started;
  }

  /** The last reason the API server could not be asked, if any. */
  get lastError(): string | null {
    return this.error;
  }

  /** `no successful list from the Kubernetes API server https://x:6443 for 60 s: connect ECONNREFUSED ...`. */
  describe(): string {
    const seconds = Math.round(this.waitingMs / 1000);
    return `no successful list from the Kubernetes API server ${this.server} for ${seconds} s${this.error ? `: ${this.error}` : ' (it answers, but no list has completed yet)'}`;
  }

  stop(): void {
    clearTimeout(this.timer);
    this.abort.abort();
  }
}
