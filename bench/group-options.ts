/**
 * The command line of `npm run bench -- group`: the preloaded topic, the group, the failover
 * trials and the broker flags of the group protocol. Every option is checked here, so the
 * phases can trust their inputs.
 */
import { Command } from 'commander';
import { SDK_RECORD_OVERHEAD_BYTES, addRunOptions, integer, type BenchOptions } from './options.js';

/** Largest batchBytesMax the SDK accepts (8 MiB, the broker's batch limit). */
const SDK_BATCH_BYTES_CEILING = 8 * 1024 * 1024;
/** The broker's group.consumer.min.session.timeout.ms default: members may not ask for less. */
const SESSION_TIMEOUT_MS_MIN = 1_000;

export interface GroupBenchOptions {
  /** Records preloaded, and read by each consume phase. */
  readonly recordCount: number;
  readonly recordBytes: number;
  /** Records per producer batch of the preload. */
  readonly batchRecords: number;
  readonly partitionCount: number;
  /** Members of the group, each a child process. */
  readonly memberCount: number;
  /** The failover members' GroupConsumer sessionTimeoutMs. */
  readonly sessionTimeoutMs: number;
  /** The consume phase's members' sessionTimeoutMs (the SDK's default: no spurious rebalance). */
  readonly consumeSessionTimeoutMs: number;
  /** The brokers' group.consumer.heartbeat.interval.ms. */
  readonly heartbeatIntervalMs: number;
  /** SIGKILLs of a member timed. */
  readonly kills: number;
  /** Graceful close() of a member timed. */
  readonly closes: number;
  /** The steady load of the failover phase: one record to every partition this often. */
  readonly loadIntervalMs: number;
  readonly maxSeconds: number;
  readonly isJson: boolean;
  readonly brookBin: string;
}

export function parseGroupOptions(argv: readonly string[]): GroupBenchOptions {
  const program = new Command('bench group')
    .description(
      'Consumer-group benchmark: a 3-node cluster (RF 3); consume throughput of a group of ' +
        'members in their own processes beside one assign-based Consumer and raw LevelDB ' +
        'reads; then, under a steady acks=all load, the time from a member SIGKILLed (or ' +
        'closed) to its partitions being consumed by the others.',
    )
    .option('--records <n>', 'records preloaded and consumed', integer(1, 100_000_000), 100_000)
    .option('--record-bytes <b>', 'bytes of each record value', integer(1, 1_048_576), 1024)
    .option('--batch-records <r>', 'records per producer batch (preload)', integer(1, 100_000), 100)
    .option('--partitions <p>', 'partitions of the topic', integer(2, 1_000), 6)
    .option('--members <m>', 'members of the group', integer(2, 64), 3)
    .option(
      '--session-timeout-ms <ms>',
      "the failover members' session timeout",
      integer(SESSION_TIMEOUT_MS_MIN, 1_800_000),
      3_000,
    )
    .option(
      '--consume-session-timeout-ms <ms>',
      "the consume phase's members' session timeout (default: the SDK's)",
      integer(SESSION_TIMEOUT_MS_MIN, 1_800_000),
      45_000,
    )
    .option(
      '--heartbeat-interval-ms <ms>',
      "the brokers' group.consumer.heartbeat.interval.ms (members get at most a third of their session)",
      integer(10, 3_600_000),
      200,
    )
    .option('--kills <k>', 'member SIGKILLs timed', integer(0, 100), 5)
    .option('--closes <c>', 'graceful member close() timed', integer(0, 100), 5)
    .option(
      '--load-interval-ms <ms>',
      'failover load: one record to every partition this often (acks=all)',
      integer(1, 10_000),
      10,
    );
  addRunOptions(program);
  program.parse([...argv], { from: 'user' });
  const opts = program.opts<{
    records: number;
    recordBytes: number;
    batchRecords: number;
    partitions: number;
    members: number;
    sessionTimeoutMs: number;
    consumeSessionTimeoutMs: number;
    heartbeatIntervalMs: number;
    kills: number;
    closes: number;
    loadIntervalMs: number;
    maxSeconds: number;
    json: boolean;
    brookBin: string;
  }>();
  if (opts.members > opts.partitions) {
    program.error(`--members ${opts.members} needs at least that many --partitions`);
  }
  return {
    recordCount: opts.records,
    recordBytes: opts.recordBytes,
    batchRecords: opts.batchRecords,
    partitionCount: opts.partitions,
    memberCount: opts.members,
    sessionTimeoutMs: opts.sessionTimeoutMs,
    consumeSessionTimeoutMs: opts.consumeSessionTimeoutMs,
    heartbeatIntervalMs: opts.heartbeatIntervalMs,
    kills: opts.kills,
    closes: opts.closes,
    loadIntervalMs: opts.loadIntervalMs,
    maxSeconds: opts.maxSeconds,
    isJson: opts.json,
    brookBin: opts.brookBin,
  };
}

/**
 * The preload's producer settings as the produce workload takes them (workloads.ts): acks=all,
 * batches of R records spread over the partitions a batch at a time, 10,000 sends in flight.
 */
export function preloadOptions(options: GroupBenchOptions): BenchOptions {
  return {
    workload: 'consume',
    recordCount: options.recordCount,
    recordBytes: options.recordBytes,
    batchRecords: options.batchRecords,
    batchBytesMax: Math.min(
      SDK_BATCH_BYTES_CEILING,
      options.batchRecords * (options.recordBytes + SDK_RECORD_OVERHEAD_BYTES),
    ),
    acks: 'all',
    partitionCount: options.partitionCount,
    compression: 'none',
    fsync: 'always',
    windowRecords: 10_000,
    rawGroupBatches: null,
    hasRawStateKey: false,
    clusterNodes: 3,
    replicationFactor: 3,
    oneAtATimeRecords: 0,
    maxSeconds: options.maxSeconds,
    isJson: options.isJson,
    brookBin: options.brookBin,
  };
}
