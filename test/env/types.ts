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
  /** the broker's TLS and SASL listeners and the files to reach them (test/env/kafka.sh) */
  security: KafkaSecurityEnv;
}

/**
 * The secured listeners of the test broker, on 127.0.0.1 next to the PLAINTEXT one, and the
 * certificates made for the run (EC P-256, by openssl, in RUN_DIR/tls).
 */
export interface KafkaSecurityEnv {
  /** SASL_SSL: TLS + SASL SCRAM-SHA-512 (user scramUsername, password in scramPasswordFile) */
  saslSslBrokers: string[];
  /** SSL with client certificates required (clientCertFile / clientKeyFile) */
  mtlsBrokers: string[];
  /** SSL serving a broker certificate that expired yesterday (signed by caFile) */
  expiredCertBrokers: string[];
  /** SSL serving a certificate for DNS:kafka.wrong-host.test only (signed by caFile) */
  wrongHostBrokers: string[];
  /** the CA that signed the broker's certificates and the client certificate (PEM) */
  caFile: string;
  /** a CA that signed nothing the broker serves (PEM) */
  otherCaFile: string;
  clientCertFile: string;
  clientKeyFile: string;
  scramMechanism: 'scram-sha-512';
  scramUsername: string;
  /** the SCRAM password, one line of hex; read it, never log it */
  scramPasswordFile: string;
}

/** The test Schema Registry (Apicurio Registry 3, test/env/registry.sh). */
export interface RegistryEnv {
  /** base URL of the Confluent-compatible API, e.g. http://127.0.0.1:PORT/apis/ccompat/v7 */
  url: string;
  /** directory holding this run's state.json and log (argument to test/env/registry.sh commands) */
  runDir: string;
  /** the registry's log file, for diagnostics */
  logFile: string;
  /** e.g. "Apicurio Registry 3.3.3" */
  version: string;
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
    registryEnv: RegistryEnv;
  }
}
