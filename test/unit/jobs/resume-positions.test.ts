import { describe, expect, it } from 'vitest';
import type { Checkpoint, CheckpointKey } from '../../../src/checkpoint/store.js';
import { ResumePositions, takeOver } from '../../../src/jobs/resume-positions.js';

const JOB = { cluster: 'c', pipeline: 'default' };

/** A store holding checkpoints by resource. */
function storeOf(byResource: Record<string, string>): { load(key: CheckpointKey): Promise<Checkpoint | null> } {
  return {
    load: (key) => Promise.resolve(byResource[key.resource] ? { ...key, resourceVersion: byResource[key.resource]!, updatedAt: 0 } : null),
  };
}

describe('where the Event watches resume', () => {
  it('a watch taking over namespaces resumes from the earliest and skips each one up to its own (resourceVersions compared as numbers)', () => {
    expect(
      takeOver([
        ['shop', '900'],
        ['pay', '1000'],
        ['ops', '95'],
      ]),
    ).toEqual({ resourceVersion: '95', covered: { shop: '900', pay: '1000' } });
    expect(takeOver([['shop', '7']])).toEqual({ resourceVersion: '7' });
  });

  it('without restored state: each watch from its checkpoint; a namespace without one from the all-namespaces checkpoint', async () => {
    const resume = new ResumePositions(JOB, storeOf({ events: '500', 'events@shop': '520' }), null);
    expect(resume.from).toBe('checkpoints');
    expect(resume.keyOf('shop')).toEqual({ ...JOB, resource: 'events@shop' });
    expect(await resume.positionFor('shop')).toEqual({ position: { resourceVersion: '520' }, via: null });
    expect(await resume.positionFor('pay')).toEqual({ position: { resourceVersion: '500' }, via: 'events' });
    expect(await resume.positionFor(null)).toEqual({ position: { resourceVersion: '500' }, via: null });
    expect(await new ResumePositions(JOB, storeOf({}), null).positionFor(null)).toEqual({ position: null, via: null });
  });

  it('with restored state: its positions, not the store; all namespaces take over from the per-namespace ones', async () => {
    const store = storeOf({ events: '1', 'events@shop': '1' }); // older than the state: never read
    const restored = { 'events@shop': { resourceVersion: '300' }, 'events@pay': { resourceVersion: '250' } };
    const resume = new ResumePositions(JOB, store, restored);
    expect(resume.from).toBe('state');
    expect(await resume.positionFor('shop')).toEqual({ position: { resourceVersion: '300' }, via: null });
    expect(await resume.positionFor('ops')).toEqual({ position: null, via: null });
    expect(await resume.positionFor(null)).toEqual({
      position: { resourceVersion: '250', covered: { shop: '300' } },
      via: 'events@shop,events@pay',
    });
    // a namespace once covered by the all-namespaces watch resumes from it, skipping what that watch handled of it
    const all = new ResumePositions(JOB, store, { events: { resourceVersion: '400', covered: { shop: '420' } } });
    expect(await all.positionFor('shop')).toEqual({ position: { resourceVersion: '400', covered: { shop: '420' } }, via: 'events' });
  });
});
