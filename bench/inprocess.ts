/**
 * In-process throughput: the generated stream through the default processing and Avro encoding,
 * no external service. One run per process (bench/run.ts spawns it with --expose-gc), so peak RSS
 * and heap numbers belong to this benchmark alone.
 *
 *   node --expose-gc dist/bench/inprocess.js [--events 1000000] [--objects 10000] [--seed 42]
 *        [--mode pipeline|generator] [--pregenerate N] [--result-file FILE]
 *
 * --mode generator runs only the generator (same stream), to tell its cost from the pipeline's.
 * --pregenerate N generates the stream N events at a time before feeding them, and counts only the
 * feeding in the timed numbers: the generator costs about 7 CPU µs per event here, which is not
 * kubevents' cost. The batches are small so that they die young, as watch events do.
 */
import { Subject } from 'rxjs';
import { loadSchema } from '../src/avro/schemas.js';
import { toAvroBinary } from '../src/avro/encodings.js';
import { objectKey } from '../src/model/kube-event.js';
import type { ObjectChange, WatchEvent } from '../src/model/watch-event.js';
import { BENCH_START_TIME, buildWorld, EventStream } from './generator.js';
import { calibrate, heapAfterGc, intArg, loadAverage, mb, parseArgs, peakRss, progress, round2, RssSampler, writeResult } from './lib.js';
import { benchProcessing, warmCache } from './processing.js';

const args = parseArgs(process.argv.slice(2));
const events = intArg(args, 'events', 1_000_000);
const objects = intArg(args, 'objects', 10_000);
const seed = intArg(args, 'seed', 42);
const mode = args.get('mode') ?? 'pipeline';
const pregenerate = intArg(args, 'pregenerate', 0);
if (mode !== 'pipeline' && mode !== 'generator') throw new Error(`--mode must be pipeline or generator, got ${mode}`);
/**
 * How much of the processing runs, to tell the stages' costs apart (each level includes the ones
 * before it): normalize (eventOccurrences only), process (+ classify, enrich and the default
 * FailedScheduling rate), alerting (+ dedupe -> rate), encode (+ Avro encoding: the full benchmark).
 */
const UPTO = ['normalize', 'process', 'alerting', 'encode'] as const;
const upto = (args.get('upto') ?? 'encode') as (typeof UPTO)[number];
if (!UPTO.includes(upto)) throw new Error(`--upto must be one of ${UPTO.join(', ')}, got ${upto}`);

const loadStart = loadAverage();
const calibrationCpuMs = calibrate();
const rss = new RssSampler(50);
rss.read();
const rssAtStart = process.memoryUsage.rss();

// ---- the world and the warm cache (not timed as throughput)
let t = performance.now();
const world = buildWorld({ objects, seed });
const cache = warmCache(world.objects);
const cacheObjects = world.objects.length;
world.objects.length = 0; // the cache holds the pruned copies
const cacheBuildMs = performance.now() - t;
const heapAfterCache = heapAfterGc();
const rssAfterCache = process.memoryUsage.rss();
rss.read();

const stream = new EventStream(world, { events, seed });
const input = new Subject<WatchEvent<unknown>>();
const eventSchema = loadSchema('KubeEvent');
const alertSchema = loadSchema('Alert');
let encodedEvents = 0;
let encodedAlerts = 0;
let encodedBytes = 0;
let keyChars = 0;
let sink = 0; // generator mode: keeps the objects observable so nothing is optimized away

const sizes = new Uint32Array(65);
const encode = toAvroBinary;

const processing = mode === 'pipeline' ? benchProcessing(input, cache, 'bench', { upto }) : null;
if (processing) {
  processing.events$.subscribe((e) => {
    if (upto !== 'encode') return;
    keyChars += objectKey(e).length; // the sink's partition key
    const n = encode(eventSchema, e).length;
    sizes[Math.min(64, n >> 7)]!++;
    encodedBytes += n;
    encodedEvents++;
  });
  processing.alerts$.subscribe((a) => {
    if (upto !== 'encode') return;
    encodedBytes += encode(alertSchema, a).length;
    encodedAlerts++;
  });
}

progress(
  `inprocess ${mode}: ${events.toLocaleString('en')} events on ${cacheObjects.toLocaleString('en')} objects (cache built in ${Math.round(cacheBuildMs)} ms)`,
);
const warmupMark = Math.floor(events * 0.2);
let warmupAt = 0;
let warmupCpu = 0;
const cpu0 = process.cpuUsage();
t = performance.now();
// time and CPU spent outside the timed region (pre-generation), subtracted from the totals
let excludedMs = 0;
let excludedCpuMs = 0;
const batch: ObjectChange<unknown>[] = [];
const feed = (change: ObjectChange<unknown>, i: number): void => {
  if (processing) input.next(change);
  else sink += (change.object as { metadata: { name: string } }).metadata.name.length;
  if ((i & 1023) === 0) {
    rss.sample();
    if (i >= warmupMark && warmupAt === 0) {
      warmupAt = performance.now() - excludedMs;
      const c = process.cpuUsage(cpu0);
      warmupCpu = (c.user + c.system) / 1000 - excludedCpuMs;
    }
  }
};
if (pregenerate > 0) {
  for (let i = 0; i < events;) {
    const genWall = performance.now();
    const genCpu = process.cpuUsage();
    batch.length = 0;
    for (let j = 0; j < pregenerate && i + j < events; j++) batch.push(stream.next()!);
    const genCpuUsed = process.cpuUsage(genCpu);
    excludedCpuMs += (genCpuUsed.user + genCpuUsed.system) / 1000;
    excludedMs += performance.now() - genWall;
    for (let j = 0; j < batch.length; j++, i++) feed(batch[j]!, i);
  }
  batch.length = 0;
} else {
  for (let i = 0; i < events; i++) feed(stream.next()!, i);
}
const feedEnd = performance.now();
const cpuFeed = process.cpuUsage(cpu0);
rss.read();
// state retained by the pipeline after the whole stream (before flushing it)
const heapWithState = heapAfterGc();
const flushStart = performance.now();
input.complete();
const flushMs = performance.now() - flushStart;
const heapAfterComplete = heapAfterGc();
rss.read();

const wallMs = feedEnd - t - excludedMs;
const cpuMs = (cpuFeed.user + cpuFeed.system) / 1000 - excludedCpuMs;
const steadyEvents = events - warmupMark;
const result = {
  bench: 'inprocess',
  mode,
  upto: mode === 'pipeline' ? upto : null,
  /** events generated per batch before being fed (their generation not timed), 0: generated as fed */
  pregenerate,
  generationCpuMs: Math.round(excludedCpuMs),
  events,
  objects: cacheObjects,
  seed,
  stream: { ...stream.counts, liveAtEnd: stream.live, eventTimeSpanMin: round2((stream.eventTime - BENCH_START_TIME) / 60_000) },
  counters: processing ? { ...processing.counters, encodedEvents, encodedAlerts, encodedBytes, keyChars } : { sink },
  /** KubeEvent records over 1 KiB: avsc 5's Type.toBuffer encodes those twice (its shared 1 KiB buffer overflows) */
  eventRecordsOver1KiB: encodedEvents ? round2(sizes.slice(8).reduce((a, b) => a + b, 0) / encodedEvents) : null,
  avgEventRecordBytes: encodedEvents ? Math.round(encodedBytes / (encodedEvents + encodedAlerts)) : null,
  cacheBuildMs: Math.round(cacheBuildMs),
  wallMs: Math.round(wallMs),
  cpuMs: Math.round(cpuMs),
  flushMs: Math.round(flushMs),
  eventsPerSec: Math.round(events / (wallMs / 1000)),
  eventsPerCpuSec: Math.round(events / (cpuMs / 1000)),
  steadyEventsPerSec: warmupAt ? Math.round(steadyEvents / ((feedEnd - excludedMs - warmupAt) / 1000)) : null,
  steadyEventsPerCpuSec: warmupAt ? Math.round(steadyEvents / ((cpuMs - warmupCpu) / 1000)) : null,
  memoryMB: {
    rssAtStart: mb(rssAtStart),
    rssAfterCache: mb(rssAfterCache),
    heapAfterCacheGc: heapAfterCache === null ? null : mb(heapAfterCache),
    heapAfterStreamGc: heapWithState === null ? null : mb(heapWithState),
    heapAfterCompleteGc: heapAfterComplete === null ? null : mb(heapAfterComplete),
    peakRssSampled: mb(rss.max),
    peakRss: mb(Math.max(peakRss(), rss.max)),
  },
  calibrationCpuMs,
  loadavgStart: loadStart,
  loadavgEnd: loadAverage(),
};
writeResult(args, result);
