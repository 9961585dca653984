import type { TestProject } from 'vitest/node';
import { startKafka } from './kafka.js';
import { startKube } from './kube.js';
import { startRegistry } from './registry.js';

/**
 * Starts the real Kafka broker, the real Kubernetes control plane and a real Schema Registry
 * (Apicurio Registry, Confluent API) once per `vitest run`, hands their connection details to the
 * integration suites, and stops them at the end.
 * Provisioning (downloads, Go builds) is cached, so only the first run on a machine is slow.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started: Array<{ stop(): Promise<void> }> = [];
  try {
    const parts = [startKafka(), startKube(), startRegistry()] as const;
    // wait for all three, so that whatever started is stopped again when another one failed
    for (const r of await Promise.allSettled(parts)) if (r.status === 'fulfilled') started.push(r.value);
    const [kafka, kube, registry] = await Promise.all(parts);
    project.provide('kafkaEnv', kafka.env);
    project.provide('kubeEnv', kube.env);
    project.provide('registryEnv', registry.env);
  } catch (error) {
    await Promise.allSettled(started.map((s) => s.stop()));
    throw error;
  }
  return async () => {
    await Promise.allSettled(started.map((s) => s.stop()));
  };
}
