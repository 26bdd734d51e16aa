/**
 * The benchmark's command line: what to run and with which producer, topic and broker settings.
 * Every option is checked here, so the phases can trust their inputs.
 */
import { Command, InvalidArgumentError, Option } from 'commander';

export type Workload = 'produce' | 'consume';
export type Acks = 'all' | 'leader' | 'none';
export type CompressionName = 'none' | 'gzip' | 'snappy';
export type FsyncPolicy = 'always' | 'interval' | 'never';

/**
 * The SDK's estimate of per-record framing (producer.ts RECORD_OVERHEAD_BYTES): a batch closes
 * when records × (valueBytes + 24) reach batchBytesMax, so R × (B + 24) closes batches at R.
 */
export const SDK_RECORD_OVERHEAD_BYTES = 24;
/** Largest batchBytesMax the SDK accepts (8 MiB, the broker's batch limit). */
const SDK_BATCH_BYTES_CEILING = 8 * 1024 * 1024;

export interface BenchOptions {
  readonly workload: Workload;
  readonly recordCount: number;
  readonly recordBytes: number;
  /** Records per producer batch (R); 1 means no batching. */
  readonly batchRecords: number;
  /** The producer's batchBytesMax, derived from batchRecords and recordBytes. */
  readonly batchBytesMax: number;
  readonly acks: Acks;
  readonly partitionCount: number;
  readonly compression: CompressionName;
  readonly fsync: FsyncPolicy;
  /** Sends awaited at most at once (the window of outstanding promises). */
  readonly windowRecords: number;
  /** Producer batches per raw LevelDB write; null: derived (see raw-limits.ts). */
  readonly rawGroupBatches: number | null;
  /** Raw LevelDB also writes the partition state key in every write, as the broker did before its batch store split. */
  readonly hasRawStateKey: boolean;
  /** Nodes of the replicated cluster the produce workload also measures; 0: no cluster. */
  readonly clusterNodes: number;
  /** Replication factor of the cluster's topic (min.insync.replicas: min(2, R)). */
  readonly replicationFactor: number;
  /** Records of each one-at-a-time latency phase (produce only); 0: none. */
  readonly oneAtATimeRecords: number;
  /** Hard limit on the whole run; phases stop early and report what they measured. */
  readonly maxSeconds: number;
  readonly isJson: boolean;
  readonly brookBin: string;
}

/** The parsed command line, as commander gives it. */
interface RawOptions {
  readonly records: number;
  readonly recordBytes: number;
  readonly batchRecords: number;
  readonly acks: Acks;
  readonly partitions: number;
  readonly compression: CompressionName;
  readonly fsync: FsyncPolicy;
  readonly window: number;
  readonly rawGroupBatches?: number;
  readonly rawStateKey: boolean;
  readonly clusterNodes: number;
  readonly replicationFactor: number;
  readonly oneAtATimeRecords: number;
  readonly maxSeconds: number;
  readonly json: boolean;
  readonly brookBin: string;
}

export function parseOptions(argv: readonly string[]): BenchOptions {
  const program = new Command('bench')
    .description(
      'Brook end-to-end benchmark: starts a broker, measures produce or consume throughput and ' +
        'latency, write amplification, and raw LevelDB beside it in the same run; produce also ' +
        'measures a replicated cluster and one-record-at-a-time latency.',
    )
    .argument(
      '<workload>',
      'produce | consume (raft and group are workloads with options of their own: bench raft --help, bench group --help)',
      choice(['produce', 'consume'] as const),
    );
  addWorkloadOptions(program);
  addClusterOptions(program);
  addRunOptions(program);
  program.parse([...argv], { from: 'user' });
  const opts = program.opts<RawOptions>();
  if (opts.clusterNodes > 0 && opts.replicationFactor > opts.clusterNodes) {
    program.error(
      `--replication-factor ${opts.replicationFactor} needs at least that many --cluster-nodes ` +
        `(got ${opts.clusterNodes})`,
    );
  }
  const batchBytesMax = Math.min(
    SDK_BATCH_BYTES_CEILING,
    opts.batchRecords * (opts.recordBytes + SDK_RECORD_OVERHEAD_BYTES),
  );
  return {
    workload: program.processedArgs[0] as Workload,
    recordCount: opts.records,
    recordBytes: opts.recordBytes,
    batchRecords: opts.batchRecords,
    batchBytesMax,
    acks: opts.acks,
    partitionCount: opts.partitions,
    compression: opts.compression,
    fsync: opts.fsync,
    windowRecords: opts.window,
    rawGroupBatches: opts.rawGroupBatches ?? null,
    hasRawStateKey: opts.rawStateKey,
    clusterNodes: opts.clusterNodes,
    replicationFactor: opts.replicationFactor,
    oneAtATimeRecords: opts.oneAtATimeRecords,
    maxSeconds: opts.maxSeconds,
    isJson: opts.json,
    brookBin: opts.brookBin,
  };
}

/** The producer, topic and broker settings, and the raw LevelDB yardstick's. */
function addWorkloadOptions(program: Command): void {
  program
    .option('--records <n>', 'records to produce or consume', integer(1, 100_000_000), 200_000)
    .option('--record-bytes <b>', 'bytes of each record value', integer(1, 1_048_576), 1024)
    .option('--batch-records <r>', 'records per producer batch', integer(1, 100_000), 100)
    .addOption(
      new Option('--acks <acks>', 'producer acks')
        .choices(['all', 'leader', 'none'])
        .default('all'),
    )
    .option('--partitions <p>', 'partitions of the topic', integer(1, 1_000), 1)
    .addOption(
      new Option('--compression <codec>', 'producer batch compression')
        .choices(['none', 'gzip', 'snappy'])
        .default('none'),
    )
    .addOption(
      new Option('--fsync <policy>', "the brokers' log.fsync (single node and cluster alike)")
        .choices(['always', 'interval', 'never'])
        .default('always'),
    )
    .option('--window <n>', 'sends outstanding at most', integer(1, 1_000_000), 10_000)
    .option(
      '--raw-group-batches <g>',
      'producer batches per raw LevelDB write (default: what one produce request carries)',
      integer(1, 100_000),
    )
    .option(
      '--raw-state-key',
      'raw LevelDB also puts the partition state key in every write, as the broker did before its batch store split',
      false,
    );
}

/** The replicated cluster and the one-record-at-a-time latency phases (produce only). */
function addClusterOptions(program: Command): void {
  program
    .option(
      '--cluster-nodes <n>',
      'produce only: also measure a cluster of this many nodes on loopback (0: no cluster)',
      integer(0, 9),
      3,
    )
    .option(
      '--replication-factor <r>',
      "replication factor of the cluster's topic (its min.insync.replicas: min(2, r))",
      integer(1, 9),
      3,
    )
    .option(
      '--one-at-a-time-records <n>',
      'produce only: records sent one at a time, each ack awaited, on each target (0: none)',
      integer(0, 10_000_000),
      2_000,
    );
}

/** The options every workload takes: its time limit, JSON output, and the launcher to start. */
export function addRunOptions(program: Command): void {
  program
    .option('--max-seconds <s>', 'hard time limit of the run', integer(10, 86_400), 300)
    .option('--json', 'print one JSON object instead of the human-readable block', false)
    .option('--brook-bin <path>', 'the brook launcher to start', 'bin/brook')
    .showHelpAfterError();
}

/** A commander argument parser for an integer in [min, max]. */
export function integer(min: number, max: number): (value: string) => number {
  return (value) => {
    const parsed = Number(value);
    if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
      throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    }
    return parsed;
  };
}

function choice<T extends string>(values: readonly T[]): (value: string) => T {
  return (value) => {
    if (!(values as readonly string[]).includes(value)) {
      throw new InvalidArgumentError(`expected one of: ${values.join(', ')}`);
    }
    return value as T;
  };
}
