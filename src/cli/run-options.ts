import type { LevelWithSilent } from 'pino';

/** The options of `kubevents run` (src/cli/main.ts declares them for commander). */
export interface RunOptions {
  source?: string;
  out: string;
  speed: string;
  cluster: string;
  kubeconfig?: string;
  context?: string;
  namespace?: string[];
  printEvents: boolean;
  pipelines?: string[];
  logLevel: LevelWithSilent;
  // --source kube (src/cli/run-kube.ts)
  config?: string;
  kafkaBrokers?: string;
  encoding?: 'confluent' | 'avro-binary';
  schemaRegistry?: string;
  checkpointFile?: string;
  createTopics?: boolean;
  shutdownTimeout?: string;
  failAfter?: string;
}
