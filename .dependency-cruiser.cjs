// The layers of src/, checked by `npm run lint` (dependency-cruiser). A folder may import only the
// folders listed for it (and itself); there are no import cycles. From the ground up:
//
//   core                          logger, paths, metrics, durations, the config kit
//   model                         records and their envelope
//   avro, kafka                   schemas and encodings; the Kafka client
//   checkpoint                    positions, checkpointers, checkpoint stores
//   sources                       watches, feeds, replay, object caches
//   operators, sinks              RxJS stream operators; the sink contract, router and sinks
//   pipeline, alerting, ops       pipeline format and components; alert receivers; metrics server, leader election
//   config                        the run configuration
//   jobs                          the replay and live jobs (wiring and lifecycle)
//   cli                           the kubevents command
const layers = {
  core: [],
  model: [],
  avro: ['core'],
  kafka: ['core'],
  checkpoint: ['core', 'model', 'kafka'],
  sources: ['core', 'model', 'checkpoint'],
  operators: ['core', 'model', 'sources'],
  sinks: ['core', 'model', 'avro', 'kafka'],
  pipeline: ['core', 'model', 'avro', 'sources', 'operators', 'sinks'],
  alerting: ['core', 'model', 'avro', 'kafka'],
  ops: ['core'],
  config: ['core', 'avro', 'kafka', 'checkpoint', 'sinks'],
  jobs: ['core', 'model', 'avro', 'kafka', 'checkpoint', 'sources', 'operators', 'sinks', 'pipeline'],
  cli: ['core', 'model', 'avro', 'kafka', 'checkpoint', 'sources', 'operators', 'sinks', 'pipeline', 'alerting', 'ops', 'config', 'jobs'],
};

const folders = Object.keys(layers);

module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'Modules that import each other in a loop: split the shared part out.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    ...folders.map((folder) => ({
      name: `layers-${folder}`,
      severity: 'error',
      comment: `src/${folder} may import only ${layers[folder].length ? layers[folder].map((f) => `src/${f}`).join(', ') : 'npm packages'} (see .dependency-cruiser.cjs)`,
      from: { path: `^src/${folder}/` },
      to: { path: `^src/(?!(?:${[folder, ...layers[folder]].join('|')})/)` },
    })),
    {
      name: 'kafkajs-only-in-client',
      severity: 'error',
      comment:
        'Only src/kafka/client.ts imports kafkajs (and encoder-patch.ts, which it calls first): it patches the Encoder kafkajs loads (src/kafka/encoder-patch.ts), which an earlier import of kafkajs would prevent, and it keeps the Kafka client swappable.',
      from: { path: '^src/', pathNot: '^src/kafka/(client|encoder-patch)\\.ts$' },
      to: { path: 'node_modules/kafkajs/' },
    },
    {
      name: 'no-unknown-folder',
      severity: 'error',
      comment: 'Every folder of src/ has its place in the layers of .dependency-cruiser.cjs.',
      from: { path: `^src/(?!(?:${folders.join('|')})/)` },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
