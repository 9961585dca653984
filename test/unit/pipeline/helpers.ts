import { join } from 'node:path';
import { filter, lastValueFrom, map, share, tap, toArray, type Observable } from 'rxjs';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import type { KubeEvent } from '../../../src/model/kube-event.js';
import type { OutRecord } from '../../../src/model/out-record.js';
import { loadPipelines, loadPipelineTexts, type LoadedPipeline } from '../../../src/pipeline/load.js';
import { PipelineSet } from '../../../src/pipeline/hot-swap.js';
import { formatDiagnostic } from '../../../src/core/diagnostics.js';
import { eventOccurrences, type EventItem } from '../../../src/sources/event-source.js';
import { ObjectCache } from '../../../src/sources/object-cache.js';
import type { ObjectLookup } from '../../../src/sources/object-lookup.js';
import { replayFile } from '../../../src/sources/replay.js';

export const ROOT = join(import.meta.dirname, '../../..');
export const FIXTURE = join(ROOT, 'recordings/recorded-cluster.jsonl');
export const PIPELINES = join(ROOT, 'pipelines');

export const silent = pino({ level: 'silent' });

/** The recorded cluster as the replay job sees it: context objects fill the cache in stream order. */
export function replayFixture(file = FIXTURE): { events$: Observable<KubeEvent>; cache: ObjectCache } {
  const cache = new ObjectCache({ logger: silent });
  const events$ = replayFile(file, { speed: 'max' }).changes$.pipe(
    tap((change) => {
      if (change.resource !== 'events') cache.apply(change.event, change.kind);
    }),
    filter((change) => change.resource === 'events'),
    map((change) => change.event),
    eventOccurrences({ cluster: 'default', logger: silent }),
    filter((i): i is EventItem => i.type === 'EVENT'),
    map((i) => i.event),
    share(),
  );
  return { events$, cache };
}

/** Loads files or folders; fails the test with every diagnostic when invalid. */
export async function load(...paths: string[]): Promise<LoadedPipeline[]> {
  const result = await loadPipelines(paths);
  if (!result.ok) throw new Error(result.diagnostics.map(formatDiagnostic).join('\n'));
  return result.pipelines;
}

/** Parses inline pipeline YAML; fails the test with every diagnostic when invalid. */
export function inline(text: string, file = 'inline.yaml'): LoadedPipeline[] {
  const result = loadPipelineTexts({ [file]: text });
  if (!result.ok) throw new Error(result.diagnostics.map(formatDiagnostic).join('\n'));
  return result.pipelines;
}

/** Runs pipelines in embedded mode on a stream and collects every output. */
export function runAll(pipelines: readonly LoadedPipeline[], events$: Observable<KubeEvent>, lookup: ObjectLookup): Promise<OutRecord[]> {
  const runtime = new PipelineSet({ lookup, pipelines, logger: silent, registry: new Registry(), replay: true });
  return lastValueFrom(runtime.run(events$).pipe(toArray()));
}

export const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
