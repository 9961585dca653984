/**
 * Operator state in checkpoints (issue #20): what the live job's state snapshot costs, and what the
 * alternative, rebuilding the state by re-reading the events of the longest window, would cost.
 *
 *   node --expose-gc dist/bench/state.js [--objects 12000] [--hour-events 720000] [--keys 10000]
 *        [--result-file FILE]
 *
 * The default pipeline (pipelines/default.yaml: the FailedScheduling and crash-loop rates, the node
 * incidents, the warning-storm spike) runs in a PipelineSet, as in `kubevents run --source kube`,
 * on the generated cluster of bench/generator.ts (objects in the warm cache, so the events are
 * enriched as in production):
 *
 * 1. an hour of events (200/s of event time, 720,000 watch events): the longest window of the
 *    default pipeline is the node incident's maxDuration, 1 h (the spike's baseline learns from
 *    every minute before);
 * 2. then a FailedScheduling storm: `--keys` Pods (10,000) each unschedulable, 6 FailedScheduling
 *    within 3 minutes, so the rate holds 10,000 firing keys, each with its last event (enriched),
 *    samples and member keys.
 *
 * After each phase: the snapshot (PipelineSet.snapshot + v8.serialize: the synchronous part,
 * between two events), its compression (gzip level 1, off the event loop), the stored size; the
 * restore (gunzip + deserialize + a new PipelineSet resuming from it, subscribed); and a check
 * that the restored set emits, for the next events, exactly what the original emits. The
 * rebuild alternative is timed as the CPU time of processing the phase's events again in-process
 * (a lower bound: reading and decoding them from Kafka comes on top).
 */
import { Subject } from 'rxjs';
import { Registry } from 'prom-client';
import { compressState, decodeState, serializeState } from '../src/checkpoint/state-codec.js';
import { silentLogger } from '../src/core/logger.js';
import type { KubeEvent } from '../src/model/kube-event.js';
import { normalizeEvent } from '../src/model/normalize.js';
import type { OutRecord } from '../src/model/out-record.js';
import { PipelineSet } from '../src/pipeline/hot-swap.js';
import { defaultPipelinePaths, loadPipelines, type LoadedPipeline } from '../src/pipeline/load.js';
import type { PipelinesSnapshot } from '../src/pipeline/state.js';
import { eventOccurrences, type EventSourceItem } from '../src/sources/event-source.js';
import type { ObjectLookup } from '../src/sources/object-lookup.js';
import { from } from 'rxjs';
import { BENCH_START_TIME, buildWorld, EventStream, type World } from './generator.js';
import { heapAfterGc, intArg, loadAverage, mb, parseArgs, progress, round2, writeResult } from './lib.js';
import { warmCache } from './processing.js';

const args = parseArgs(process.argv.slice(2));
const objects = intArg(args, 'objects', 12_000);
const hourEvents = intArg(args, 'hour-events', 720_000);
const stormKeys = intArg(args, 'keys', 10_000);
const seed = intArg(args, 'seed', 42);

const loadStart = loadAverage();

async function main(): Promise<void> {
  const loaded = await loadPipelines(defaultPipelinePaths());
  if (!loaded.ok) throw new Error('the default pipeline does not load');
  const pipelines = loaded.pipelines;

  const world = buildWorld({ objects, seed });
  const cache = warmCache(world.objects);

  // --- the events: an hour of the generated cluster, then the FailedScheduling storm
  progress(`generating ${hourEvents} watch events (an hour at 200/s) and a storm over ${stormKeys} Pods`);
  const stream = new EventStream(world, { events: hourEvents, seed });
  const hour = occurrences([...stream]);
  const stormStart = Math.ceil(stream.eventTime / 60_000) * 60_000 + 60_000;
  const storm = stormEvents(world, stormKeys, stormStart);
  const after = stormEvents(world, Math.min(stormKeys, 2_000), stormStart + 5 * 60_000, 'after');

  const result: Record<string, unknown> = { machine: { node: process.version }, objects, pods: world.pods.length, loadavgStart: loadStart };
  const running = start(pipelines, cache, null);

  // phase 1: the hour
  let t = performance.now();
  for (const e of hour) running.input.next(e);
  const hourMs = performance.now() - t;
  result['hour'] = {
    events: hour.length,
    processMs: round2(hourMs),
    eventsPerSecond: Math.round(hour.length / (hourMs / 1000)),
    ...(await measure(running, pipelines, cache, after.slice(0, 200))),
  };
  progress(`after the hour: ${JSON.stringify(result['hour'])}`);

  // phase 2: the storm
  t = performance.now();
  for (const e of storm) running.input.next(e);
  const stormMs = performance.now() - t;
  result['storm'] = { events: storm.length, processMs: round2(stormMs), ...(await measure(running, pipelines, cache, after)) };
  progress(`after the storm: ${JSON.stringify(result['storm'])}`);

  // the rebuild alternative: the hour and the storm processed again by a fresh set
  const fresh = start(pipelines, cache, null);
  t = performance.now();
  for (const e of hour) fresh.input.next(e);
  for (const e of storm) fresh.input.next(e);
  const rebuildMs = performance.now() - t;
  result['rebuild'] = {
    events: hour.length + storm.length,
    cpuMs: round2(rebuildMs),
    eventsPerSecond: Math.round((hour.length + storm.length) / (rebuildMs / 1000)),
  };
  progress(`rebuild: ${JSON.stringify(result['rebuild'])}`);
  result['heapAfterGcMb'] = mb(heapAfterGc() ?? 0);
  result['loadavgEnd'] = loadAverage();
  writeResult(args, result);
}

interface Running {
  set: PipelineSet;
  input: Subject<KubeEvent>;
  out: OutRecord[];
}

function start(pipelines: readonly LoadedPipeline[], lookup: ObjectLookup, restore: PipelinesSnapshot | null): Running {
  const set = new PipelineSet({ lookup, pipelines, logger: silentLogger, registry: new Registry(), restore });
  const input = new Subject<KubeEvent>();
  const out: OutRecord[] = [];
  set.run(input).subscribe((o) => out.push(o));
  return { set, input, out };
}

/** Snapshot, compression, restore, and the restored set checked against the original on `next`. */
async function measure(running: Running, pipelines: readonly LoadedPipeline[], lookup: ObjectLookup, next: KubeEvent[]): Promise<Record<string, unknown>> {
  const keys: Record<string, number> = {};
  let t = performance.now();
  const snapshot = running.set.snapshot(true);
  const serialized = serializeState(snapshot);
  const snapshotMs = performance.now() - t;
  for (const p of snapshot.pipelines) for (const [id, s] of Object.entries(p.stages)) keys[id] = s.keys.length;
  t = performance.now();
  const stored = await compressState(serialized);
  const compressMs = performance.now() - t;

  t = performance.now();
  const decoded = (await decodeState(stored)) as PipelinesSnapshot;
  const decodeMs = performance.now() - t;
  t = performance.now();
  const restored = start(pipelines, lookup, decoded);
  const rebuildMs = performance.now() - t;

  // the same next events: the same records
  const before = running.out.length;
  for (const e of next) {
    running.input.next(e);
    restored.input.next(e);
  }
  const a = running.out.slice(before).map((o) => `${o.sink}:${o.idempotencyKey}`);
  const b = restored.out.map((o) => `${o.sink}:${o.idempotencyKey}`);
  if (a.length !== b.length || a.some((k, i) => k !== b[i])) throw new Error(`the restored pipelines emit other records: ${a.length} vs ${b.length}`);
  restored.input.complete();

  return {
    keys,
    totalKeys: Object.values(keys).reduce((x, y) => x + y, 0),
    snapshotMs: round2(snapshotMs),
    serializedBytes: serialized.length,
    compressMs: round2(compressMs),
    storedBytes: stored.length,
    decodeMs: round2(decodeMs),
    restoreMs: round2(rebuildMs),
    restoreTotalMs: round2(decodeMs + rebuildMs),
    checkedRecords: a.length,
  };
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

/** 6 FailedScheduling per Pod, 30 s apart, the Pods interleaved: every Pod's rate fires. */
function stormEvents(world: World, pods: number, startMs: number, tag = 'storm'): KubeEvent[] {
  const out: KubeEvent[] = [];
  const n = Math.min(pods, world.pods.length);
  for (let round = 0; round < 6; round++) {
    for (let i = 0; i < n; i++) {
      const pod = world.pods[i]!;
      const at = startMs + round * 30_000 + Math.floor((i * 30_000) / n);
      const uid = `${tag}-${i.toString(16).padStart(8, '0')}-0000-4000-a000-${seed.toString(16).padStart(12, '0')}`;
      out.push(
        normalizeEvent(
          {
            apiVersion: 'events.k8s.io/v1',
            kind: 'Event',
            metadata: {
              name: `${pod.name}.${tag}`,
              namespace: pod.namespace,
              uid,
              resourceVersion: String(9_000_000 + round * n + i),
              creationTimestamp: new Date(startMs).toISOString(),
            },
            eventTime: new Date(startMs).toISOString(),
            series: round === 0 ? undefined : { count: round + 1, lastObservedTime: new Date(at).toISOString() },
            reportingController: 'default-scheduler',
            reportingInstance: 'default-scheduler-control-plane',
            action: 'Scheduling',
            reason: 'FailedScheduling',
            type: 'Warning',
            note: `0/120 nodes are available: 120 Insufficient cpu. preemption: 0/120 nodes are available: 120 No preemption victims found for incoming pod.`,
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

void BENCH_START_TIME;
main().catch((error: unknown) => {
  process.stderr.write(`${String((error as Error).stack ?? error)}\n`);
  process.exit(1);
});
