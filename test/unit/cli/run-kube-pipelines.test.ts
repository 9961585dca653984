import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunOptions } from '../../../src/cli/run-options.js';
import { loadKubeRunConfig, pipelinePathsOf } from '../../../src/cli/run-kube.js';

const dir = mkdtempSync(join(tmpdir(), 'kv-run-kube-pipelines-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function options(extra: Partial<RunOptions> = {}): RunOptions {
  return { out: 'out', speed: '0', cluster: 'c', printEvents: false, logLevel: 'silent', source: 'kube', ...extra };
}

function configFile(text: string): string {
  const file = join(dir, `kubevents-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, text);
  return file;
}

describe('which pipeline files run --source kube runs', () => {
  it("the config file's pipelines (the deploy/ overlay way) when --pipelines is not given", () => {
    const config = configFile('pipelines: [/app/pipelines/default.yaml, /etc/kubevents/pipelines]\n');
    const loaded = loadKubeRunConfig(options({ config }), {});
    expect(pipelinePathsOf(options({ config }), loaded.config)).toEqual(['/app/pipelines/default.yaml', '/etc/kubevents/pipelines']);
  });

  it('KUBEVENTS_PIPELINES overrides the file; --pipelines overrides both', () => {
    const config = configFile('pipelines: [a.yaml]\n');
    const loaded = loadKubeRunConfig(options({ config }), { KUBEVENTS_PIPELINES: 'b.yaml,c' });
    expect(pipelinePathsOf(options({ config }), loaded.config)).toEqual(['b.yaml', 'c']);
    expect(pipelinePathsOf(options({ config, pipelines: ['d.yaml'] }), loaded.config)).toEqual(['d.yaml']);
  });

  it('neither: undefined, which loadPipelinesForRun turns into the bundled default', () => {
    const loaded = loadKubeRunConfig(options(), {});
    expect(pipelinePathsOf(options({ pipelines: [] }), loaded.config)).toBeUndefined();
  });
});
