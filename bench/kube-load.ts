/**
 * Creates events.k8s.io/v1 Events through the real API, at a steady rate or as fast as a bounded
 * number of concurrent requests allows: the load of the end-to-end and startup benchmarks.
 * Raw HTTPS POSTs on keep-alive connections, authenticated by the kubeconfig (client-node's
 * applyToHTTPSOptions, as src/sources/kube-http.ts does).
 *
 * As a process (the end-to-end benchmark runs the load apart from what it measures):
 *   node dist/bench/kube-load.js --kubeconfig FILE --namespace NS --count N [--rate 500]
 *        [--concurrency 64] [--prefix e2e] [--result-file FILE]
 */
import https from 'node:https';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { keepAliveAgent } from './kube-api.js';
import { intArg, parseArgs, percentile, progress, round2, writeResult } from './lib.js';

/** Wall-clock now with microseconds, as an RFC 3339 MicroTime. */
export function microTimeNow(): { text: string; ms: number } {
  const us = Math.floor((performance.timeOrigin + performance.now()) * 1000);
  const ms = Math.floor(us / 1000);
  const text = `${new Date(ms).toISOString().slice(0, 19)}.${String(us % 1_000_000).padStart(6, '0')}Z`;
  return { text, ms: us / 1000 };
}

export interface CreateOptions {
  kc: KubeConfig;
  namespace: string;
  count: number;
  /** events per second; null: as fast as `concurrency` allows */
  rate: number | null;
  concurrency: number;
  prefix: string;
  /** regarding Pods are spread over this many names */
  pods?: number;
  /** the Event to create as request i (without apiVersion, kind; metadata.namespace: default `namespace`); default: a BackOff (1 in 10) or Started on `pod-(i mod pods)` */
  event?: (i: number, eventTime: string) => Record<string, unknown>;
  /** called with each created Event (the apiserver's answer) and the eventTime it was given, ms since the epoch */
  onCreated?: (i: number, created: any, eventTimeMs: number) => void;
}

export interface CreateStats {
  requested: number;
  created: number;
  failed: number;
  firstError: string | null;
  wallMs: number;
  achievedPerSec: number;
  /** POST round trip, ms */
  requestP50Ms: number;
  requestP99Ms: number;
  requestMaxMs: number;
  /** how far behind its schedule a request started (the client could not keep the rate), p99 ms */
  scheduleLagP99Ms: number;
  startedAt: number;
}

export async function ensureNamespace(kc: KubeConfig, name: string): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  try {
    await core.createNamespace({ body: { metadata: { name } } });
  } catch (error) {
    if (!/already exists|409/i.test(String((error as Error).message ?? error))) throw error;
  }
}

export async function deleteNamespace(kc: KubeConfig, name: string): Promise<void> {
  await kc
    .makeApiClient(CoreV1Api)
    .deleteNamespace({ name })
    .catch(() => undefined);
}

export async function createEvents(options: CreateOptions): Promise<CreateStats> {
  const { kc, namespace, count, rate, concurrency, prefix } = options;
  const pods = options.pods ?? 200;
  const { server, agent, headers } = await keepAliveAgent(kc, concurrency);
  const urlOf = (ns: string): URL => new URL(`${server}/apis/events.k8s.io/v1/namespaces/${encodeURIComponent(ns)}/events`);

  const onCreated = options.onCreated;
  const post = (url: URL, body: string): Promise<string> =>
    new Promise((resolvePost, reject) => {
      const req = https.request(url, { method: 'POST', agent, headers: { ...headers, 'Content-Length': String(Buffer.byteLength(body)) } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          if (onCreated || text.length < 2000) text += c;
        });
        res.on('end', () => {
          if (res.statusCode === 201 || res.statusCode === 200) resolvePost(text);
          else reject(new Error(`HTTP ${res.statusCode}: ${text.slice(0, 300)}`));
        });
      });
      req.setTimeout(30_000, () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      req.end(body);
    });

  const url = urlOf(namespace);
  const durations: number[] = [];
  const lags: number[] = [];
  let created = 0;
  let failed = 0;
  let firstError: string | null = null;
  let next = 0;
  const startedAt = performance.now();
  const wallStart = Date.now();
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= count) return;
      if (rate !== null) {
        const due = startedAt + (i * 1000) / rate;
        const wait = due - performance.now();
        if (wait > 1) await new Promise((r) => setTimeout(r, wait));
        lags.push(Math.max(0, performance.now() - due));
      }
      const now = microTimeNow();
      const pod = `pod-${i % pods}`;
      const event = options.event?.(i, now.text) ?? {
        metadata: { name: `${prefix}-${i}` },
        eventTime: now.text,
        reportingController: 'kubevents.io/bench',
        reportingInstance: 'bench-load-1',
        action: 'Benchmark',
        reason: i % 10 === 0 ? 'BackOff' : 'Started',
        type: i % 10 === 0 ? 'Warning' : 'Normal',
        note: `benchmark event ${i} for ${pod}`,
        regarding: { kind: 'Pod', namespace, name: pod, apiVersion: 'v1', uid: `00000000-0000-4000-8000-${String(i % pods).padStart(12, '0')}` },
      };
      const metadata = { name: `${prefix}-${i}`, namespace, ...(event['metadata'] as { namespace?: string } | undefined) };
      const body = JSON.stringify({ ...event, apiVersion: 'events.k8s.io/v1', kind: 'Event', metadata });
      const t0 = performance.now();
      try {
        const text = await post(metadata.namespace === namespace ? url : urlOf(metadata.namespace), body);
        created++;
        durations.push(performance.now() - t0);
        onCreated?.(i, JSON.parse(text), now.ms);
      } catch (error) {
        failed++;
        firstError ??= (error as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, () => worker()));
  agent.destroy();
  const wallMs = performance.now() - startedAt;
  durations.sort((a, b) => a - b);
  lags.sort((a, b) => a - b);
  return {
    requested: count,
    created,
    failed,
    firstError,
    wallMs: Math.round(wallMs),
    achievedPerSec: Math.round(created / (wallMs / 1000)),
    requestP50Ms: round2(percentile(durations, 50)),
    requestP99Ms: round2(percentile(durations, 99)),
    requestMaxMs: round2(durations.at(-1) ?? NaN),
    scheduleLagP99Ms: lags.length ? round2(percentile(lags, 99)) : 0,
    startedAt: wallStart,
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = parseArgs(process.argv.slice(2));
  const kc = new KubeConfig();
  kc.loadFromFile(args.get('kubeconfig') ?? '');
  const namespace = args.get('namespace') ?? 'default';
  const count = intArg(args, 'count', 1000);
  const rateArg = args.get('rate');
  const stats = await createEvents({
    kc,
    namespace,
    count,
    rate: rateArg === undefined || rateArg === 'max' ? null : Number(rateArg),
    concurrency: intArg(args, 'concurrency', 64),
    prefix: args.get('prefix') ?? 'bench',
  });
  progress(
    `created ${stats.created}/${count} Events in ${namespace} at ${stats.achievedPerSec}/s (POST p99 ${stats.requestP99Ms} ms, ${stats.failed} failed${stats.firstError ? `: ${stats.firstError}` : ''})`,
  );
  writeResult(args, stats);
}
