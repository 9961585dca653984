/**
 * `kubevents run --source kube --kafka-brokers ... --pipelines DIR --out DIR` on the real stack
 * (test/env: kube-apiserver + Kafka) with a pipeline that writes to BOTH a Kafka topic and a `file`
 * sink: every event to the topic, the Warnings (a fork branch) to `file: {name: warnings}`.
 *
 * In Kafka mode a pipeline's file sink writes Avro container files `<out>/<name>.<segment>.avro`
 * (FileSegmentSink, segments rolled every DEFAULT_FILE_ROLL_INTERVAL_MS, 30 s); a record's position is held until its segment is
 * fsync'd, so:
 * 1. while the first segment is open, the checkpoint stops before the first Warning even though
 *    the Kafka topic already has the events after it;
 * 2. SIGTERM (exit 0) closes the segment: the files decode to exactly the Warning occurrences, the
 *    topic has every occurrence once, and the saved checkpoint covers the last Event (a Warning).
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import avro from 'avsc';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { HEADERS } from '../../src/avro/encodings.js';
import type { KubeEvent } from '../../src/model/kube-event.js';
import { DEFAULT_FILE_ROLL_INTERVAL_MS } from '../../src/sinks/file-sink.js';
import { sleep, waitFor } from '../env/scenarios.js';
import { checkpointsIn, KubeRunHarness, maxRv, terminate, uniqueTopics, type Created } from './support/kube-run.js';

const h = new KubeRunHarness(inject('kubeEnv'), inject('kafkaEnv'), 'kube-pipelines-files');

beforeAll(() => h.setup());
afterAll(() => h.cleanup());

/** The job's file segments roll every DEFAULT_FILE_ROLL_INTERVAL_MS (30 s; not settable from the CLI): stay clear of the first roll. */
const BEFORE_FIRST_ROLL_MS = DEFAULT_FILE_ROLL_INTERVAL_MS - 1_000;

function pipeline(allTopic: string): string {
  return `apiVersion: kubevents/v1
kind: Pipeline
metadata: {name: files-and-kafka}
spec:
  stages:
    - fork:
        - {name: warnings, stages: [{filter: {type: Warning}}], sinks: [{file: {name: warnings}}]}
  sinks:
    - kafka: {topic: ${allTopic}}
`;
}

function decodeAvroFile(path: string): Promise<KubeEvent[]> {
  const records: KubeEvent[] = [];
  return new Promise((resolve, reject) => {
    avro
      .createFileDecoder(path)
      .on('data', (e: KubeEvent) => records.push(e))
      .on('end', () => resolve(records))
      .on('error', reject);
  });
}

describe('kubevents run --source kube --pipelines with kafka and file sinks', () => {
  it('writes the Warnings to Avro files under --out and everything to Kafka; the checkpoint waits for the files', async () => {
    const ns = await h.newNamespace('kpf');
    const t = uniqueTopics('kpf', { all: 'all' });
    await h.createTopics(t, {}, { partitions: 1, extra: [t.all] });
    const dir = join(h.workDir, ns);
    const pipelines = join(dir, 'pipelines');
    const out = join(dir, 'out');
    mkdirSync(pipelines, { recursive: true });
    writeFileSync(join(pipelines, 'files.yaml'), pipeline(t.all));

    const job = h.startJob(ns, t, { cluster: 'kpf', extra: ['--pipelines', pipelines, '--out', out] });
    try {
      const started = await job.waitForLog('live job running', 120_000);
      expect(started['pipelines']).toEqual(['files-and-kafka']);
      const reader = await h.readTopics([t.all, t.checkpoints]);
      const keysOn = (topic: string) => reader.of(topic).map((r) => r.headers[HEADERS.idempotencyKey] as string);
      const checkpoints = () => checkpointsIn(reader, t.checkpoints).filter((c) => c.key === `kpf/default/events@${ns}`);

      const all = new Map<string, string>(); // idempotencyKey -> resourceVersion
      const warnings = new Set<string>();
      const create = async (type: 'Normal' | 'Warning', regarding: string): Promise<Created> => {
        const c = await h.createEvent(ns, `${regarding}.${randomUUID().slice(0, 8)}`, type === 'Warning' ? 'Flaky' : 'Steady', regarding, { type });
        for (const [k, rv] of c.occurrences) {
          all.set(k, rv);
          if (type === 'Warning') warnings.add(k);
        }
        return c;
      };

      // --- Normals only (Kafka only): the checkpoint follows the topic
      await create('Normal', 'web-1');
      const beforeWarning = await create('Normal', 'web-2');
      const beforeRv = BigInt([...beforeWarning.occurrences.values()][0]!);
      await waitFor(
        () => checkpoints().some((c) => BigInt(c.resourceVersion) >= beforeRv),
        90_000,
        'the checkpoint to reach the Normals before the first Warning',
      );

      // --- the first Warning opens the first file segment (no roll before firstWarningAt + 30 s)
      const firstWarningAt = Date.now();
      const w1 = await create('Warning', 'web-3');
      const w1Rv = BigInt([...w1.occurrences.values()][0]!);
      await create('Normal', 'web-4');
      await create('Warning', 'web-5');
      await create('Normal', 'web-6');
      await waitFor(() => [...all.keys()].every((k) => keysOn(t.all).includes(k)), 60_000, 'the events after the first Warning on the topic');
      // a few checkpoint intervals (1 s): a checkpoint that did not wait for the file would be saved by now
      await sleep(3_000);
      await reader.catchUp();
      expect(Date.now() - firstWarningAt, 'too slow to look at the checkpoint before the first segment rolls').toBeLessThan(BEFORE_FIRST_ROLL_MS);
      // every checkpoint saved while the first segment could not have been fsync'd is before the first Warning
      const early = checkpoints().filter((c) => c.timestamp < firstWarningAt + BEFORE_FIRST_ROLL_MS);
      expect(early.length).toBeGreaterThan(0);
      for (const c of early)
        expect(BigInt(c.resourceVersion), `checkpoint ${c.resourceVersion} passed the Warning ${w1Rv} held by its open file segment`).toBeLessThan(w1Rv);

      // --- a series bump of the first Warning and a last Warning: the last Event goes to the file
      await h.bumpEvent(ns, w1, 2);
      for (const [k, rv] of w1.occurrences) {
        all.set(k, rv);
        warnings.add(k);
      }
      await create('Warning', 'web-7');
      const lastRv = maxRv(all.values());
      await waitFor(() => [...all.keys()].every((k) => keysOn(t.all).includes(k)), 60_000, 'every event on the topic');

      // --- SIGTERM: the segment is closed and fsync'd, then the checkpoint saved
      const { code } = await terminate(job);
      expect(code, job.tail()).toBe(0);
      await reader.catchUp();

      // the topic: every occurrence exactly once
      const onTopic = keysOn(t.all);
      expect(onTopic.length).toBe(all.size);
      expect(new Set(onTopic)).toEqual(new Set(all.keys()));

      // the files: exactly the Warning occurrences, each once
      const files = readdirSync(out).sort();
      expect(files.length).toBeGreaterThan(0);
      for (const f of files) expect(f).toMatch(/^warnings\..+\.avro$/);
      const written = job.log('Avro files written')?.['files'] as string[] | undefined;
      expect(written?.map((w) => w.split(' ')[0]).sort()).toEqual(files.map((f) => join(out, f)));
      const inFiles: string[] = [];
      for (const f of files) {
        for (const e of await decodeAvroFile(join(out, f))) {
          expect(e.type).toBe('Warning');
          inFiles.push(e.idempotencyKey);
        }
      }
      expect(inFiles.sort()).toEqual([...warnings].sort());

      // the saved checkpoint covers the last Event (a Warning, only acked once its file was fsync'd)
      const saved = maxRv(checkpoints().map((c) => c.resourceVersion));
      expect(saved >= lastRv, `saved checkpoint ${saved} is before the last Event ${lastRv}`).toBe(true);
    } catch (error) {
      console.error(`job log tail:\n${job.tail(60)}`);
      throw error;
    }
  }, 300_000);
});
