/**
 * The controller loop: the only writer of metadata. Operations run one at a time from a queue
 * (no locks, as in Kafka's QuorumController); each computes records with a pure handler from
 * the current image, appends them to the metadata log, replays them into a new image,
 * publishes it, and only then answers. On one node the log is local; with Raft the same loop
 * runs on the active controller.
 */
import { randomUUID } from 'node:crypto';
import { MetadataDelta, MetadataImage, type MetadataChanges } from '../image.js';
import type { MetadataLog } from '../metadata-log.js';
import type { MetadataRecord, RegisterBrokerRecord } from '../records.js';
import {
  alterTopicConfigs,
  createPartitions,
  createTopics,
  deleteTopics,
  type ConfigChange,
  type ControllerResult,
  type CreateDefaults,
  type CreateTopicInput,
  type CreateTopicResult,
  type ItemResult,
} from './topics.js';

/**
 * Called after every applied change, in order. The controller awaits a returned promise before
 * answering the request that caused the change, so a topic is usable on this node as soon as
 * CreateTopics returns.
 */
export type ImageListener = (
  image: MetadataImage,
  changes: MetadataChanges,
) => void | Promise<void>;

/** What request handlers need from metadata: read the image, follow changes, ask for changes. */
export interface MetadataService {
  image(): MetadataImage;
  /** Called after every applied change, in order; returns an unsubscribe function. */
  onChange(listener: ImageListener): () => void;
  /** Node id of the active controller. */
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
  registerBroker(record: Omit<RegisterBrokerRecord, 'type' | 'version'>): Promise<void>;
}

export class LocalController implements MetadataService {
  private current = MetadataImage.EMPTY;
  private readonly listeners = new Set<ImageListener>();
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly log: MetadataLog,
    private readonly nodeId: number,
    private readonly defaults: CreateDefaults,
  ) {}

  /** Replays the whole log into the first image before serving anything. */
  static async open(
    log: MetadataLog,
    nodeId: number,
    defaults: CreateDefaults,
  ): Promise<LocalController> {
    const controller = new LocalController(log, nodeId, defaults);
    const delta = new MetadataDelta(MetadataImage.EMPTY);
    for (const { offset, record } of await log.readAll()) delta.replay(record, offset);
    controller.current = delta.apply().image;
    return controller;
  }

  image(): MetadataImage {
    return this.current;
  }

  onChange(listener: ImageListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  controllerId(): number {
    return this.nodeId;
  }

  createTopics(
    topics: readonly CreateTopicInput[],
    validateOnly: boolean,
  ): Promise<CreateTopicResult[]> {
    return this.run(
      (image) => createTopics(image, topics, this.defaults, randomUUID),
      validateOnly,
    );
  }

  deleteTopics(names: readonly string[]): Promise<ItemResult[]> {
    return this.run((image) => deleteTopics(image, names), false);
  }

  createPartitions(
    requests: readonly { name: string; count: number }[],
    validateOnly: boolean,
  ): Promise<ItemResult[]> {
    return this.run((image) => createPartitions(image, requests), validateOnly);
  }

  alterTopicConfigs(
    name: string,
    changes: readonly ConfigChange[],
    validateOnly: boolean,
  ): Promise<ItemResult> {
    return this.run((image): ControllerResult<ItemResult> => {
      const topic = image.topic(name);
      if (topic === undefined) {
        return {
          records: [],
          response: {
            name,
            errorCode: 'UNKNOWN_TOPIC_OR_PARTITION',
            errorMessage: `topic "${name}" does not exist`,
          },
        };
      }
      const { records, error } = alterTopicConfigs(topic, changes);
      if (error !== null) {
        return {
          records: [],
          response: { name, errorCode: error.code, errorMessage: error.message },
        };
      }
      return { records, response: { name, errorCode: 'NONE', errorMessage: '' } };
    }, validateOnly);
  }

  async registerBroker(
    registration: Omit<RegisterBrokerRecord, 'type' | 'version'>,
  ): Promise<void> {
    await this.run(
      () => ({
        records: [
          { type: 'RegisterBrokerRecord', version: 1, ...registration } satisfies MetadataRecord,
        ],
        response: undefined,
      }),
      false,
    );
  }

  /** Runs one operation after every earlier one; appends and publishes its records. */
  private run<T>(
    handler: (image: MetadataImage) => ControllerResult<T>,
    validateOnly: boolean,
  ): Promise<T> {
    const next = this.queue.then(async () => {
      const result = handler(this.current);
      if (validateOnly || result.records.length === 0) return result.response;
      const lastOffset = await this.log.append(result.records);
      const delta = new MetadataDelta(this.current);
      const firstOffset = lastOffset - result.records.length + 1;
      result.records.forEach((record, i) => delta.replay(record, firstOffset + i));
      const { image, changes } = delta.apply();
      this.current = image;
      for (const listener of this.listeners) await listener(image, changes);
      return result.response;
    });
    this.queue = next.catch(() => undefined);
    return next;
  }
}
