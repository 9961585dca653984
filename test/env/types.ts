import type {} from 'vitest';
/**
 * Connection details the test environment hands to integration tests (vitest `provide`/`inject`).
 * Everything here must be plain JSON: it crosses from the global-setup process into test workers.
 * Control actions (restart a component, compact etcd) go through the shell scripts in test/env/,
 * which read the run directory's state file, so a test worker can call them too.
 */
export interface KafkaEnv {
  /** bootstrap servers, e.g. ["127.0.0.1:39092"] */
  brokers: string[];
  /** directory holding this run's state.json, logs and data (argument to test/env/kafka.sh commands) */
  runDir: string;
  /** the broker's log file, for diagnostics */
  logFile: string;
}

export interface KubeEnv {
  /** https://127.0.0.1:PORT */
  server: string;
  /** kubeconfig file usable by @kubernetes/client-node and kubectl */
  kubeconfigPath: string;
  /** bearer token with cluster-admin rights */
  token: string;
  /** etcd client URL, e.g. http://127.0.0.1:PORT */
  etcdEndpoint: string;
  /** directory holding this run's state.json, logs, certs (argument to test/env/kube.sh commands) */
  runDir: string;
  /** log file per component: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok */
  logFiles: Record<string, string>;
}

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaEnv: KafkaEnv;
    kubeEnv: KubeEnv;
  }
}
