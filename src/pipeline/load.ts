/**
 * Loading and validating pipeline files: files and folders (every *.yaml / *.yml in a folder, not
 * recursive), several documents per file. Every problem is reported, with file:line:col and a
 * hint: YAML syntax, the schema (unknown stages, sinks and fields with "did you mean", wrong
 * types, bad durations, missing options), the graph (graph.ts) and the set as a whole (duplicate
 * pipeline names, one record schema per topic / file, label selectors of the shared watch).
 *
 * A set with any error must not run: `kubevents run` exits 2, a reload keeps the old set.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { LineCounter, parseAllDocuments, type Document } from 'yaml';
import { packageRoot } from '../core/paths.js';
import { hasErrors, sortDiagnostics, type Diagnostic } from '../core/diagnostics.js';
import { addDuplicateKeyErrors, DocumentLocator, YAML_PARSE_OPTIONS, yamlErrorDiagnostics, type PathSegment } from '../core/yaml-locator.js';
import { issuesToDiagnostics } from './errors.js';
import { allSinks, buildGraph, type PipelineGraph } from './graph.js';
import { PipelineSchema, type PipelineDocument } from './schema.js';

export interface LoadedPipeline {
  name: string;
  /** The file as given (or as found in a given folder). */
  file: string;
  /** 1-based line of metadata.name. */
  line: number;
  document: PipelineDocument;
  graph: PipelineGraph;
  /**
   * Canonical JSON of the effective document: the same fingerprint means the same pipeline, so a
   * reload keeps it running with its state.
   */
  fingerprint: string;
  /** Positions in the file, by document path. */
  locator: DocumentLocator;
}

export interface LoadResult {
  /** Valid pipelines (from documents without errors). Do not run them unless `ok`. */
  pipelines: LoadedPipeline[];
  diagnostics: Diagnostic[];
  /** Files read. */
  files: string[];
  /** File contents by path, for source excerpts in messages. */
  sources: Map<string, string>;
  /** No errors (warnings allowed). */
  ok: boolean;
}

/** The bundled default: `pipelines/default.yaml` of the installed package. */
export function defaultPipelinePaths(): string[] {
  return [join(packageRoot(), 'pipelines', 'default.yaml')];
}

const PIPELINE_EXTENSIONS = new Set(['.yaml', '.yml']);

/** Stable JSON with sorted keys. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(
        Object.keys(v as Record<string, unknown>)
          .sort()
          .map((k) => [k, (v as Record<string, unknown>)[k]]),
      );
    }
    return v;
  });
}

const fileDiagnostic = (file: string, message: string, severity: 'error' | 'warning' = 'error'): Diagnostic => ({
  file,
  line: 1,
  column: 1,
  severity,
  message,
});

/** Expands folders to their *.yaml / *.yml files (sorted); files are taken as given. */
export async function expandPaths(paths: readonly string[]): Promise<{ files: string[]; diagnostics: Diagnostic[] }> {
  const files: string[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const path of paths) {
    let info;
    try {
      info = await stat(path);
    } catch (error) {
      diagnostics.push(
        fileDiagnostic(path, `cannot read: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or folder' : (error as Error).message}`),
      );
      continue;
    }
    if (info.isDirectory()) {
      const entries: string[] = [];
      for (const e of await readdir(path, { withFileTypes: true })) {
        // a kubelet-mounted ConfigMap: `x.yaml -> ..data/x.yaml`, `..data -> ..2026_12_04_10_00_00.1/`;
        // the `..` entries are the kubelet's own, the keys are symlinks to follow
        if (e.name.startsWith('..') || !PIPELINE_EXTENSIONS.has(extname(e.name).toLowerCase())) continue;
        const full = join(path, e.name);
        if (
          e.isFile() ||
          (e.isSymbolicLink() &&
            (await stat(full)
              .then((s) => s.isFile())
              .catch(() => false)))
        )
          entries.push(full);
      }
      entries.sort();
      if (entries.length === 0) diagnostics.push(fileDiagnostic(path, 'no pipeline files (*.yaml, *.yml) in this folder'));
      files.push(...entries);
    } else {
      files.push(path);
    }
  }
  return { files: [...new Set(files)], diagnostics };
}

/** Parses and checks one file's text (all its documents). Cross-file checks are checkPipelineSet's. */
export function parsePipelineText(text: string, file: string): { pipelines: LoadedPipeline[]; diagnostics: Diagnostic[] } {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, ...YAML_PARSE_OPTIONS });
  const pipelines: LoadedPipeline[] = [];
  const diagnostics: Diagnostic[] = [];
  const list: Document[] = [...docs];
  if ('empty' in docs && docs.empty) {
    diagnostics.push(...yamlErrorDiagnostics(file, docs.errors, lineCounter));
  }
  let documents = 0;
  for (const doc of list) {
    addDuplicateKeyErrors(doc, lineCounter);
    diagnostics.push(...yamlErrorDiagnostics(file, doc.warnings, lineCounter, 'warning'));
    if (doc.errors.length > 0) {
      diagnostics.push(...yamlErrorDiagnostics(file, doc.errors, lineCounter));
      documents++;
      continue; // the content is unreliable: no schema errors on top of a syntax error
    }
    if (doc.contents === null) continue; // an empty document (e.g. a trailing ---)
    documents++;
    const locator = new DocumentLocator(file, doc, lineCounter);
    let data: unknown;
    try {
      data = doc.toJS({ maxAliasCount: 100 });
    } catch (error) {
      const span = locator.documentSpan();
      diagnostics.push({ file, line: span.line, column: span.column, severity: 'error', message: `YAML: ${(error as Error).message}` });
      continue;
    }
    if (data === null || data === undefined) {
      documents--; // an empty document (e.g. a trailing ---)
      continue;
    }
    const parsed = PipelineSchema.safeParse(data);
    if (!parsed.success) {
      diagnostics.push(...issuesToDiagnostics(parsed.error.issues, data, PipelineSchema, locator));
      continue;
    }
    const { graph, problems } = buildGraph(parsed.data);
    for (const p of problems) {
      const span = locator.locate(p.path, p.key ? 'key' : 'value');
      diagnostics.push({
        file,
        line: span.line,
        column: span.column,
        ...(span.endColumn ? { endColumn: span.endColumn } : {}),
        severity: p.severity,
        message: p.message,
        ...(p.hint ? { hint: p.hint } : {}),
      });
    }
    if (problems.some((p) => p.severity === 'error')) continue;
    pipelines.push({
      name: parsed.data.metadata.name,
      file,
      line: locator.locate(['metadata', 'name']).line,
      document: parsed.data,
      graph,
      fingerprint: canonicalJson(parsed.data),
      locator,
    });
  }
  if (documents === 0 && diagnostics.length === 0) diagnostics.push(fileDiagnostic(file, 'no pipeline in this file (it is empty)', 'warning'));
  return { pipelines, diagnostics };
}

function at(p: LoadedPipeline, path: PathSegment[], severity: 'error' | 'warning', message: string, hint?: string, key = false): Diagnostic {
  const span = p.locator.locate(path, key ? 'key' : 'value');
  return {
    file: p.file,
    line: span.line,
    column: span.column,
    ...(span.endColumn ? { endColumn: span.endColumn } : {}),
    severity,
    message,
    ...(hint ? { hint } : {}),
  };
}

/**
 * Checks that need every pipeline loaded together: unique names; one record schema per Kafka
 * topic and per Avro file (a kafka sink falls back to the file of its topic's name in embedded
 * mode, so the two share one namespace); one label selector per shared watch; and a warning when
 * two pipelines write events to the same place.
 */
export function checkPipelineSet(pipelines: readonly LoadedPipeline[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  const byName = new Map<string, LoadedPipeline>();
  for (const p of pipelines) {
    const first = byName.get(p.name);
    if (first) out.push(at(p, ['metadata', 'name'], 'error', `duplicate pipeline name "${p.name}"`, `first defined at ${first.file}:${first.line}`));
    else byName.set(p.name, p);
  }

  const names = new Map<string, { kind: string; p: LoadedPipeline; line: number }>();
  const eventWriters = new Map<string, LoadedPipeline>();
  for (const p of pipelines) {
    for (const { sink } of allSinks(p.graph)) {
      // Avro sinks share one namespace of names: a kafka sink falls back to the file of its topic's name
      const name = sink.definition.avro ? sink.target : undefined;
      if (name === undefined) continue;
      const noun = sink.type === 'kafka' ? 'topic' : 'file';
      const seen = names.get(name);
      const line = p.locator.locate(sink.path).line;
      if (seen && seen.kind !== sink.recordKind) {
        out.push(
          at(
            p,
            sink.path,
            'error',
            `${noun} "${name}" gets ${sink.recordKind} records here but ${seen.kind} records from pipeline "${seen.p.name}" (${seen.p.file}:${seen.line})`,
            'one record schema per topic and per file: pick another name',
          ),
        );
      } else if (!seen) {
        names.set(name, { kind: sink.recordKind, p, line });
      }
      if (sink.recordKind === 'KubeEvent') {
        const other = eventWriters.get(name);
        if (other && other !== p) {
          out.push(
            at(
              p,
              sink.path,
              'warning',
              `pipelines "${other.name}" and "${p.name}" both write events to "${name}"${sink.type === 'kafka' ? ' (in embedded mode a topic is the file of the same name)' : ''}: an event passing both is written twice`,
              'load only one of them, or make their filters disjoint',
            ),
          );
        } else if (!other) eventWriters.set(name, p);
      }
    }
  }

  const selectors = new Map<string | null, LoadedPipeline>();
  for (const p of pipelines) selectors.set(p.graph.source.labelSelector, selectors.get(p.graph.source.labelSelector) ?? p);
  if (selectors.size > 1) {
    const [firstSelector, first] = [...selectors][0]!;
    for (const p of pipelines) {
      if (p.graph.source.labelSelector === firstSelector) continue;
      out.push(
        at(
          p,
          p.graph.source.labelSelector !== null ? ['spec', 'source', 'labelSelector'] : ['spec', 'source'],
          'error',
          `labelSelector ${p.graph.source.labelSelector === null ? 'none' : `"${p.graph.source.labelSelector}"`} differs from pipeline "${first.name}" (${firstSelector === null ? 'none' : `"${firstSelector}"`})`,
          'all pipelines share one watch of events: use the same labelSelector (or none), and fieldSelector or filter stages for the rest',
        ),
      );
    }
  }
  return out;
}

/** Reads, parses and checks pipeline files and folders. Never throws for bad input: it is all in `diagnostics`. */
export async function loadPipelines(paths: readonly string[]): Promise<LoadResult> {
  const { files, diagnostics } = await expandPaths(paths);
  const pipelines: LoadedPipeline[] = [];
  const sources = new Map<string, string>();
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      diagnostics.push(fileDiagnostic(file, `cannot read: ${(error as Error).message}`));
      continue;
    }
    sources.set(file, text);
    const result = parsePipelineText(text, file);
    pipelines.push(...result.pipelines);
    diagnostics.push(...result.diagnostics);
  }
  diagnostics.push(...checkPipelineSet(pipelines));
  if (files.length > 0 && pipelines.length === 0 && !hasErrors(diagnostics)) {
    diagnostics.push(fileDiagnostic(files[0]!, 'no pipelines found'));
  }
  const sorted = sortDiagnostics(diagnostics);
  return { pipelines, diagnostics: sorted, files, sources, ok: !hasErrors(sorted) };
}

/** Parses pipelines held in memory (tests, embedded defaults): `{ file: text }`. */
export function loadPipelineTexts(texts: Record<string, string>): LoadResult {
  const pipelines: LoadedPipeline[] = [];
  const diagnostics: Diagnostic[] = [];
  const sources = new Map<string, string>();
  for (const [file, text] of Object.entries(texts)) {
    sources.set(file, text);
    const result = parsePipelineText(text, file);
    pipelines.push(...result.pipelines);
    diagnostics.push(...result.diagnostics);
  }
  diagnostics.push(...checkPipelineSet(pipelines));
  const sorted = sortDiagnostics(diagnostics);
  return { pipelines, diagnostics: sorted, files: Object.keys(texts), sources, ok: !hasErrors(sorted) };
}
