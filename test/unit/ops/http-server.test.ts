import net from 'node:net';
import { Counter, Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { renderMetrics, runCheck, startHttpServer, type HttpServerOptions, type OpsHttpServer } from '../../../src/ops/http-server.js';

const servers: OpsHttpServer[] = [];

async function start(options: HttpServerOptions = {}): Promise<OpsHttpServer> {
  const s = await startHttpServer({ address: '127.0.0.1', port: 0, registries: [new Registry()], ...options });
  servers.push(s);
  return s;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

function busy(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // block the event loop
  }
}

describe('ops HTTP server', () => {
  it('serves the union of its registries on /metrics', async () => {
    const a = new Registry();
    const b = new Registry();
    new Counter({ name: 'kubevents_a_total', help: 'a', registers: [a] }).inc(3);
    new Counter({ name: 'kubevents_b_total', help: 'b', registers: [b] }).inc();
    const s = await start({ registries: [a, b] });
    const res = await fetch(`${s.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(text).toContain('kubevents_a_total 3');
    expect(text).toContain('kubevents_b_total 1');
    expect(text.endsWith('\n')).toBe(true);
  });

  it('/healthz passes with the event-loop check and fails when a liveness check fails', async () => {
    let alive = true;
    const s = await start({ livenessChecks: { pipeline: async () => ({ ok: alive, detail: alive ? 'running' : 'subscription ended' }) } });
    let res = await fetch(`${s.url}/healthz`);
    let body = await res.text();
    expect(res.status).toBe(200);
    expect(body).toMatch(/^\[\+\]eventloop ok: max delay \d+ ms in the last 10 s$/m);
    expect(body).toContain('[+]pipeline ok: running');
    expect(body).toMatch(/healthz check passed\n$/);
    alive = false;
    res = await fetch(`${s.url}/healthz`);
    body = await res.text();
    expect(res.status).toBe(503);
    expect(body).toContain('[-]pipeline failed: subscription ended');
    expect(body).toContain('healthz check failed');
  });

  it('/healthz fails after the event loop was blocked longer than the limit', async () => {
    const s = await start({ maxEventLoopDelayMs: 150, eventLoopWindowMs: 60_000 });
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
    busy(400);
    const res = await fetch(`${s.url}/healthz`);
    expect(res.status).toBe(503);
    expect(await res.text()).toMatch(/\[-\]eventloop failed: event loop blocked for \d+ ms in the last 60 s \(limit 150 ms\)/);
  });

  it('/readyz runs the injected checks concurrently with a deadline each', async () => {
    const s = await start({
      checkTimeoutMs: 200,
      readinessChecks: {
        caches: async () => ({ ok: true, detail: 'synced: pods, nodes' }),
        kafka: async () => ({ ok: false, detail: 'broker 10.0.0.7:9092 unreachable\n(ECONNREFUSED)' }),
        hangs: () => new Promise(() => undefined),
        throws: async () => {
          throw new Error('boom');
        },
      },
    });
    const started = Date.now();
    const res = await fetch(`${s.url}/readyz`);
    const body = await res.text();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(res.status).toBe(503);
    expect(body.split('\n')).toEqual([
      '[+]caches ok: synced: pods, nodes',
      '[-]kafka not ready: broker 10.0.0.7:9092 unreachable (ECONNREFUSED)',
      '[-]hangs not ready: no answer within 200 ms',
      '[-]throws not ready: boom',
      'readyz check failed',
      '',
    ]);
    s.removeReadinessCheck('kafka');
    s.removeReadinessCheck('hangs');
    s.removeReadinessCheck('throws');
    s.setReadinessCheck('kafka', async () => ({ ok: true, detail: 'metadata ok' }));
    const ok = await fetch(`${s.url}/readyz`);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('readyz check passed');
    expect((await s.readiness()).ok).toBe(true);
  });

  it('readiness with no checks passes; unknown paths 404; other methods 405; HEAD has no body', async () => {
    const s = await start();
    expect((await fetch(`${s.url}/readyz`)).status).toBe(200);
    expect((await fetch(`${s.url}/nope`)).status).toBe(404);
    const post = await fetch(`${s.url}/metrics`, { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    const head = await fetch(`${s.url}/healthz`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    expect((await fetch(`${s.url}/metrics?x=1`)).status).toBe(200);
  });

  it('drops a client that never finishes its request headers', async () => {
    const s = await start({ requestTimeoutMs: 300 });
    const socket = net.connect(s.port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    socket.write('GET /metrics HTTP/1.1\r\nHost: x\r\n'); // never the final CRLF
    const started = Date.now();
    const reply = await new Promise<string>((resolve) => {
      let data = '';
      socket.on('data', (d) => (data += d.toString()));
      socket.on('close', () => resolve(data));
    });
    expect(Date.now() - started).toBeLessThan(3000);
    expect(reply === '' || reply.startsWith('HTTP/1.1 408')).toBe(true);
  });

  it('close() ends idle keep-alive connections and stops listening', async () => {
    const s = await start();
    const socket = net.connect(s.port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n');
    await new Promise((r) => socket.once('data', r));
    const closed = new Promise((r) => socket.once('close', r));
    const t0 = Date.now();
    await s.close();
    await closed;
    expect(Date.now() - t0).toBeLessThan(1500);
    await expect(fetch(`${s.url}/healthz`)).rejects.toThrow();
    await s.close(); // idempotent
  });

  it('reports a port in use clearly', async () => {
    const s = await start();
    await expect(startHttpServer({ address: '127.0.0.1', port: s.port, registries: [] })).rejects.toThrow(/cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/);
  });
});

describe('helpers', () => {
  it('runCheck turns throws, timeouts and malformed results into failures', async () => {
    expect(await runCheck(async () => ({ ok: true, detail: 'x' }), 100)).toEqual({ ok: true, detail: 'x' });
    expect(await runCheck(() => Promise.reject(new Error('nope')), 100)).toEqual({ ok: false, detail: 'nope' });
    expect(await runCheck(() => new Promise(() => undefined), 20)).toEqual({ ok: false, detail: 'no answer within 20 ms' });
    expect(await runCheck(async () => undefined as never, 20)).toEqual({ ok: false, detail: 'check returned no result' });
    expect(
      await runCheck(() => {
        throw new Error('sync throw');
      }, 20),
    ).toEqual({ ok: false, detail: 'sync throw' });
  });

  it('renderMetrics of no registries is empty', async () => {
    expect((await renderMetrics([])).body).toBe('');
  });
});
