import type { TestProject } from 'vitest/node';
import { startKafka } from './kafka.js';
import { startKube } from './kube.js';

/**
 * Starts the real Kafka broker and the real Kubernetes control plane once per `vitest run`,
 * hands their connection details to the integration suites, and stops them at the end.
 * Provisioning (downloads, Go builds) is cached, so only the first run on a machine is slow.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started: Array<{ stop(): Promise<void> }> = [];
  try {
    const [kafka, kube] = await Promise.all([startKafka(), startKube()]);
    started.push(kafka, kube);
    project.provide('kafkaEnv', kafka.env);
    project.provide('kubeEnv', kube.env);
  } catch (error) {
    await Promise.allSettled(started.map((s) => s.stop()));
    throw error;
  }
  return async () => {
    await Promise.allSettled(started.map((s) => s.stop()));
  };
}
