/**
 * A cluster's objects on the test control plane: kwok-managed Nodes and Pods bound to them
 * (`spec.nodeName`), created by concurrent POSTs when missing. Used by bench/cluster.ts (5,000
 * Nodes, 100,000 Pods) and bench/steady.ts (a small cluster).
 */
import { type KubeConfig } from '@kubernetes/client-node';
import { ensureNamespace } from './kube-load.js';
import { type KubeApi } from './kube-api.js';
import { progress } from './lib.js';

export interface CreateAllStats {
  created: number;
  existed: number;
  failed: number;
  perSec: number;
  ms: number;
  firstError: string | null;
}

/** Runs `make(i)` (an HTTP status) for i in [0, count) with `concurrency` requests at a time; objects/s. */
export async function createAll(count: number, concurrency: number, make: (i: number) => Promise<number>): Promise<CreateAllStats> {
  let next = 0;
  let created = 0;
  let existed = 0;
  let failed = 0;
  let firstError: string | null = null;
  const t0 = performance.now();
  let lastReport = t0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= count) return;
      const status = await make(i).catch((e: unknown) => {
        firstError ??= String(e);
        return 0;
      });
      if (status === 201 || status === 200) created++;
      else if (status === 409) existed++;
      else {
        failed++;
        firstError ??= `HTTP ${status}`;
      }
      const now = performance.now();
      if (now - lastReport > 10_000) {
        lastReport = now;
        progress(`  ${created + existed + failed}/${count} (${Math.round((created + existed) / ((now - t0) / 1000))}/s)`);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, () => worker()));
  const ms = performance.now() - t0;
  return { created, existed, failed, perSec: Math.round(created / (ms / 1000)), ms: Math.round(ms), firstError };
}

/** Calls `each` on every item of a list (pages of 5,000). */
export async function forEachItem(api: KubeApi, path: string, each: (item: any) => void): Promise<void> {
  let cont = '';
  for (;;) {
    const r = await api.request('GET', `${path}${path.includes('?') ? '&' : '?'}limit=5000${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`);
    if (r.status !== 200) throw new Error(`GET ${path}: HTTP ${r.status}`);
    for (const item of r.json.items as unknown[]) each(item);
    cont = r.json.metadata?.continue ?? '';
    if (!cont) return;
  }
}

export async function countOf(api: KubeApi, path: string): Promise<number> {
  let n = 0;
  await forEachItem(api, path, () => n++);
  return n;
}

/** Names of a benchmark cluster's objects: `<prefix>-node-i`, `<prefix>-pod-i` in `<prefix>-<i mod namespaces>`, labelled `kubevents.bench/<prefix>`. */
export class ClusterLayout {
  readonly label: string;
  constructor(
    readonly prefix: string,
    readonly nodes: number,
    readonly pods: number,
    readonly namespaces: number,
  ) {
    this.label = `kubevents.bench/${prefix}`;
  }
  nodeName(i: number): string {
    return `${this.prefix}-node-${i}`;
  }
  podNamespace(i: number): string {
    return `${this.prefix}-${i % this.namespaces}`;
  }
  podName(i: number): string {
    return `${this.prefix}-pod-${i}`;
  }
  /** the Node Pod i is bound to */
  nodeOfPod(i: number): string {
    return this.nodeName(i % this.nodes);
  }
}

export interface EnsuredCluster {
  nodesCreated: CreateAllStats | null;
  podsCreated: CreateAllStats | null;
  existingNodes: number;
  existingPods: number;
}

/**
 * The layout's Nodes (kwok-managed: annotation kwok.x-k8s.io/node=fake) and Pods bound to them
 * (500 apps, 7 teams as labels; one container; tolerating everything), created when fewer exist.
 */
export async function ensureCluster(kc: KubeConfig, api: KubeApi, layout: ClusterLayout, concurrency: number): Promise<EnsuredCluster> {
  for (let n = 0; n < Math.min(layout.namespaces, layout.pods); n++) await ensureNamespace(kc, layout.podNamespace(n));
  const existingNodes = await countOf(api, `/api/v1/nodes?labelSelector=${encodeURIComponent(layout.label)}`);
  const nodesCreated =
    existingNodes >= layout.nodes
      ? null
      : await createAll(layout.nodes, concurrency, async (i) => {
          const name = layout.nodeName(i);
          const r = await api.request('POST', '/api/v1/nodes', {
            metadata: {
              name,
              labels: { [layout.label]: 'true', 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', type: 'kwok' },
              annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
            },
            spec: {},
          });
          return r.status;
        });
  const existingPods = await countOf(api, `/api/v1/pods?labelSelector=${encodeURIComponent(layout.label)}`);
  const podsCreated =
    existingPods >= layout.pods
      ? null
      : await createAll(layout.pods, concurrency, async (i) => {
          const app = `app-${i % 500}`;
          const r = await api.request('POST', `/api/v1/namespaces/${layout.podNamespace(i)}/pods`, {
            metadata: { name: layout.podName(i), labels: { [layout.label]: 'true', app, team: `team-${i % 7}` } },
            spec: {
              nodeName: layout.nodeOfPod(i),
              containers: [{ name: 'app', image: `registry.example.com/${app}:1.0`, resources: { requests: { cpu: '10m', memory: '16Mi' } } }],
              tolerations: [{ operator: 'Exists' }],
            },
          });
          return r.status;
        });
  return { nodesCreated, podsCreated, existingNodes, existingPods };
}
