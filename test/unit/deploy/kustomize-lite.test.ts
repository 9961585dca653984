import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configMapHash, kustomizeLite } from '../../support/kustomize-lite.js';

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'kustomize-lite-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: app, namespace: ns}
spec:
  template:
    spec:
      containers:
        - name: c
          image: app:1
          env: [{name: A, value: "1"}, {name: B, valueFrom: {configMapKeyRef: {name: cfg, key: k}}}]
      volumes: [{name: v, configMap: {name: cfg}}]
`;

describe('kustomize-lite', () => {
  it('hashes ConfigMaps as kustomize v5 does (values checked against kubectl kustomize 5.5)', () => {
    expect(configMapHash({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'anything' } })).toBe('6ct58987ht');
    // the name does not change the hash (kustomize hashes an empty name), the data does
    const a = configMapHash({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' }, data: { k: '<v>&' } });
    expect(configMapHash({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'b' }, data: { k: '<v>&' } })).toBe(a);
    expect(configMapHash({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' }, data: { k: 'v' } })).not.toBe(a);
    expect(a).toMatch(/^[0-9a-z]{10}$/);
  });

  it('generates, merges, hashes and renames ConfigMaps; sets images; applies JSON 6902 patches', () => {
    const root = tree({
      'base/kustomization.yaml': 'resources: [deployment.yaml]\nconfigMapGenerator:\n  - name: cfg\n    namespace: ns\n    literals: [k=1]\n',
      'base/deployment.yaml': deployment,
      'overlay/kustomization.yaml': [
        'resources: [../base]',
        'configMapGenerator:',
        '  - name: cfg',
        '    namespace: ns',
        '    behavior: merge',
        '    files: [extra.txt]',
        'images:',
        '  - {name: app, newName: reg.example.com/app, newTag: "2"}',
        'patches:',
        '  - target: {kind: Deployment, name: app}',
        '    patch: |-',
        '      - {op: test, path: /spec/template/spec/containers/0/env/0/name, value: A}',
        '      - {op: replace, path: /spec/template/spec/containers/0/env/0/value, value: "2"}',
        '      - {op: add, path: /spec/replicas, value: 3}',
        '',
      ].join('\n'),
      'overlay/extra.txt': 'hello\n',
    });
    const out = kustomizeLite(join(root, 'overlay'));
    const cm = out.find((o) => o.kind === 'ConfigMap')!;
    expect(cm['data']).toEqual({ k: '1', 'extra.txt': 'hello\n' });
    expect(cm.metadata.name).toBe(`cfg-${configMapHash(cm)}`);
    const d = out.find((o) => o.kind === 'Deployment')! as any;
    expect(d.spec.replicas).toBe(3);
    const c = d.spec.template.spec.containers[0];
    expect(c.image).toBe('reg.example.com/app:2');
    expect(c.env[0].value).toBe('2');
    expect(c.env[1].valueFrom.configMapKeyRef.name).toBe(cm.metadata.name);
    expect(d.spec.template.spec.volumes[0].configMap.name).toBe(cm.metadata.name);
  });

  it('refuses what it does not implement, and failed patch tests', () => {
    const unsupported = tree({ 'kustomization.yaml': 'resources: []\ncommonLabels: {a: b}\n' });
    expect(() => kustomizeLite(unsupported)).toThrow(/field "commonLabels" is not supported/);
    const badTest = tree({
      'kustomization.yaml': 'resources: [d.yaml]\npatches:\n  - target: {kind: Deployment}\n    patch: "[{op: test, path: /metadata/name, value: other}]"\n',
      'd.yaml': deployment,
    });
    expect(() => kustomizeLite(badTest)).toThrow(/test \/metadata\/name failed/);
  });
});
