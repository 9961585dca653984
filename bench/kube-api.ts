/**
 * The Kubernetes API by raw HTTPS on keep-alive connections, authenticated by a kubeconfig: the
 * benchmarks that build thousands of objects (bench/cluster.ts, bench/peer.ts) need more concurrent
 * requests than client-node's per-call overhead allows.
 */
import https from 'node:https';
import { type KubeConfig } from '@kubernetes/client-node';

export interface KubeApi {
  server: string;
  /** One request; the body is JSON (PATCH: a merge patch). Resolves with the status and the parsed body (text when not JSON). */
  request(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }>;
  close(): void;
}

/** A keep-alive HTTPS agent with the kubeconfig's credentials, the server's URL and the auth headers. */
export async function keepAliveAgent(kc: KubeConfig, concurrency: number): Promise<{ server: string; agent: https.Agent; headers: Record<string, string> }> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  const base: https.RequestOptions = { headers: { 'Content-Type': 'application/json', Accept: 'application/json' } };
  await kc.applyToHTTPSOptions(base);
  const agent = new https.Agent({
    keepAlive: true,
    maxSockets: concurrency,
    ca: base.ca,
    cert: base.cert,
    key: base.key,
    rejectUnauthorized: base.rejectUnauthorized,
  });
  return { server: cluster.server.replace(/\/+$/, ''), agent, headers: base.headers as Record<string, string> };
}

export async function connectKubeApi(kc: KubeConfig, concurrency: number): Promise<KubeApi> {
  const { server, agent, headers } = await keepAliveAgent(kc, concurrency);

  function request(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
    const text = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = https.request(
        `${server}${path}`,
        {
          method,
          agent,
          headers: {
            ...headers,
            ...(method === 'PATCH' ? { 'Content-Type': 'application/merge-patch+json' } : {}),
            ...(text ? { 'Content-Length': String(Buffer.byteLength(text)) } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const raw = Buffer.concat(chunks).toString('utf8');
            let json: any = null;
            try {
              json = raw ? JSON.parse(raw) : null;
            } catch {
              json = raw;
            }
            resolve({ status: res.statusCode ?? 0, json });
          });
        },
      );
      req.setTimeout(60_000, () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      req.end(text);
    });
  }

  return { server, request, close: () => agent.destroy() };
}
