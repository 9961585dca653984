import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { describeKubeConfig, KubeConfigError, loadKubeConfig, parseNamespaces } from '../../../src/sources/kubeconfig.js';
import { createKubeSource } from '../../../src/sources/kube-source.js';
import { FAKE_RESOURCES, startFakeApiServer } from '../../support/fake-apiserver.js';
import { FAST, waitFor } from './support.js';

const dir = mkdtempSync(join(tmpdir(), 'kubevents-kc-'));
const file = join(dir, 'config');
writeFileSync(
  file,
  `apiVersion: v1
kind: Config
clusters:
- name: one
  cluster: { server: https://one.example:6443, insecure-skip-tls-verify: true }
- name: two
  cluster: { server: https://two.example:6443, insecure-skip-tls-verify: true }
users:
- name: u
  user: { token: secret-token }
contexts:
- name: ctx-one
  context: { cluster: one, user: u, namespace: team-a }
- name: ctx-two
  context: { cluster: two, user: u }
current-context: ctx-one
`,
);

afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.unstubAllEnvs());

describe('loadKubeConfig', () => {
  it('loads an explicit file and its current context', () => {
    const kc = loadKubeConfig({ kubeconfig: file });
    expect(describeKubeConfig(kc)).toEqual({ context: 'ctx-one', cluster: 'one', server: 'https://one.example:6443', user: 'u', namespace: 'team-a' });
  });
  it('switches context', () => {
    expect(describeKubeConfig(loadKubeConfig({ kubeconfig: file, context: 'ctx-two' })).server).toBe('https://two.example:6443');
  });
  it('reads $KUBECONFIG when no path is given', () => {
    vi.stubEnv('KUBECONFIG', file);
    expect(describeKubeConfig(loadKubeConfig()).context).toBe('ctx-one');
  });
  it('explains what is wrong', () => {
    expect(() => loadKubeConfig({ kubeconfig: file, context: 'nope' })).toThrow(/context "nope" not found.*ctx-one, ctx-two/);
    expect(() => loadKubeConfig({ kubeconfig: join(dir, 'missing') })).toThrow(KubeConfigError);
    vi.stubEnv('KUBERNETES_SERVICE_HOST', '');
    expect(() => loadKubeConfig({ inCluster: true })).toThrow(/not running in a Pod/);
  });
});

describe('parseNamespaces', () => {
  it('reads names, lists and "all"', () => {
    expect(parseNamespaces(undefined)).toBeNull();
    expect(parseNamespaces('')).toBeNull();
    expect(parseNamespaces('all')).toBeNull();
    expect(parseNamespaces('*')).toBeNull();
    expect(parseNamespaces('a')).toEqual(['a']);
    expect(parseNamespaces('a, b,a')).toEqual(['a', 'b']);
    expect(parseNamespaces(['a', 'c,d'])).toEqual(['a', 'c', 'd']);
  });
});

describe('createKubeSource', () => {
  it('wires events and caches on one registry', async () => {
    const server = await startFakeApiServer();
    try {
      server.create(FAKE_RESOURCES.pods!, { metadata: { name: 'p', namespace: 'default', uid: 'p1' } });
      server.create(FAKE_RESOURCES.events!, {
        metadata: { name: 'e', namespace: 'default', creationTimestamp: '2024-05-01T10:00:00Z' },
        regarding: { kind: 'Pod', name: 'p', namespace: 'default', uid: 'p1' },
        reason: 'Scheduled',
        note: 'ok',
        type: 'Normal',
      });
      const src = createKubeSource({ kubeConfig: server.kubeConfig(), cluster: 'c', cacheKinds: ['Pod', 'Node'], timings: FAST });
      const caches = src.connectCaches();
      const reasons: string[] = [];
      const sub = src.events.events$.subscribe((e) => reasons.push(e.reason));
      await src.objects.whenSynced();
      await waitFor(() => reasons.length === 1);
      expect(src.objects.get('Pod', 'default', 'p')?.metadata.uid).toBe('p1');
      expect(src.registry.activeWatches).toBe(3);
      sub.unsubscribe();
      caches.unsubscribe();
      expect(src.registry.activeWatches).toBe(0);
    } finally {
      await server.stop();
    }
  });
});
