import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { explainCommand, loadPipelinesForRun, registerPipelineCommands, resolvePipelinePaths, validateCommand } from '../../../src/cli/pipeline-commands.js';
import { CliError, EXIT } from '../../../src/cli/exit-codes.js';
import { PIPELINES, ROOT } from './helpers.js';

const sink = () => {
  const chunks: string[] = [];
  return { out: { write: (t: string) => chunks.push(t) }, text: () => chunks.join('') };
};

describe('kubevents validate / explain', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kubevents-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'apiVersion: kubevents/v1\nkind: Pipeline\nmetadata: {name: bad}\nspec:\n  stages:\n    - dedup\n  sinks: [kafak]\n');

  it('validate: ok for the bundled pipelines (exit 0)', async () => {
    const { out, text } = sink();
    expect(await validateCommand([join(PIPELINES, 'examples')], {}, out)).toBe(EXIT.ok);
    expect(text()).toBe('ok: 8 files, 8 valid pipelines: 0 errors, 0 warnings\n');
    // the default and the examples overlap: loading both writes every event twice
    const both = sink();
    expect(await validateCommand([join(PIPELINES, 'default.yaml'), join(PIPELINES, 'examples')], { source: false }, both.out)).toBe(EXIT.ok);
    expect(both.text()).toBe(
      `${join(PIPELINES, 'examples', 'all-events-to-kafka.yaml')}:16:7: warning: pipelines "default" and "all-events-to-kafka" both write events to "k8s.events" (in embedded mode a topic is the file of the same name): an event passing both is written twice (load only one of them, or make their filters disjoint)\n` +
        'ok: 9 files, 9 valid pipelines: 0 errors, 1 warning\n',
    );
    expect(await validateCommand([join(PIPELINES, 'default.yaml'), join(PIPELINES, 'examples')], { strict: true, source: false }, sink().out)).toBe(EXIT.usage);
  });

  it('validate: every error like a compiler, with the source line (exit 2)', async () => {
    const { out, text } = sink();
    expect(await validateCommand([bad], {}, out)).toBe(EXIT.usage);
    expect(text()).toBe(
      [
        `${bad}:6:7: error: unknown stage "dedup" (did you mean "dedupe"?)`,
        ' 6 |     - dedup',
        '   |       ^^^^^',
        `${bad}:7:11: error: unknown sink "kafak" (did you mean "kafka"?)`,
        ' 7 |   sinks: [kafak]',
        '   |           ^^^^^',
        'invalid: 1 file, 0 valid pipelines: 2 errors, 0 warnings',
        '',
      ].join('\n'),
    );
    const brief = sink();
    await validateCommand([bad], { source: false }, brief.out);
    expect(brief.text().split('\n')[1]).toBe(`${bad}:7:11: error: unknown sink "kafak" (did you mean "kafka"?)`);
  });

  it("validate without a path checks what run would load: $KUBEVENTS_PIPELINES, the configuration's pipelines:, else the bundled default", async () => {
    const viaEnv = sink();
    expect(await validateCommand([], { source: false }, viaEnv.out, { KUBEVENTS_PIPELINES: bad })).toBe(EXIT.usage);
    expect(viaEnv.text()).toContain(`checking the pipelines KUBEVENTS_PIPELINES names: ${bad}`);
    expect(viaEnv.text()).toContain('unknown stage "dedup"');
    const config = join(dir, 'kubevents.yaml');
    writeFileSync(config, `pipelines: [${join(PIPELINES, 'examples')}]\n`);
    const viaConfig = sink();
    expect(await validateCommand([], { source: false, config }, viaConfig.out, {})).toBe(EXIT.ok);
    expect(viaConfig.text()).toContain(`checking the pipelines pipelines: in ${config} names:`);
    expect(viaConfig.text()).toMatch(/^ok: 8 files/m);
    const defaults = sink();
    expect(await validateCommand([], {}, defaults.out, {})).toBe(EXIT.ok);
    expect(defaults.text()).toBe('ok: 1 file, 1 valid pipeline: 0 errors, 0 warnings\n');
    // an invalid configuration is not ignored
    writeFileSync(config, 'pipelinez: [x]\n');
    await expect(validateCommand([], {}, sink().out, { KUBEVENTS_CONFIG: config })).rejects.toThrow(/pipelinez: unknown setting/);
  });

  it('explain: the compiled graph with effective options', async () => {
    const { out, text } = sink();
    expect(await explainCommand([join(PIPELINES, 'examples', 'failed-scheduling.yaml')], out, sink().out)).toBe(EXIT.ok);
    const lines = text().split('\n');
    expect(lines[0]).toBe(`pipeline failed-scheduling  (${join(PIPELINES, 'examples', 'failed-scheduling.yaml')}:9)`);
    expect(text()).toContain('  source: events (all namespaces); shared watch');
    expect(text()).toContain('  3. filter  [events]  stage failed-scheduling/filter\n       match: reason in (FailedScheduling, Scheduled) and kind = Pod');
    expect(text()).toContain('  4. rate  [events -> alerts]  stage failed-scheduling/rate');
    expect(text()).toContain('       window: 3m\n       hold: 10m\n       holdUntilQuiet: true');
    expect(text()).toContain('       resolveOn: reason = Scheduled');
    expect(text()).toContain('       idleTtl: 1h13m');
    expect(text()).toContain(
      '    - kafka topic k8s.alerts (confluent encoding; embedded mode: file k8s.alerts.avro) <- Alert records\n    - console lines <- Alert records',
    );
    const err = sink();
    expect(await explainCommand([bad], sink().out, err.out)).toBe(EXIT.usage);
    expect(err.text()).toContain('nothing to explain');
  });

  it('registers validate and explain on a commander program', async () => {
    const program = new Command().exitOverride();
    registerPipelineCommands(program);
    expect(program.commands.map((c) => c.name())).toEqual(['validate', 'explain']);
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      await program.parseAsync(['node', 'kubevents', 'validate', '--no-source', bad]);
      expect(process.exitCode).toBe(EXIT.usage);
    } finally {
      write.mockRestore();
      process.exitCode = undefined;
    }
  });

  it('run: loads the bundled default without --pipelines, refuses invalid files with exit code 2', async () => {
    expect(resolvePipelinePaths(undefined)).toEqual([join(ROOT, 'pipelines', 'default.yaml')]);
    expect(resolvePipelinePaths(['a', 'b'])).toEqual(['a', 'b']);
    const loaded = await loadPipelinesForRun(undefined);
    expect(loaded.pipelines.map((p) => p.name)).toEqual(['default']);
    expect((await loaded.load()).ok).toBe(true);
    const err = sink();
    const failure = await loadPipelinesForRun([bad], undefined, err.out).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(CliError);
    expect((failure as CliError).exitCode).toBe(EXIT.usage);
    expect((failure as CliError).message).toBe('2 errors in the pipeline files; nothing was started');
    expect(err.text()).toContain('error: unknown stage "dedup"');
  });
});
