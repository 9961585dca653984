/**
 * A tiny fake kube-apiserver serving coordination.k8s.io/v1 Leases, for leader-election unit tests:
 * a real Node http server on 127.0.0.1:0 with the API's optimistic concurrency (resourceVersion;
 * 409 Conflict on a stale update or an existing name, 404 for a missing Lease) and fault injection
 * (answer the next N requests with a status, or stall them without answering).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

export type LeaseObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; resourceVersion: string; uid?: string; creationTimestamp?: string; [k: string]: unknown };
  spec: Record<string, unknown>;
};

interface Fault {
  kind: 'status' | 'stall';
  status: number;
  methods: Set<string> | null;
}

const PATH = /^\/apis\/coordination\.k8s\.io\/v1\/namespaces\/([^/]+)\/leases(?:\/([^/?]+))?(?:\?.*)?$/;

function status(code: number, reason: string, message: string) {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

export class FakeLeaseServer {
  readonly leases = new Map<string, LeaseObject>();
  /** every request, e.g. 'PUT kubevents/lease' */
  readonly requests: string[] = [];
  /** every Lease written through the API, in order */
  readonly writes: LeaseObject[] = [];
  private revision = 100;
  private faults: Fault[] = [];
  private stalled: http.ServerResponse[] = [];
  private server: http.Server | undefined;
  url = '';

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const res of this.stalled) res.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'fake', server: this.url, skipTLSVerify: true }],
      users: [{ name: 'tester', token: 'test-token' }],
      contexts: [{ name: 'fake', cluster: 'fake', user: 'tester' }],
      currentContext: 'fake',
    });
    return kc;
  }

  /** Answer the next `count` requests (of these methods, default all) with `code`. */
  failNext(count: number, code: number, methods?: string[]): void {
    for (let i = 0; i < count; i++) this.faults.push({ kind: 'status', status: code, methods: methods ? new Set(methods) : null });
  }

  /** Keep the next `count` requests open without answering. */
  stallNext(count: number, methods?: string[]): void {
    for (let i = 0; i < count; i++) this.faults.push({ kind: 'stall', status: 0, methods: methods ? new Set(methods) : null });
  }

  clearFaults(): void {
    this.faults = [];
  }

  get(namespace: string, name: string): LeaseObject | undefined {
    return this.leases.get(`${namespace}/${name}`);
  }

  /** Writes a Lease directly (another client), bumping its resourceVersion. */
  put(namespace: string, name: string, spec: Record<string, unknown>): LeaseObject {
    const existing = this.get(namespace, name);
    const lease: LeaseObject = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { ...(existing?.metadata ?? { name, namespace, uid: `uid-${name}` }), resourceVersion: String(++this.revision) },
      spec: { ...spec },
    };
    this.leases.set(`${namespace}/${name}`, lease);
    return lease;
  }

  private takeFault(method: string): Fault | undefined {
    const i = this.faults.findIndex((f) => !f.methods || f.methods.has(method));
    if (i < 0) return undefined;
    return this.faults.splice(i, 1)[0];
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const method = req.method ?? 'GET';
      const m = PATH.exec(req.url ?? '');
      const send = (code: number, body: unknown) => {
        res.writeHead(code, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (!m) return send(404, status(404, 'NotFound', `no route ${req.url}`));
      const namespace = decodeURIComponent(m[1]!);
      const name = m[2] ? decodeURIComponent(m[2]) : undefined;
      this.requests.push(`${method} ${namespace}/${name ?? ''}`);
      const fault = this.takeFault(method);
      if (fault?.kind === 'stall') {
        this.stalled.push(res);
        return;
      }
      if (fault) return send(fault.status, status(fault.status, 'InternalError', `injected ${fault.status}`));
      let body: LeaseObject | undefined;
      try {
        body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as LeaseObject) : undefined;
      } catch {
        return send(400, status(400, 'BadRequest', 'invalid JSON'));
      }
      const key = `${namespace}/${name ?? body?.metadata?.name}`;
      const existing = this.leases.get(key);
      if (method === 'GET' && name) {
        if (!existing) return send(404, status(404, 'NotFound', `leases.coordination.k8s.io "${name}" not found`));
        return send(200, existing);
      }
      if (method === 'POST' && !name && body) {
        if (existing) return send(409, status(409, 'AlreadyExists', `leases.coordination.k8s.io "${body.metadata.name}" already exists`));
        const created: LeaseObject = {
          ...body,
          metadata: {
            ...body.metadata,
            namespace,
            uid: `uid-${body.metadata.name}`,
            resourceVersion: String(++this.revision),
            creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
          },
        };
        this.leases.set(key, created);
        this.writes.push(created);
        return send(201, created);
      }
      if (method === 'PUT' && name && body) {
        if (!existing) return send(404, status(404, 'NotFound', `leases.coordination.k8s.io "${name}" not found`));
        if (body.metadata?.resourceVersion !== existing.metadata.resourceVersion) {
          return send(
            409,
            status(
              409,
              'Conflict',
              `Operation cannot be fulfilled on leases.coordination.k8s.io "${name}": the object has been modified; please apply your changes to the latest version and try again`,
            ),
          );
        }
        const updated: LeaseObject = { ...body, metadata: { ...existing.metadata, ...body.metadata, resourceVersion: String(++this.revision) } };
        this.leases.set(key, updated);
        this.writes.push(updated);
        return send(200, updated);
      }
      send(405, status(405, 'MethodNotAllowed', `${method} not allowed`));
    });
  }
}
