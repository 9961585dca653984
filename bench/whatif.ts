/**
 * Micro-measurements behind the hot spots the profile shows: the project's function as it is next
 * to the suggested change, on the benchmark's own records, each checked to give the same result.
 * Not part of `npm run bench`; run it to check a suggestion:
 *
 *   node --expose-gc dist/bench/whatif.js [--events 200000] [--result-file FILE]
 */
import { Subject } from 'rxjs';
import { Counter, Registry } from 'prom-client';
import { labelsFingerprint } from '../src/model/alert.js';
import { toAvroBinary } from '../src/avro/encodings.js';
import { loadSchema } from '../src/avro/schemas.js';
import { normalizeEvent } from '../src/model/normalize.js';
import { objectKey } from '../src/model/kube-event.js';
import type { KubeEvent } from '../src/model/kube-event.js';
import type { WatchEvent } from '../src/model/watch-event.js';
import { compileRules, classifyEvent } from '../src/operators/classify.js';
import { dedupe } from '../src/operators/dedupe.js';
import { enrichmentOf } from '../src/operators/enrich.js';
import { rateLabels } from '../src/operators/rate.js';
import { cleanLabels } from '../src/model/alert.js';
import { silentLogger } from '../src/core/logger.js';
import { eventOccurrences, type EventItem } from '../src/sources/event-source.js';
import type { Enrichment } from '../src/model/kube-event.js';
import type { KubeObject, ObjectLookup } from '../src/sources/object-lookup.js';
import { regardingObject } from '../src/operators/enrich.js';
import { buildWorld, EventStream } from './generator.js';
import { calibrate, intArg, loadAverage, parseArgs, progress, round2, writeResult } from './lib.js';
import { warmCache } from './processing.js';

const args = parseArgs(process.argv.slice(2));
const n = intArg(args, 'events', 200_000);

/** CPU µs per call of `fn` over `items` (best of 3 passes, after a warm-up pass). */
function measure<T>(items: readonly T[], fn: (item: T) => unknown): number {
  let sink = 0;
  const pass = (): number => {
    const c0 = process.cpuUsage();
    for (const item of items) if (fn(item) !== undefined) sink++;
    const c = process.cpuUsage(c0);
    return (c.user + c.system) / items.length;
  };
  pass();
  const best = Math.min(pass(), pass(), pass());
  if (sink === -1) progress('');
  return round2(best);
}

// ---- the BigInt FNV-1a 64 labelsFingerprint had before (the production one now computes it in
// two 32-bit halves; test/unit/model/labels-fingerprint.test.ts checks they agree)
const encoder = new TextEncoder();
function fnv64BigInt(labels: Record<string, string>): string {
  const prime = 0x100000001b3n;
  const mask = 0xffffffffffffffffn;
  let h = 0xcbf29ce484222325n;
  const add = (bytes: Uint8Array): void => {
    for (const b of bytes) h = ((h ^ BigInt(b)) * prime) & mask;
  };
  const sep = new Uint8Array([0xff]);
  for (const name of Object.keys(labels).sort()) {
    const value = labels[name];
    if (value === undefined || value === '') continue;
    add(encoder.encode(name));
    add(sep);
    add(encoder.encode(value));
    add(sep);
  }
  return h.toString(16).padStart(16, '0');
}

// ---- enrichment memoized per cached object version (objects are replaced, never mutated, by the cache)
function memoizedEnrichment(lookup: ObjectLookup): (e: KubeEvent) => Enrichment | null {
  const memo = new WeakMap<KubeObject, { owners: Array<KubeObject | undefined>; enrichment: Enrichment | null }>();
  return (e) => {
    const obj = regardingObject(e, lookup);
    if (!obj) return null;
    const hit = memo.get(obj);
    // valid while every owner in the chain is still the same cached object
    if (hit && hit.owners.every((o, i) => o === lookup.getByUid(hit.enrichment!.ownerChain[i]!.uid ?? ''))) return hit.enrichment;
    const enrichment = enrichmentOf(e, lookup);
    const owners = (enrichment?.ownerChain ?? []).map((o) => (o.uid ? lookup.getByUid(o.uid) : undefined));
    memo.set(obj, { owners, enrichment });
    return enrichment;
  };
}

const loadStart = loadAverage();
const calibrationCpuMs = calibrate();
const world = buildWorld({ objects: 10_000 });
const cache = warmCache(world.objects);
world.objects.length = 0;
const events: KubeEvent[] = [];
const raws: Array<WatchEvent<unknown>> = [];
{
  const input = new Subject<WatchEvent<unknown>>();
  input.pipe(eventOccurrences({ cluster: 'bench', logger: silentLogger })).subscribe((i) => {
    if (i.type === 'EVENT') events.push((i as EventItem).event);
  });
  for (const change of new EventStream(world, { events: n })) {
    raws.push(change);
    input.next(change);
  }
  input.complete();
}
const rules = compileRules();
const classified = events.map((e) => ({ ...e, classification: classifyEvent(e, rules), enrichment: enrichmentOf(e, cache) }));
progress(`whatif: ${events.length.toLocaleString('en')} occurrences`);

// the stages' own functions, per call, for scale
const eventSchema = loadSchema('KubeEvent');
const perStage = {
  normalizeEvent: measure(raws, (c) =>
    c.type === 'ADDED' || c.type === 'MODIFIED' ? normalizeEvent((c as { object: unknown }).object, c.type, { cluster: 'bench' }) : undefined,
  ),
  classifyEvent: measure(events, (e) => classifyEvent(e, rules)),
  enrichmentOf: measure(events, (e) => enrichmentOf(e, cache)),
  toAvroBinary: measure(classified, (e) => toAvroBinary(eventSchema, e)),
  objectKey: measure(classified, (e) => objectKey(e)),
};
raws.length = 0;

// labels fingerprint
const labelSets = classified.map((e) => cleanLabels({ ...rateLabels(e), alertname: 'X' }));
labelSets.push({ alertname: 'Ünïcode', namespace: 'naïve-ns', name: '日本' });
for (const l of labelSets) if (fnv64BigInt(l) !== labelsFingerprint(l)) throw new Error(`fingerprint mismatch for ${JSON.stringify(l)}`);
const fingerprint = { bigInt: measure(labelSets, fnv64BigInt), current: measure(labelSets, labelsFingerprint) };

// enrichment
const memo = memoizedEnrichment(cache);
for (const e of events) if (JSON.stringify(memo(e)) !== JSON.stringify(enrichmentOf(e, cache))) throw new Error('memoized enrichment differs');
const enrichment = { current: measure(events, (e) => enrichmentOf(e, cache)), memoized: measure(events, memo) };

// classify + enrich: two copies of the event vs one
const c0 = events.map((e) => classifyEvent(e, rules));
const en0 = events.map((e) => enrichmentOf(e, cache));
let k = 0;
const copies = {
  twoSpreads: measure(events, (e) => {
    const i = k++ % events.length;
    const a = { ...e, classification: c0[i]! };
    return { ...a, enrichment: en0[i]! };
  }),
  oneSpread: measure(events, (e) => {
    const i = k++ % events.length;
    return { ...e, classification: c0[i]!, enrichment: en0[i]! };
  }),
};

// prom-client: inc with a labels object per call (event-time.ts ctx.emit) vs a local count
const registry = new Registry();
const counter = new Counter({ name: 'x_total', help: 'x', labelNames: ['operator', 'stage'], registers: [registry] });
const labels = { operator: 'rate', stage: 'rate' };
let local = 0;
const metrics = { incWithLabels: measure(events, () => counter.inc(labels)), localCount: measure(events, () => local++) };

// the event-time machinery: dedupe alone on the Warnings, per input event
const warnings = classified.filter((e) => e.type === 'Warning');
const dedupeUs = (() => {
  const c = process.cpuUsage();
  const input = new Subject<KubeEvent>();
  let out = 0;
  input.pipe(dedupe({ window: 300_000, logger: silentLogger })).subscribe(() => out++);
  for (const e of warnings) input.next(e);
  input.complete();
  const d = process.cpuUsage(c);
  return round2((d.user + d.system) / warnings.length);
})();

writeResult(args, {
  bench: 'whatif',
  occurrences: events.length,
  cpuMicrosecondsPerCall: {
    perStage,
    labelsFingerprint: fingerprint,
    enrichmentOf: enrichment,
    eventCopies: copies,
    promClientCounter: metrics,
    dedupePerWarning: dedupeUs,
  },
  calibrationCpuMs,
  loadavgStart: loadStart,
  loadavgEnd: loadAverage(),
});
