/**
 * Fuzzing of the watch-stream decoder (src/sources/kube-http.ts streamWatch, WatchLineDecoder):
 * real watch lines (the bundled recording's), mutated as bytes (flipped, cut, inserted, invalid
 * UTF-8) and as JSON (deep nesting, huge strings, duplicate keys, values of the wrong type), served
 * by a local HTTP server in chunks of random sizes. Properties: the stream resolves or fails with a
 * KubeApiError (the watch then resumes from the last event handled), never anything else, within a
 * time bound; every line handled is an object with a string type; memory stays bounded (a line
 * that never ends is an error once it passes the limit, not a buffer that grows); unmutated lines
 * come out exactly as sent, however they are chunked.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeApiError, streamWatch, WatchLineDecoder, type RawWatchEvent } from '../../../src/sources/kube-http.js';
import { applyMutation, boundedAsync, corpus, fuzzParameters, fuzzTimeout, mutatedBytes, mutationArb } from '../../support/fuzz.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const LINES = readFileSync(join(ROOT, 'recordings', 'recorded-cluster.jsonl'), 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .slice(0, 200);

let body: { bytes: Buffer; cuts: number[] } = { bytes: Buffer.alloc(0), cuts: [] };
let server: http.Server;
let kc: KubeConfig;

beforeAll(async () => {
  server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    const { bytes, cuts } = body;
    let at = 0;
    for (const c of [...cuts].sort((a, b) => a - b)) {
      const end = Math.min(bytes.length, c);
      if (end > at) res.write(bytes.subarray(at, end));
      at = Math.max(at, end);
    }
    res.end(bytes.subarray(at));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'fuzz', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'fuzz', cluster: 'fuzz', user: 'u' }],
    currentContext: 'fuzz',
  });
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** Serves `bytes` in chunks cut at `cuts` and runs streamWatch over it. */
async function watch(bytes: Buffer, cuts: number[]): Promise<{ events: RawWatchEvent[]; error: unknown }> {
  body = { bytes, cuts };
  const events: RawWatchEvent[] = [];
  const controller = new AbortController();
  let error: unknown;
  await boundedAsync(5_000, () =>
    streamWatch(kc, '/api/v1/events', {}, (e) => events.push(e), { signal: controller.signal, connectTimeoutMs: 3_000, idleTimeoutMs: 3_000 }).catch(
      (e: unknown) => {
        error = e;
      },
    ),
  );
  return { events, error };
}

function expectSane({ events, error }: { events: RawWatchEvent[]; error: unknown }): void {
  if (error !== undefined) {
    expect(error, String(error)).toBeInstanceOf(KubeApiError);
    expect((error as KubeApiError).message.length).toBeLessThan(1_000);
  }
  for (const e of events) expect(typeof e.type).toBe('string');
}

const cutsArb = fc.array(fc.nat(400_000), { maxLength: 12 });

describe('the watch-stream decoder under fuzzing', () => {
  it('real watch lines come out exactly as sent, however the stream is chunked', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 40 }), fc.nat(LINES.length - 41), cutsArb, async (n, start, cuts) => {
        const lines = LINES.slice(start, start + n);
        const result = await watch(Buffer.from(`${lines.join('\n')}\n`), cuts);
        expect(result.error).toBeUndefined();
        expect(result.events).toEqual(
          lines.map((l) => {
            const { type, object } = JSON.parse(l) as RawWatchEvent;
            return { type, object };
          }),
        );
      }),
      fuzzParameters(60),
    );
  }, 60_000);

  const inputs = corpus('watch');
  it.each(inputs.map((i) => [i.file, i.bytes] as const))('corpus input %s (test/fixtures/fuzz/watch/)', async (_file, bytes) => {
    expectSane(await watch(bytes, [1, 7, 100, 65_536]));
  });

  it(
    'bytes mutated (flipped, cut, inserted, invalid UTF-8): events or a KubeApiError, in bounded time',
    async () => {
      const seeds = Array.from({ length: 20 }, (_, i) => Buffer.from(`${LINES.slice(i * 5, i * 5 + 5).join('\n')}\n`));
      await fc.assert(
        fc.asyncProperty(mutatedBytes(seeds), cutsArb, async (bytes, cuts) => expectSane(await watch(bytes, cuts))),
        fuzzParameters(150),
      );
    },
    fuzzTimeout(150),
  );

  it(
    'lines mutated as text (deep nesting, huge strings, duplicate keys, wrong types, truncation)',
    async () => {
      const lineArb = fc.record({ line: fc.constantFrom(...LINES), mutations: fc.array(mutationArb(), { minLength: 1, maxLength: 3 }) });
      await fc.assert(
        fc.asyncProperty(fc.array(lineArb, { minLength: 1, maxLength: 5 }), cutsArb, async (lines, cuts) => {
          const text = lines.map(({ line, mutations }) => mutations.reduce(applyMutation, line)).join('\n');
          expectSane(await watch(Buffer.from(`${text}\n`), cuts));
        }),
        fuzzParameters(150),
      );
    },
    fuzzTimeout(150),
  );

  it('a line that never ends is an error once it passes the limit: the buffer does not grow without bound', () => {
    const decoder = new WatchLineDecoder(1024 * 1024);
    const chunk = 'x'.repeat(64 * 1024);
    const start = performance.now();
    let fed = 0;
    expect(() => {
      for (;;) {
        decoder.push(chunk);
        fed += chunk.length;
        if (fed > 64 * 1024 * 1024) break;
      }
    }).toThrow(/without its end/);
    expect(fed).toBeLessThanOrEqual(1024 * 1024);
    expect(decoder.pendingChars).toBeLessThanOrEqual(1024 * 1024);
    expect(performance.now() - start).toBeLessThan(1_000);
  });

  it('a long line in small chunks is scanned once (linear time), and comes out whole', () => {
    const decoder = new WatchLineDecoder();
    const line = JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'x'.repeat(4 * 1024 * 1024) } } });
    const start = performance.now();
    const out: string[] = [];
    for (let i = 0; i < line.length; i += 1024) out.push(...decoder.push(line.slice(i, i + 1024)));
    out.push(...decoder.push('\n'));
    expect(performance.now() - start).toBeLessThan(2_000);
    expect(out).toEqual([line]);
  });
});
