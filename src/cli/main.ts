#!/usr/bin/env node
import { Command, CommanderError, Option } from 'commander';
import { packageVersion } from '../core/paths.js';
import { LOG_LEVELS } from '../core/logger.js';
import { CliError, EXIT } from './exit-codes.js';
import { runCommand } from './run-command.js';
import { pipelinesOption, registerPipelineCommands } from './pipeline-commands.js';
import { registerConfigCommand } from './config-command.js';
import { registerAlertsCommand } from './alerts-command.js';
import { registerRecordCommand } from './record-command.js';

const program = new Command();

program
  .name('kubevents')
  .description('Turns the Kubernetes event stream into reliable, enriched, deduplicated signals (Avro on Kafka, alerts).')
  .version(packageVersion(), '-V, --version')
  .showHelpAfterError('(run with --help for usage)')
  // before the subcommands: they copy the program's settings when created
  .exitOverride()
  .addHelpText(
    'after',
    `
Exit codes:
  0    success
  1    the run failed after starting (source, sink or broker failure)
  2    bad usage, invalid configuration or unreadable input (nothing was started),
       or TLS/SASL settings the Kafka broker refuses
  130  interrupted before a clean shutdown finished`,
  );

program
  .command('run')
  .description('Run the pipelines: read events from a source, process them, write records to the sinks.')
  .addOption(
    new Option(
      '--source <spec>',
      'where events come from: "replay:FILE" (JSON Lines watch events or `kubectl get events -o json`) or "kube" (a live cluster) (default: the bundled recording, replay:recordings/recorded-cluster.jsonl)',
    ),
  )
  .addOption(pipelinesOption())
  .option('--out <dir>', 'directory for Avro container files (one per topic)', 'out')
  .addOption(new Option('--speed <factor>', 'replay pace: 0 = as fast as possible, 1 = recorded pace, 10 = ten times faster').default('0', '0'))
  .option('--cluster <name>', 'cluster name stamped on every record', 'default')
  .option('--kubeconfig <file>', 'kubeconfig for --source kube (default: $KUBECONFIG, ~/.kube/config, or in-cluster)')
  .option('--context <name>', 'kubeconfig context for --source kube')
  .option('--namespace <ns...>', 'watch only these namespaces (default: all)')
  .option('--print-events', 'also print every event on stdout (JSON Lines, or one readable line each on a terminal)', false)
  .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS as string[]).default('info'))
  // --source kube: Kafka and checkpoints (a --config file and KUBEVENTS_* variables give the rest)
  .addOption(new Option('--config <file>', 'run configuration (YAML) for --source kube: Kafka, topics, encoding, checkpoints').env('KUBEVENTS_CONFIG'))
  .option('--kafka-brokers <list>', 'publish to Kafka, comma-separated host:port (without brokers --source kube writes Avro files under --out)')
  .addOption(
    new Option('--encoding <encoding>', 'Kafka record encoding (default: confluent, which needs --schema-registry)').choices(['confluent', 'avro-binary']),
  )
  .option('--schema-registry <url>', 'Schema Registry URL for --encoding confluent')
  .option(
    '--checkpoint-file <file>',
    'keep checkpoints in this file (default: the compacted topic kubevents.checkpoints with Kafka, <out>/checkpoints.json without)',
  )
  .option('--create-topics', 'create missing Kafka topics at start (broker default partitions and replication)', false)
  .option(
    '--fail-after <duration>',
    'exit 1 when no list from the Kubernetes API server succeeded for this long, e.g. 2m (default: keep retrying; the reason is logged after source.kube.connectTimeout, 60s)',
  )
  .addOption(
    new Option('--shutdown-timeout <seconds>', 'on SIGTERM/SIGINT (--source kube): stop, flush and save the checkpoint within this time').default(
      undefined,
      '10',
    ),
  )
  .action(async (options) => {
    process.exitCode = await runCommand(options);
  });

registerRecordCommand(program);
registerPipelineCommands(program);
registerConfigCommand(program);
registerAlertsCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // help and version exit 0; usage errors were already printed by commander
    process.exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  } else if (error instanceof CliError) {
    process.stderr.write(`kubevents: ${error.message}\n`);
    process.exitCode = error.exitCode;
  } else {
    process.stderr.write(`kubevents: unexpected error: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = EXIT.failure;
  }
}
