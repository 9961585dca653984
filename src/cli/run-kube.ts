import { filter, map } from 'rxjs';
import type { Logger } from '../runtime/logger.js';
import { defaultProcessing } from '../pipeline/default-processing.js';
import { createKubeSource } from '../sources/kube-source.js';
import { KubeConfigError } from '../sources/kubeconfig.js';
import type { EventItem } from '../sources/event-source.js';
import { formatEventLine, StdoutSink } from '../sinks/stdout-sink.js';
import { formatAlertLine } from '../sinks/alert-line.js';
import type { KubeEvent } from '../model/kube-event.js';
import { CliError, EXIT } from './exit-codes.js';
import type { RunOptions } from './run-command.js';

/**
 * `kubevents run --source kube`: streams a live cluster's events through the default processing
 * and prints them (JSON Lines, or readable lines on a terminal) with the alerts, until SIGINT or
 * SIGTERM. Publishing to Kafka with checkpoints is the Kafka sink's job (see README).
 */
export async function runKubeCommand(options: RunOptions, logger: Logger): Promise<number> {
  let source;
  try {
    source = createKubeSource({
      cluster: options.cluster,
      kubeconfig: options.kubeconfig ?? null,
      context: options.context ?? null,
      namespaces: options.namespace ?? null,
      logger,
    });
  } catch (error) {
    if (error instanceof KubeConfigError) throw new CliError(error.message, EXIT.usage);
    throw error;
  }
  const printer = new StdoutSink<KubeEvent>(formatEventLine);
  const events$ = source.events.items$.pipe(
    filter((i): i is EventItem => i.type === 'EVENT'),
    map((i) => i.event),
  );
  const outputs = defaultProcessing(events$, { lookup: source.objects, logger });
  const caches = source.connectCaches();
  return new Promise<number>((resolve) => {
    const subscriptions = [
      outputs.events$.subscribe({
        next: (e) => void printer.write(e),
        error: (error: unknown) => {
          logger.error({ err: error }, 'event source failed for good');
          stop(EXIT.failure);
        },
      }),
      outputs.alerts$.subscribe((a) => process.stderr.write(`${formatAlertLine(a)}\n`)),
    ];
    const stop = (code: number) => {
      for (const s of subscriptions) s.unsubscribe();
      caches.unsubscribe();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(code);
    };
    const onSignal = () => {
      logger.info('stopping');
      stop(EXIT.ok);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
