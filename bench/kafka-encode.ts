/**
 * What kafkajs costs to encode a produce request, per record, with its own protocol Encoder and
 * with the patched one (src/kafka/encoder-patch.ts): no broker, no compression, only the encoding
 * the producer does on the processing thread. The records are what the sink sends: generated
 * KubeEvents, Avro-encoded, keyed by object, with the sink's headers. Both Encoders are loaded
 * afresh in this process (kafkajs's modules dropped from require.cache in between) and alternated
 * round by round; every round's requests are compared byte for byte.
 *
 *   node dist/bench/kafka-encode.js [--records 200000] [--rounds 6] [--batch 500]
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { toAvroBinary } from '../src/avro/encodings.js';
import { loadSchema } from '../src/avro/schemas.js';
import { objectKey } from '../src/model/kube-event.js';
import { patchKafkajsEncoder } from '../src/kafka/encoder-patch.js';
import { buildWorld, EventStream } from './generator.js';
import { calibrate, intArg, loadAverage, parseArgs, round2, writeResult } from './lib.js';
import { benchProcessing, sinkHeaders, warmCache } from './processing.js';
import type { KubeEvent } from '../src/model/kube-event.js';
import type { WatchEvent } from '../src/model/watch-event.js';
import { Subject } from 'rxjs';

const args = parseArgs(process.argv.slice(2));
const records = intArg(args, 'records', 200_000);
const rounds = intArg(args, 'rounds', 6);
const batch = intArg(args, 'batch', 500);

const require = createRequire(import.meta.url);
const kafkajsDir = dirname(require.resolve('kafkajs/package.json'));
type ProduceRequest = (request: Record<string, unknown>) => { encode(): Promise<{ buffer: Buffer }> };
function loadProduce(patched: boolean): ProduceRequest {
  for (const key of Object.keys(require.cache)) if (key.startsWith(kafkajsDir)) delete require.cache[key];
  if (patched && !patchKafkajsEncoder()) throw new Error('the kafkajs Encoder patch did not install');
  return require('kafkajs/src/protocol/requests/produce/v3/request') as ProduceRequest;
}

const loadStart = loadAverage();
const calibrationCpuMs = calibrate();

// the sink's records: processed generated events, Avro-encoded, with the sink's headers
const world = buildWorld({ objects: 10_000 });
const cache = warmCache(world.objects);
world.objects.length = 0;
const processed: KubeEvent[] = [];
const input = new Subject<WatchEvent<unknown>>();
benchProcessing(input, cache).events$.subscribe((e) => processed.push(e));
const stream = new EventStream(world, { events: 20_000 });
for (let i = 0; i < 20_000; i++) input.next(stream.next()!);
input.complete();
const schema = loadSchema('KubeEvent');
const messages = processed.map((e) => ({
  key: objectKey(e),
  value: toAvroBinary(schema, e),
  timestamp: String(e.lastTimestamp),
  headers: sinkHeaders(schema, e, 'default'),
}));
const batches: Array<typeof messages> = [];
for (let i = 0, m = 0; i < records; i += batch) {
  const b: typeof messages = [];
  for (let j = 0; j < batch && i + j < records; j++, m++) b.push(messages[m % messages.length]!);
  batches.push(b);
}

async function encodeAll(produce: ProduceRequest): Promise<{ cpuUs: number; bytes: Buffer[] }> {
  const bytes: Buffer[] = [];
  const start = process.cpuUsage();
  for (const b of batches) {
    const encoded = await produce({
      acks: -1,
      timeout: 30_000,
      topicData: [{ topic: 'k8s.events', partitions: [{ partition: 0, firstSequence: 0, messages: b }] }],
    }).encode();
    if (bytes.length < 4) bytes.push(encoded.buffer);
  }
  const used = process.cpuUsage(start);
  return { cpuUs: used.user + used.system, bytes };
}

const perRecord: { kafkajs: number[]; patched: number[] } = { kafkajs: [], patched: [] };
for (let round = 0; round < rounds; round++) {
  const order = round % 2 === 0 ? [false, true] : [true, false];
  const outputs: Record<string, Buffer[]> = {};
  for (const patched of order) {
    const produce = loadProduce(patched);
    await encodeAll(produce); // warm-up of this load
    const { cpuUs, bytes } = await encodeAll(produce);
    (patched ? perRecord.patched : perRecord.kafkajs).push(round2(cpuUs / records));
    outputs[String(patched)] = bytes;
  }
  if (!outputs['true']!.every((b, i) => b.equals(outputs['false']![i]!))) throw new Error('the patched Encoder wrote different bytes');
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

writeResult(args, {
  bench: 'kafka-encode',
  records,
  rounds,
  batch,
  headersPerRecord: 7,
  cpuMicrosecondsPerRecord: { kafkajs: median(perRecord.kafkajs), patched: median(perRecord.patched), rounds: perRecord },
  sameBytes: true,
  calibrationCpuMs,
  loadavgStart: loadStart,
  loadavgEnd: loadAverage(),
});
