import { join } from 'node:path';
import { createLogger } from '../core/logger.js';
import { packageRoot } from '../core/paths.js';
import type { ReplaySpeed } from '../sources/replay.js';
import { CliError } from './exit-codes.js';
import { runKubeCommand } from './run-kube.js';
import { runReplayCommand } from './run-replay.js';
import type { RunOptions } from './run-options.js';

export const BUNDLED_RECORDING = 'recordings/recorded-cluster.jsonl';

export type RunSource = { kind: 'replay'; file: string; bundled: boolean } | { kind: 'kube' };

export function parseSource(spec: string | undefined): RunSource {
  if (spec === undefined) return { kind: 'replay', file: join(packageRoot(), BUNDLED_RECORDING), bundled: true };
  if (spec === 'kube') return { kind: 'kube' };
  if (spec.startsWith('replay:')) {
    const file = spec.slice('replay:'.length);
    if (!file) throw new CliError('--source replay:FILE needs a file, e.g. --source replay:events.jsonl');
    return { kind: 'replay', file, bundled: false };
  }
  throw new CliError(`--source "${spec}" is not understood: use "replay:FILE" or "kube"`);
}

export function parseSpeed(text: string): ReplaySpeed {
  if (text === 'max') return 'max';
  const speed = Number(text);
  if (!Number.isFinite(speed) || speed < 0) throw new CliError(`--speed "${text}" must be a number >= 0 (0 = as fast as possible)`);
  return speed === 0 ? 'max' : speed;
}

export async function runCommand(options: RunOptions): Promise<number> {
  const logger = createLogger({ level: options.logLevel });
  const source = parseSource(options.source);
  if (source.kind === 'kube') return runKubeCommand(options, logger);
  return runReplayCommand(options, source, parseSpeed(options.speed), logger);
}
