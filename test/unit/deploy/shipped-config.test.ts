/**
 * The configuration files deploy/ ships are valid for the loaders that read them in the Pods:
 * kubevents.yaml for `kubevents run` (src/config/run-config.ts), alerts.yaml for
 * `kubevents alerts` (src/alerting/load-config.ts), with the environment and mounted secret files
 * the Deployments provide.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadRunConfig } from '../../../src/config/run-config.js';
import { parseAlertsConfig } from '../../../src/alerting/load-config.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
/** what the Deployments put in the environment (downward API, Secret references) */
const POD_ENV = { POD_NAME: 'kubevents-7d9f-abcde', POD_NAMESPACE: 'kubevents', KUBEVENTS_LEADER_ELECTION_ENABLED: 'true' };
/** files the Pods get from Secrets */
const secretFile = (path: string): string => {
  if (path.startsWith('/etc/kubevents/secrets/receivers/')) {
    const key = path.slice('/etc/kubevents/secrets/receivers/'.length);
    if (key.endsWith('webhook-url'))
      return key.startsWith('slack') ? 'https://hooks.slack.com/services/T0/B0/XYZ' : 'https://oapi.dingtalk.com/robot/send?access_token=abc';
    if (key === 'dingtalk-secret') return 'SECabc';
  }
  if (path.startsWith('/etc/kubevents/kafka-tls/')) return '-----BEGIN CERTIFICATE-----\n';
  throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
};

describe('deploy/ configuration files', () => {
  it.each([
    ['deploy/base/config/kubevents.yaml', {}],
    ['deploy/overlays/example/kubevents.yaml', { KUBEVENTS_KAFKA_SASL_PASSWORD: 'from-secret' }],
  ])('%s is a valid kubevents run configuration', (path, env) => {
    // the Kafka CA comes from the Secret the Deployment mounts at /etc/kubevents/kafka-tls
    const mounted = (file: string) => (file.startsWith('/etc/kubevents/kafka-tls/') ? null : 'no such file');
    const loaded = loadRunConfig({ file: `${root}${path}`, env: { ...POD_ENV, ...env }, checkFile: mounted });
    expect(loaded.warnings).toEqual([]);
    const c = loaded.config;
    expect(c.metrics).toEqual({ enabled: true, address: '0.0.0.0', port: 9090 });
    expect(c.leaderElection).toMatchObject({ enabled: true, leaseName: 'kubevents', leaseNamespace: 'kubevents' });
    expect(c.checkpoint.store).toBe('kafka');
    expect(c.source.kube.inCluster).toBe(true);
    expect(c.pipelines).toBeUndefined(); // the bundled default
  });

  it.each([
    ['deploy/base/config/alerts.yaml', {}],
    ['deploy/overlays/example/alerts.yaml', { KUBEVENTS_KAFKA_SASL_PASSWORD: 'from-secret' }],
  ])('%s is a valid kubevents alerts configuration', (path, env) => {
    const text = readFileSync(`${root}${path}`, 'utf8');
    const result = parseAlertsConfig(text, path, { env: { ...POD_ENV, ...env }, readFile: secretFile });
    expect(result.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(result.config?.receivers.length).toBeGreaterThan(0);
  });

  it('the Kafka SASL password of the example overlay comes from the Secret, for both commands', () => {
    const run = () => loadRunConfig({ file: `${root}deploy/overlays/example/kubevents.yaml`, env: POD_ENV, checkFile: () => null });
    expect(run).toThrow(/no SASL password: set KUBEVENTS_KAFKA_SASL_PASSWORD/);
    const alerts = parseAlertsConfig(readFileSync(`${root}deploy/overlays/example/alerts.yaml`, 'utf8'), 'alerts.yaml', { env: POD_ENV, readFile: secretFile });
    expect(alerts.diagnostics.some((d) => d.severity === 'error' && /KUBEVENTS_KAFKA_SASL_PASSWORD/.test(d.message))).toBe(true);
  });
});
