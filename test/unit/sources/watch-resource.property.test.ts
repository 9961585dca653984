import { describe, it } from 'vitest';
import fc from 'fast-check';
import { watchResource } from '../../../src/sources/watch-resource.js';
import { RESOURCES } from '../../../src/sources/resources.js';
import { FAKE_RESOURCES, startFakeApiServer, type Obj } from '../../support/fake-apiserver.js';
import { fuzzParameters, fuzzTimeout } from '../../support/fuzz.js';
import { collect, converged, delay, expectExactlyOnce, expectFullHistory, FAST, pod, waitFor } from './support.js';

const PODS = FAKE_RESOURCES.pods!;

type Op =
  | { op: 'create' }
  | { op: 'update'; pick: number }
  | { op: 'delete'; pick: number }
  | { op: 'disconnect' }
  | { op: 'close' }
  | { op: 'gone' }
  | { op: 'compact' }
  | { op: 'fail'; status: 500 | 503 | 429 }
  | { op: 'bookmark' }
  | { op: 'expireTokens' }
  | { op: 'stall' }
  | { op: 'quickClose' }
  | { op: 'wait'; ms: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ op: 'create' } as Op) },
  { weight: 6, arbitrary: fc.nat(50).map((pick) => ({ op: 'update', pick }) as Op) },
  { weight: 2, arbitrary: fc.nat(50).map((pick) => ({ op: 'delete', pick }) as Op) },
  { weight: 1, arbitrary: fc.constant({ op: 'disconnect' } as Op) },
  { weight: 1, arbitrary: fc.constant({ op: 'close' } as Op) },
  { weight: 1, arbitrary: fc.constant({ op: 'gone' } as Op) },
  { weight: 1, arbitrary: fc.constant({ op: 'compact' } as Op) },
  { weight: 1, arbitrary: fc.constantFrom(500, 503, 429).map((status) => ({ op: 'fail', status }) as Op) },
  { weight: 1, arbitrary: fc.constant({ op: 'bookmark' } as Op) },
  { weight: 1, arbitrary: fc.constant({ op: 'expireTokens' } as Op) },
  { weight: 1, arbitrary: fc.constant({ op: 'stall' } as Op) },
  { weight: 1, arbitrary: fc.constant({ op: 'quickClose' } as Op) },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 15 }).map((ms) => ({ op: 'wait', ms }) as Op) },
);

describe('watchResource under a randomized fault schedule', () => {
  it(
    'emits every object version the server holds exactly once, in order per object',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: 8 }), fc.array(opArb, { minLength: 5, maxLength: 40 }), async (initial, ops) => {
          const server = await startFakeApiServer({ pageDelayMs: 2 });
          let n = 0;
          for (let i = 0; i < initial; i++) server.create(PODS, pod(`init${i}`));
          const c = collect<Obj>(
            watchResource<Obj>(server.kubeConfig(), RESOURCES.Pod, {
              timings: { ...FAST, pageSize: 2, stallTimeoutMs: 150 },
            }),
          );
          let lossy = false;
          try {
            for (const o of ops) {
              const names = server.list(PODS).map((p) => p.metadata.name as string);
              switch (o.op) {
                case 'create':
                  server.create(PODS, pod(`p${n++}`));
                  break;
                case 'update':
                  if (names.length) server.update(PODS, 'default', names[o.pick % names.length]!, (p) => (p.metadata.labels.v = String(n++)));
                  break;
                case 'delete':
                  if (names.length) server.delete(PODS, 'default', names[o.pick % names.length]!);
                  break;
                case 'disconnect':
                  server.disconnectWatches();
                  break;
                case 'close':
                  server.closeWatches();
                  break;
                case 'gone':
                  lossy = true;
                  server.goneWatches();
                  break;
                case 'compact':
                  lossy = true;
                  server.compact();
                  break;
                case 'fail':
                  server.failNext({ status: o.status, retryAfter: o.status === 429 ? 0 : undefined });
                  break;
                case 'bookmark':
                  server.bookmark();
                  break;
                case 'expireTokens':
                  server.expireContinueTokens();
                  break;
                case 'stall':
                  server.stallWatches();
                  break;
                case 'quickClose':
                  lossy = true; // three in a row are treated as 410: a relist
                  server.quickCloseNextWatches(1);
                  break;
                case 'wait':
                  await delay(o.ms);
                  break;
              }
            }
            // one object created after the schedule: once it is emitted, so is every change before it
            // (a watch delivers in resourceVersion order, a relist lists it). Checking convergence
            // alone passed at once when both sides were empty while a create and its delete were
            // still held by a stalled watch (CI seed -369053805; the example below)
            const last = server.create(PODS, pod('after-schedule'));
            const lastUid = last.metadata.uid as string;
            await waitFor(
              () => c.events.some((e) => e.type === 'SYNCED') && c.changes().some((ch) => ch.object.metadata.uid === lastUid) && converged(c, server, PODS),
              5_000,
              'convergence',
            );
            await delay(30);
            if (c.errors.length) throw c.errors[0];
            expectExactlyOnce(c, server, PODS);
            // the strict form holds when nothing forced a relist or a list restart (expired continue
            // token: objects from the first attempt may skip versions up to the second snapshot)
            const relisted = c.events.filter((e) => e.type === 'SYNCED').length > 1;
            const listRestarted = server.requests.some((r) => !r.watch && r.status === 410);
            if (!lossy && !relisted && !listRestarted) expectFullHistory(c, server, PODS);
          } finally {
            c.subscription.unsubscribe();
            await server.stop();
          }
        }),
        {
          // KUBEVENTS_FUZZ_SEED replays a failure, KUBEVENTS_FUZZ_RUNS a long run (test/support/fuzz.ts)
          ...fuzzParameters(Number(process.env.FC_RUNS ?? 30)),
          // CI seed -369053805 (its 5 ms wait made 15: the list is then done and the check found both
          // sides empty, every time, before the fix above)
          examples: [
            [
              0,
              [
                { op: 'wait', ms: 15 },
                { op: 'create' },
                { op: 'stall' },
                { op: 'delete', pick: 0 },
                { op: 'update', pick: 0 },
                { op: 'update', pick: 0 },
                { op: 'stall' },
                { op: 'stall' },
              ],
            ],
          ],
        },
      );
    },
    fuzzTimeout(30, 60_000),
  );
});
