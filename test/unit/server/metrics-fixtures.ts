/**
 * Plain-object stand-ins for a node's parts, for the metrics unit tests: a metadata image built
 * from a compact description, partition logs, a Raft status and groups.
 */
import type { Registry } from 'prom-client';
import {
  MetadataImage,
  type BrokerImage,
  type PartitionImage,
  type TopicImage,
} from '../../../src/metadata/index.js';
import type { GroupView } from '../../../src/group/index.js';
import type { RaftStatus, SoftState } from '../../../src/raft/types.js';
import type { NodeMetricsSources } from '../../../src/server/metrics/index.js';
import { TrafficCounters } from '../../../src/server/metrics/index.js';
import type { PartitionLogView } from '../../../src/server/metrics/partition-metrics.js';

export interface TopicSpec {
  readonly name: string;
  readonly partitions: ReadonlyArray<Pick<PartitionImage, 'replicas' | 'isr' | 'leader'>>;
  readonly configs?: Record<string, string>;
}

export function imageOf(
  topics: readonly TopicSpec[],
  brokers: ReadonlyArray<{ id: number; fenced?: boolean }>,
): MetadataImage {
  const brokerMap = new Map<number, BrokerImage>();
  for (const b of brokers) {
    brokerMap.set(b.id, {
      brokerId: b.id,
      incarnationId: `inc-${b.id}`,
      brokerEpoch: 1,
      host: '127.0.0.1',
      port: 7000 + b.id,
      rack: '',
      fenced: b.fenced ?? false,
    });
  }
  const byName = new Map<string, TopicImage>();
  const byId = new Map<string, TopicImage>();
  for (const spec of topics) {
    const topic: TopicImage = {
      name: spec.name,
      topicId: `id-${spec.name}`,
      partitions: spec.partitions.map((p, i) => ({
        partition: i,
        replicas: p.replicas,
        isr: p.isr,
        leader: p.leader,
        leaderEpoch: 1,
        partitionEpoch: 1,
      })),
      configs: new Map(Object.entries(spec.configs ?? {})),
    };
    byName.set(topic.name, topic);
    byId.set(topic.topicId, topic);
  }
  return new MetadataImage(brokerMap, byName, byId, 10);
}

export function logOf(
  topic: string,
  partition: number,
  offsets: { start: number; end: number; hw: number; bytes: number },
): PartitionLogView {
  return {
    topicId: `id-${topic}`,
    partition,
    logStartOffset: offsets.start,
    logEndOffset: offsets.end,
    highWatermark: offsets.hw,
    sizeBytes: offsets.bytes,
  };
}

export const leaderStatus: RaftStatus = {
  id: 1,
  role: 'leader',
  term: 4,
  leader: 1,
  vote: 1,
  commitIndex: 120,
  appliedIndex: 118,
  lastIndex: 125,
  snapshotIndex: 100,
  confState: {
    voters: [
      { id: 1, address: 'h1:1' },
      { id: 2, address: 'h2:1' },
      { id: 3, address: 'h3:1' },
    ],
    observers: [],
  },
  peers: [
    {
      id: 2,
      isVoter: true,
      matchIndex: 125,
      nextIndex: 126,
      state: 'replicate',
      recentActive: true,
    },
    { id: 3, isVoter: true, matchIndex: 100, nextIndex: 101, state: 'probe', recentActive: false },
  ],
};

/** Sources for a whole NodeMetrics: one topic of two partitions, one led here, one group. */
export function fakeSources(overrides: Partial<NodeMetricsSources> = {}): NodeMetricsSources & {
  roleListeners: Array<(state: SoftState) => void>;
} {
  const image = imageOf(
    [
      {
        name: 'orders',
        partitions: [
          { replicas: [1, 2], isr: [1], leader: 1 },
          { replicas: [2, 1], isr: [2, 1], leader: 2 },
        ],
      },
    ],
    [{ id: 1 }, { id: 2 }],
  );
  const logs = [
    logOf('orders', 0, { start: 0, end: 10, hw: 8, bytes: 1000 }),
    logOf('orders', 1, { start: 2, end: 5, hw: 5, bytes: 300 }),
  ];
  const roleListeners: Array<(state: SoftState) => void> = [];
  const groups: GroupView[] = [
    {
      groupId: 'billing',
      state: undefined,
      offsets: new Map([
        ['orders\u00000', { offset: 3, leaderEpoch: 1, metadata: '', commitTimestampMs: 0 }],
      ]),
    },
  ];
  return {
    nodeId: 1,
    clusterId: 'cluster-a',
    isInService: () => true,
    traffic: new TrafficCounters(),
    partitions: {
      image: () => image,
      logs: () => logs,
      isLeader: (topicId, partition) => topicId === 'id-orders' && partition === 0,
      minInsyncReplicas: () => 2,
    },
    raft: {
      status: () => leaderStatus,
      onRoleChange: (listener) => roleListeners.push(listener),
      isActiveController: () => true,
    },
    groups: {
      groups: () => groups,
      highWatermarkOf: (topic, partition) => (topic === 'orders' && partition === 0 ? 8 : null),
    },
    storage: {
      dataDir: '/nonexistent/brook-metrics-test',
      storeDirs: ['/nonexistent/brook-metrics-test/store', '/nonexistent/brook-metrics-test/log'],
      commitStats: () => ({ writes: 7, syncedWrites: 5 }),
      levelDbStats: () => [
        { store: 'store', text: STATS_TABLE },
        { store: 'log', text: STATS_TABLE },
      ],
    },
    ...overrides,
    roleListeners,
  };
}

/** A `leveldb.stats` table as LevelDB 1.20 prints it, after merging compactions. */
export const STATS_TABLE = [
  '                               Compactions',
  'Level  Files Size(MB) Time(sec) Read(MB) Write(MB)',
  '--------------------------------------------------',
  '  0        5      133         2        0       308',
  '  1       25       50         1      128       130',
  '  2       55      114         1      180       185',
  '',
].join('\n');

export interface Sample {
  readonly labels: Record<string, string | number>;
  readonly value: number;
}

/** The samples of one metric family as the next scrape would report them. */
export async function samplesOf(registry: Registry, name: string): Promise<Sample[]> {
  const metric = registry.getSingleMetric(name);
  if (metric === undefined) throw new Error(`no metric ${name}`);
  const got = await metric.get();
  return got.values.map((v) => ({
    labels: { ...v.labels } as Record<string, string | number>,
    value: v.value,
  }));
}

/** The value of the one sample whose labels include `labels`; throws when not exactly one. */
export async function valueOf(
  registry: Registry,
  name: string,
  labels: Record<string, string | number> = {},
): Promise<number> {
  const matching = (await samplesOf(registry, name)).filter((s) =>
    Object.entries(labels).every(([k, v]) => String(s.labels[k]) === String(v)),
  );
  if (matching.length !== 1) {
    throw new Error(`${name}${JSON.stringify(labels)}: ${matching.length} samples`);
  }
  return matching[0]!.value;
}
