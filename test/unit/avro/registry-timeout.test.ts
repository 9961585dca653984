import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfluentSchemaRegistry, DEFAULT_REGISTRY_REQUEST_TIMEOUT_MS, DEFAULT_REGISTRY_RETRIES } from '../../../src/avro/registry.js';

// a registry that takes the connection and never answers (a hung proxy, a registry stuck in GC)
let server: Server;
let url: string;
let requests = 0;
beforeAll(async () => {
  server = createServer((request, response) => {
    requests++;
    // one id answers 503 at once (a registry behind a proxy that is restarting): the rest hang
    if (request.url === '/schemas/ids/503') response.writeHead(503, { 'Content-Type': 'application/json' }).end('{"error_code":50302,"message":"unavailable"}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('schema registry requests have a timeout', () => {
  it('a registry that never answers: the lookup fails after the request timeout, not never', async () => {
    const registry = new ConfluentSchemaRegistry({ url, retries: 0, requestTimeoutMs: 300 });
    const started = Date.now();
    const error = await registry.writerType(42).then(
      () => null,
      (e: unknown) => e as Error,
    );
    const elapsed = Date.now() - started;
    expect(error).toBeInstanceOf(Error);
    expect(error!.message).toMatch(/timeout/i);
    expect(requests).toBeGreaterThanOrEqual(1);
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(10_000); // the default would be 10 s; without a timeout, never
  });

  it('a 5xx answer is retried (retries + 1 attempts); a timed-out request is not (one attempt, then the error)', async () => {
    const registry = new ConfluentSchemaRegistry({ url, retries: 2, requestTimeoutMs: 200 });
    let before = requests;
    await expect(registry.writerType(503)).rejects.toThrow();
    expect(requests - before).toBe(3);
    before = requests;
    await expect(registry.writerType(43)).rejects.toThrow(/timeout/i);
    expect(requests - before).toBe(1);
    // what the docs say applies when nothing is configured
    expect([DEFAULT_REGISTRY_REQUEST_TIMEOUT_MS, DEFAULT_REGISTRY_RETRIES]).toEqual([10_000, 3]);
  });
});
