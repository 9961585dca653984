/**
 * A kubevents-like pipeline in its own process, for the kill -9 test in
 * test/integration/kafka-sink.test.ts:
 *
 *   node kafka-sink-child.js BROKERS EVENTS_TOPIC CHECKPOINT_TOPIC CLUSTER LAST [PER_MS]
 *
 * A synthetic source emits events 1..LAST (resourceVersion = the number, one every PER_MS ms),
 * resuming after the checkpoint it loads from CHECKPOINT_TOPIC; each event becomes a KubeEvent
 * record on EVENTS_TOPIC through the real KafkaSink, and checkpoints are saved only once Kafka acked.
 * Prints JSON lines: {"event":"started","resumeFrom":...}, {"event":"checkpoint","rv":...},
 * {"event":"written","n":...}, {"event":"done"}. SIGTERM shuts down gracefully.
 */
import { interval, map, takeWhile, tap } from 'rxjs';
import { createKafka } from '../../../src/kafka/client.js';
import { KafkaCheckpointStore } from '../../../src/checkpoint/kafka-store.js';
import { Checkpointer, withPositions } from '../../../src/checkpoint/checkpointer.js';
import { gracefulShutdown } from '../../../src/jobs/shutdown.js';
import { kubeEventRecord } from '../../../src/model/out-record.js';
import { connectKafkaSink } from '../../../src/sinks/kafka-publisher.js';
import { writeTo } from '../../../src/sinks/write-to.js';
import { sampleEvent } from '../../support/sample-records.js';

const [brokers, eventsTopic, checkpointTopic, cluster, lastText, perMsText] = process.argv.slice(2);
if (!brokers || !eventsTopic || !checkpointTopic || !cluster || !lastText) {
  process.stderr.write('usage: kafka-sink-child BROKERS EVENTS_TOPIC CHECKPOINT_TOPIC CLUSTER LAST [PER_MS]\n');
  process.exit(2);
}
const last = Number(lastText);
const perMs = Number(perMsText ?? '2');
const say = (event: string, fields: Record<string, unknown> = {}) => process.stdout.write(`${JSON.stringify({ event, t: Date.now(), ...fields })}\n`);

const kafkaConfig = { brokers: brokers.split(','), clientId: 'kill-test-child' };
const store = new KafkaCheckpointStore({ kafka: createKafka(kafkaConfig), topic: checkpointTopic });
const checkpointer = new Checkpointer({ store, key: { cluster, pipeline: 'kill-test', resource: 'synthetic/events' }, intervalMs: 50 });
const resumeFrom = await checkpointer.load();
const first = resumeFrom === null ? 1 : Number(resumeFrom) + 1;
say('started', { resumeFrom });

const { sink, close } = await connectKafkaSink({
  kafka: kafkaConfig,
  cluster,
  pipeline: 'kill-test',
  encoding: 'avro-binary',
  topics: { KubeEvent: eventsTopic },
  batch: { lingerMs: 5, maxRecords: 50 },
});
checkpointer.start();
let lastSaid: string | null = resumeFrom;
const poll = setInterval(() => {
  const saved = checkpointer.savedResourceVersion;
  if (saved !== lastSaid) say('checkpoint', { rv: (lastSaid = saved) });
}, 10);

let written = 0;
const subscription = interval(perMs)
  .pipe(
    map((k) => first + k),
    takeWhile((i) => i <= last),
    withPositions(checkpointer.tracker, (i) => String(i)),
    map(({ value, position }) => kubeEventRecord(sampleEvent(value, { cluster }), [position])),
    tap(() => {
      written += 1;
      if (written % 100 === 0) say('written', { n: written, upTo: first + written - 1 });
    }),
    writeTo(sink),
  )
  .subscribe({
    error: (error: unknown) => {
      say('error', { message: String(error) });
      process.exit(1);
    },
    complete: () => {
      void shutdown().then(() => {
        say('done', { written });
        process.exit(0);
      });
    },
  });

async function shutdown() {
  const report = await gracefulShutdown(
    { stopSources: () => subscription.unsubscribe(), sinks: [{ close }], checkpointers: [checkpointer], stores: [store] },
    { deadlineMs: 20_000 },
  );
  clearInterval(poll);
  say('checkpoint', { rv: checkpointer.savedResourceVersion, final: true, clean: report.clean });
}

process.on('SIGTERM', () => {
  void shutdown().then(() => process.exit(0));
});
