/**
 * `kubevents alerts --config FILE`: the alert sinks (src/alerting/): a Kafka consumer group on the
 * alert and incident topics delivering notifications to DingTalk, WeCom, Slack, webhooks and
 * Alertmanager. Wire it with `registerAlertsCommand(program)` in main.ts.
 */
import { type Command, Option } from 'commander';
import type { LevelWithSilent } from 'pino';
import { AlertsConfigError, loadAlertsConfig, type AlertsConfig } from '../alerting/load-config.js';
import { alertNotification } from '../alerting/notification.js';
import { Deliverer } from '../alerting/deliver.js';
import { createReceiver } from '../alerting/receivers/registry.js';
import { describeRoute } from '../alerting/routing.js';
import { startAlertsService, type AlertsService } from '../alerting/service.js';
import { alertIdempotencyKey, type Alert } from '../model/alert.js';
import { formatDiagnostic } from '../core/diagnostics.js';
import { startHttpServer, type OpsHttpServer } from '../ops/http-server.js';
import { createLogger, LOG_LEVELS, type Logger } from '../core/logger.js';
import { explainKafkaError } from '../kafka/client.js';
import { processRegistry } from '../core/metrics.js';
import { CliError, EXIT, settleLogs } from './exit-codes.js';

export interface AlertsOptions {
  config: string;
  check: boolean;
  sendTest?: string;
  metricsPort: string;
  metricsAddress: string;
  metrics: boolean;
  logLevel: LevelWithSilent;
}

/** How long a graceful stop may take before the process exits anyway. */
const STOP_DEADLINE_MS = 30_000;

function loadConfig(file: string): { config: AlertsConfig; warnings: string[] } {
  try {
    const { config, warnings } = loadAlertsConfig(file);
    return { config, warnings: warnings.map(formatDiagnostic) };
  } catch (error) {
    if (error instanceof AlertsConfigError) throw new CliError(error.message, EXIT.usage);
    throw error;
  }
}

function parsePort(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError(`--metrics-port "${text}" must be a port number (0-65535; 0 picks a free one)`);
  return port;
}

/** A synthetic firing alert for --send-test. */
export function testAlert(cluster: string, now = Date.now()): Alert {
  const alert: Alert = {
    alertId: '0000000000000000',
    status: 'firing',
    labels: { alertname: 'KubeventsTestNotification', cluster: cluster || 'test', namespace: 'default', kind: 'Pod', name: 'kubevents-test' },
    annotations: { message: 'A test notification sent by kubevents alerts --send-test.' },
    severity: 'info',
    category: 'Other',
    cluster: cluster || 'test',
    namespace: 'default',
    summary: 'Test notification from kubevents: if you read this, the receiver works.',
    startsAt: now,
    endsAt: null,
    updatedAt: now,
    count: 1,
    windowMs: null,
    firstSeen: now,
    lastSeen: now,
    workload: { kind: 'Deployment', name: 'kubevents-test', uid: null },
    node: null,
    containers: [],
    sampleMessages: ['This is a test message.'],
    memberKeys: [],
    memberAlertIds: [],
    sequence: now,
    idempotencyKey: '',
  };
  alert.idempotencyKey = alertIdempotencyKey(alert);
  return alert;
}

async function sendTest(config: AlertsConfig, name: string, logger: Logger): Promise<number> {
  const rc = config.receivers.find((r) => r.name === name);
  if (!rc) throw new CliError(`--send-test: no receiver named "${name}" (receivers: ${config.receivers.map((r) => r.name).join(', ')})`);
  const deliverer = new Deliverer(createReceiver(rc, { externalUrl: config.externalUrl }), { logger, redactor: config.redactor, registry: processRegistry() });
  const n = alertNotification(testAlert(config.cluster), { timeZone: config.timeZone, externalUrl: config.externalUrl });
  const outcome = await deliverer.deliver(n);
  if (outcome.kind === 'delivered') {
    process.stdout.write(`test notification delivered to ${deliverer.receiver.describe()} (${outcome.attempts} attempt${outcome.attempts === 1 ? '' : 's'})\n`);
    return EXIT.ok;
  }
  process.stdout.write(`test notification NOT delivered to ${deliverer.receiver.describe()}: ${outcome.kind === 'failed' ? outcome.reason : outcome.kind}\n`);
  return EXIT.failure;
}

export async function alertsCommand(options: AlertsOptions): Promise<number> {
  const logger = createLogger({ level: options.logLevel });
  const { config, warnings } = loadConfig(options.config);
  for (const w of warnings) process.stderr.write(`${w}\n`);
  if (options.check) {
    const receivers = config.receivers.map((r) => `  ${createReceiver(r).describe()}`).join('\n');
    process.stdout.write(
      `${options.config}: OK\nconsumer group ${config.consumer.groupId} on ${config.consumer.topics.join(', ')}; dead letters to ${config.deadLetter.topic} (${config.deadLetter.encoding})\nreceivers:\n${receivers}\nroutes:\n${describeRoute(config.route, '  ')}\n`,
    );
    return EXIT.ok;
  }
  if (options.sendTest !== undefined) return sendTest(config, options.sendTest, logger);

  const registry = processRegistry();
  let http: OpsHttpServer | null = null;
  let service: AlertsService | null = null;
  try {
    if (options.metrics) {
      http = await startHttpServer({ port: parsePort(options.metricsPort), address: options.metricsAddress, logger });
      logger.info({ url: http.url }, 'metrics and probes listening');
    }
    try {
      service = await startAlertsService(config, { logger, registry });
    } catch (error) {
      logger.error({ err: error }, 'cannot start the alert sinks');
      await throwKafkaProblem(error, config, logger);
      return EXIT.failure;
    }
    const running = service;
    http?.setReadinessCheck('kafka-group', async () =>
      running.consumer.assignment
        ? { ok: true, detail: `member of ${config.consumer.groupId}` }
        : { ok: false, detail: `not joined ${config.consumer.groupId} yet` },
    );

    let signals = 0;
    const stopRequested = new Promise<'signal'>((resolve) => {
      const onSignal = (signal: NodeJS.Signals) => {
        signals += 1;
        if (signals > 1) process.exit(EXIT.interrupted);
        logger.info({ signal }, 'stopping: finishing the notifications in flight (signal again to exit at once)');
        resolve('signal');
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
    });
    const result = await Promise.race([stopRequested, running.failed]);
    let timer: NodeJS.Timeout | undefined;
    const clean = await Promise.race([
      running.stop().then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), STOP_DEADLINE_MS);
      }),
    ]);
    clearTimeout(timer);
    if (result !== 'signal') {
      logger.error({ err: result }, 'the alert sinks failed');
      await throwKafkaProblem(result, config, logger);
      return EXIT.failure;
    }
    if (!clean) {
      logger.warn({ deadlineMs: STOP_DEADLINE_MS }, 'stop deadline passed; uncommitted records will be read again on the next start');
      return EXIT.interrupted;
    }
    return EXIT.ok;
  } finally {
    await http?.close().catch(() => undefined);
  }
}

/**
 * A failure on the Kafka connection as one line (`kubevents: <broker>: <what>: <fix>`): exit 2 when
 * the TLS or SASL settings must change (retrying cannot help), else 1.
 */
async function throwKafkaProblem(error: unknown, config: AlertsConfig, logger: Logger): Promise<void> {
  const problem = explainKafkaError(error, config.kafka, { passwordSource: 'kafka.sasl.password or kafka.sasl.passwordFile' });
  if (!problem) return;
  await settleLogs(logger);
  throw new CliError(problem.message, problem.configuration ? EXIT.usage : EXIT.failure);
}

/** Registers `kubevents alerts` on the program (call it in main.ts next to `run`). */
export function registerAlertsCommand(program: Command): void {
  program
    .command('alerts')
    .description('Deliver alerts and incidents from Kafka to DingTalk, WeCom, Slack, webhooks and Alertmanager (a consumer group; see docs/alerting.md).')
    .requiredOption('--config <file>', 'alert sinks configuration (YAML): Kafka, routes, receivers; see deploy/alerts.example.yaml')
    .option('--check', 'validate the configuration (and read its secrets), print the receivers and routes, and exit', false)
    .option('--send-test <receiver>', 'send one synthetic test notification to this receiver and exit')
    .option('--metrics-port <port>', 'port of /metrics, /healthz and /readyz (0 picks a free one)', '9090')
    .option('--metrics-address <address>', 'bind address of the metrics endpoint', '0.0.0.0')
    .option('--no-metrics', 'do not serve /metrics, /healthz and /readyz')
    .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS as string[]).default('info'))
    .action(async (options: AlertsOptions) => {
      process.exitCode = await alertsCommand(options);
    });
}
