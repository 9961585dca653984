import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchSender } from '../../../src/alerting/http.js';
import { packageVersion } from '../../../src/core/paths.js';

let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/stall') return; // never answers
    if (req.url === '/redirect') {
      res.writeHead(302, { location: '/elsewhere' }).end();
      return;
    }
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () =>
      res
        .writeHead(429, { 'retry-after': '3', 'content-type': 'application/json' })
        .end(JSON.stringify({ echo: body, method: req.method, ct: req.headers['content-type'], ua: req.headers['user-agent'] })),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('HTTP attempts (real sockets)', () => {
  it('returns status, lower-case headers and body', async () => {
    const r = await fetchSender({ url: `${base}/x`, method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"a":1}' }, 2000);
    expect(r.kind).toBe('response');
    if (r.kind !== 'response') return;
    expect(r.response.status).toBe(429);
    expect(r.response.headers['retry-after']).toBe('3');
    expect(JSON.parse(r.response.body)).toEqual({ echo: '{"a":1}', method: 'PUT', ct: 'application/json', ua: `kubevents/${packageVersion()}` });
  });

  it('sends User-Agent kubevents/<version> unless the receiver sets its own', async () => {
    const own = await fetchSender({ url: `${base}/x`, method: 'POST', headers: { 'User-Agent': 'my-gateway/1' }, body: '' }, 2000);
    expect(own.kind === 'response' && JSON.parse(own.response.body).ua).toBe('my-gateway/1');
    expect(packageVersion()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('gives up on a stalled server at the timeout', async () => {
    const started = Date.now();
    const r = await fetchSender({ url: `${base}/stall`, method: 'POST', headers: {}, body: '' }, 300);
    expect(r).toMatchObject({ kind: 'error', timedOut: true });
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('reports a refused connection without the URL, and does not follow redirects', async () => {
    // a port nobody listens on (fetch refuses "bad ports" such as 1 outright)
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const r = await fetchSender({ url: `http://127.0.0.1:${port}/hook?token=abc`, method: 'POST', headers: {}, body: '' }, 2000);
    expect(r).toMatchObject({ kind: 'error', timedOut: false });
    if (r.kind === 'error') {
      expect(r.error.message).toMatch(/ECONNREFUSED/);
      expect(r.error.message).not.toContain('token=abc');
    }
    const redirect = await fetchSender({ url: `${base}/redirect`, method: 'POST', headers: {}, body: '' }, 2000);
    expect(redirect).toMatchObject({ kind: 'response', response: { status: 302 } });
  });
});
