/**
 * `kubevents validate [PATH...]` and `kubevents explain [PATH...]`, plus what `run` needs to load
 * pipelines (`--pipelines`, loadPipelinesForRun). Wire with registerPipelineCommands(program).
 */
import { Option, type Command } from 'commander';
import type { Logger } from 'pino';
import { formatDiagnostic, formatDiagnosticWithSource, type Diagnostic } from '../core/diagnostics.js';
import { explainGraph } from '../pipeline/explain.js';
import { defaultPipelinePaths, loadPipelines, type LoadedPipeline, type LoadResult } from '../pipeline/load.js';
import { ConfigError, loadRunConfig } from '../config/run-config.js';
import { CliError, EXIT } from './exit-codes.js';

/** The paths `run`, `validate` and `explain` use: the ones given, else the bundled pipelines/default.yaml. */
export function resolvePipelinePaths(paths: readonly string[] | undefined): string[] {
  return paths && paths.length > 0 ? [...paths] : defaultPipelinePaths();
}

/**
 * What `run` would load when no path is given: `pipelines:` of the run configuration (--config or
 * $KUBEVENTS_CONFIG, overridden by $KUBEVENTS_PIPELINES), else the bundled default. An invalid
 * configuration is an error (exit 2), as for `run`.
 */
export function configuredPipelinePaths(
  paths: readonly string[],
  config: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): { paths: string[]; from: string | null } {
  if (paths.length > 0) return { paths: [...paths], from: null };
  let loaded;
  try {
    loaded = loadRunConfig({ file: config ?? env['KUBEVENTS_CONFIG'] ?? null, env });
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(error.message, EXIT.usage);
    throw error;
  }
  const configured = loaded.config.pipelines;
  if (!configured) return { paths: defaultPipelinePaths(), from: null };
  const fromEnv = loaded.envApplied.some((e) => e.env === 'KUBEVENTS_PIPELINES');
  return { paths: configured, from: fromEnv ? 'KUBEVENTS_PIPELINES' : `pipelines: in ${loaded.file}` };
}

/** `--pipelines <path...>` for `run`: files or folders; default the bundled pipelines/default.yaml. */
export function pipelinesOption(): Option {
  return new Option('--pipelines <path...>', 'pipeline files or folders (every *.yaml / *.yml in a folder); SIGHUP reloads them in the live run').default(
    undefined,
    'the bundled pipelines/default.yaml',
  );
}

interface Out {
  write(text: string): unknown;
}

function printDiagnostics(result: LoadResult, out: Out, withSource: boolean): void {
  for (const d of result.diagnostics) out.write(`${withSource ? formatDiagnosticWithSource(d, result.sources.get(d.file)) : formatDiagnostic(d)}\n`);
}

function counts(diagnostics: readonly Diagnostic[]): { errors: number; warnings: number } {
  return {
    errors: diagnostics.filter((d) => d.severity === 'error').length,
    warnings: diagnostics.filter((d) => d.severity === 'warning').length,
  };
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

export interface ValidateOptions {
  source?: boolean;
  strict?: boolean;
  /** The run configuration whose `pipelines:` apply when no path is given. */
  config?: string;
}

/** Prints every problem of the files; returns the exit code (0 valid, 2 invalid). */
export async function validateCommand(
  paths: readonly string[],
  options: ValidateOptions = {},
  out: Out = process.stdout,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const resolved = configuredPipelinePaths(paths, options.config, env);
  if (resolved.from) out.write(`checking the pipelines ${resolved.from} names: ${resolved.paths.join(', ')}\n`);
  const result = await loadPipelines(resolved.paths);
  printDiagnostics(result, out, options.source !== false);
  const { errors, warnings } = counts(result.diagnostics);
  const failed = errors > 0 || (options.strict === true && warnings > 0);
  const summary = `${plural(result.files.length, 'file')}, ${plural(result.pipelines.length, 'valid pipeline')}: ${plural(errors, 'error')}, ${plural(warnings, 'warning')}`;
  out.write(`${failed ? 'invalid' : 'ok'}: ${summary}\n`);
  return failed ? EXIT.usage : EXIT.ok;
}

/** Prints the compiled graph of every pipeline of the files; returns the exit code. */
export async function explainCommand(
  paths: readonly string[],
  out: Out = process.stdout,
  err: Out = process.stderr,
  options: { config?: string } = {},
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const result = await loadPipelines(configuredPipelinePaths(paths, options.config, env).paths);
  printDiagnostics(result, err, true);
  if (!result.ok) {
    err.write(`invalid: ${plural(counts(result.diagnostics).errors, 'error')}; nothing to explain\n`);
    return EXIT.usage;
  }
  out.write(`${result.pipelines.map((p) => explainGraph(p.graph, `${p.file}:${p.line}`)).join('\n\n')}\n`);
  return EXIT.ok;
}

export interface PipelinesForRun {
  pipelines: LoadedPipeline[];
  paths: string[];
  /** Re-reads the same paths (for PipelineSet's reload on SIGHUP). */
  load: () => Promise<LoadResult>;
}

/**
 * Loads the pipelines `run` should start. Any error: prints every diagnostic on stderr and throws
 * a CliError with exit code 2 (nothing is started). Warnings are logged.
 */
export async function loadPipelinesForRun(paths: readonly string[] | undefined, logger?: Logger, err: Out = process.stderr): Promise<PipelinesForRun> {
  const resolved = resolvePipelinePaths(paths);
  const load = () => loadPipelines(resolved);
  const result = await load();
  if (!result.ok) {
    printDiagnostics(result, err, true);
    throw new CliError(`${plural(counts(result.diagnostics).errors, 'error')} in the pipeline files; nothing was started`, EXIT.usage);
  }
  for (const d of result.diagnostics) logger?.warn({ file: d.file, line: d.line, column: d.column }, formatDiagnostic(d));
  logger?.info({ pipelines: result.pipelines.map((p) => p.name), files: result.files }, `loaded ${plural(result.pipelines.length, 'pipeline')}`);
  return { pipelines: result.pipelines, paths: resolved, load };
}

function configOption(): Option {
  return new Option('--config <file>', 'the run configuration whose pipelines: apply when no path is given').env('KUBEVENTS_CONFIG');
}

export function registerPipelineCommands(program: Command): void {
  program
    .command('validate')
    .description('Check pipeline files and folders: every error with file:line:col and a hint. Exit 0 when valid, 2 when not.')
    .argument(
      '[paths...]',
      "pipeline files or folders (every *.yaml / *.yml in a folder); default what `run` loads (the configuration's pipelines:, $KUBEVENTS_PIPELINES, else the bundled pipelines/default.yaml)",
    )
    .option('--no-source', 'print only the diagnostic lines, without the source excerpt')
    .option('--strict', 'treat warnings as errors', false)
    .addOption(configOption())
    .action(async (paths: string[], options: ValidateOptions) => {
      process.exitCode = await validateCommand(paths, options);
    });

  program
    .command('explain')
    .description(
      'Print the compiled graph of pipeline files: stages in order with the records they take and make, forks, sinks, effective options with defaults filled in.',
    )
    .argument(
      '[paths...]',
      "pipeline files or folders; default what `run` loads (the configuration's pipelines:, $KUBEVENTS_PIPELINES, else the bundled pipelines/default.yaml)",
    )
    .addOption(configOption())
    .action(async (paths: string[], options: { config?: string }) => {
      process.exitCode = await explainCommand(paths, process.stdout, process.stderr, options);
    });
}
