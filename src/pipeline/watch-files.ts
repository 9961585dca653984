/**
 * Reload on change: the folders holding the pipeline files are watched, so that a new version
 * takes over without a SIGHUP. A kubelet-mounted ConfigMap changes by swapping its `..data`
 * symlink to a new timestamped folder (one rename in the mounted folder); an edited file changes
 * in place. Changes are debounced: one reload after the last event of a burst.
 */
import { watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Logger } from 'pino';

export interface WatchOptions {
  /** Quiet time after the last change before `onChange` runs (default 1 s). */
  debounceMs?: number;
  logger?: Logger;
}

/** Watches the folders of `paths` (a folder itself, or a file's folder); returns a stop function. */
export async function watchPipelineFiles(paths: readonly string[], onChange: () => void, options: WatchOptions = {}): Promise<() => void> {
  const debounceMs = options.debounceMs ?? 1_000;
  const folders = new Set<string>();
  for (const path of paths) {
    const info = await stat(path).catch(() => null);
    folders.add(info?.isDirectory() ? resolve(path) : dirname(resolve(path)));
  }
  let timer: NodeJS.Timeout | undefined;
  const changed = (): void => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      onChange();
    }, debounceMs);
    timer.unref();
  };
  const watchers: FSWatcher[] = [];
  for (const folder of folders) {
    try {
      const w = watch(folder, { persistent: false }, changed);
      w.on('error', (error) => options.logger?.warn({ err: error, folder }, 'cannot watch the pipeline folder any more: reload with SIGHUP'));
      watchers.push(w);
    } catch (error) {
      options.logger?.warn({ err: error, folder }, 'cannot watch the pipeline folder: reload with SIGHUP');
    }
  }
  options.logger?.debug({ folders: [...folders] }, 'watching the pipeline files for changes');
  return () => {
    if (timer) clearTimeout(timer);
    for (const w of watchers) w.close();
  };
}
