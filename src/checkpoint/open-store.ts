/**
 * The checkpoint store a run is configured with: the compacted Kafka topics, a file (and its state
 * folder), or one a caller built (tests).
 */
import type { Logger } from '../core/logger.js';
import { createKafka, type KafkaClientConfig } from '../kafka/client.js';
import { DEFAULT_CHECKPOINT_TOPIC, KafkaCheckpointStore } from './kafka-store.js';
import { FileCheckpointStore, type CheckpointStore, type StateKey } from './store.js';

export type CheckpointStoreSpec =
  | { type: 'kafka'; kafka: KafkaClientConfig; topic?: string }
  | { type: 'file'; path: string }
  /** a store built by the caller (tests) */
  | { type: 'custom'; store: CheckpointStore };

/**
 * The store a spec names. `baseLogger` is for the Kafka client (its lines carry the component
 * checkpoint-store), `logger` for the store's own lines.
 */
export function openCheckpointStore(checkpoint: CheckpointStoreSpec, baseLogger: Logger, logger: Logger, stateFor: StateKey): CheckpointStore {
  switch (checkpoint.type) {
    case 'kafka': {
      const store = new KafkaCheckpointStore({
        kafka: createKafka(checkpoint.kafka, baseLogger.child({ component: 'checkpoint-store' })),
        topic: checkpoint.topic ?? DEFAULT_CHECKPOINT_TOPIC,
        logger,
        stateFor,
      });
      logger.info({ store: 'kafka', topic: store.topic, stateTopic: store.stateTopic }, 'checkpoint store');
      return store;
    }
    case 'file':
      logger.info({ store: 'file', path: checkpoint.path }, 'checkpoint store');
      return new FileCheckpointStore(checkpoint.path);
    case 'custom':
      logger.info({ store: 'custom' }, 'checkpoint store');
      return checkpoint.store;
  }
}
