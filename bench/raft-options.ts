/**
 * The command line of `npm run bench -- raft`: entry sizes, how proposals are batched and
 * pipelined, how long each phase runs, and how many leader kills to time. Every option is
 * checked here, so the phases can trust their inputs.
 */
import { Command, InvalidArgumentError } from 'commander';
import { addRunOptions, integer } from './options.js';

export interface RaftBenchOptions {
  /** Entry sizes measured, one throughput phase each, in order. */
  readonly entryBytes: readonly number[];
  /** Entries per Propose call (the client's batching). */
  readonly entriesPerProposal: number;
  /** Propose calls in flight at once (the client's pipelining). */
  readonly inflight: number;
  /** Length of each throughput phase. */
  readonly phaseSeconds: number;
  /** Leader kills timed, each after the killed node has rejoined and caught up. */
  readonly failovers: number;
  /** Hard limit on the whole run; phases stop early and report what they measured. */
  readonly maxSeconds: number;
  readonly isJson: boolean;
  readonly brookBin: string;
}

export function parseRaftOptions(argv: readonly string[]): RaftBenchOptions {
  const program = new Command('bench raft')
    .description(
      'Raft benchmark: starts 3 brook server processes as one quorum on loopback (default ' +
        'timeouts), pipelines RaftPeer.Propose calls at the leader for 100 B and 4 KiB entries, ' +
        'times leader kills, and measures raw LevelDB and raw loopback gRPC beside it.',
    )
    .option('--entry-bytes <list>', 'entry sizes, comma-separated', sizes, [100, 4096])
    .option('--entries-per-proposal <n>', 'entries per Propose call', integer(1, 10_000), 100)
    .option('--inflight <n>', 'Propose calls in flight', integer(1, 1_000), 16)
    .option('--seconds <s>', 'length of each throughput phase', integer(1, 3_600), 10)
    .option('--failovers <n>', 'leader kills to time', integer(0, 20), 3);
  addRunOptions(program);
  program.parse([...argv], { from: 'user' });
  const opts = program.opts<{
    entryBytes: number[];
    entriesPerProposal: number;
    inflight: number;
    seconds: number;
    failovers: number;
    maxSeconds: number;
    json: boolean;
    brookBin: string;
  }>();
  return {
    entryBytes: opts.entryBytes,
    entriesPerProposal: opts.entriesPerProposal,
    inflight: opts.inflight,
    phaseSeconds: opts.seconds,
    failovers: opts.failovers,
    maxSeconds: opts.maxSeconds,
    isJson: opts.json,
    brookBin: opts.brookBin,
  };
}

function sizes(value: string): number[] {
  const parsed = value.split(',').map((item) => integer(1, 1_048_576)(item.trim()));
  if (parsed.length === 0 || parsed.length > 8) {
    throw new InvalidArgumentError('expected 1 to 8 sizes');
  }
  return parsed;
}
