/**
 * Downstream for real: Apache Flink reads what `kubevents run --source kube` published, watching
 * the real control plane, in both encodings (test/env: kube-apiserver, Kafka, the Apicurio Schema
 * Registry; Flink 2.2.1 in a local MiniCluster via test/env/flink.sh, built from docs/flink-example).
 *
 * Two live runs watch one namespace: one publishes `confluent` (through the registry), the other
 * `avro-binary`. The test creates Events with chosen event times (several reasons over several
 * one-minute windows, plus series bumps), and checks:
 *
 * 1. the DataStream example (EventCounts, docs/flink-example) counts per reason (both encodings) and
 *    per namespace in 1-minute event-time windows exactly what kubevents published, which is
 *    exactly what was created; no record arrives late;
 * 2. the Flink SQL recipe (docs/flink-example/sql): the DDL of scripts/flink-ddl.mjs, the
 *    `avro-confluent` format with `avro-confluent.schema`, on the confluent topic: every record's
 *    fields (the `change` enum, nested `regarding`, times) as kubevents decoded them, and the same
 *    window counts from a TUMBLE query; the generated column types are Flink's own for every
 *    published .avsc;
 * 3. without the .avsc, Flink SQL does NOT read the records right (its reader schema is derived
 *    from the columns, where the enum `change` is a STRING): the plain `avro` format on the
 *    avro-binary topic, and `avro-confluent` without `avro-confluent.schema` on the confluent one.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { HEADERS, RecordDecoder } from '../../src/avro/encodings.js';
import { ConfluentSchemaRegistry } from '../../src/avro/registry.js';
import type { KubeEvent } from '../../src/model/kube-event.js';
import { flinkDdl, flinkType } from '../../scripts/flink-ddl.mjs';
import { flinkSqlTypes, provisionFlink, runEventCounts, runFlinkSql, type WindowCount } from '../env/flink.js';
import { waitFor } from '../env/scenarios.js';
import { KubeRunHarness, terminate, topicEnv, uniqueTopics, type Consumed, type Created, type JobProcess, type Topics } from './support/kube-run.js';

const kubeEnv = inject('kubeEnv');
const kafkaEnv = inject('kafkaEnv');
const registry = inject('registryEnv');
const h = new KubeRunHarness(kubeEnv, kafkaEnv, 'flink-downstream');
const SCHEMAS = fileURLToPath(new URL('../../schemas', import.meta.url));
const KUBE_EVENT_AVSC = join(SCHEMAS, 'KubeEvent.avsc');
const MINUTE = 60_000;
const REASONS = ['FlinkScheduled', 'FlinkPulled', 'FlinkBackOff'] as const;
const WINDOWS = 4;

const decoder = new RecordDecoder({ registry: new ConfluentSchemaRegistry({ url: registry.url }) });

interface Published {
  record: Consumed;
  event: KubeEvent;
}

/** The stack both tests read: what was created and what each live run published. */
interface Stack {
  ns: string;
  topics: { confluent: Topics; 'avro-binary': Topics };
  /** idempotencyKey -> [reason, event time] of every occurrence the test made */
  made: Map<string, [string, number]>;
  published: { confluent: Published[]; 'avro-binary': Published[] };
}
let stack: Stack | undefined;

beforeAll(async () => {
  h.setup();
  await provisionFlink();
}, 900_000);
afterAll(() => h.cleanup());

/** Counts per (window start, key) from (key, event time) pairs, sorted like Flink's output is here. */
function windowCounts(items: Iterable<[string, number]>): WindowCount[] {
  const counts = new Map<string, WindowCount>();
  for (const [key, time] of items) {
    const windowStart = Math.floor(time / MINUTE) * MINUTE;
    const id = `${windowStart}/${key}`;
    const c = counts.get(id) ?? { windowStart, windowEnd: windowStart + MINUTE, key, count: 0 };
    c.count++;
    counts.set(id, c);
  }
  return sortCounts([...counts.values()]);
}

function sortCounts(counts: WindowCount[]): WindowCount[] {
  return [...counts].sort((a, b) => a.windowStart - b.windowStart || a.key.localeCompare(b.key));
}

/** The two live runs, the Events, and everything both published (once per test file). */
async function publishedStack(): Promise<Stack> {
  if (stack) return stack;
  const ns = await h.newNamespace('flink');
  const topics = { confluent: uniqueTopics('flink-conf'), 'avro-binary': uniqueTopics('flink-raw') };
  await h.createTopics(topics.confluent);
  await h.createTopics(topics['avro-binary']);
  const common = ['--kubeconfig', kubeEnv.kubeconfigPath, '--namespace', ns, '--cluster', 'flink', '--kafka-brokers', kafkaEnv.brokers.join(',')];
  const jobs: JobProcess[] = [
    h.spawn([...common, '--encoding', 'confluent', '--schema-registry', registry.url], topicEnv(topics.confluent)),
    h.spawn([...common, '--encoding', 'avro-binary'], topicEnv(topics['avro-binary'])),
  ];
  await Promise.all(jobs.map((j) => j.waitForLog('live job running')));
  const reader = await h.readTopics([topics.confluent.events, topics['avro-binary'].events]);

  // Event times: WINDOWS whole minutes, starting 10 minutes ago (inside the broker's retention),
  // increasing in creation order (one at a time), so no record is late for a 5 s watermark delay.
  const t0 = Math.floor(Date.now() / MINUTE) * MINUTE - 10 * MINUTE;
  const made = new Map<string, [string, number]>();
  const created: Array<{ c: Created; reason: string }> = [];
  let n = 0;
  for (let w = 0; w < WINDOWS; w++) {
    // a different count per (window, reason): 1..4
    const plan = REASONS.flatMap((reason, r) => Array.from({ length: ((w + 2 * r) % 4) + 1 }, () => reason));
    for (const [i, reason] of plan.entries()) {
      const at = t0 + w * MINUTE + 1_000 + i * 5_000;
      const c = await h.createEvent(ns, `flink-${n}`, reason, `ghost-${n % 5}`, { eventTime: new Date(at) });
      n++;
      made.set(`${c.uid}/1`, [reason, at]);
      created.push({ c, reason });
    }
  }
  // series bumps: repeat occurrences, in the last window, later than everything before
  for (const [i, { c, reason }] of created.slice(0, 5).entries()) {
    const at = t0 + WINDOWS * MINUTE + 2_000 + i * 1_000;
    await h.bumpEvent(ns, c, 2, new Date(at));
    made.set(`${c.uid}/2`, [reason, at]);
  }

  const published = { confluent: [] as Published[], 'avro-binary': [] as Published[] };
  for (const encoding of ['confluent', 'avro-binary'] as const) {
    const topic = topics[encoding].events;
    await waitFor(
      () => made.size <= new Set(reader.of(topic).map((r) => r.headers[HEADERS.idempotencyKey])).size,
      90_000,
      `the ${encoding} live run to publish all ${made.size} occurrences`,
    );
    for (const record of reader.of(topic)) {
      const decoded = await decoder.decode<KubeEvent>(record.value, record.headers);
      expect(decoded.encoding).toBe(encoding);
      published[encoding].push({ record, event: decoded.value });
    }
  }
  for (const job of jobs) expect((await terminate(job)).code, job.tail()).toBe(0);
  stack = { ns, topics, made, published };
  return stack;
}

describe('Flink reads what the live run published', () => {
  it('the DataStream example counts per reason and per namespace in event-time windows exactly what kubevents published, in both encodings', async () => {
    const s = await publishedStack();
    // kubevents published every occurrence once, with the event time the test gave it
    const expected = windowCounts(s.made.values());
    for (const encoding of ['confluent', 'avro-binary'] as const) {
      const events = s.published[encoding].map((p) => p.event);
      expect(events.map((e) => e.idempotencyKey).sort()).toEqual([...s.made.keys()].sort());
      expect(windowCounts(events.map((e) => [e.reason, e.lastTimestamp]))).toEqual(expected);
    }
    expect(expected.length).toBe(WINDOWS * REASONS.length + 3); // + the bumps' window (3 reasons)
    expect(new Set(expected.map((c) => c.count)).size).toBeGreaterThan(2);

    for (const encoding of ['confluent', 'avro-binary'] as const) {
      const run = await runEventCounts({ bootstrapServers: kafkaEnv.brokers.join(','), topic: s.topics[encoding].events, encoding, schema: KUBE_EVENT_AVSC });
      process.stderr.write(`[flink-downstream] EventCounts on ${encoding}: ${run.counts.length} windows in ${run.ms} ms\n`);
      expect(run.late).toEqual([]);
      expect(sortCounts(run.counts)).toEqual(windowCounts(s.published[encoding].map((p) => [p.event.reason, p.event.lastTimestamp])));
    }
    const byNamespace = await runEventCounts({
      bootstrapServers: kafkaEnv.brokers.join(','),
      topic: s.topics.confluent.events,
      encoding: 'confluent',
      schema: KUBE_EVENT_AVSC,
      key: 'namespace',
    });
    expect(sortCounts(byNamespace.counts)).toEqual(windowCounts(s.published.confluent.map((p) => [p.event.namespace ?? '', p.event.lastTimestamp])));
    expect(new Set(byNamespace.counts.map((c) => c.key))).toEqual(new Set([s.ns]));
  });

  it('the Flink SQL recipe (avro-confluent with the .avsc, DDL from scripts/flink-ddl.mjs) reads every field as kubevents wrote it', async () => {
    // the generated column types are exactly the ones Flink derives from each published schema
    const files = ['KubeEvent', 'Alert', 'Incident', 'Gap', 'DeadLetter'].map((k) => join(SCHEMAS, `${k}.avsc`));
    const flinks = await flinkSqlTypes(files);
    expect(flinks).toEqual(files.map((f) => `${flinkType(JSON.parse(readFileSync(f, 'utf8'))).sql} NOT NULL`));

    const s = await publishedStack();
    const ddl = flinkDdl(readFileSync(KUBE_EVENT_AVSC, 'utf8'), {
      topic: s.topics.confluent.events,
      bootstrapServers: kafkaEnv.brokers.join(','),
      registryUrl: registry.url,
      groupId: `flink-sql-${randomUUID().slice(0, 8)}`,
      eventTime: 'lastTimestamp',
      bounded: true,
    });
    const sql = [
      ddl,
      'SELECT idempotencyKey, `change`, reason, `namespace`, regarding.name, regarding.kind, lastTimestamp, `count`, enrichment, classification.category FROM k8s_events;',
      "SELECT window_start, reason, COUNT(*) FROM TABLE(TUMBLE(TABLE k8s_events, DESCRIPTOR(lastTimestamp), INTERVAL '1' MINUTE)) GROUP BY window_start, window_end, reason;",
      '',
    ].join('\n');
    const { rows, ms } = await runFlinkSql(sql, { batch: true });
    process.stderr.write(`[flink-downstream] Flink SQL (avro-confluent): ${rows.length} rows in ${ms} ms\n`);

    const fields = rows.filter((r) => r.query === 1);
    expect(fields.every((r) => r.kind === '+I')).toBe(true);
    const sortByKey = (a: unknown[], b: unknown[]) => String(a[0]).localeCompare(String(b[0]));
    expect(fields.map((r) => r.values).sort(sortByKey)).toEqual(
      s.published.confluent
        .map(({ event: e }) => [
          e.idempotencyKey,
          e.change,
          e.reason,
          e.namespace,
          e.regarding.name,
          e.regarding.kind,
          e.lastTimestamp,
          e.count,
          null, // not enriched: the regarded Pods do not exist
          e.classification?.category ?? null,
        ])
        .sort(sortByKey),
    );
    expect(new Set(fields.map((r) => r.values[1]))).toEqual(new Set(['ADDED', 'MODIFIED']));

    const windows = rows
      .filter((r) => r.query === 2)
      .map((r) => {
        const [start, key, count] = r.values as [number, string, number];
        return { windowStart: start, windowEnd: start + MINUTE, key, count };
      });
    expect(sortCounts(windows)).toEqual(windowCounts(s.published.confluent.map((p) => [p.event.reason, p.event.lastTimestamp])));
  });

  it('without the .avsc Flink SQL cannot read the records: plain `avro` on avro-binary, `avro-confluent` without avro-confluent.schema', async () => {
    const s = await publishedStack();
    const cases = [
      // the plain format: no registry, and no schema option (the format has none)
      {
        name: "'avro' on avro-binary",
        encoding: 'avro-binary' as const,
        edit: (ddl: string) =>
          ddl
            .split('\n')
            .filter((l) => !l.includes("'value.avro-confluent."))
            .join('\n')
            .replace("'value.format' = 'avro-confluent',", "'value.format' = 'avro'"),
      },
      // the registry's writer schema, but the reader derived from the columns (an enum is a STRING there)
      {
        name: "'avro-confluent' without avro-confluent.schema",
        encoding: 'confluent' as const,
        edit: (ddl: string) => ddl.replace(/,\n {2}'value\.avro-confluent\.schema' = '(?:[^']|'')*'/, ''),
      },
    ];
    for (const c of cases) {
      const ddl = c.edit(
        flinkDdl(readFileSync(KUBE_EVENT_AVSC, 'utf8'), {
          topic: s.topics[c.encoding].events,
          bootstrapServers: kafkaEnv.brokers.join(','),
          registryUrl: registry.url,
          groupId: `flink-sql-${randomUUID().slice(0, 8)}`,
          bounded: true,
        }),
      );
      expect(ddl).not.toContain('avro-confluent.schema');
      const truth = s.published[c.encoding].map((p) => [p.event.idempotencyKey, p.event.change]).sort();
      let outcome: string;
      try {
        const { rows } = await runFlinkSql(`${ddl}\nSELECT idempotencyKey, \`change\` FROM k8s_events;\n`, { batch: true });
        const read = rows.map((r) => r.values).sort();
        expect(read, c.name).not.toEqual(truth);
        outcome = `read ${rows.length} rows, changes ${JSON.stringify([...new Set(rows.map((r) => r.values[1]))])}`;
      } catch (error) {
        const message = (error as Error).message;
        // the job itself failed, on a record it could not decode
        expect(message, c.name).toMatch(/Failed to deserialize|Malformed data|AvroTypeException|AvroRuntimeException|expecting|EOFException/);
        const innermost = message
          .split('\n')
          .filter((l) => l.startsWith('Caused by:'))
          .pop();
        outcome = `failed: ${/Malformed data[^\n]*/.exec(message)?.[0] ?? innermost ?? message.split('\n')[0]}`;
      }
      process.stderr.write(`[flink-downstream] Flink SQL ${c.name}: ${outcome}\n`);
    }
  });
});
