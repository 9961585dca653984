import type { Logger } from '../core/logger.js';
import {
  checkpointKeyString,
  keepsState,
  stateKeyString,
  type Checkpoint,
  type CheckpointKey,
  type CheckpointStore,
  type StateKey,
  type StateMeta,
  type StatePieceRef,
  type StateStore,
} from './store.js';

/**
 * Positions of list items before the first SYNCED carry no resourceVersion (''): such a commit
 * is not a resume point and is never saved. Saves are logged at debug level. Operator state goes
 * through to the inner store when it keeps state (`keepsState(this)` is then true).
 */
export class ResumePointStore implements CheckpointStore {
  writeStatePiece?: StateStore['writeStatePiece'];
  commitState?: StateStore['commitState'];
  loadState?: StateStore['loadState'];
  discardStatePieces?: StateStore['discardStatePieces'];

  constructor(
    private readonly inner: CheckpointStore,
    private readonly logger: Logger,
  ) {
    if (keepsState(inner)) {
      this.writeStatePiece = (key: StateKey, epoch: number, index: number, data: Buffer): Promise<StatePieceRef> =>
        inner.writeStatePiece(key, epoch, index, data);
      this.commitState = async (meta: StateMeta, checkpoints: readonly Checkpoint[]): Promise<void> => {
        const resumable = checkpoints.filter((c) => c.resourceVersion);
        await inner.commitState(meta, resumable);
        this.logger.debug(
          {
            state: stateKeyString(meta),
            epoch: meta.epoch,
            pieces: meta.pieces.length,
            checkpoints: resumable.map((c) => `${checkpointKeyString(c)}@${c.resourceVersion}`),
          },
          'state and checkpoints saved',
        );
      };
      this.loadState = (key: StateKey) => inner.loadState(key);
      this.discardStatePieces = (key: StateKey, epoch: number, pieces: readonly StatePieceRef[]) => inner.discardStatePieces(key, epoch, pieces);
    }
  }

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
