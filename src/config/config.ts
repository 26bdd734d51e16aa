/**
 * Loads the broker's configuration from, lowest to highest precedence: built-in defaults, an
 * optional config file (`.json` object or Java-style `.properties`), `BROOK_*` environment
 * variables, and command-line flags. Unknown keys and bad values are errors that name the key
 * and where it came from, so a typo never silently falls back to a default.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { BROKER_CONFIGS, brokerDefinition, envName, type ConfigDefinition } from './definitions.js';
import { parseAddress, parseConfigValue, parseVoters, type VoterAddress } from './parse.js';
import { POD_ENV, derivePodConfig } from './pod.js';

export type FsyncPolicy = 'always' | 'interval' | 'never';
export type TimestampTypeName = 'CreateTime' | 'LogAppendTime';
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

/** The broker's effective configuration. Immutable after start. */
export interface BrokerConfig {
  readonly nodeId: number;
  readonly listen: { readonly host: string; readonly port: number };
  readonly advertisedAddress: string;
  readonly dataDir: string;
  readonly clusterId: string | null;
  readonly rack: string;
  readonly logLevel: LogLevel;
  /** Where the Prometheus /metrics endpoint listens; null: no endpoint. */
  readonly metricsListen: { readonly host: string; readonly port: number } | null;
  readonly fsync: FsyncPolicy;
  readonly fsyncIntervalMs: number;
  readonly autoCreateTopics: boolean;
  readonly numPartitions: number;
  readonly defaultReplicationFactor: number;
  readonly retentionMs: number;
  readonly retentionBytes: number;
  readonly retentionCheckIntervalMs: number;
  readonly cleaner: CleanerSettings;
  readonly messageMaxBytes: number;
  readonly messageTimestampType: TimestampTypeName;
  readonly minInsyncReplicas: number;
  readonly shutdownTimeoutMs: number;
  readonly uncleanLeaderElection: boolean;
  readonly replication: ReplicationSettings;
  readonly groups: GroupSettings;
  readonly raft: RaftSettings;
  /** Every key with its effective text value and where it came from (for DescribeConfigs). */
  readonly entries: ReadonlyMap<string, { value: string; source: ConfigSourceName }>;
}

/** The group coordinator and its internal topic __consumer_offsets. */
export interface GroupSettings {
  readonly offsetsTopicPartitions: number;
  /** -1: min(3, live brokers) when the topic is created. */
  readonly offsetsTopicReplicationFactor: number;
  readonly offsetsCommitTimeoutMs: number;
  readonly offsetMetadataMaxBytes: number;
  readonly sessionTimeoutMs: number;
  readonly minSessionTimeoutMs: number;
  readonly maxSessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
}

/** Log compaction: the cleaner task and the defaults of the compacted topics' configs. */
export interface CleanerSettings {
  readonly enable: boolean;
  readonly backoffMs: number;
  /** Defaults of delete.retention.ms, min.cleanable.dirty.ratio and min.compaction.lag.ms. */
  readonly deleteRetentionMs: number;
  readonly minCleanableRatio: number;
  readonly minCompactionLagMs: number;
}

/**
 * How the Raft driver runs, in ticks where the core counts ticks: the raft.* keys other than
 * raft.voters, exactly as RaftNode takes them.
 */
export interface RaftTuning {
  readonly tickMs: number;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  /** Serialise the state machine every this many applied entries; the log is compacted one such interval behind. */
  readonly snapshotEntries: number;
  readonly snapshotChunkBytes: number;
  readonly appendBytesMax: number;
  readonly inflightAppendsMax: number;
  readonly uncommittedBytesMax: number;
}

/** Broker sessions with the controller, and partition replication. */
export interface ReplicationSettings {
  readonly heartbeatIntervalMs: number;
  readonly sessionTimeoutMs: number;
  readonly lagTimeMaxMs: number;
  readonly fetchWaitMaxMs: number;
  /** Per partition and fetch request. */
  readonly fetchMaxBytes: number;
  /** 0: no preferred-leader rebalancing. */
  readonly leaderImbalanceCheckIntervalMs: number;
}

/** The Raft module's settings: the bootstrap voters and the driver's tuning. */
export interface RaftSettings extends RaftTuning {
  /**
   * The voters at bootstrap, in configured order; never empty: an unset raft.voters becomes
   * this node alone at its advertised address (with port 0 when listening on port 0: the
   * broker fills in the bound port).
   */
  readonly voters: readonly VoterAddress[];
}

export type ConfigSourceName = 'default' | 'file' | 'env' | 'flag';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export interface ConfigInputs {
  /** Config keys given as flags (already mapped from `--kebab-case` to `dotted.name`). */
  readonly flags: Readonly<Record<string, string>>;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Path of a config file, or null. */
  readonly file: string | null;
}

export function loadBrokerConfig(inputs: ConfigInputs): BrokerConfig {
  const raw = new Map<string, { value: string; source: ConfigSourceName }>();
  for (const definition of BROKER_CONFIGS) {
    if (definition.defaultValue !== null) {
      raw.set(definition.name, { value: definition.defaultValue, source: 'default' });
    }
  }
  if (inputs.file !== null) {
    for (const [name, value] of Object.entries(readConfigFile(inputs.file))) {
      setChecked(raw, name, value, 'file', `config file ${inputs.file}`);
    }
  }
  for (const definition of BROKER_CONFIGS) {
    const value = inputs.env[envName(definition.name)];
    if (value !== undefined && value !== '') {
      setChecked(raw, definition.name, value, 'env', `environment ${envName(definition.name)}`);
    }
  }
  for (const [name, value] of Object.entries(inputs.flags)) {
    setChecked(raw, name, value, 'flag', `flag --${name.replaceAll('.', '-')}`);
  }
  applyPodConfig(raw, inputs.env);
  return toBrokerConfig(raw);
}

function setChecked(
  raw: Map<string, { value: string; source: ConfigSourceName }>,
  name: string,
  value: string,
  source: ConfigSourceName,
  where: string,
): void {
  const definition = brokerDefinition(name);
  if (definition === undefined) {
    throw new ConfigError(`unknown config "${name}" in ${where}; see \`brook server --help\``);
  }
  const parsed = parseConfigValue(definition, value);
  if (!parsed.ok) throw new ConfigError(`${parsed.error} (from ${where})`);
  raw.set(name, { value, source });
}

/**
 * In a StatefulSet pod (BROOK_POD_MODE=true), fills node.id, listen, advertised.address and
 * raft.voters from the pod's name and DNS (pod.ts) where no flag, env or file gave them.
 */
function applyPodConfig(
  raw: Map<string, { value: string; source: ConfigSourceName }>,
  env: Readonly<Record<string, string | undefined>>,
): void {
  const explicit = new Map<string, string>();
  for (const [name, entry] of raw) {
    if (entry.source !== 'default') explicit.set(name, entry.value);
  }
  const derived = derivePodConfig(env, explicit);
  if (!derived.ok) throw new ConfigError(derived.error);
  for (const [name, value] of Object.entries(derived.values)) {
    setChecked(raw, name, value, 'env', `pod mode (${POD_ENV.mode})`);
  }
}

function readConfigFile(file: string): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read config file ${file}: ${(error as Error).message}`);
  }
  if (path.extname(file) === '.json') return parseJsonConfig(file, text);
  return parseProperties(file, text);
}

function parseJsonConfig(file: string, text: string): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`config file ${file} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(`config file ${file} must hold a JSON object of "key": value`);
  }
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (typeof value === 'object' && value !== null) {
      throw new ConfigError(`config file ${file}: "${key}" must be a string, number or boolean`);
    }
    out[key] = String(value);
  }
  return out;
}

/** `key=value` lines; `#` and `!` start comments, as in Kafka's server.properties. */
export function parseProperties(file: string, text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? '').trim();
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    const equals = line.indexOf('=');
    if (equals <= 0) {
      throw new ConfigError(`config file ${file} line ${i + 1}: expected key=value, got "${line}"`);
    }
    out[line.slice(0, equals).trim()] = line.slice(equals + 1).trim();
  }
  return out;
}

function toBrokerConfig(
  raw: Map<string, { value: string; source: ConfigSourceName }>,
): BrokerConfig {
  const text = (name: string): string | null => raw.get(name)?.value ?? null;
  const value = (name: string): string | number | boolean => {
    const definition = brokerDefinition(name) as ConfigDefinition;
    const parsed = parseConfigValue(definition, text(name) ?? '');
    if (!parsed.ok) throw new ConfigError(parsed.error);
    return parsed.value;
  };
  const listenText = value('listen') as string;
  const listen = parseAddress(listenText);
  if (listen === null) throw new ConfigError(`listen must be host:port, not "${listenText}"`);
  const advertised = text('advertised.address') ?? defaultAdvertised(listen);
  if (parseAddress(advertised) === null) {
    throw new ConfigError(`advertised.address must be host:port, not "${advertised}"`);
  }
  const entries = new Map(raw);
  entries.set(
    'advertised.address',
    raw.get('advertised.address') ?? { value: advertised, source: 'default' },
  );
  return {
    nodeId: value('node.id') as number,
    listen,
    advertisedAddress: advertised,
    dataDir: path.resolve(value('data.dir') as string),
    clusterId: text('cluster.id'),
    rack: value('rack') as string,
    logLevel: value('log.level') as LogLevel,
    metricsListen: parseAddress(value('metrics.listen') as string),
    fsync: value('log.fsync') as FsyncPolicy,
    fsyncIntervalMs: value('log.fsync.interval.ms') as number,
    autoCreateTopics: value('auto.create.topics.enable') as boolean,
    numPartitions: value('num.partitions') as number,
    defaultReplicationFactor: value('default.replication.factor') as number,
    retentionMs: value('log.retention.ms') as number,
    retentionBytes: value('log.retention.bytes') as number,
    retentionCheckIntervalMs: value('log.retention.check.interval.ms') as number,
    cleaner: {
      enable: value('log.cleaner.enable') as boolean,
      backoffMs: value('log.cleaner.backoff.ms') as number,
      deleteRetentionMs: value('log.cleaner.delete.retention.ms') as number,
      minCleanableRatio: value('log.cleaner.min.cleanable.ratio') as number,
      minCompactionLagMs: value('log.cleaner.min.compaction.lag.ms') as number,
    },
    messageMaxBytes: value('message.max.bytes') as number,
    messageTimestampType: value('log.message.timestamp.type') as TimestampTypeName,
    minInsyncReplicas: value('min.insync.replicas') as number,
    shutdownTimeoutMs: value('shutdown.timeout.ms') as number,
    uncleanLeaderElection: value('unclean.leader.election.enable') as boolean,
    replication: replicationSettings(value),
    groups: groupSettings(value),
    raft: raftSettings(value, value('node.id') as number, advertised),
    entries,
  };
}

/** Checks the relations between broker session and replica timing keys. */
function replicationSettings(
  value: (name: string) => string | number | boolean,
): ReplicationSettings {
  const heartbeatIntervalMs = value('broker.heartbeat.interval.ms') as number;
  const sessionTimeoutMs = value('broker.session.timeout.ms') as number;
  const lagTimeMaxMs = value('replica.lag.time.max.ms') as number;
  const fetchWaitMaxMs = value('replica.fetch.wait.max.ms') as number;
  if (sessionTimeoutMs <= heartbeatIntervalMs) {
    throw new ConfigError(
      `broker.session.timeout.ms (${sessionTimeoutMs}) must be above broker.heartbeat.interval.ms (${heartbeatIntervalMs}), or every broker would be fenced between heartbeats`,
    );
  }
  if (fetchWaitMaxMs >= lagTimeMaxMs) {
    throw new ConfigError(
      `replica.fetch.wait.max.ms (${fetchWaitMaxMs}) must be below replica.lag.time.max.ms (${lagTimeMaxMs}), or an idle follower would drop out of the ISR`,
    );
  }
  return {
    heartbeatIntervalMs,
    sessionTimeoutMs,
    lagTimeMaxMs,
    fetchWaitMaxMs,
    fetchMaxBytes: value('replica.fetch.max.bytes') as number,
    leaderImbalanceCheckIntervalMs: value('leader.imbalance.check.interval.ms') as number,
  };
}

/** Checks the relations between the group.consumer.* session keys. */
function groupSettings(value: (name: string) => string | number | boolean): GroupSettings {
  const sessionTimeoutMs = value('group.consumer.session.timeout.ms') as number;
  const minSessionTimeoutMs = value('group.consumer.min.session.timeout.ms') as number;
  const maxSessionTimeoutMs = value('group.consumer.max.session.timeout.ms') as number;
  if (minSessionTimeoutMs > maxSessionTimeoutMs) {
    throw new ConfigError(
      `group.consumer.min.session.timeout.ms (${minSessionTimeoutMs}) must not be above group.consumer.max.session.timeout.ms (${maxSessionTimeoutMs})`,
    );
  }
  if (sessionTimeoutMs < minSessionTimeoutMs || sessionTimeoutMs > maxSessionTimeoutMs) {
    throw new ConfigError(
      `group.consumer.session.timeout.ms (${sessionTimeoutMs}) must lie within group.consumer.min.session.timeout.ms (${minSessionTimeoutMs}) and group.consumer.max.session.timeout.ms (${maxSessionTimeoutMs})`,
    );
  }
  return {
    offsetsTopicPartitions: value('offsets.topic.num.partitions') as number,
    offsetsTopicReplicationFactor: value('offsets.topic.replication.factor') as number,
    offsetsCommitTimeoutMs: value('offsets.commit.timeout.ms') as number,
    offsetMetadataMaxBytes: value('offset.metadata.max.bytes') as number,
    sessionTimeoutMs,
    minSessionTimeoutMs,
    maxSessionTimeoutMs,
    heartbeatIntervalMs: value('group.consumer.heartbeat.interval.ms') as number,
  };
}

/** Fewest ticks in an election timeout: with fewer, one late heartbeat starts an election. */
const ELECTION_TICKS_MIN = 3;

/** Checks the relations between the raft.* keys, which no single key's type can express. */
function raftSettings(
  value: (name: string) => string | number | boolean,
  nodeId: number,
  advertised: string,
): RaftSettings {
  const tickMs = value('raft.tick.ms') as number;
  const electionMs = value('raft.election.timeout.ms') as number;
  const heartbeatMs = value('raft.heartbeat.interval.ms') as number;
  if (electionMs % tickMs !== 0 || electionMs < ELECTION_TICKS_MIN * tickMs) {
    throw new ConfigError(
      `raft.election.timeout.ms (${electionMs}) must be a multiple of raft.tick.ms (${tickMs}) and at least ${ELECTION_TICKS_MIN} ticks (${ELECTION_TICKS_MIN * tickMs})`,
    );
  }
  if (heartbeatMs % tickMs !== 0 || heartbeatMs >= electionMs) {
    throw new ConfigError(
      `raft.heartbeat.interval.ms (${heartbeatMs}) must be a multiple of raft.tick.ms (${tickMs}) and below raft.election.timeout.ms (${electionMs})`,
    );
  }
  const appendBytesMax = value('raft.append.bytes.max') as number;
  const uncommittedBytesMax = value('raft.uncommitted.bytes.max') as number;
  if (uncommittedBytesMax < appendBytesMax) {
    throw new ConfigError(
      `raft.uncommitted.bytes.max (${uncommittedBytesMax}) must be at least raft.append.bytes.max (${appendBytesMax}), or a full Append could never be proposed`,
    );
  }
  return {
    voters: votersOf(value('raft.voters') as string, nodeId, advertised),
    tickMs,
    electionTicks: electionMs / tickMs,
    heartbeatTicks: heartbeatMs / tickMs,
    snapshotEntries: value('raft.snapshot.entries') as number,
    snapshotChunkBytes: value('raft.snapshot.chunk.bytes') as number,
    appendBytesMax,
    inflightAppendsMax: value('raft.inflight.appends.max') as number,
    uncommittedBytesMax,
  };
}

function votersOf(text: string, nodeId: number, advertised: string): VoterAddress[] {
  const parsed = parseVoters(text);
  // Each source was checked when it was set; this is the effective value, already valid.
  if (!parsed.ok) throw new ConfigError(`raft.voters: ${parsed.error}`);
  if (parsed.voters.length === 0) return [{ id: nodeId, address: advertised }];
  return parsed.voters;
}

/** A wildcard bind address is not something a client can dial: advertise loopback instead. */
function defaultAdvertised(listen: { host: string; port: number }): string {
  const wildcard = listen.host === '0.0.0.0' || listen.host === '[::]';
  return `${wildcard ? '127.0.0.1' : listen.host}:${listen.port}`;
}
