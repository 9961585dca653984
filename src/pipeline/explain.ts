/**
 * `kubevents explain`: the compiled graph in words, stages in order with the record kinds they
 * take and make, forks, sinks and every effective option (defaults filled in, durations as
 * written), so a reader sees what will run without knowing the defaults.
 */
import { stringify } from 'yaml';
import { showDuration } from '../core/duration.js';
import { displayValue } from '../core/zod-schema.js';
import type { PipelineGraph, SinkNode, StageNode, StepNode } from './graph.js';
import { isAvroKind, kindName, type StreamKind } from './record-kinds.js';

/** How the records at a sink are called: `Alert records`, `selected fields`. */
function recordsWhat(kind: StreamKind): string {
  return isAvroKind(kind) ? `${kind} records` : kindName(kind);
}

function optionLines(step: StageNode, indent: string): string[] {
  const plain = displayValue(step.definition.options, step.options);
  const base = plain !== null && typeof plain === 'object' && !Array.isArray(plain) ? (plain as Record<string, unknown>) : { options: plain };
  const display = step.definition.explain ? step.definition.explain(step.options, base) : base;
  // one line per option, flow style for values: readable and compact
  // values a stage's explain wrote are text for people (`match: kind = Pod and ...`); the rest reads as YAML
  const own = (k: string, v: unknown): boolean => typeof v === 'string' && v !== base[k];
  return Object.entries(display).map(
    ([k, v]) => `${indent}${k}: ${own(k, v) ? (v as string) : stringify(v, { lineWidth: 0, collectionStyle: 'flow' }).trimEnd()}`,
  );
}

function sinkLine(sink: SinkNode): string {
  return sink.definition.describe(sink.options, sink.target, recordsWhat(sink.recordKind));
}

/** The compiled graph in words: stages in order with record kinds, forks, sinks, effective options. */
export function explainGraph(graph: PipelineGraph, origin?: string): string {
  const lines: string[] = [];
  lines.push(`pipeline ${graph.name}${origin ? `  (${origin})` : ''}`);
  if (graph.description) lines.push(`  ${graph.description.trim().replace(/\s+/g, ' ')}`);
  const s = graph.source;
  const scope = [
    s.namespaces ? `namespaces ${s.namespaces.join(', ')}` : 'all namespaces',
    s.fieldSelector ? `fieldSelector "${s.fieldSelector}"` : null,
    s.labelSelector ? `labelSelector "${s.labelSelector}"` : null,
  ]
    .filter(Boolean)
    .join(', ');
  lines.push(`  source: ${s.resource} (${scope}); shared watch`);
  const et = graph.eventTime;
  lines.push(
    `  eventTime: allowedLateness ${showDuration(et.allowedLateness)}, latePolicy ${et.latePolicy}, idleAdvance ${et.idleAdvance === null ? 'off' : showDuration(et.idleAdvance)}`,
  );
  const walk = (steps: readonly StepNode[], sinks: readonly SinkNode[], indent: string): void => {
    steps.forEach((step, i) => {
      if (step.kind === 'fork') {
        lines.push(
          `${indent}${i + 1}. fork into ${step.branches.length} branch${step.branches.length === 1 ? '' : 'es'} (${kindName(step.input)}; the next stage gets them too)`,
        );
        for (const br of step.branches) {
          lines.push(`${indent}   branch ${br.name}:`);
          walk(br.steps, br.sinks, `${indent}     `);
        }
        return;
      }
      const kinds = step.input === step.output ? kindName(step.input) : `${kindName(step.input)} -> ${kindName(step.output)}`;
      lines.push(`${indent}${i + 1}. ${step.type}  [${kinds}]  stage ${step.id}`);
      lines.push(...optionLines(step, `${indent}     `));
    });
    if (sinks.length === 0) lines.push(`${indent}sinks: none`);
    else {
      lines.push(`${indent}sinks:`);
      for (const sink of sinks) lines.push(`${indent}  - ${sinkLine(sink)}`);
    }
  };
  walk(graph.steps, graph.sinks, '  ');
  return lines.join('\n');
}
