/**
 * Every pipeline stage, in the order the docs list them. A new stage is one file in this folder
 * and one line here (pipelines/README.md, "Adding a stage").
 */
import type { StageDefinition } from '../stage.js';
import { classifyStage } from './classify.js';
import { correlateStage } from './correlate.js';
import { dedupeStage } from './dedupe.js';
import { enrichStage } from './enrich.js';
import { filterStage } from './filter.js';
import { groupStage } from './group.js';
import { mapStage } from './map.js';
import { rateStage } from './rate.js';
import { selectStage } from './select.js';
import { spikeStage } from './spike.js';
import { throttleStage } from './throttle.js';
import { windowStage } from './window.js';

export const STAGES: readonly StageDefinition[] = [
  filterStage,
  enrichStage,
  classifyStage,
  dedupeStage,
  throttleStage,
  rateStage,
  spikeStage,
  correlateStage,
  groupStage,
  windowStage,
  mapStage,
  selectStage,
];

const BY_TYPE = new Map(STAGES.map((s) => [s.type, s]));

/** The stage of a type, or undefined. */
export function stageOf(type: string): StageDefinition | undefined {
  return BY_TYPE.get(type);
}
