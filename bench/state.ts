/**
 * Operator state in checkpoints (issue #20): what the live job's state checkpoints cost, and what
 * the alternative, rebuilding the state by re-reading the events of the longest window at start,
 * would cost.
 *
 *   node --expose-gc dist/bench/state.js [--objects 12000] [--hour-events 720000] [--keys 10000]
 *        [--result-file FILE]
 *
 * The default pipeline (pipelines/default.yaml: the FailedScheduling and crash-loop rates, the node
 * incidents, the warning-storm spike) runs in a PipelineSet, as in `kubevents run --source kube`,
 * on the generated cluster of bench/generator.ts (its objects in the warm cache, so the events are
 * enriched as in production):
 *
 * 1. an hour of events (200/s of event time, 720,000 watch events): the longest window of the
 *    default pipeline is the node incident's maxDuration, 1 h (the spike's baseline learns from
 *    every minute before);
 * 2. then a FailedScheduling storm: `--keys` Pods (10,000) each unschedulable, 6 FailedScheduling
 *    within 3 minutes, so the rate holds 10,000 firing keys, each with its last event (enriched),
 *    samples and member keys;
 * 3. then 30 seconds of both (the cluster's 200 events/s and the storm going on), with a delta
 *    snapshot every second, as the live job cuts them.
 *
 * Measured: a full snapshot after 1 and 2 (PipelineSet.snapshot + v8.serialize, the part that
 * holds the event loop; then gzip, off the event loop; the stored size), a delta each second of 3;
 * the restore (gunzip + deserialize + merge + a PipelineSet resuming from it, subscribed) of the
 * full snapshot and of the chain (full + 30 deltas); and that the restored set emits, for the
 * next events, exactly what the original emits. The rebuild alternative is timed as the CPU time
 * of processing the events of 1 and 2 again in-process: a lower bound (reading and decoding them
 * from Kafka comes on top).
 */
import { Registry } from 'prom-client';
import { from, Subject } from 'rxjs';
import { compressState, decodeState, serializeState } from '../src/checkpoint/state-codec.js';
import { silentLogger } from '../src/core/logger.js';
import type { KubeEvent } from '../src/model/kube-event.js';
import { normalizeEvent } from '../src/model/normalize.js';
import { PipelineSet } from '../src/pipeline/hot-swap.js';
import { defaultPipelinePaths, loadPipelines, type LoadedPipeline } from '../src/pipeline/load.js';
import { mergePipelinesSnapshots, parsePipelinesSnapshot, type PipelinesSnapshot } from '../src/pipeline/state.js';
import { eventOccurrences, type EventSourceItem } from '../src/sources/event-source.js';
import type { ObjectLookup } from '../src/sources/object-lookup.js';
import { buildWorld, EventStream, type World } from './generator.js';
import { heapAfterGc, intArg, loadAverage, machineInfo, mb, parseArgs, progress, round2, writeResult } from './lib.js';
import { warmCache } from './processing.js';

const args = parseArgs(process.argv.slice(2));
const objects = intArg(args, 'objects', 12_000);
const hourEvents = intArg(args, 'hour-events', 720_000);
const stormKeys = intArg(args, 'keys', 10_000);
const seed = intArg(args, 'seed', 42);
const DELTAS = 30;

interface Running {
  set: PipelineSet;
  input: Subject<KubeEvent>;
  /** Idempotency keys of the records, while `collect` is on. */
  out: string[];
  collect: boolean;
  records: number;
}

function start(pipelines: readonly LoadedPipeline[], lookup: ObjectLookup, restore: PipelinesSnapshot | null): Running {
  const set = new PipelineSet({ lookup, pipelines, logger: silentLogger, registry: new Registry(), restore });
  const running: Running = { set, input: new Subject<KubeEvent>(), out: [], collect: false, records: 0 };
  set.run(running.input).subscribe((o) => {
    running.records++;
    if (running.collect) running.out.push(`${o.sink}:${o.idempotencyKey}`);
  });
  return running;
}

function occurrences(changes: Iterable<unknown>): KubeEvent[] {
  const out: KubeEvent[] = [];
  from(changes as Iterable<never>)
    .pipe(eventOccurrences({ cluster: 'bench', logger: silentLogger }))
    .subscribe((i: EventSourceItem) => {
      if (i.type === 'EVENT') out.push(i.event);
    });
  return out;
}

/** `rounds` FailedScheduling per Pod, 30 s apart, the Pods interleaved (6 rounds: every Pod's rate fires). */
function stormEvents(world: World, pods: number, startMs: number, rounds: number, firstRound = 0): KubeEvent[] {
  const out: KubeEvent[] = [];
  const n = Math.min(pods, world.pods.length);
  for (let round = firstRound; round < firstRound + rounds; round++) {
    for (let i = 0; i < n; i++) {
      const pod = world.pods[i]!;
      const at = startMs + round * 30_000 + Math.floor((i * 30_000) / n);
      const uid = `storm-${i.toString(16).padStart(8, '0')}-0000-4000-a000-${seed.toString(16).padStart(12, '0')}`;
      out.push(
        normalizeEvent(
          {
            apiVersion: 'events.k8s.io/v1',
            kind: 'Event',
            metadata: {
              name: `${pod.name}.storm`,
              namespace: pod.namespace,
              uid,
              resourceVersion: String(9_000_000 + round * n + i),
              creationTimestamp: new Date(startMs).toISOString(),
            },
            eventTime: new Date(startMs).toISOString(),
            ...(round === 0 ? {} : { series: { count: round + 1, lastObservedTime: new Date(at).toISOString() } }),
            reportingController: 'default-scheduler',
            reportingInstance: 'default-scheduler-control-plane',
            action: 'Scheduling',
            reason: 'FailedScheduling',
            type: 'Warning',
            note: '0/120 nodes are available: 120 Insufficient cpu. preemption: 0/120 nodes are available: 120 No preemption victims found for incoming pod.',
            regarding: { apiVersion: 'v1', kind: 'Pod', namespace: pod.namespace, name: pod.name, uid: pod.uid },
          },
          round === 0 ? 'ADDED' : 'MODIFIED',
          { cluster: 'bench' },
        ),
      );
    }
  }
  return out;
}

interface Snap {
  value: PipelinesSnapshot;
  snapshotMs: number;
  serialized: number;
  compressMs: number;
  stored: Buffer;
}

async function snap(r: Running, full: boolean): Promise<Snap> {
  let t = performance.now();
  const value = r.set.snapshot(full);
  const serialized = serializeState(value);
  const snapshotMs = performance.now() - t;
  t = performance.now();
  const stored = await compressState(serialized);
  return { value, snapshotMs, serialized: serialized.length, compressMs: performance.now() - t, stored };
}

const keysOf = (s: PipelinesSnapshot): Record<string, number> =>
  Object.fromEntries(s.pipelines.flatMap((p) => Object.entries(p.stages).map(([id, st]) => [id, st.keys.length])));

/** Restores the chain into a new set, checks it against `original` on `next` (when given), returns the times. */
async function restore(
  chain: Buffer[],
  pipelines: readonly LoadedPipeline[],
  lookup: ObjectLookup,
  original: Running | null,
  next: KubeEvent[],
): Promise<Record<string, number>> {
  let t = performance.now();
  const decoded: PipelinesSnapshot[] = [];
  for (const piece of chain) decoded.push(parsePipelinesSnapshot(await decodeState(piece)));
  const decodeMs = performance.now() - t;
  t = performance.now();
  const merged = mergePipelinesSnapshots(decoded);
  const restored = start(pipelines, lookup, merged);
  const restoreMs = performance.now() - t;
  const bytes = chain.reduce((n, b) => n + b.length, 0);
  if (!original) {
    restored.input.complete();
    return { bytes, decodeMs: round2(decodeMs), restoreMs: round2(restoreMs), totalMs: round2(decodeMs + restoreMs) };
  }
  original.collect = true;
  restored.collect = true;
  original.out = [];
  for (const e of next) {
    original.input.next(e);
    restored.input.next(e);
  }
  original.collect = false;
  if (original.out.length !== restored.out.length || original.out.some((k, i) => k !== restored.out[i])) {
    throw new Error(`the restored pipelines emit other records than the original: ${restored.out.length} vs ${original.out.length}`);
  }
  restored.input.complete();
  return { bytes, decodeMs: round2(decodeMs), restoreMs: round2(restoreMs), totalMs: round2(decodeMs + restoreMs), checkedRecords: original.out.length };
}

async function main(): Promise<void> {
  const loadStart = loadAverage();
  const loaded = await loadPipelines(defaultPipelinePaths());
  if (!loaded.ok) throw new Error('the default pipeline does not load');
  const pipelines = loaded.pipelines;
  const world = buildWorld({ objects, seed });
  const cache = warmCache(world.objects);

  progress(`generating ${hourEvents} watch events (an hour at 200/s) and a storm over ${stormKeys} Pods`);
  const stream = new EventStream(world, { events: hourEvents + (DELTAS + 2) * 200, seed });
  const all = occurrences([...stream]);
  const hour = all.filter((e) => e.lastTimestamp <= all[0]!.lastTimestamp + 3_600_000);
  const later = all.slice(hour.length);
  const stormStart = hour[hour.length - 1]!.lastTimestamp + 1;
  const storm = stormEvents(world, stormKeys, stormStart, 6);
  // after the storm: the cluster goes on (its later events, moved after the storm) and the Pods stay unschedulable
  const shift = stormStart + 3 * 60_000 - (later[0]?.lastTimestamp ?? stormStart);
  const going = later.map((e) => ({ ...e, lastTimestamp: e.lastTimestamp + shift }));
  const more = stormEvents(world, stormKeys, stormStart, 2, 6);
  const result: Record<string, unknown> = { machine: machineInfo(), objects, pods: world.pods.length, loadavgStart: loadStart };

  const running = start(pipelines, cache, null);
  // 1. the hour
  let t = performance.now();
  for (const e of hour) running.input.next(e);
  const hourMs = performance.now() - t;
  const hourSnap = await snap(running, true);
  result['hour'] = {
    events: hour.length,
    processMs: round2(hourMs),
    keys: keysOf(hourSnap.value),
    full: {
      snapshotMs: round2(hourSnap.snapshotMs),
      serializedBytes: hourSnap.serialized,
      compressMs: round2(hourSnap.compressMs),
      storedBytes: hourSnap.stored.length,
    },
    restore: await restore([hourSnap.stored], pipelines, cache, running, storm.slice(0, 200)),
  };
  progress(`after the hour: ${JSON.stringify(result['hour'])}`);

  // 2. the storm (the 200 events the check used are already in)
  t = performance.now();
  for (const e of storm.slice(200)) running.input.next(e);
  const stormMs = performance.now() - t;
  const base = await snap(running, true);
  result['storm'] = {
    events: storm.length,
    processMs: round2(stormMs),
    keys: keysOf(base.value),
    totalKeys: Object.values(keysOf(base.value)).reduce((a, b) => a + b, 0),
    full: { snapshotMs: round2(base.snapshotMs), serializedBytes: base.serialized, compressMs: round2(base.compressMs), storedBytes: base.stored.length },
  };
  progress(`after the storm: ${JSON.stringify(result['storm'])}`);

  // 3. a delta every second of events (the cluster's 200/s and the storm's repeats, in event-time order)
  const perSecond = Math.ceil(more.length / DELTAS);
  const chain = [base.stored];
  const deltas: Array<{ events: number; snapshotMs: number; serializedBytes: number; storedBytes: number }> = [];
  for (let i = 0; i < DELTAS; i++) {
    const second = [...going.slice(i * 200, (i + 1) * 200), ...more.slice(i * perSecond, (i + 1) * perSecond)].sort(
      (a, b) => a.lastTimestamp - b.lastTimestamp,
    );
    for (const e of second) running.input.next(e);
    const d = await snap(running, false);
    chain.push(d.stored);
    deltas.push({ events: second.length, snapshotMs: round2(d.snapshotMs), serializedBytes: d.serialized, storedBytes: d.stored.length });
  }
  const sorted = (k: 'snapshotMs' | 'storedBytes') => deltas.map((d) => d[k]).sort((a, b) => a - b);
  result['deltas'] = {
    count: DELTAS,
    eventsPerDelta: round2(deltas.reduce((n, d) => n + d.events, 0) / DELTAS),
    snapshotMsMedian: sorted('snapshotMs')[DELTAS >> 1],
    snapshotMsMax: sorted('snapshotMs')[DELTAS - 1],
    storedBytesMedian: sorted('storedBytes')[DELTAS >> 1],
    storedBytesTotal: deltas.reduce((n, d) => n + d.storedBytes, 0),
  };
  progress(`deltas: ${JSON.stringify(result['deltas'])}`);
  const next = stormEvents(world, Math.min(stormKeys, 2_000), stormStart + 10 * 60_000, 1, 8);
  result['restoreFull'] = await restore([base.stored], pipelines, cache, null, next);
  result['restoreChain'] = await restore(chain, pipelines, cache, running, next);
  progress(`restore: full ${JSON.stringify(result['restoreFull'])}, chain ${JSON.stringify(result['restoreChain'])}`);

  // the rebuild alternative: the hour and the storm processed again by a fresh set
  const fresh = start(pipelines, cache, null);
  const cpu = process.cpuUsage();
  t = performance.now();
  for (const e of hour) fresh.input.next(e);
  for (const e of storm) fresh.input.next(e);
  const rebuildMs = performance.now() - t;
  const used = process.cpuUsage(cpu);
  result['rebuild'] = {
    events: hour.length + storm.length,
    wallMs: round2(rebuildMs),
    cpuMs: round2((used.user + used.system) / 1000),
    eventsPerCpuSecond: Math.round((hour.length + storm.length) / ((used.user + used.system) / 1e6)),
  };
  progress(`rebuild: ${JSON.stringify(result['rebuild'])}`);
  result['heapAfterGcMb'] = mb(heapAfterGc() ?? 0);
  result['loadavgEnd'] = loadAverage();
  writeResult(args, result);
}

main().catch((error: unknown) => {
  process.stderr.write(`${String((error as Error).stack ?? error)}\n`);
  process.exit(1);
});
