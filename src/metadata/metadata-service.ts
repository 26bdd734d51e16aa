/**
 * What request handlers need from metadata on any node: read the image, follow its changes,
 * and ask the active controller for changes. On the active controller the changes run locally;
 * on any other node they are forwarded to it (server/controller-gateway.ts).
 */
import type { MetadataImage } from './image.js';
import type { ImageListener } from './metadata-state.js';
import type {
  ConfigChange,
  CreateTopicInput,
  CreateTopicResult,
  ItemResult,
} from './controller/topics.js';
import type { ReassignmentInput, ReassignmentResult } from './controller/reassignments.js';
import type { UnregisterBrokerResponse } from './controller/unregister.js';

export interface MetadataService {
  image(): MetadataImage;
  /** Called after every applied change, in order; returns an unsubscribe function. */
  onChange(listener: ImageListener): () => void;
  /** Node id of the active controller as this node knows it; -1 when unknown. */
  controllerId(): number;
  createTopics(
    topics: readonly CreateTopicInput[],
    validateOnly: boolean,
  ): Promise<CreateTopicResult[]>;
  deleteTopics(names: readonly string[]): Promise<ItemResult[]>;
  createPartitions(
    requests: readonly { name: string; count: number }[],
    validateOnly: boolean,
  ): Promise<ItemResult[]>;
  alterTopicConfigs(
    name: string,
    changes: readonly ConfigChange[],
    validateOnly: boolean,
  ): Promise<ItemResult>;
  alterPartitionReassignments(inputs: readonly ReassignmentInput[]): Promise<ReassignmentResult[]>;
  /**
   * Drops a broker's registration and, once that has committed, takes it out of the Raft
   * observers; see ControllerGateway.unregisterBroker.
   */
  unregisterBroker(brokerId: number): Promise<UnregisterBrokerResponse>;
  /** Dynamic broker configs of `resource`: a node id, or '' for every node. */
  alterBrokerConfigs(
    resource: string,
    changes: readonly ConfigChange[],
    validateOnly: boolean,
  ): Promise<ItemResult>;
}
