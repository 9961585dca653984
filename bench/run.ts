/**
 * `npm run bench`: runs the benchmarks, each in its own process, prints a table and writes
 * bench/results/latest.json (with --save also bench/results/<date>-<machine>.json).
 *
 *   node dist/bench/run.js [--only inprocess|kafka|e2e|startup|profile[,...]] [--events N]
 *        [--repeat N] [--save] [--kafka-brokers HOST:PORT] [--kubeconfig FILE]
 *
 * Default: inprocess, kafka, e2e, startup, profile, whatif (the hot spots' suggested fixes, measured),
 * cluster, steady (the CLI's memory at a steady 500 Events/s, bench/steady.ts) and state (operator state checkpoints: snapshot, deltas, restore); peer (kubernetes-event-exporter on the
 * same control plane and broker, bench/peer.ts) only with --only peer. The in-process benchmarks need no service;
 * kafka and e2e start the test broker (test/env/kafka.ts startKafka()), e2e and startup the test
 * control plane (test/env/kube.ts startKube()), unless given --kafka-brokers / --kubeconfig.
 * --events N scales the in-process (default 1,000,000) and kafka (default 300,000) runs;
 * --e2e-seconds (60), --e2e-rate (500), --startup-existing (50,000) scale the others.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { intArg, loadAverage, machineInfo, parseArgs, progress, type MachineInfo } from './lib.js';
import { profileMarkdown, summarizeProfile, type CpuProfile, type ProfileSummary } from './profile-summary.js';

const BENCHES = ['inprocess', 'kafka', 'e2e', 'startup', 'profile', 'whatif', 'cluster', 'steady', 'state', 'peer'] as const;
/** Run only when asked for by --only: they take long and need more than the test environment (peer: a KEE binary). */
const ON_REQUEST: readonly Bench[] = ['peer'];
type Bench = (typeof BENCHES)[number];

const here = dirname(fileURLToPath(import.meta.url)); // dist/bench
const repo = resolve(here, '..', '..');
const resultsDir = join(repo, 'bench', 'results');

const args = parseArgs(process.argv.slice(2));
const only = (args.get('only') ?? BENCHES.filter((b) => !ON_REQUEST.includes(b)).join(',')).split(',').map((s) => s.trim()) as Bench[];
for (const b of only) if (!BENCHES.includes(b)) throw new Error(`--only: unknown benchmark '${b}' (one of ${BENCHES.join(', ')})`);
const inprocessEvents = intArg(args, 'events', 1_000_000);
const kafkaEvents = intArg(args, 'kafka-events', args.has('events') ? Math.min(inprocessEvents, 300_000) : 300_000);
const repeat = intArg(args, 'repeat', 3);
/** in-process runs: generate the stream this many events at a time, untimed (bench/inprocess.ts) */
const pregenerate = args.has('pregenerate') ? ['--pregenerate', String(intArg(args, 'pregenerate', 1000))] : [];
const profileEvents = intArg(args, 'profile-events', Math.min(inprocessEvents, 300_000));

/** Runs one benchmark process; resolves with what it wrote to its result file. */
function child<T>(script: string, childArgs: string[], nodeFlags: string[] = ['--expose-gc']): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'kubevents-bench-'));
  const file = join(dir, 'result.json');
  return new Promise<T>((resolvePromise, reject) => {
    const proc = spawn(process.execPath, [...nodeFlags, join(here, script), ...childArgs, '--result-file', file], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, KUBEVENTS_LOG_LEVEL: process.env['KUBEVENTS_LOG_LEVEL'] ?? 'warn' },
    });
    proc.on('error', reject);
    proc.on('close', (code) => {
      try {
        if (code !== 0) throw new Error(`${script} ${childArgs.join(' ')} exited with ${code}`);
        resolvePromise(JSON.parse(readFileSync(file, 'utf8')) as T);
      } catch (error) {
        reject(error);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

type Json = Record<string, any>;

interface Row {
  benchmark: string;
  metric: string;
  value: string;
  target: string;
  load: string;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

const fmt = (n: number | null | undefined, digits = 0): string =>
  n === null || n === undefined || Number.isNaN(n) ? '-' : n.toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const loadOf = (r: Json): string => `${fmt(r['loadavgStart']?.[0], 2)} → ${fmt(r['loadavgEnd']?.[0], 2)}`;
const check = (ok: boolean): string => (ok ? 'met' : 'NOT met');

async function main(): Promise<void> {
  const machine: MachineInfo = machineInfo();
  const startedAt = new Date();
  const results: Partial<Record<Bench, unknown>> = {};
  const rows: Row[] = [];
  const stops: Array<() => Promise<void>> = [];
  let brokers = args.get('kafka-brokers') ?? null;
  let kubeconfig = args.get('kubeconfig') ?? null;
  const failures: string[] = [];
  let profileMd: string | null = null;

  const needKafka = only.includes('kafka') || only.includes('e2e') || only.includes('cluster') || only.includes('steady') || only.includes('peer');
  const needKube = only.includes('e2e') || only.includes('startup') || only.includes('cluster') || only.includes('steady') || only.includes('peer');
  try {
    /** Starts the services the remaining benchmarks need (in parallel; provisioning is cached), after the in-process ones so those run without them. */
    const startServices = async (): Promise<void> => {
      const starting: Array<Promise<void>> = [];
      if (needKafka && !brokers) {
        starting.push(
          import('../test/env/kafka.js').then(async ({ startKafka }) => {
            const k = await startKafka();
            stops.push(() => k.stop());
            brokers = k.env.brokers.join(',');
          }),
        );
      }
      if (needKube && !kubeconfig) {
        starting.push(
          import('../test/env/kube.js').then(async ({ startKube }) => {
            const k = await startKube();
            stops.push(() => k.stop());
            kubeconfig = k.env.kubeconfigPath;
          }),
        );
      }
      const started = await Promise.allSettled(starting);
      for (const s of started) if (s.status === 'rejected') failures.push(`service: ${String((s.reason as Error)?.message ?? s.reason).split('\n')[0]}`);
    };

    if (only.includes('inprocess')) {
      progress(`inprocess: generator alone, then ${repeat} run(s) of the pipeline, ${inprocessEvents.toLocaleString('en')} events each`);
      const generator = await child<Json>('inprocess.js', ['--events', String(inprocessEvents), '--mode', 'generator']);
      const runs: Json[] = [];
      for (let i = 0; i < repeat; i++) {
        runs.push(await child<Json>('inprocess.js', ['--events', String(inprocessEvents), ...pregenerate]));
        progress(
          `inprocess run ${i + 1}: ${fmt(runs.at(-1)!['eventsPerSec'])} events/s wall, ${fmt(runs.at(-1)!['eventsPerCpuSec'])} per CPU-second, peak RSS ${runs.at(-1)!['memoryMB'].peakRss} MB`,
        );
      }
      // where the time goes: each level adds stages (one run each at a fifth of the events, so the
      // levels are comparable with each other; not with the full runs, whose state grows larger)
      const stageEvents = String(Math.max(10_000, Math.floor(inprocessEvents / 5)));
      const stages: Json[] = [await child<Json>('inprocess.js', ['--events', stageEvents, '--mode', 'generator'])];
      for (const upto of ['normalize', 'process', 'alerting', 'encode']) {
        stages.push(await child<Json>('inprocess.js', ['--events', stageEvents, '--upto', upto, ...pregenerate]));
      }
      // what-if: the same run with the V8 old generation capped (NODE_OPTIONS=--max-old-space-size=192)
      const capped = await child<Json>('inprocess.js', ['--events', String(inprocessEvents)], ['--expose-gc', '--max-old-space-size=192']);
      results.inprocess = { generator, runs, stages, whatIfHeapCap192: capped };
      const wall = median(runs.map((r) => r['eventsPerSec']));
      const perCpu = median(runs.map((r) => r['eventsPerCpuSec']));
      const peak = Math.max(...runs.map((r) => r['memoryMB'].peakRss));
      const heap = median(runs.map((r) => r['memoryMB'].heapAfterStreamGc ?? NaN));
      const load = `${runs.map((r) => fmt(r['loadavgStart'][0], 2)).join(', ')}`;
      rows.push({
        benchmark: 'in-process (1 core)',
        metric: `events/s, wall (median of ${runs.length})`,
        value: `${fmt(wall)}  [${runs.map((r) => fmt(r['eventsPerSec'])).join(', ')}]`,
        target: `≥ 100,000: ${check(wall >= 100_000)}`,
        load,
      });
      rows.push({
        benchmark: '',
        metric: 'events per CPU-second (median)',
        value: `${fmt(perCpu)}  [${runs.map((r) => fmt(r['eventsPerCpuSec'])).join(', ')}]`,
        target: `≥ 100,000: ${check(perCpu >= 100_000)}`,
        load: '',
      });
      rows.push({
        benchmark: '',
        metric: 'generator alone, events per CPU-second',
        value: fmt(generator['eventsPerCpuSec']),
        target: '',
        load: fmt(generator['loadavgStart'][0], 2),
      });
      rows.push({ benchmark: '', metric: 'peak RSS, MB (max of runs)', value: fmt(peak, 1), target: `≤ 300: ${check(peak <= 300)}`, load: '' });
      rows.push({
        benchmark: '',
        metric: 'heap after GC with pipeline state / after cache, MB',
        value: `${fmt(heap, 1)} / ${fmt(runs[0]!['memoryMB'].heapAfterCacheGc, 1)}`,
        target: '',
        load: '',
      });
      const us = (r: Json) => 1e6 / r['eventsPerCpuSec'];
      const levels = stages.map(us);
      const names = ['normalize + occurrences', 'classify + enrich + FailedScheduling rate', 'dedupe + rate', 'Avro encode + key'];
      rows.push({
        benchmark: '',
        metric: `CPU µs per event by stage (${Number(stageEvents).toLocaleString('en')} events each)`,
        // pre-generated levels do not include the generator: the first stage starts from zero
        value:
          names.map((n, i) => `${n} ${fmt(levels[i + 1]! - (i === 0 && pregenerate.length ? 0 : levels[i]!), 1)}`).join('; ') +
          `; generator ${fmt(levels[0], 1)}${pregenerate.length ? ' (not in the stages)' : ''}; total ${fmt(levels[4], 1)}`,
        target: '',
        load: stages.map((x) => fmt(x['loadavgStart'][0], 2)).join(', '),
      });
      rows.push({
        benchmark: '',
        metric: 'what-if: --max-old-space-size=192: peak RSS MB, events per CPU-second',
        value: `${fmt(capped['memoryMB'].peakRss, 1)}, ${fmt(capped['eventsPerCpuSec'])}`,
        target: `≤ 300: ${check(capped['memoryMB'].peakRss <= 300)}`,
        load: fmt(capped['loadavgStart'][0], 2),
      });
    }

    if (only.includes('profile')) {
      const dir = mkdtempSync(join(tmpdir(), 'kubevents-prof-'));
      const r = await child<Json>('inprocess.js', ['--events', String(profileEvents), ...pregenerate], ['--expose-gc', '--cpu-prof', `--cpu-prof-dir=${dir}`]);
      const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
      if (!file) failures.push('profile: no .cpuprofile written');
      else {
        const summary: ProfileSummary = summarizeProfile(JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile, 15);
        const md = profileMarkdown(summary);
        mkdirSync(resultsDir, { recursive: true });
        const header = `# CPU profile of the in-process benchmark\n\n${profileEvents.toLocaleString('en')} events, \`node --cpu-prof\`; ${describeMachine(machine)}; load average ${loadOf(r)}; ${fmt(r['eventsPerSec'])} events/s wall under the profiler.\n\n`;
        profileMd = `${header}${md}\n`;
        writeFileSync(join(resultsDir, 'profile-latest.md'), profileMd);
        results.profile = { events: profileEvents, run: r, summary };
        process.stdout.write(`\n${header}${md}\n`);
      }
      rmSync(dir, { recursive: true, force: true });
    }
    if (only.includes('whatif')) {
      const w = await child<Json>('whatif.js', ['--events', String(Math.min(inprocessEvents, 200_000))]);
      results.whatif = w;
      const c = w['cpuMicrosecondsPerCall'];
      rows.push({
        benchmark: 'what-if (CPU µs per call)',
        metric: 'per stage, isolated: normalizeEvent / classifyEvent / enrichmentOf / toAvroBinary / objectKey',
        value: `${c.perStage.normalizeEvent} / ${c.perStage.classifyEvent} / ${c.perStage.enrichmentOf} / ${c.perStage.toAvroBinary} / ${c.perStage.objectKey}`,
        target: '',
        load: loadOf(w),
      });
      rows.push({
        benchmark: '',
        metric: 'labelsFingerprint: BigInt FNV (before) → 32-bit-halves FNV (now, same output)',
        value: `${c.labelsFingerprint.bigInt} → ${c.labelsFingerprint.current}`,
        target: '',
        load: '',
      });
      rows.push({
        benchmark: '',
        metric: 'enrichmentOf per event → memoized per cached object version (as the enrich operator now does)',
        value: `${c.enrichmentOf.current} → ${c.enrichmentOf.memoized}`,
        target: '',
        load: '',
      });
      rows.push({ benchmark: '', metric: 'dedupe per Warning (event-time machinery included)', value: String(c.dedupePerWarning), target: '', load: '' });
      const encode = await child<Json>('kafka-encode.js', ['--records', '100000', '--rounds', '4']);
      results.whatif = { ...w, kafkaEncode: encode };
      rows.push({
        benchmark: '',
        metric: "kafkajs produce-request encoding per record, the sink's 7 headers: kafkajs's Encoder → patched (same bytes)",
        value: `${encode['cpuMicrosecondsPerRecord'].kafkajs} → ${encode['cpuMicrosecondsPerRecord'].patched}`,
        target: '',
        load: loadOf(encode),
      });
    }

    if (only.includes('state')) {
      // operator state in checkpoints (bench/state.ts): snapshot, deltas, restore, and the rebuild alternative
      const st = await child<Json>('state.js', [], ['--expose-gc']);
      results.state = st;
      const storm = st['storm'];
      rows.push({
        benchmark: 'operator state (default pipeline)',
        metric: `after an hour (${fmt(st['hour']['events'])} events): full snapshot ms (event loop) / stored KB / restore ms`,
        value: `${fmt(st['hour']['full']['snapshotMs'])} / ${fmt(st['hour']['full']['storedBytes'] / 1024)} / ${fmt(st['hour']['restore']['totalMs'])}`,
        target: '',
        load: loadOf(st),
      });
      rows.push({
        benchmark: '',
        metric: `${fmt(storm['totalKeys'])} keys: full snapshot ms / stored KB / restore ms; delta each second: ms / KB (median)`,
        value: `${fmt(storm['full']['snapshotMs'])} / ${fmt(storm['full']['storedBytes'] / 1024)} / ${fmt(st['restoreFull']['totalMs'])}; ${fmt(st['deltas']['snapshotMsMedian'], 1)} / ${fmt(st['deltas']['storedBytesMedian'] / 1024, 1)}`,
        target: '',
        load: '',
      });
      rows.push({
        benchmark: '',
        metric: `rebuild instead: CPU ms to process the ${fmt(st['rebuild']['events'])} events again (without reading them from Kafka)`,
        value: fmt(st['rebuild']['cpuMs']),
        target: '',
        load: '',
      });
    }

    if (needKafka || needKube) await startServices();

    if (only.includes('kafka')) {
      if (!brokers) failures.push('kafka: no broker');
      else {
        const runs: Json[] = [];
        const sinkRuns: Json[] = [];
        for (let i = 0; i < Math.min(repeat, 3); i++) {
          runs.push(await child<Json>('kafka.js', ['--brokers', brokers, '--events', String(kafkaEvents), '--mode', 'pipeline']));
          sinkRuns.push(await child<Json>('kafka.js', ['--brokers', brokers, '--events', String(kafkaEvents), '--mode', 'sink']));
          progress(
            `kafka run ${i + 1}: pipeline ${fmt(runs.at(-1)!['recordsPerSec'])} records/s, sink alone ${fmt(sinkRuns.at(-1)!['recordsPerSec'])} records/s`,
          );
        }
        // what-ifs below the sink: kafkajs alone with the sink's headers and without
        const producerSink = await child<Json>('kafka.js', [
          '--brokers',
          brokers,
          '--events',
          String(Math.min(kafkaEvents, 150_000)),
          '--mode',
          'producer',
          '--headers',
          'sink',
        ]);
        const producerNone = await child<Json>('kafka.js', [
          '--brokers',
          brokers,
          '--events',
          String(Math.min(kafkaEvents, 150_000)),
          '--mode',
          'producer',
          '--headers',
          'none',
        ]);
        const producerBare = await child<Json>('kafka.js', [
          '--brokers',
          brokers,
          '--events',
          String(Math.min(kafkaEvents, 150_000)),
          '--mode',
          'producer',
          '--headers',
          'none',
          '--compression',
          'none',
        ]);
        results.kafka = {
          pipeline: runs,
          sink: sinkRuns,
          producer: { sinkHeaders: producerSink, noHeaders: producerNone, noHeadersNoCompression: producerBare },
        };
        const p = median(runs.map((r) => r['eventsPerSec']));
        const s = median(sinkRuns.map((r) => r['recordsPerSec']));
        rows.push({
          benchmark: 'into Kafka (acks=all)',
          metric: `events/s, generator → processing → sink → ack (median of ${runs.length})`,
          value: `${fmt(p)}  [${runs.map((r) => fmt(r['eventsPerSec'])).join(', ')}]`,
          target: `≥ 30,000: ${check(p >= 30_000)}`,
          load: runs.map(loadOf).join('; '),
        });
        rows.push({
          benchmark: '',
          metric: 'records/s, processed records → sink → ack (sink alone)',
          value: `${fmt(s)}  [${sinkRuns.map((r) => fmt(r['recordsPerSec'])).join(', ')}]`,
          target: `≥ 30,000: ${check(s >= 30_000)}`,
          load: sinkRuns.map(loadOf).join('; '),
        });
        rows.push({
          benchmark: '',
          metric: 'bench process CPU µs per record (sink alone)',
          value: fmt(median(sinkRuns.map((r) => (r['cpuMs'] * 1000) / r['recordsAcked'])), 1),
          target: '',
          load: '',
        });
        rows.push({
          benchmark: '',
          metric:
            "what-if, kafkajs producer alone (pre-encoded, batches of 500): records/s with the sink's 6 headers / no headers / no headers, no compression",
          value: `${fmt(producerSink['recordsPerSec'])} / ${fmt(producerNone['recordsPerSec'])} / ${fmt(producerBare['recordsPerSec'])}`,
          target: '',
          load: [producerSink, producerNone, producerBare].map((r) => fmt(r['loadavgStart'][0], 2)).join(', '),
        });
      }
    }

    if (only.includes('e2e')) {
      if (!brokers || !kubeconfig) failures.push('e2e: needs the broker and the control plane');
      else {
        const e2e = await child<Json>('e2e.js', [
          '--kubeconfig',
          kubeconfig,
          '--brokers',
          brokers,
          '--rate',
          String(intArg(args, 'e2e-rate', 500)),
          '--seconds',
          String(intArg(args, 'e2e-seconds', 60)),
        ]);
        results.e2e = e2e;
        rows.push({
          benchmark: 'end-to-end (apiserver → Kafka ack)',
          metric: `latency p50 / p99 / max, ms at ${fmt(e2e['load'].achievedPerSec)}/s achieved (target rate ${e2e['rateTarget']}/s)`,
          value: `${fmt(e2e['latencyMs'].p50, 1)} / ${fmt(e2e['latencyMs'].p99, 1)} / ${fmt(e2e['latencyMs'].max, 1)}`,
          target: `p99 ≤ 250: ${check(e2e['latencyMs'].p99 <= 250 && e2e['load'].achievedPerSec >= 0.95 * e2e['rateTarget'])}`,
          load: loadOf(e2e),
        });
        rows.push({
          benchmark: '',
          metric: 'eventTime → delivered by the source (POST + apiserver + etcd + watch), p50 / p99 ms',
          value: `${fmt(e2e['watchLatencyMs'].p50, 1)} / ${fmt(e2e['watchLatencyMs'].p99, 1)}`,
          target: '',
          load: '',
        });
        rows.push({
          benchmark: '',
          metric: 'delivered by the source → Kafka ack (kubevents itself), p50 / p99 ms',
          value: `${fmt(e2e['pipelineLatencyMs']?.p50, 1)} / ${fmt(e2e['pipelineLatencyMs']?.p99, 1)}`,
          target: '',
          load: '',
        });
        rows.push({
          benchmark: '',
          metric: 'load: POST round trip p50 / p99 ms; created',
          value: `${fmt(e2e['load'].requestP50Ms, 1)} / ${fmt(e2e['load'].requestP99Ms, 1)}; ${fmt(e2e['load'].created)} of ${fmt(e2e['load'].requested)}`,
          target: '',
          load: '',
        });
      }
    }

    if (only.includes('startup')) {
      if (!kubeconfig) failures.push('startup: no control plane');
      else {
        const s = await child<Json>('startup.js', ['--kubeconfig', kubeconfig, '--existing', String(intArg(args, 'startup-existing', 50_000))]);
        results.startup = s;
        rows.push({
          benchmark: `startup (${fmt(s['seeded'].created)} existing Events)`,
          metric: 'list (paged 500) to SYNCED: s, peak RSS MB',
          value: `${fmt(s['list'].ms / 1000, 2)} s, ${fmt(s['list'].peakRssMB, 1)} MB (${fmt(s['list'].objectsPerSec)} objects/s)`,
          target: '',
          load: fmt(s['list'].loadavg[0], 2),
        });
        rows.push({
          benchmark: '',
          metric: `resume from the checkpoint (${fmt(s['after'].created)} newer Events): s, peak RSS MB`,
          value: `${fmt(s['resume'].ms / 1000, 2)} s, ${fmt(s['resume'].peakRssMB, 1)} MB (first event ${fmt(s['resume'].firstEventMs)} ms)`,
          target: '',
          load: fmt(s['resume'].loadavg[0], 2),
        });
      }
    }
    if (only.includes('cluster')) {
      if (!brokers || !kubeconfig) failures.push('cluster: needs the broker and the control plane');
      else {
        const c = await child<Json>('cluster.js', [
          '--kubeconfig',
          kubeconfig,
          '--brokers',
          brokers,
          '--nodes',
          String(intArg(args, 'cluster-nodes', 5_000)),
          '--pods',
          String(intArg(args, 'cluster-pods', 100_000)),
          '--storm',
          String(intArg(args, 'cluster-storm', 5_000)),
        ]);
        results.cluster = c;
        const api = c['apiserver'];
        rows.push({
          benchmark: `cluster (${fmt(c['nodes'])} Nodes, ${fmt(c['pods'])} Pods, kwok)`,
          metric: 'apiserver creates/s: Nodes / Pods (cached: reused) / storm Events',
          value: `${api.nodesCreated ? fmt(api.nodesCreated.perSec) : 'cached'} / ${api.podsCreated ? fmt(api.podsCreated.perSec) : 'cached'} / ${fmt(api.stormCreatesPerSec)}`,
          target: '',
          load: loadOf(c),
        });
        rows.push({
          benchmark: '',
          metric: 'kubevents initial sync: s; RSS at sync / peak RSS over the run, MB',
          value: `${fmt(c['sync'].ms / 1000, 2)} s; ${fmt(c['sync'].rssMB, 1)} / ${fmt(c['process'].peakRssMB, 1)} MB`,
          target: `peak ≤ 300 MB: ${check(c['process'].peakRssMB <= 300)}`,
          load: '',
        });
        rows.push({
          benchmark: '',
          metric: `storm of ${fmt(c['storm'].created)} BackOff Events: creation → read back from Kafka p50 / p99 / max ms; all in after`,
          value: `${fmt(c['storm'].lagMs.p50)} / ${fmt(c['storm'].lagMs.p99)} / ${fmt(c['storm'].lagMs.max)}; ${fmt((c['storm'].allReceivedAfterMs ?? NaN) / 1000, 1)} s`,
          target: '',
          load: '',
        });
        rows.push({
          benchmark: '',
          metric: 'alerts by name (whole run); after a Node dies: records / alerts / node incidents (status, members, s after)',
          value: `${JSON.stringify(c['alertsByName'])}; ${fmt(c['notReady'].records)} / ${fmt(c['notReady'].alerts)} / ${
            (c['notReady'].incidents as Json[]).map((i) => `${i['status']} ${i['memberCount']} ${fmt(i['afterMs'] / 1000, 1)}`).join(', ') || 'none'
          }`,
          target: '',
          load: '',
        });
      }
    }
    if (only.includes('steady')) {
      if (!brokers || !kubeconfig) failures.push('steady: needs the broker and the control plane');
      else {
        const passOn = ['rate', 'seconds', 'warmup-seconds', 'variants', 'nodes', 'pods'].flatMap((name) => {
          const v = args.get(`steady-${name}`);
          return v === undefined ? [] : [`--${name}`, v];
        });
        const st = await child<Json>('steady.js', ['--kubeconfig', kubeconfig, '--brokers', brokers, ...passOn]);
        results.steady = st;
        for (const r of st['runs'] as Json[]) {
          const heap = `${r['heapMb'] === null ? "Node's default heap" : `--max-old-space-size=${r['heapMb']}`}${[...r['nodeFlags'], ...Object.entries(r['env']).map(([k, v]) => `${k}=${v}`)].map((f) => ` ${f}`).join('')}`;
          rows.push({
            benchmark: `steady ${fmt(st['rate'])}/s for ${fmt(st['seconds'])} s (${fmt(st['nodes'])} Nodes, ${fmt(st['pods'])} Pods), ${heap} (V8 limit ${fmt(r['heapSizeLimitMB'])} MB)`,
            metric: `kubevents run: peak RSS (VmHWM) / RSS p50, p95 after ${fmt(st['warmupSeconds'])} s warmup / RSS at the end, MB`,
            value: `${fmt(r['rssMB'].peakVmHWM, 1)} / ${fmt(r['rssMB'].steady.p50, 1)}, ${fmt(r['rssMB'].steady.p95, 1)} / ${fmt(r['rssMB'].atEnd, 1)}`,
            target: `peak ≤ 150 MB: ${check(r['rssMB'].peakVmHWM <= 150)}`,
            load: `${fmt(r['loadavgBefore'][0], 2)} → ${fmt(r['loadavgAfter'][0], 2)}`,
          });
          rows.push({
            benchmark: '',
            metric: 'CPU-s per 1,000 Events (load + drain); creation → read back from Kafka p50 / p99 ms (steady); created/s achieved; lost',
            value: `${fmt(r['cpu'].sPer1000Events, 2)}; ${fmt(r['lagMs'].steady.p50)} / ${fmt(r['lagMs'].steady.p99)}; ${fmt(r['load'].achievedPerSec)}; ${fmt(r['readBack'].lost)} of ${fmt(r['readBack'].created)}`,
            target: '',
            load: '',
          });
        }
      }
    }
    if (only.includes('peer')) {
      if (!brokers || !kubeconfig) failures.push('peer: needs the broker and the control plane');
      else {
        const passOn = ['events', 'bumps', 'rounds', 'live-events', 'live-rate', 'kee-bin', 'quiet-seconds'].flatMap((name) => {
          const v = args.get(`peer-${name}`) ?? (name === 'kee-bin' ? args.get(name) : undefined);
          return v === undefined ? [] : [`--${name}`, v];
        });
        const p = await child<Json>('peer.js', ['--kubeconfig', kubeconfig, '--brokers', brokers, ...passOn]);
        results.peer = p;
        for (const r of p['runs'] as Json[]) {
          const d = r['drain'];
          const k = r['kill'];
          const name = r['tool'] === 'kee' ? 'kubernetes-event-exporter v1.7' : 'kubevents';
          rows.push({
            benchmark: `peer, round ${r['round']}: ${name}`,
            metric: `backlog of ${fmt(r['backlog'].created)} Events (apiserver ${fmt(r['backlog'].apiserverCreatesPerSec)} creates/s): drain s / CPU-s per 1,000 / peak RSS MB`,
            value: `${fmt(d.ms / 1000, 1)} / ${fmt(d.cpuSPer1000Events, 2)} / ${fmt(d.peakRssMB, 1)}`,
            target: '',
            load: `${fmt(d.loadavgBefore[0], 2)} → ${fmt(d.loadavgAfter[0], 2)}`,
          });
          rows.push({
            benchmark: '',
            metric: `count bumps on ${fmt(r['bumps'].patched)} Events: bump records published`,
            value: fmt(r['bumps'].bumpRecords),
            target: '',
            load: '',
          });
          rows.push({
            benchmark: '',
            metric: 'kill -9 mid-drain / live: losses, duplicate records (same idempotency key), backlog records published again',
            value: `${fmt(k.midDrain.losses)}, ${fmt(k.midDrain.duplicates.records)} (${k.midDrain.duplicates.sameIdempotencyKey ?? '-'}) / ${fmt(k.whileLive.losses)}, ${fmt(k.whileLive.duplicates.records)} (${k.whileLive.duplicates.sameIdempotencyKey ?? '-'}), ${fmt(k.whileLive.backlogRecordsPublishedAgain)}`,
            target: '',
            load: `${fmt(k.midDrain.loadavgBefore[0], 2)} → ${fmt(k.whileLive.loadavgAfter[0], 2)}`,
          });
        }
      }
    }
  } finally {
    for (const stop of stops) await stop().catch((e: unknown) => failures.push(`stopping a service: ${String(e)}`));
  }

  const report = {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    machine,
    args: process.argv.slice(2),
    loadavgEnd: loadAverage(),
    rows,
    failures,
    results,
  };
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(join(resultsDir, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
  if (args.has('save')) {
    const tag = `${machine.hostname}-${machine.nproc}x-${machine.cpuModel}`
      .toLowerCase()
      .replace(/[^a-z0-9.]+/g, '-')
      .replace(/^-|-$/g, '');
    const name = `${startedAt.toISOString().slice(0, 10)}-${tag}.json`;
    writeFileSync(join(resultsDir, name), `${JSON.stringify(report, null, 2)}\n`);
    if (profileMd) writeFileSync(join(resultsDir, name.replace(/\.json$/, '-profile.md')), profileMd);
  }
  process.stdout.write(`\n${tableMarkdown(machine, rows)}\n`);
  if (failures.length) {
    process.stdout.write(`\nnot run / failed:\n${failures.map((f) => `- ${f}`).join('\n')}\n`);
    process.exitCode = 1;
  }
}

function describeMachine(m: MachineInfo): string {
  return `${m.nproc} × ${m.cpuModel}, ${m.memoryGiB} GiB, Node ${m.node}`;
}

export function tableMarkdown(machine: MachineInfo, rows: Row[]): string {
  return [
    `Machine: ${describeMachine(machine)} (${machine.os})`,
    '',
    '| benchmark | metric | value | target | load avg (1 min) |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.benchmark} | ${r.metric} | ${r.value} | ${r.target} | ${r.load} |`),
  ].join('\n');
}

await main();
