/**
 * Partition replication, Kafka-style: a leader per partition, followers fetching from it, and
 * the ISR kept in the metadata log through the controller. See docs/replication.md.
 */
export { ReplicaManager, type ReplicaManagerOptions } from './replica-manager.js';
export { PartitionLeader, type AlterIsr } from './partition-leader.js';
export { ReplicationThrottle } from './replication-throttle.js';
export { FollowerFetcher, type ReplicaFetchClient } from './follower-fetcher.js';
export {
  caughtUpAfterFetch,
  highWatermarkOf,
  joinableReplicas,
  laggingMembers,
  type FollowerProgress,
} from './isr.js';
export { waitForAny, waitForHighWatermark } from './high-watermark-wait.js';
