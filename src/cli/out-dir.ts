/**
 * The output directory (--out), checked before anything starts: created when missing, and
 * writable, or one line naming the path and the reason (exit 2).
 */
import { accessSync, constants, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { makeDirectory } from '../core/paths.js';
import { CliError, EXIT } from './exit-codes.js';

const REASONS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'the file system is read-only',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EEXIST: 'it exists and is not a folder',
  ENOSPC: 'no space left on the device',
  ENOENT: 'the folder cannot be created there',
};

/** Creates `dir` if needed and checks that files can be created in it. */
export function prepareOutDir(dir: string): void {
  try {
    makeDirectory(dir);
    accessSync(dir, constants.W_OK);
    // access() trusts the mode bits; a read-only mount or an ACL only shows on a real write
    const probe = join(dir, `.kubevents-write-check-${process.pid}`);
    mkdirSync(probe);
    rmSync(probe, { recursive: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    throw new CliError(`cannot write to --out ${dir}: ${REASONS[code] ?? (error as Error).message}${code ? ` (${code})` : ''}`, EXIT.usage);
  }
}
