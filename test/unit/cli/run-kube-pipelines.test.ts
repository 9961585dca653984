import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunOptions } from '../../../src/cli/run-options.js';
import { kubeJobOptionsOf, loadKubeRunConfig, pipelinePathsOf } from '../../../src/cli/run-kube.js';
import { formatConfigYaml } from '../../../src/config/run-config.js';

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

describe('where run --source kube keeps its checkpoints, as config print says', () => {
  const printed = (loaded: ReturnType<typeof loadKubeRunConfig>): string => /^# checkpoints: (.*)$/m.exec(formatConfigYaml(loaded))![1]!;
  const used = (o: RunOptions, env: NodeJS.ProcessEnv = {}) => kubeJobOptionsOf(o, loadKubeRunConfig(o, env)).checkpoint;

  it('no file, no environment: checkpoints.json in --out', () => {
    const loaded = loadKubeRunConfig(options(), {});
    expect(used(options({ out: '/data/out' }))).toEqual({ type: 'file', path: '/data/out/checkpoints.json' });
    expect(printed(loaded)).toMatch(/^<out>\/checkpoints\.json \(<out>: the run's --out directory, default out\)/);
  });

  it('a config file without checkpoint.path: still --out (not a directory the file never named)', () => {
    const config = configFile('cluster: prod\n');
    expect(used(options({ config }))).toEqual({ type: 'file', path: join('out', 'checkpoints.json') });
    expect(printed(loadKubeRunConfig(options({ config }), {}))).toMatch(/^<out>\/checkpoints\.json/);
  });

  it('checkpoint.path (file or KUBEVENTS_CHECKPOINT_PATH): checkpoints.json there', () => {
    const config = configFile('checkpoint:\n  path: /var/lib/kv\n');
    expect(used(options({ config }))).toEqual({ type: 'file', path: '/var/lib/kv/checkpoints.json' });
    expect(printed(loadKubeRunConfig(options({ config }), {}))).toMatch(/^\/var\/lib\/kv\/checkpoints\.json \(run --checkpoint-file/);
    expect(used(options(), { KUBEVENTS_CHECKPOINT_PATH: '/env' })).toEqual({ type: 'file', path: '/env/checkpoints.json' });
  });

  it('a kafka section: the checkpoint topic; --checkpoint-file wins over everything', () => {
    const config = configFile('kafka:\n  brokers: [k:9092]\nencoding: avro-binary\ncheckpoint:\n  topic: my.checkpoints\n');
    expect(used(options({ config }))).toMatchObject({ type: 'kafka', topic: 'my.checkpoints' });
    expect(printed(loadKubeRunConfig(options({ config }), {}))).toBe('Kafka topic my.checkpoints (run --checkpoint-file FILE keeps them in FILE instead)');
    expect(used(options({ config, checkpointFile: '/x/c.json' }))).toEqual({ type: 'file', path: '/x/c.json' });
  });
});
