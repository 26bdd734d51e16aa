/**
 * `brook dev`: runs a local cluster of N nodes for development, each a separate `brook server`
 * process on 127.0.0.1, until Ctrl-C. The layout is src/cli/dev/plan.ts, the run
 * src/cli/dev/run-cluster.ts.
 */
import type { Command } from 'commander';
import {
  DEV_BASE_PORT_DEFAULT,
  DEV_DATA_DIR_DEFAULT,
  DEV_NODES_DEFAULT,
  DEV_NODES_MAX,
  DEV_NODES_MIN,
  PORT_MAX,
  PORT_MIN,
  planDevCluster,
} from '../dev/plan.js';
import { runDevCluster } from '../dev/run-cluster.js';
import { brookBinPath } from '../../util/brook-bin.js';
import { ExitError, type CliIo } from '../output.js';
import { integerIn } from './common.js';

const READY_TIMEOUT_MS_DEFAULT = 60_000;

interface DevOptions {
  nodes: number;
  basePort: number;
  dataDir: string;
  readyTimeoutMs: number;
}

export function registerDevCommand(program: Command, io: CliIo): void {
  program
    .command('dev')
    .description('run a local cluster of separate node processes for development (Ctrl-C stops it)')
    .option(
      '--nodes <n>',
      `number of nodes, ${DEV_NODES_MIN} to ${DEV_NODES_MAX}`,
      integerIn(DEV_NODES_MIN, DEV_NODES_MAX),
      DEV_NODES_DEFAULT,
    )
    .option(
      '--base-port <port>',
      'node i listens on 127.0.0.1:<port + i>',
      integerIn(PORT_MIN, PORT_MAX),
      DEV_BASE_PORT_DEFAULT,
    )
    .option(
      '--data-dir <dir>',
      'node i keeps its data in <dir>/node-i and logs to <dir>/node-i.log',
      DEV_DATA_DIR_DEFAULT,
    )
    .option(
      '--ready-timeout-ms <ms>',
      'how long to wait for the cluster to be ready',
      integerIn(1_000, 3_600_000),
      READY_TIMEOUT_MS_DEFAULT,
    )
    .addHelpText(
      'after',
      `
Node i (0..N-1) runs \`brook server --node-id i --listen 127.0.0.1:<port + i>\` as its own process.
Up to 3 nodes all vote in the Raft quorum; with 4, nodes 0-2 vote; from 5 on, nodes 0-4 vote, and
the rest are observers. Every node is formatted with one cluster id, generated at the first run
and kept in <dir>/cluster-id. Once every node answers and the quorum has a leader, the bootstrap
list and commands to try are printed on stdout; progress goes to stderr. Ctrl-C or SIGTERM stops
every node (a second Ctrl-C kills them at once); if a node exits on its own, the others are
stopped and the exit code is 1. Server settings come from BROOK_* environment variables, which
every node inherits.

Examples:
  brook dev                                   # 3 nodes on 127.0.0.1:7070-7072, data in ./data/dev
  brook dev --nodes 1                         # one node, its own quorum
  brook dev --nodes 5 --base-port 9090 --data-dir /tmp/brook-dev
  BROOK_LOG_FSYNC=never brook dev             # faster, for throwaway data
  tail -f data/dev/node-*.log                 # the nodes' logs (JSON lines)`,
    )
    .action(async (options: DevOptions) => {
      const cwd = process.cwd();
      const plan = planDevCluster({
        nodeCount: options.nodes,
        basePort: options.basePort,
        dataDir: options.dataDir,
        cwd,
      });
      const exitCode = await runDevCluster({
        plan,
        brookBin: brookBinPath(),
        io,
        cwd,
        readyTimeoutMs: options.readyTimeoutMs,
      });
      if (exitCode !== 0) throw new ExitError(exitCode);
    });
}
