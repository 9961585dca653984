/**
 * A small fake kube-apiserver for deterministic fault injection: a real Node http server on
 * 127.0.0.1:0 holding objects under an etcd-like global revision counter.
 *
 * - list: consistent snapshots at a revision, paged with limit/continue (tokens carry the snapshot
 *   revision; they expire on compaction or expireContinueTokens());
 * - watch: chunked JSON lines from `resourceVersion` (history replayed, then live), BOOKMARKs when
 *   asked (allowWatchBookmarks) on an interval or on demand, timeoutSeconds honoured;
 * - compaction: a watch or continue token older than the compacted revision gets 410 Gone, as an
 *   HTTP status or as an ERROR event in the stream (`goneAs`);
 * - faults: the next N requests answered with a status (500, 429 + Retry-After, ...), live watches
 *   cut (socket destroyed), closed cleanly, sent a 410 ERROR event, stalled (kept open, silent);
 *   watches that close at once without events (the Events quirk); list page delays.
 * History is kept whole (tests are small), so any snapshot at or after the compacted revision can
 * be rebuilt.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

export type Obj = { metadata: Record<string, any>; [k: string]: any };

export interface ResourceDef {
  /** group '' for core */
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
}

export const FAKE_RESOURCES: Record<string, ResourceDef> = {
  pods: { group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true },
  nodes: { group: '', version: 'v1', plural: 'nodes', kind: 'Node', namespaced: false },
  coreEvents: { group: '', version: 'v1', plural: 'events', kind: 'Event', namespaced: true },
  events: { group: 'events.k8s.io', version: 'v1', plural: 'events', kind: 'Event', namespaced: true },
  replicasets: { group: 'apps', version: 'v1', plural: 'replicasets', kind: 'ReplicaSet', namespaced: true },
  deployments: { group: 'apps', version: 'v1', plural: 'deployments', kind: 'Deployment', namespaced: true },
  statefulsets: { group: 'apps', version: 'v1', plural: 'statefulsets', kind: 'StatefulSet', namespaced: true },
  daemonsets: { group: 'apps', version: 'v1', plural: 'daemonsets', kind: 'DaemonSet', namespaced: true },
  jobs: { group: 'batch', version: 'v1', plural: 'jobs', kind: 'Job', namespaced: true },
  cronjobs: { group: 'batch', version: 'v1', plural: 'cronjobs', kind: 'CronJob', namespaced: true },
};

/** 'core/v1/pods', 'apps/v1/deployments', ... */
export function resKey(r: ResourceDef): string {
  return `${r.group || 'core'}/${r.version}/${r.plural}`;
}

interface HistoryEntry {
  rev: number;
  res: string;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  obj: Obj;
  prev: Obj | null;
}

interface Watcher {
  res: string;
  def: ResourceDef;
  ns: string | null;
  filter: (o: Obj) => boolean;
  response: http.ServerResponse;
  bookmarks: boolean;
  stalled: boolean;
  timers: NodeJS.Timeout[];
  closed: boolean;
}

export interface Fault {
  status: number;
  /** Retry-After header value (seconds). */
  retryAfter?: number;
  /** Which requests: 'list', 'watch' or 'any' (default). */
  on?: 'list' | 'watch' | 'any';
  /** Only for this resource key (e.g. 'core/v1/pods'). */
  res?: string;
}

export interface RequestRecord {
  path: string;
  query: Record<string, string>;
  watch: boolean;
  status: number;
}

export interface FakeApiServerOptions {
  /** How a watch from a compacted revision is refused: HTTP 410 ('status') or 200 + ERROR event ('event', default). */
  goneAs?: 'status' | 'event';
  /** Send a BOOKMARK to bookmark-enabled watches this often (ms); null: only on demand. */
  bookmarkIntervalMs?: number | null;
  /** Delay before answering each list page, ms. */
  pageDelayMs?: number;
  /** Resource keys served (default all of FAKE_RESOURCES). */
  served?: string[];
  /** First revision. Default 100. */
  startRevision?: number;
}

function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

function keyOf(o: Obj): string {
  return `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
}

function parseLabelSelector(sel: string | undefined): (o: Obj) => boolean {
  if (!sel) return () => true;
  const terms = sel
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean)
    .map((t) => {
      const ne = t.split('!=');
      if (ne.length === 2) return (o: Obj) => (o.metadata.labels?.[ne[0]!.trim()] ?? undefined) !== ne[1]!.trim();
      const eq = t.split(/==?/);
      if (eq.length === 2) return (o: Obj) => o.metadata.labels?.[eq[0]!.trim()] === eq[1]!.trim();
      return (o: Obj) => o.metadata.labels?.[t] !== undefined;
    });
  return (o) => terms.every((f) => f(o));
}

function fieldValue(o: Obj, path: string): unknown {
  let cur: any = o;
  for (const p of path.split('.')) cur = cur?.[p];
  return cur;
}

function parseFieldSelector(sel: string | undefined): (o: Obj) => boolean {
  if (!sel) return () => true;
  const terms = sel
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean)
    .map((t) => {
      const ne = t.split('!=');
      if (ne.length === 2) return (o: Obj) => String(fieldValue(o, ne[0]!) ?? '') !== ne[1];
      const eq = t.split(/==?/);
      return (o: Obj) => String(fieldValue(o, eq[0]!) ?? '') === (eq[1] ?? '');
    });
  return (o) => terms.every((f) => f(o));
}

export class FakeApiServer {
  revision: number;
  compactedRevision = 0;
  readonly history: HistoryEntry[] = [];
  readonly requests: RequestRecord[] = [];
  private readonly current = new Map<string, Map<string, Obj>>();
  private readonly watchers = new Set<Watcher>();
  private readonly faults: Fault[] = [];
  private quickCloses = 0;
  private tokenEpoch = 0;
  private uidCounter = 0;
  private readonly server: http.Server;
  private readonly sockets = new Set<import('node:net').Socket>();
  url = '';
  goneAs: 'status' | 'event';
  pageDelayMs: number;
  served: Set<string>;

  constructor(private readonly options: FakeApiServerOptions = {}) {
    this.revision = options.startRevision ?? 100;
    this.goneAs = options.goneAs ?? 'event';
    this.pageDelayMs = options.pageDelayMs ?? 0;
    this.served = new Set(options.served ?? Object.values(FAKE_RESOURCES).map(resKey));
    this.server = http.createServer((req, res) => this.handle(req, res));
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const w of this.watchers) this.endWatcher(w, 'destroy');
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** A KubeConfig pointing at this server (plain http, bearer token). */
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

  // ---------- data

  private bucket(res: string): Map<string, Obj> {
    let b = this.current.get(res);
    if (!b) {
      b = new Map();
      this.current.set(res, b);
    }
    return b;
  }

  create(def: ResourceDef, obj: Obj): Obj {
    const res = resKey(def);
    const o = clone(obj);
    o.apiVersion = def.group ? `${def.group}/${def.version}` : def.version;
    o.kind = def.kind;
    o.metadata.uid ??= `uid-${++this.uidCounter}`;
    o.metadata.creationTimestamp ??= new Date().toISOString();
    if (!def.namespaced) delete o.metadata.namespace;
    const b = this.bucket(res);
    if (b.has(keyOf(o))) throw new Error(`fake apiserver: ${res} ${keyOf(o)} exists`);
    o.metadata.resourceVersion = String(++this.revision);
    b.set(keyOf(o), o);
    this.record({ rev: this.revision, res, type: 'ADDED', obj: clone(o), prev: null });
    return clone(o);
  }

  update(def: ResourceDef, namespace: string | null, name: string, mutate: (o: Obj) => void): Obj {
    const res = resKey(def);
    const b = this.bucket(res);
    const key = `${def.namespaced ? (namespace ?? '') : ''}/${name}`;
    const old = b.get(key);
    if (!old) throw new Error(`fake apiserver: ${res} ${key} not found`);
    const o = clone(old);
    mutate(o);
    o.metadata.resourceVersion = String(++this.revision);
    b.set(key, o);
    this.record({ rev: this.revision, res, type: 'MODIFIED', obj: clone(o), prev: clone(old) });
    return clone(o);
  }

  delete(def: ResourceDef, namespace: string | null, name: string): void {
    const res = resKey(def);
    const b = this.bucket(res);
    const key = `${def.namespaced ? (namespace ?? '') : ''}/${name}`;
    const old = b.get(key);
    if (!old) throw new Error(`fake apiserver: ${res} ${key} not found`);
    b.delete(key);
    const o = clone(old);
    o.metadata.resourceVersion = String(++this.revision);
    this.record({ rev: this.revision, res, type: 'DELETED', obj: o, prev: clone(old) });
  }

  /** Current objects of a resource. */
  list(def: ResourceDef): Obj[] {
    return [...this.bucket(resKey(def)).values()].map(clone);
  }

  /** Bumps the revision without touching `def` (another resource changed). */
  bumpRevision(n = 1): void {
    this.revision += n;
  }

  /** Forgets history up to `rev` (default: now): older watches and continue tokens get 410. */
  compact(rev = this.revision): void {
    this.compactedRevision = Math.max(this.compactedRevision, rev);
  }

  // ---------- faults

  /** The next `times` matching requests are answered with `fault.status`. */
  failNext(fault: Fault, times = 1): void {
    for (let i = 0; i < times; i++) this.faults.push(fault);
  }

  /** Destroys the sockets of all live watches (abrupt disconnect). */
  disconnectWatches(): void {
    for (const w of [...this.watchers]) this.endWatcher(w, 'destroy');
  }

  /** Ends all live watches cleanly. */
  closeWatches(): void {
    for (const w of [...this.watchers]) this.endWatcher(w, 'end');
  }

  /** Sends an ERROR 410 event to all live watches, then ends them. */
  goneWatches(): void {
    for (const w of [...this.watchers]) {
      this.write(w, { type: 'ERROR', object: goneStatus('too old resource version') });
      this.endWatcher(w, 'end');
    }
  }

  /** Live watches stop receiving anything (events stay in history); new watches are not stalled. */
  stallWatches(): void {
    for (const w of this.watchers) w.stalled = true;
  }

  /** Sends a BOOKMARK at the current revision to bookmark-enabled live watches. */
  bookmark(): void {
    for (const w of this.watchers) if (w.bookmarks) this.sendBookmark(w);
  }

  /** Invalidates every outstanding continue token. */
  expireContinueTokens(): void {
    this.tokenEpoch += 1;
  }

  /** The next `n` watches answer 200 and close at once without events. */
  quickCloseNextWatches(n: number): void {
    this.quickCloses += n;
  }

  get liveWatches(): number {
    return this.watchers.size;
  }

  watchRequests(res?: string): RequestRecord[] {
    return this.requests.filter((r) => r.watch && (!res || r.path.includes(res.split('/').pop()!)));
  }

  // ---------- http

  private record(entry: HistoryEntry): void {
    this.history.push(entry);
    for (const w of this.watchers) this.deliver(w, entry);
  }

  private deliver(w: Watcher, e: HistoryEntry): void {
    if (w.res !== e.res || w.stalled) return;
    const inNs = (o: Obj | null): boolean => !!o && (w.ns === null || o.metadata.namespace === w.ns);
    const now = inNs(e.obj) && w.filter(e.obj);
    const before = e.prev !== null && inNs(e.prev) && w.filter(e.prev);
    let type: HistoryEntry['type'] | null = null;
    if (e.type === 'ADDED') type = now ? 'ADDED' : null;
    else if (e.type === 'DELETED') type = before ? 'DELETED' : null;
    else if (now && before) type = 'MODIFIED';
    else if (now) type = 'ADDED';
    else if (before) type = 'DELETED';
    if (type) this.write(w, { type, object: e.obj });
  }

  private write(w: Watcher, ev: unknown): void {
    if (w.closed) return;
    w.response.write(`${JSON.stringify(ev)}\n`);
  }

  private sendBookmark(w: Watcher): void {
    if (w.stalled) return;
    this.write(w, {
      type: 'BOOKMARK',
      object: {
        kind: w.def.kind,
        apiVersion: w.def.group ? `${w.def.group}/${w.def.version}` : w.def.version,
        metadata: { resourceVersion: String(this.revision) },
      },
    });
  }

  private endWatcher(w: Watcher, how: 'end' | 'destroy'): void {
    if (w.closed) return;
    w.closed = true;
    for (const t of w.timers) clearTimeout(t); // clears intervals too
    this.watchers.delete(w);
    if (how === 'destroy') w.response.destroy();
    else w.response.end();
  }

  private route(pathname: string): { def: ResourceDef; ns: string | null } | null {
    const parts = pathname.split('/').filter(Boolean);
    let group = '';
    let version: string | undefined;
    let rest: string[];
    if (parts[0] === 'api') {
      version = parts[1];
      rest = parts.slice(2);
    } else if (parts[0] === 'apis') {
      group = parts[1] ?? '';
      version = parts[2];
      rest = parts.slice(3);
    } else return null;
    let ns: string | null = null;
    if (rest[0] === 'namespaces' && rest.length === 3) {
      ns = decodeURIComponent(rest[1]!);
      rest = rest.slice(2);
    }
    if (rest.length !== 1) return null;
    const def = Object.values(FAKE_RESOURCES).find((d) => d.group === group && d.version === version && d.plural === rest[0]);
    if (!def || !this.served.has(resKey(def))) return null;
    return { def, ns: def.namespaced ? ns : null };
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const query = Object.fromEntries(url.searchParams.entries());
    const watch = query['watch'] === '1' || query['watch'] === 'true';
    const rec: RequestRecord = { path: url.pathname, query, watch, status: 200 };
    this.requests.push(rec);
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      rec.status = status;
      res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    const route = this.route(url.pathname);
    if (!route) {
      reply(404, {
        kind: 'Status',
        apiVersion: 'v1',
        status: 'Failure',
        reason: 'NotFound',
        code: 404,
        message: 'the server could not find the requested resource',
      });
      return;
    }
    const res_ = resKey(route.def);
    const faultIdx = this.faults.findIndex((f) => (!f.on || f.on === 'any' || (f.on === 'watch') === watch) && (!f.res || f.res === res_));
    if (faultIdx >= 0) {
      const f = this.faults.splice(faultIdx, 1)[0]!;
      const headers: Record<string, string> = f.retryAfter !== undefined ? { 'Retry-After': String(f.retryAfter) } : {};
      reply(
        f.status,
        {
          kind: 'Status',
          apiVersion: 'v1',
          status: 'Failure',
          code: f.status,
          reason: f.status === 429 ? 'TooManyRequests' : 'InternalError',
          message: `injected ${f.status}`,
        },
        headers,
      );
      return;
    }
    const filter = (o: Obj): boolean => parseLabelSelector(query['labelSelector'])(o) && parseFieldSelector(query['fieldSelector'])(o);
    if (watch) this.serveWatch(route.def, route.ns, query, filter, res, rec);
    else {
      const serve = (): void => this.serveList(route.def, route.ns, query, filter, reply);
      if (this.pageDelayMs > 0) setTimeout(serve, this.pageDelayMs);
      else serve();
    }
  }

  private stateAt(res: string, rev: number): Map<string, Obj> {
    const state = new Map<string, Obj>();
    for (const e of this.history) {
      if (e.rev > rev) break;
      if (e.res !== res) continue;
      if (e.type === 'DELETED') state.delete(keyOf(e.obj));
      else state.set(keyOf(e.obj), e.obj);
    }
    return state;
  }

  private serveList(
    def: ResourceDef,
    ns: string | null,
    query: Record<string, string>,
    filter: (o: Obj) => boolean,
    reply: (s: number, b: unknown, h?: Record<string, string>) => void,
  ): void {
    const limit = query['limit'] ? Number(query['limit']) : 0;
    let rev = this.revision;
    let after = '';
    if (query['continue']) {
      let token: { rev: number; after: string; epoch: number };
      try {
        token = JSON.parse(Buffer.from(query['continue'], 'base64').toString('utf8'));
      } catch {
        reply(400, { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 400, reason: 'BadRequest', message: 'invalid continue token' });
        return;
      }
      if (token.rev < this.compactedRevision || token.epoch !== this.tokenEpoch) {
        reply(410, goneStatus('The provided continue parameter is too old to display a consistent list result.'));
        return;
      }
      rev = token.rev;
      after = token.after;
    }
    const items = [...this.stateAt(resKey(def), rev).values()]
      .filter((o) => (ns === null || o.metadata.namespace === ns) && filter(o))
      .sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0))
      .filter((o) => keyOf(o) > after);
    const page = limit > 0 ? items.slice(0, limit) : items;
    const more = limit > 0 && items.length > limit;
    const metadata: Record<string, unknown> = { resourceVersion: String(rev) };
    if (more) {
      metadata['continue'] = Buffer.from(JSON.stringify({ rev, after: keyOf(page[page.length - 1]!), epoch: this.tokenEpoch })).toString('base64');
      metadata['remainingItemCount'] = items.length - page.length;
    }
    reply(200, {
      kind: `${def.kind}List`,
      apiVersion: def.group ? `${def.group}/${def.version}` : def.version,
      metadata,
      // like the real API, list items carry no kind/apiVersion
      items: page.map((o) => {
        const { kind: _k, apiVersion: _a, ...rest } = o;
        return clone(rest);
      }),
    });
  }

  private serveWatch(
    def: ResourceDef,
    ns: string | null,
    query: Record<string, string>,
    filter: (o: Obj) => boolean,
    res: http.ServerResponse,
    rec: RequestRecord,
  ): void {
    const rvParam = query['resourceVersion'];
    const from = rvParam ? Number(rvParam) : this.revision;
    if (from < this.compactedRevision) {
      if (this.goneAs === 'status') {
        rec.status = 410;
        res.writeHead(410, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(goneStatus(`too old resource version: ${from} (${this.compactedRevision})`)));
      } else {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(`${JSON.stringify({ type: 'ERROR', object: goneStatus(`too old resource version: ${from} (${this.compactedRevision})`) })}\n`);
      }
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    if (this.quickCloses > 0) {
      this.quickCloses -= 1;
      res.end();
      return;
    }
    res.flushHeaders();
    const w: Watcher = {
      res: resKey(def),
      def,
      ns,
      filter,
      response: res,
      bookmarks: query['allowWatchBookmarks'] === 'true',
      stalled: false,
      timers: [],
      closed: false,
    };
    for (const e of this.history) if (e.rev > from) this.deliver(w, e);
    this.watchers.add(w);
    res.on('close', () => this.endWatcher(w, 'destroy'));
    const timeout = query['timeoutSeconds'] ? Number(query['timeoutSeconds']) : 0;
    if (timeout > 0) w.timers.push(setTimeout(() => this.endWatcher(w, 'end'), timeout * 1000));
    const every = this.options.bookmarkIntervalMs;
    if (w.bookmarks && every) {
      const ticker = setInterval(() => this.sendBookmark(w), every);
      w.timers.push(ticker);
    }
  }
}

export function goneStatus(message: string): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason: 'Expired', code: 410 };
}

export async function startFakeApiServer(options?: FakeApiServerOptions): Promise<FakeApiServer> {
  return new FakeApiServer(options).start();
}
