/**
 * Every broker and topic configuration key, with its type, default and one line of
 * documentation. Flags, environment variables, config files, DescribeConfigs and the README
 * are all derived from these tables, so a key cannot exist in one place and not another.
 */
import { limits } from './limits.js';

export type ConfigType =
  | { kind: 'string' }
  | { kind: 'int'; min: number; max: number }
  /** A finite decimal number in [min, max], e.g. a ratio. */
  | { kind: 'number'; min: number; max: number }
  | { kind: 'bool' }
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'address' }
  /** host:port, or empty for "off". */
  | { kind: 'address-or-empty' }
  /** Kafka's `controller.quorum.voters` form: `id@host:port,...`; empty allowed. */
  | { kind: 'voters' };

export interface ConfigDefinition {
  readonly name: string;
  readonly type: ConfigType;
  /** Default as text, parsed like any other value. Null: no default (derived at start). */
  readonly defaultValue: string | null;
  readonly doc: string;
}

const INT32_MAX = 2_147_483_647;
/** An Append or a snapshot chunk must fit one peer batch, and so one gRPC message. */
const RAFT_MESSAGE_BYTES_MAX = limits.raftPeerBatchBytesMax / 2;
const LONG_MAX = Number.MAX_SAFE_INTEGER;

const int = (min: number, max: number): ConfigType => ({ kind: 'int', min, max });

/** Broker (node) configuration: static, read at start. */
export const BROKER_CONFIGS: readonly ConfigDefinition[] = [
  {
    name: 'node.id',
    type: int(0, INT32_MAX),
    defaultValue: '0',
    doc: "This node's id, unique in the cluster; fixed in the data dir at first start.",
  },
  {
    name: 'listen',
    type: { kind: 'address' },
    defaultValue: '127.0.0.1:7070',
    doc: "host:port the node listens on: gRPC for clients and peers, and followers' fetch connections.",
  },
  {
    name: 'advertised.address',
    type: { kind: 'string' },
    defaultValue: null,
    doc: 'host:port clients are told to use for this node; defaults to listen.',
  },
  {
    name: 'data.dir',
    type: { kind: 'string' },
    defaultValue: './data',
    doc: "Directory holding this node's meta.properties and its LevelDB stores (store/, and log/ for record batches).",
  },
  {
    name: 'cluster.id',
    type: { kind: 'string' },
    defaultValue: null,
    doc: 'Cluster id to format a new data dir with; generated when unset. Checked on every start.',
  },
  {
    name: 'rack',
    type: { kind: 'string' },
    defaultValue: '',
    doc: 'Rack or zone of this node, for replica placement.',
  },
  {
    name: 'log.level',
    type: { kind: 'enum', values: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] },
    defaultValue: 'info',
    doc: 'Minimum level of the JSON log lines written to stdout.',
  },
  {
    name: 'metrics.listen',
    type: { kind: 'address-or-empty' },
    defaultValue: '',
    doc: 'host:port of the Prometheus endpoint (HTTP GET /metrics), e.g. 0.0.0.0:9464. Empty: no metrics endpoint (several nodes on one host would otherwise need a port each).',
  },
  {
    name: 'log.fsync',
    type: { kind: 'enum', values: ['always', 'interval', 'never'] },
    defaultValue: 'always',
    doc: 'always: fsync every group commit before acknowledging (survives power loss); interval: fsync every log.fsync.interval.ms (a power loss can lose that window); never: leave it to the OS (survives a process crash only).',
  },
  {
    name: 'log.fsync.interval.ms',
    type: int(1, 3_600_000),
    defaultValue: '1000',
    doc: 'With log.fsync=interval, how often the write-ahead log is fsynced.',
  },
  {
    name: 'auto.create.topics.enable',
    type: { kind: 'bool' },
    defaultValue: 'false',
    doc: 'Create a missing topic on the first produce to it, with num.partitions partitions.',
  },
  {
    name: 'num.partitions',
    type: int(1, 10_000),
    defaultValue: '1',
    doc: 'Partition count of topics created without one.',
  },
  {
    name: 'default.replication.factor',
    type: int(1, 32),
    defaultValue: '1',
    doc: 'Replication factor of topics created without one.',
  },
  {
    name: 'log.retention.ms',
    type: int(-1, LONG_MAX),
    defaultValue: '604800000',
    doc: 'Default retention.ms of topics: 7 days. -1 keeps records forever.',
  },
  {
    name: 'log.retention.bytes',
    type: int(-1, LONG_MAX),
    defaultValue: '-1',
    doc: 'Default retention.bytes of topics (per partition). -1: no size limit.',
  },
  {
    name: 'log.retention.check.interval.ms',
    type: int(10, 86_400_000),
    defaultValue: '300000',
    doc: 'How often the retention task looks for records to delete.',
  },
  {
    name: 'log.cleaner.enable',
    type: { kind: 'bool' },
    defaultValue: 'true',
    doc: 'Run compaction for topics with cleanup.policy=compact. Off, their logs only grow (or follow retention with compact,delete).',
  },
  {
    name: 'log.cleaner.backoff.ms',
    type: int(10, 86_400_000),
    defaultValue: '15000',
    doc: 'How often the cleaner looks for compacted partitions that are dirty enough to clean.',
  },
  {
    name: 'log.cleaner.delete.retention.ms',
    type: int(0, LONG_MAX),
    defaultValue: '86400000',
    doc: 'Default delete.retention.ms of topics: 1 day.',
  },
  {
    name: 'log.cleaner.min.cleanable.ratio',
    type: { kind: 'number', min: 0, max: 1 },
    defaultValue: '0.5',
    doc: 'Default min.cleanable.dirty.ratio of topics.',
  },
  {
    name: 'log.cleaner.min.compaction.lag.ms',
    type: int(0, LONG_MAX),
    defaultValue: '0',
    doc: 'Default min.compaction.lag.ms of topics.',
  },
  {
    name: 'message.max.bytes',
    type: int(64, 8 * 1024 * 1024),
    defaultValue: '1048588',
    doc: 'Default max.message.bytes of topics: largest record batch accepted.',
  },
  {
    name: 'log.message.timestamp.type',
    type: { kind: 'enum', values: ['CreateTime', 'LogAppendTime'] },
    defaultValue: 'CreateTime',
    doc: 'Default message.timestamp.type of topics.',
  },
  {
    name: 'min.insync.replicas',
    type: int(1, 32),
    defaultValue: '1',
    doc: 'Default min.insync.replicas of topics.',
  },
  {
    name: 'shutdown.timeout.ms',
    type: int(0, 600_000),
    defaultValue: '30000',
    doc: 'On SIGTERM, how long in-flight requests may take before the node exits anyway.',
  },
  {
    name: 'unclean.leader.election.enable',
    type: { kind: 'bool' },
    defaultValue: 'false',
    doc: 'Default unclean.leader.election.enable of topics: let a replica outside the ISR become leader when no ISR member is alive. Keeps the partition available but can lose acknowledged records.',
  },
  {
    name: 'broker.heartbeat.interval.ms',
    type: int(10, 60_000),
    defaultValue: '500',
    doc: 'How often a broker heartbeats the active controller.',
  },
  {
    name: 'broker.session.timeout.ms',
    type: int(50, 600_000),
    defaultValue: '3000',
    doc: 'A broker that has not heartbeated the controller for this long is fenced: its partitions elect other leaders. Also the length of its controller lease: a broker whose heartbeats went unanswered this long stops coordinating groups. Above broker.heartbeat.interval.ms.',
  },
  {
    name: 'replica.lag.time.max.ms',
    type: int(50, 600_000),
    defaultValue: '10000',
    doc: "A follower that has not caught up with its leader's log end for this long leaves the ISR; it rejoins once caught up.",
  },
  {
    name: 'replica.fetch.wait.max.ms',
    type: int(1, 60_000),
    defaultValue: '500',
    doc: "Longest a follower's fetch waits at the leader for new records. Below replica.lag.time.max.ms.",
  },
  {
    name: 'replica.fetch.max.bytes',
    type: int(1024, 64 * 1024 * 1024),
    defaultValue: '1048576',
    doc: 'Bytes a follower fetches per partition and request (at least one batch, however large).',
  },
  {
    name: 'leader.imbalance.check.interval.ms',
    type: int(0, 86_400_000),
    defaultValue: '10000',
    doc: 'How often the controller moves partition leadership back to preferred replicas (the first replica) that are in sync. 0: never.',
  },
  {
    name: 'offsets.topic.num.partitions',
    type: int(1, 1000),
    defaultValue: '50',
    doc: 'Partitions of the internal topic __consumer_offsets, created on first use; a group lives in partition hash(group id) mod this. Fixed once the topic exists.',
  },
  {
    name: 'offsets.topic.replication.factor',
    type: int(-1, 32),
    defaultValue: '-1',
    doc: 'Replication factor of __consumer_offsets when it is created. -1: min(3, live brokers).',
  },
  {
    name: 'offsets.commit.timeout.ms',
    type: int(100, 600_000),
    defaultValue: '5000',
    doc: 'Longest an offset commit or a group state change waits for the in-sync replicas of its __consumer_offsets partition.',
  },
  {
    name: 'offset.metadata.max.bytes',
    type: int(0, 1024 * 1024),
    defaultValue: '4096',
    doc: 'Longest metadata string a committed offset may carry.',
  },
  {
    name: 'group.consumer.session.timeout.ms',
    type: int(100, 3_600_000),
    defaultValue: '45000',
    doc: 'Session timeout of a group member that does not ask for one: a member silent this long is removed and its partitions go to others.',
  },
  {
    name: 'group.consumer.min.session.timeout.ms',
    type: int(100, 3_600_000),
    defaultValue: '1000',
    doc: 'Shortest session timeout a member may ask for.',
  },
  {
    name: 'group.consumer.max.session.timeout.ms',
    type: int(100, 3_600_000),
    defaultValue: '1800000',
    doc: 'Longest session timeout a member may ask for.',
  },
  {
    name: 'group.consumer.heartbeat.interval.ms',
    type: int(10, 3_600_000),
    defaultValue: '5000',
    doc: "How often members heartbeat (capped at a third of each member's session timeout).",
  },
  {
    name: 'raft.voters',
    type: { kind: 'voters' },
    defaultValue: '',
    doc: "The Raft quorum's voters as id@host:port,... (Kafka's controller.quorum.voters). A node not named is a broker that follows the metadata as a Raft observer. Empty: this node alone, at its advertised address. The membership the quorum starts from; a snapshot or membership change in the Raft log wins over it.",
  },
  {
    name: 'raft.tick.ms',
    type: int(1, 60_000),
    defaultValue: '10',
    doc: 'Length of one Raft tick, the unit of the election timeout and heartbeat interval. Fine ticks spread the randomised election timeouts over many values, so two followers rarely time out together and split the vote.',
  },
  {
    name: 'raft.election.timeout.ms',
    type: int(3, 600_000),
    defaultValue: '1000',
    doc: 'A follower that hears no leader for this long (randomised up to twice as long) starts an election. A multiple of raft.tick.ms, at least 3 ticks.',
  },
  {
    name: 'raft.heartbeat.interval.ms',
    type: int(1, 600_000),
    defaultValue: '100',
    doc: 'How often the Raft leader heartbeats its followers. A multiple of raft.tick.ms, below raft.election.timeout.ms.',
  },
  {
    name: 'raft.snapshot.entries',
    type: int(1, 1_000_000_000),
    defaultValue: '10000',
    doc: 'Take a snapshot of the Raft state machine and compact the log every this many applied entries.',
  },
  {
    name: 'raft.snapshot.chunk.bytes',
    type: int(1024, RAFT_MESSAGE_BYTES_MAX),
    defaultValue: '1048576',
    doc: 'Bytes per InstallSnapshot chunk sent to a follower too far behind for the log.',
  },
  {
    name: 'raft.append.bytes.max',
    type: int(1024, RAFT_MESSAGE_BYTES_MAX),
    defaultValue: '1048576',
    doc: 'Bytes of entries per Raft Append message (one entry is always sent, however large).',
  },
  {
    name: 'raft.inflight.appends.max',
    type: int(1, 10_000),
    defaultValue: '64',
    doc: 'Append messages the Raft leader keeps in flight to one follower before it waits for acks.',
  },
  {
    name: 'raft.uncommitted.bytes.max',
    type: int(1024, 1024 * 1024 * 1024),
    defaultValue: '67108864',
    doc: 'Bytes of proposed but uncommitted Raft entries the leader accepts before refusing proposals (retry later).',
  },
];

/** Topic configuration: per topic, alterable at run time; unset keys follow the broker default. */
export interface TopicConfigDefinition extends ConfigDefinition {
  /** The broker key whose value is this topic key's default. */
  readonly brokerDefault: string | null;
}

export const TOPIC_CONFIGS: readonly TopicConfigDefinition[] = [
  {
    name: 'retention.ms',
    type: int(-1, LONG_MAX),
    defaultValue: null,
    brokerDefault: 'log.retention.ms',
    doc: 'Delete batches whose newest record is older than this. -1: keep forever.',
  },
  {
    name: 'retention.bytes',
    type: int(-1, LONG_MAX),
    defaultValue: null,
    brokerDefault: 'log.retention.bytes',
    doc: 'Delete the oldest batches while a partition is larger than this. -1: no limit.',
  },
  {
    name: 'max.message.bytes',
    type: int(64, 8 * 1024 * 1024),
    defaultValue: null,
    brokerDefault: 'message.max.bytes',
    doc: 'Largest record batch this topic accepts.',
  },
  {
    name: 'message.timestamp.type',
    type: { kind: 'enum', values: ['CreateTime', 'LogAppendTime'] },
    defaultValue: null,
    brokerDefault: 'log.message.timestamp.type',
    doc: "CreateTime keeps the producer's timestamps; LogAppendTime stamps the broker's clock.",
  },
  {
    name: 'cleanup.policy',
    type: { kind: 'enum', values: ['delete', 'compact', 'compact,delete', 'delete,compact'] },
    defaultValue: 'delete',
    brokerDefault: null,
    doc: 'delete: drop old batches by retention.ms / retention.bytes. compact: keep the latest record per key (records need keys). compact,delete: both.',
  },
  {
    name: 'delete.retention.ms',
    type: int(0, LONG_MAX),
    defaultValue: null,
    brokerDefault: 'log.cleaner.delete.retention.ms',
    doc: 'Compacted topics: a tombstone (null value) that is the latest record of its key is removed once its batch is older than this.',
  },
  {
    name: 'min.cleanable.dirty.ratio',
    type: { kind: 'number', min: 0, max: 1 },
    defaultValue: null,
    brokerDefault: 'log.cleaner.min.cleanable.ratio',
    doc: 'Compacted topics: clean a partition once the bytes not yet cleaned are at least this share of it.',
  },
  {
    name: 'min.compaction.lag.ms',
    type: int(0, LONG_MAX),
    defaultValue: null,
    brokerDefault: 'log.cleaner.min.compaction.lag.ms',
    doc: 'Compacted topics: a batch is not cleaned until its newest record is at least this old.',
  },
  {
    name: 'min.insync.replicas',
    type: int(1, 32),
    defaultValue: null,
    brokerDefault: 'min.insync.replicas',
    doc: 'acks=all produces fail with NOT_ENOUGH_REPLICAS while fewer replicas are in sync.',
  },
  {
    name: 'unclean.leader.election.enable',
    type: { kind: 'bool' },
    defaultValue: null,
    brokerDefault: 'unclean.leader.election.enable',
    doc: 'Let a replica outside the ISR lead when no ISR member is alive: available, but acknowledged records can be lost.',
  },
];

/**
 * Dynamic broker configuration: set while the cluster runs, through AlterConfigs on a BROKER
 * resource (a node id, or empty for every node), and kept in the metadata log. Kafka's names.
 */
export const DYNAMIC_BROKER_CONFIGS: readonly ConfigDefinition[] = [
  {
    name: 'leader.replication.throttled.rate',
    type: int(1, LONG_MAX),
    defaultValue: null,
    doc: 'Bytes per second a partition leader sends, over all its partitions, to replicas that a reassignment is adding and that are not in sync yet; unset: no limit. In-sync followers are never throttled. `brook partitions reassign --throttle` sets it for the move.',
  },
];

export function dynamicBrokerDefinition(name: string): ConfigDefinition | undefined {
  return DYNAMIC_BROKER_CONFIGS.find((d) => d.name === name);
}

export function brokerDefinition(name: string): ConfigDefinition | undefined {
  return BROKER_CONFIGS.find((d) => d.name === name);
}

export function topicDefinition(name: string): TopicConfigDefinition | undefined {
  return TOPIC_CONFIGS.find((d) => d.name === name);
}

/** `auto.create.topics.enable` → `--auto-create-topics-enable`. */
export function flagName(name: string): string {
  return name.replaceAll('.', '-');
}

/** `auto.create.topics.enable` → `BROOK_AUTO_CREATE_TOPICS_ENABLE`. */
export function envName(name: string): string {
  return `BROOK_${name.replaceAll('.', '_').toUpperCase()}`;
}
