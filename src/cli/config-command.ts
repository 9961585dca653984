/**
 * `kubevents config ...`: look at and check the run configuration without starting anything.
 *
 *   kubevents config print [--config FILE]      effective configuration as YAML, secrets redacted
 *   kubevents config validate [--config FILE]   exit 0 when valid, else every problem with FILE:LINE:COL, exit 2
 *   kubevents config env                        the KUBEVENTS_* environment variables and what they set
 *
 * --config defaults to $KUBEVENTS_CONFIG; without either, defaults plus the environment are used.
 */
import { type Command, Option } from 'commander';
import { ConfigError, ENV_OVERRIDES, formatConfigYaml, loadRunConfig, type LoadedRunConfig } from '../config/run-config.js';
import { CliError, EXIT } from './exit-codes.js';

export interface ConfigCommandIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  env: NodeJS.ProcessEnv;
}

const defaultIo = (): ConfigCommandIo => ({ stdout: process.stdout, stderr: process.stderr, env: process.env });

function load(file: string | undefined, io: ConfigCommandIo): LoadedRunConfig {
  try {
    const loaded = loadRunConfig({ file: file ?? null, env: io.env });
    for (const w of loaded.warnings) io.stderr.write(`kubevents: warning: ${w}\n`);
    return loaded;
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(error.message, EXIT.usage);
    throw error;
  }
}

/** `config print`: the effective configuration (YAML, secrets redacted) on stdout. */
export function configPrint(options: { config?: string }, io: ConfigCommandIo = defaultIo()): number {
  const loaded = load(options.config, io);
  io.stdout.write(formatConfigYaml(loaded));
  return EXIT.ok;
}

/** `config validate`: one line on stdout when valid; throws CliError (exit 2) listing the problems. */
export function configValidate(options: { config?: string }, io: ConfigCommandIo = defaultIo()): number {
  const loaded = load(options.config, io);
  const from = loaded.file ? loaded.file : 'defaults';
  const env = loaded.envApplied.length ? ` + ${loaded.envApplied.length} environment override${loaded.envApplied.length === 1 ? '' : 's'}` : '';
  io.stdout.write(`configuration is valid (${from}${env})\n`);
  return EXIT.ok;
}

/** `config env`: the environment variables the configuration reads. */
export function configEnv(io: ConfigCommandIo = defaultIo()): number {
  const width = Math.max(...ENV_OVERRIDES.map((e) => e.env.length));
  const lines = ENV_OVERRIDES.map((e) => {
    const note =
      e.kind === 'list'
        ? ' (comma-separated)'
        : e.kind === 'boolean'
          ? ' (true/false)'
          : e.kind === 'integer'
            ? ' (integer)'
            : e.kind === 'duration'
              ? ' (duration, e.g. 15s; a number is seconds)'
              : '';
    const old = e.replacedBy ? ` [old name, still read: use ${e.replacedBy}]` : '';
    return `${e.env.padEnd(width)}  ${e.path.join('.')}${note}${e.secret ? ' [secret: environment or passwordFile only]' : ''}${old}`;
  });
  io.stdout.write(`KUBEVENTS_CONFIG${' '.repeat(Math.max(1, width - 14))}  the configuration file (like --config)\n${lines.join('\n')}\n`);
  return EXIT.ok;
}

function configOption(): Option {
  return new Option('--config <file>', 'YAML configuration file').env('KUBEVENTS_CONFIG');
}

/** Adds `kubevents config print|validate|env` to the program. */
export function registerConfigCommand(program: Command, io?: () => ConfigCommandIo): Command {
  const getIo = io ?? defaultIo;
  const config = program
    .command('config')
    .description('Show or check the run configuration (YAML file + KUBEVENTS_* environment overrides) without starting anything.');
  config
    .command('print')
    .description('Print the effective configuration as YAML (defaults, file, environment), secrets redacted.')
    .addOption(configOption())
    .action((options: { config?: string }) => {
      process.exitCode = configPrint(options, getIo());
    });
  config
    .command('validate')
    .description('Check the configuration; list every problem with file:line:column and a hint (exit 2), or exit 0.')
    .addOption(configOption())
    .action((options: { config?: string }) => {
      process.exitCode = configValidate(options, getIo());
    });
  config
    .command('env')
    .description('List the KUBEVENTS_* environment variables and the settings they override.')
    .action(() => {
      process.exitCode = configEnv(getIo());
    });
  return config;
}
