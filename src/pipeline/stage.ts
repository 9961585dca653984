/**
 * What a pipeline stage is: one self-contained component, defined in one file under stages/ and
 * listed once in stages/registry.ts. From the list come the pipeline file schema (and its JSON
 * Schema), the graph checks, the compiler, `kubevents explain` and the option tables of
 * pipelines/README.md.
 *
 * A stage definition holds its type name, the record kinds it takes and makes, its options as a
 * zod schema (whose defaults are the only defaults), its semantic checks for `validate`, how its
 * options read in `explain`, and how it builds its RxJS operator.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { OperatorFunction, SchedulerLike } from 'rxjs';
import type { z } from 'zod';
import type { DiagnosticSeverity } from '../core/diagnostics.js';
import type { PathSegment } from '../core/yaml-locator.js';
import type { StageCheckpoint } from '../operators/event-time.js';
import type { ObjectLookup } from '../sources/object-lookup.js';
import type { RecordMatcher } from './matcher.js';
import type { StreamKind } from './record-kinds.js';
import type { StateSettings } from './stage-options.js';

/** What the stream carries at a point of a pipeline, for the checks of the stages after it. */
export interface Flow {
  kind: StreamKind;
  classified: boolean;
  enriched: boolean;
  /** The stage that last changed the record kind (for messages). */
  madeBy: string | null;
}

/** What a stage's `check` may use: the flow at its input and the shared checks, all reporting at document paths. */
export interface StageChecks {
  readonly flow: Flow;
  problem(path: PathSegment[], message: string, options?: { hint?: string | undefined; severity?: DiagnosticSeverity; key?: boolean }): void;
  /** Conditions that do not apply to `kind`, or that need a classify / enrich stage before. */
  matcher(matcher: RecordMatcher, path: PathSegment[], kind: StreamKind, what: string): void;
  /** Key fields that are always empty at this point. */
  keyFields(fields: readonly string[], path: PathSegment[]): void;
  /** `{field}` placeholders of `kind` records (plus `extra` ones). */
  template(template: string, path: PathSegment[], kind: StreamKind, extra?: readonly string[]): void;
}

/** What a stage's `build` gets besides its options. */
export interface StageBuild {
  /** Stage name for metrics and logs: `<pipeline>/<branch>/.../<type>` (#n when repeated). */
  id: string;
  /** The record kind at its input. */
  input: StreamKind;
  /** The shared object caches, for enrich. */
  lookup: ObjectLookup;
  logger?: Logger;
  registry?: Registry;
  scheduler?: SchedulerLike;
  /**
   * Stateful stages: the operator options for event time and state (name, allowedLateness,
   * latePolicy, idleAdvance, maxKeys, idleTtl, logger, registry, scheduler); null for the others.
   */
  state:
    | (StateSettings & {
        name: string;
        idleAdvance: number | null;
        logger?: Logger;
        registry?: Registry;
        scheduler?: SchedulerLike;
        /** Snapshot and restore of the stage's state (the live job's checkpoints). */
        checkpoint?: StageCheckpoint;
      })
    | null;
}

export interface StageDefinition<O = any> {
  /** The key in pipeline files: `rate`. */
  type: string;
  /** What it does; the description in the docs and the editor schema. */
  summary: string;
  /** The record kinds it takes. */
  accepts: readonly StreamKind[];
  /** The record kind it makes from `input` (default: the same). */
  emits?: (input: StreamKind) => StreamKind;
  /** What the records carry after it, for the checks of later stages. */
  marks?: 'classified' | 'enriched';
  /** It can be written without options (`- enrich`). */
  shorthand?: boolean;
  /** Its options. The zod defaults are the only defaults. */
  options: z.ZodType<O>;
  /** Stateful stages: the idleTtl used when the options set none. */
  state?: { idleTtl: (options: O) => number };
  /** A hint when the stream carries a kind it does not take. */
  kindHint?: (kind: StreamKind) => string | undefined;
  /** Semantic checks beyond the schema (at `path`, the options' path in the document). */
  check?: (options: O, checks: StageChecks, path: PathSegment[]) => void;
  /** Effective options as `explain` shows them, from their plain display (durations as written). */
  explain?: (options: O, display: Record<string, unknown>) => Record<string, unknown>;
  /** The RxJS operator, per subscription state included. */
  build: (options: O, context: StageBuild) => OperatorFunction<any, any>;
}

/** Types a stage definition from its options schema. */
export function defineStage<S extends z.ZodType>(definition: StageDefinition<z.output<S>> & { options: S }): StageDefinition<z.output<S>> {
  return definition;
}

/** The operator options every stateful stage passes on (see StageBuild.state). */
export function operatorState(context: StageBuild): NonNullable<StageBuild['state']> {
  if (!context.state) throw new Error(`stage ${context.id} is not stateful`);
  return context.state;
}
