/**
 * log: partition logs in LevelDB. See README.md for the role, the loop, the invariants and the
 * key layout. Other modules import only from here.
 */
export { LogManager, type LogManagerConfig, type LogStores } from './log-manager.js';
export {
  PartitionLog,
  type AppendResult,
  type BatchSummary,
  type ReadOptions,
  type ReadResult,
  type RewriteOptions,
  type RewriteResult,
  type RewriteTransform,
  type TimestampOffset,
} from './partition-log.js';
export {
  EPOCH_OFFSET_UNDEFINED,
  EPOCH_UNDEFINED,
  LeaderEpochCache,
  type EpochEndOffset,
} from './epoch-cache.js';
export { type FsyncPolicy, type GroupCommitStats, type Logger } from './group-commit.js';
export {
  RetentionTask,
  retentionCutoff,
  type RetentionInput,
  type RetentionPolicy,
  type RetentionTaskOptions,
} from './retention.js';
export {
  OffsetMap,
  cleanBatches,
  isCleanable,
  isDirtyEnough,
  keepFlags,
  planBatches,
  type BatchPlan,
  type CleanedRun,
  type CleanerPolicy,
  type PlanInput,
} from './cleaner.js';
export { CleanerTask, type CleanerPass, type CleanerTaskOptions } from './cleaner-task.js';
