/**
 * deploy/ is known valid: the kustomizations render (with `kubectl kustomize`, or without kubectl
 * with test/support/kustomize-lite.ts, which is checked against kubectl when both are there), every
 * object passes server-side dry-run on the real test kube-apiserver, the Pod templates pass the
 * "restricted" Pod Security Standard their namespace enforces, and the RBAC grants exactly what the
 * code needs: get/list/watch on what it watches, get/create/update on its own Lease, nothing else,
 * checked with SubjectAccessReviews and by running the leader elector as the service account.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { AuthorizationV1Api, CoreV1Api, KubeConfig, KubernetesObjectApi, RbacAuthorizationV1Api, type KubernetesObject } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { kubeConfigFor, waitFor } from '../env/scenarios.js';
import { kustomizeLite, type KObject } from '../support/kustomize-lite.js';
import { PROJECT_ROOT } from '../support/transpile.js';
import { RESOURCES } from '../../src/sources/resources.js';
import { LeaderElector } from '../../src/ops/leader-election.js';

const env = inject('kubeEnv');
const kc = kubeConfigFor(env);
const objects = KubernetesObjectApi.makeApiClient(kc);
const core = kc.makeApiClient(CoreV1Api);
const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
const authz = kc.makeApiClient(AuthorizationV1Api);

const NS = 'kubevents';
const SA_USER = `system:serviceaccount:${NS}:kubevents`;
const ALERTS_USER = `system:serviceaccount:${NS}:kubevents-alerts`;
const KUSTOMIZATIONS = ['deploy/base', 'deploy/overlays/example'];

/**
 * kubectl: $KUBEVENTS_KUBECTL, one built into the test env cache, or on PATH; null when none
 * (KUBEVENTS_KUBECTL=none forces kustomize-lite).
 */
function findKubectl(): string | null {
  const candidates: string[] = [];
  if (process.env['KUBEVENTS_KUBECTL'] === 'none') return null;
  if (process.env['KUBEVENTS_KUBECTL']) candidates.push(process.env['KUBEVENTS_KUBECTL']);
  const versions = readFileSync(join(PROJECT_ROOT, 'test/env/versions.env'), 'utf8');
  const k8s = /^K8S_VERSION=(\S+)/m.exec(versions)?.[1];
  const cache = process.env['KUBEVENTS_TESTENV_CACHE'] ?? join(homedir(), '.cache/kubevents/testenv');
  if (k8s) candidates.push(join(cache, 'kube', k8s, 'bin', 'kubectl'));
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) if (dir) candidates.push(join(dir, 'kubectl'));
  return candidates.find((c) => existsSync(c)) ?? null;
}

const kubectl = findKubectl();

function renderWithKubectl(dir: string): KObject[] {
  const text = execFileSync(kubectl!, ['kustomize', join(PROJECT_ROOT, dir)], { encoding: 'utf8' });
  return parseAllDocuments(text)
    .map((d) => d.toJS() as KObject | null)
    .filter((o): o is KObject => o !== null);
}

function render(dir: string): KObject[] {
  return kubectl ? renderWithKubectl(dir) : kustomizeLite(join(PROJECT_ROOT, dir));
}

const id = (o: KObject) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
const byId = (list: KObject[]) => Object.fromEntries(list.map((o) => [id(o), o]));
const sortedIds = (list: KObject[]) => list.map(id).sort();
const baseName = (o: KObject) => (o.kind === 'ConfigMap' ? o.metadata.name.replace(/-[a-z0-9]{10}$/, '') : o.metadata.name);

/** Creates an object with ?dryRun=All: validated and admitted by the apiserver, never stored. */
async function dryRun(o: KObject): Promise<KubernetesObject> {
  return objects.create(o as KubernetesObject, undefined, 'All');
}

function errorText(error: unknown): string {
  const e = error as { code?: number; body?: unknown; message?: string };
  let body = e.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      // not JSON: keep the text
    }
  }
  const message = (body as { message?: unknown } | undefined)?.message;
  return `${e.code ?? ''} ${typeof message === 'string' ? message : typeof body === 'string' ? body : JSON.stringify(body ?? e.message)}`;
}

async function allowed(user: string, attrs: { verb: string; group?: string; resource: string; namespace?: string; name?: string }): Promise<boolean> {
  const review = await authz.createSubjectAccessReview({
    body: {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: {
        user,
        groups: ['system:serviceaccounts', `system:serviceaccounts:${NS}`, 'system:authenticated'],
        resourceAttributes: { verb: attrs.verb, group: attrs.group ?? '', resource: attrs.resource, namespace: attrs.namespace, name: attrs.name },
      },
    },
  });
  return review.status?.allowed === true;
}

async function cleanup(): Promise<void> {
  await rbac.deleteClusterRoleBinding({ name: 'kubevents-reader' }).catch(() => undefined);
  await rbac.deleteClusterRole({ name: 'kubevents-reader' }).catch(() => undefined);
  await core.deleteNamespace({ name: NS }).catch(() => undefined);
}

const rendered: Record<string, KObject[]> = {};

beforeAll(async () => {
  for (const dir of KUSTOMIZATIONS) rendered[dir] = render(dir);
  await cleanup();
  // the namespace must exist for namespaced objects to be dry-run in it (and it enforces
  // the restricted Pod Security Standard on the Pods below)
  const namespace = rendered['deploy/base']!.find((o) => o.kind === 'Namespace')!;
  // a namespace left by an earlier run on the same control plane: wait until it is gone
  await waitFor(
    async () =>
      core.readNamespace({ name: NS }).then(
        () => false,
        () => true,
      ),
    90_000,
    `namespace ${NS} to be gone`,
  );
  await objects.create(namespace as KubernetesObject);
});

afterAll(async () => {
  await cleanup();
});

describe('deploy/ manifests', () => {
  it(`render${kubectl ? ' with kubectl kustomize, and kustomize-lite agrees' : ' with kustomize-lite (no kubectl here)'}`, () => {
    console.log(kubectl ? `rendering with ${kubectl}` : 'no kubectl found: rendering with test/support/kustomize-lite.ts');
    for (const dir of KUSTOMIZATIONS) {
      const list = rendered[dir]!;
      expect(list.map((o) => `${o.kind}/${baseName(o)}`).sort()).toEqual(
        [
          'ClusterRole/kubevents-reader',
          'ClusterRoleBinding/kubevents-reader',
          'ConfigMap/kubevents-config',
          'ConfigMap/kubevents-pipelines',
          'Deployment/kubevents',
          'Deployment/kubevents-alerts',
          'Namespace/kubevents',
          'PodDisruptionBudget/kubevents',
          'PodDisruptionBudget/kubevents-alerts',
          'Role/kubevents-leader-election',
          'RoleBinding/kubevents-leader-election',
          'Service/kubevents-metrics',
          'ServiceAccount/kubevents',
          'ServiceAccount/kubevents-alerts',
        ].sort(),
      );
      if (kubectl) {
        const lite = kustomizeLite(join(PROJECT_ROOT, dir));
        expect(sortedIds(lite)).toEqual(sortedIds(list));
        const real = byId(list);
        for (const o of lite) expect(o, `${dir}: ${id(o)}`).toEqual(real[id(o)]);
      }
    }
    const example = byId(rendered['deploy/overlays/example']!);
    const pipeline = example[`Deployment/${NS}/kubevents`]!;
    const container = (pipeline['spec'] as any).template.spec.containers[0];
    expect(container.image).toBe('registry.example.com/platform/kubevents:0.1.0');
    expect(container.resources.limits.memory).toBe('1Gi');
    // the generated ConfigMap's hashed name is what the Deployment mounts
    const cm = rendered['deploy/overlays/example']!.find((o) => o.kind === 'ConfigMap' && baseName(o) === 'kubevents-config')!;
    expect((pipeline['spec'] as any).template.spec.volumes.find((v: any) => v.name === 'config').configMap.name).toBe(cm.metadata.name);
    expect((cm as any).data['kubevents.yaml']).toContain('cluster: prod-eu-1');
  });

  for (const dir of KUSTOMIZATIONS) {
    it(`${dir}: every object passes server-side dry-run on the real apiserver`, async () => {
      const failures: string[] = [];
      for (const o of rendered[dir]!) {
        if (o.kind === 'Namespace') continue; // created for real in beforeAll
        try {
          const result = await dryRun(o);
          expect(result.metadata?.name).toBe(o.metadata.name);
        } catch (error) {
          failures.push(`${id(o)}: ${errorText(error)}`);
        }
      }
      expect(failures).toEqual([]);
    });
  }

  it('the Pod templates pass the restricted Pod Security Standard (enforced by the namespace)', async () => {
    const ns = await core.readNamespace({ name: NS });
    expect(ns.metadata?.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
    for (const o of rendered['deploy/overlays/example']!.filter((x) => x.kind === 'Deployment')) {
      const template = (o['spec'] as any).template;
      const pod = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `${o.metadata.name}-probe`, namespace: NS, labels: template.metadata.labels },
        spec: template.spec,
      };
      await expect(dryRun(pod as KObject), o.metadata.name).resolves.toBeTruthy();
      // and the check is real: the same Pod allowed to run as root is refused
      const unsafe = structuredClone(pod);
      delete unsafe.spec.securityContext.runAsNonRoot;
      delete unsafe.spec.securityContext.runAsUser;
      for (const c of unsafe.spec.containers) {
        delete c.securityContext.runAsNonRoot;
        c.securityContext.allowPrivilegeEscalation = true;
      }
      const refused = await dryRun(unsafe as KObject).then(
        () => 'admitted',
        (error: unknown) => errorText(error),
      );
      expect(refused).toMatch(/violates PodSecurity "restricted/);
    }
  });

  it('the Deployments have the production settings the README promises', () => {
    const all = byId(rendered['deploy/base']!);
    for (const name of ['kubevents', 'kubevents-alerts']) {
      const d = all[`Deployment/${NS}/${name}`]!['spec'] as any;
      expect(d.replicas).toBe(2);
      const pod = d.template.spec;
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      const c = pod.containers[0];
      expect(c.securityContext).toMatchObject({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        runAsNonRoot: true,
        capabilities: { drop: ['ALL'] },
      });
      expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
      expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
      expect(c.resources.requests.cpu && c.resources.requests.memory && c.resources.limits.memory).toBeTruthy();
      expect(pod.volumes.find((v: any) => v.name === 'tmp').emptyDir).toBeTruthy();
      expect(c.volumeMounts.find((m: any) => m.mountPath === '/tmp')).toBeTruthy();
      // secrets by reference only: no literal secret values in env
      for (const e of c.env) if (/PASSWORD|SECRET|TOKEN/.test(e.name)) expect(e.valueFrom?.secretKeyRef, e.name).toBeTruthy();
    }
    const pipeline = all[`Deployment/${NS}/kubevents`]!['spec'] as any;
    const args: string[] = pipeline.template.spec.containers[0].args;
    expect(args.slice(0, 2)).toEqual(['run', '--source=kube']);
    expect(pipeline.template.spec.containers[0].env.find((e: any) => e.name === 'KUBEVENTS_LEADER_ELECTION_ENABLED').value).toBe('true');
    const alerts = all[`Deployment/${NS}/kubevents-alerts`]!['spec'] as any;
    expect(alerts.template.spec.containers[0].args[0]).toBe('alerts');
    expect(alerts.template.spec.automountServiceAccountToken).toBe(false);
  });

  it('RBAC: only get/list/watch, exactly on the watched resources; writes only on its own Lease', () => {
    const all = rendered['deploy/base']!;
    const clusterRole = all.find((o) => o.kind === 'ClusterRole')!;
    const rules = clusterRole['rules'] as Array<{ apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }>;
    const granted = new Set<string>();
    for (const r of rules) {
      expect(
        r.verbs.every((v) => ['get', 'list', 'watch'].includes(v)),
        JSON.stringify(r),
      ).toBe(true);
      expect(r.apiGroups).not.toContain('*');
      expect(r.resources).not.toContain('*');
      for (const g of r.apiGroups) for (const res of r.resources) granted.add(`${g}/${res}`);
    }
    const watched = new Set(Object.values(RESOURCES).map((r) => `${r.group}/${r.plural}`));
    expect([...granted].sort()).toEqual([...watched].sort());
    for (const role of all.filter((o) => o.kind === 'Role')) {
      for (const r of role['rules'] as Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }>) {
        expect(r.apiGroups).toEqual(['coordination.k8s.io']);
        expect(r.resources).toEqual(['leases']);
        expect(r.verbs.every((v) => ['get', 'create', 'update'].includes(v))).toBe(true);
      }
    }
    expect(
      all
        .filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role')
        .map((o) => o.metadata.name)
        .sort(),
    ).toEqual(['kubevents-leader-election', 'kubevents-reader']);
  });

  it('RBAC on the real apiserver: the service account can do what kubevents does and nothing more', async () => {
    for (const o of rendered['deploy/base']!.filter((x) => ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'].includes(x.kind))) {
      await objects.create(o as KubernetesObject);
    }
    for (const r of Object.values(RESOURCES)) {
      for (const verb of ['list', 'watch', 'get']) {
        expect(await allowed(SA_USER, { verb, group: r.group, resource: r.plural }), `${verb} ${r.group}/${r.plural}`).toBe(true);
      }
      expect(await allowed(SA_USER, { verb: 'delete', group: r.group, resource: r.plural, namespace: 'default' })).toBe(false);
    }
    const denied: Array<Parameters<typeof allowed>[1]> = [
      { verb: 'get', resource: 'secrets', namespace: NS },
      { verb: 'list', resource: 'configmaps', namespace: NS },
      { verb: 'create', resource: 'events', namespace: 'default' },
      { verb: 'patch', resource: 'pods', namespace: 'default' },
      { verb: 'list', group: 'coordination.k8s.io', resource: 'leases', namespace: NS },
      { verb: 'update', group: 'coordination.k8s.io', resource: 'leases', namespace: NS, name: 'someone-elses' },
      { verb: 'update', group: 'coordination.k8s.io', resource: 'leases', namespace: 'default', name: 'kubevents' },
      { verb: 'delete', group: 'coordination.k8s.io', resource: 'leases', namespace: NS, name: 'kubevents' },
    ];
    for (const attrs of denied) expect(await allowed(SA_USER, attrs), JSON.stringify(attrs)).toBe(false);
    for (const verb of ['get', 'update']) {
      expect(await allowed(SA_USER, { verb, group: 'coordination.k8s.io', resource: 'leases', namespace: NS, name: 'kubevents' })).toBe(true);
    }
    expect(await allowed(SA_USER, { verb: 'create', group: 'coordination.k8s.io', resource: 'leases', namespace: NS })).toBe(true);
    // the alert sinks get nothing
    expect(await allowed(ALERTS_USER, { verb: 'list', resource: 'pods' })).toBe(false);
    expect(await allowed(ALERTS_USER, { verb: 'get', group: 'coordination.k8s.io', resource: 'leases', namespace: NS, name: 'kubevents' })).toBe(false);
  });

  it('leader election works as the service account with exactly these permissions', async () => {
    const current = kc.getCurrentUser()!;
    const asSa = new KubeConfig();
    asSa.loadFromOptions({
      clusters: kc.clusters,
      contexts: kc.contexts,
      currentContext: kc.currentContext,
      users: kc.users.map((u) => (u.name === current.name ? { ...u, impersonateUser: SA_USER } : u)),
    });
    const elector = new LeaderElector({
      kubeConfig: asSa,
      namespace: NS,
      name: 'kubevents',
      identity: 'rbac-check',
      leaseDurationMs: 2000,
      renewDeadlineMs: 1500,
      retryPeriodMs: 200,
    });
    elector.start();
    await waitFor(() => elector.isLeader, 10_000, 'leadership as the service account');
    await new Promise((r) => setTimeout(r, 600)); // a few renewals (get + update)
    expect(elector.isLeader).toBe(true);
    await elector.stop(); // release (update)
    const lease = await objects.read({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'kubevents', namespace: NS } });
    expect((lease as any).spec.holderIdentity).toBe('');
    // a Lease of another name is out of reach (get is limited to "kubevents")
    const other = new LeaderElector({
      kubeConfig: asSa,
      namespace: NS,
      name: 'not-kubevents',
      identity: 'x',
      leaseDurationMs: 2000,
      renewDeadlineMs: 1500,
      retryPeriodMs: 200,
    });
    other.start();
    await new Promise((r) => setTimeout(r, 800));
    expect(other.isLeader).toBe(false);
    await other.stop();
  });

  it('deploy/README.md describes these manifests', () => {
    const readme = readFileSync(join(PROJECT_ROOT, 'deploy/README.md'), 'utf8');
    expect(readme).toContain('kubectl apply -k deploy/overlays/example');
    const clusterRole = rendered['deploy/base']!.find((o) => o.kind === 'ClusterRole')!;
    for (const r of clusterRole['rules'] as Array<{ resources: string[] }>) for (const res of r.resources) expect(readme).toContain(res);
    for (const name of [
      'kubevents-kafka',
      'kubevents-kafka-tls',
      'kubevents-alert-receivers',
      'kubevents-schema-registry',
      'kubevents-metrics',
      '/healthz',
      '/readyz',
      '/metrics',
    ]) {
      expect(readme).toContain(name);
    }
  });
});
