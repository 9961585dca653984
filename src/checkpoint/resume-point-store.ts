import type { Logger } from '../core/logger.js';
import { checkpointKeyString, type Checkpoint, type CheckpointKey, type CheckpointStore } from './store.js';

/**
 * Positions of list items before the first SYNCED carry no resourceVersion (''): such a commit
 * is not a resume point and is never saved. Saves are logged at debug level.
 */
export class ResumePointStore implements CheckpointStore {
  constructor(
    private readonly inner: CheckpointStore,
    private readonly logger: Logger,
  ) {}

  load(key: CheckpointKey): Promise<Checkpoint | null> {
    return this.inner.load(key);
  }

  async save(checkpoint: Checkpoint): Promise<void> {
    if (!checkpoint.resourceVersion) return;
    await this.inner.save(checkpoint);
    this.logger.debug({ checkpoint: checkpointKeyString(checkpoint), resourceVersion: checkpoint.resourceVersion }, 'checkpoint saved');
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
