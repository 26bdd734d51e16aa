/** `brook cluster describe`: cluster id, active controller, brokers and the Raft quorum. */
import type { Command } from 'commander';
import { Admin, type ClusterDescription, type QuorumDescription } from '../../client/index.js';
import { formatJson, formatTable, write, type CliIo } from '../output.js';
import { addBootstrapOption, bootstrapOf } from './common.js';

export function registerClusterCommand(program: Command, io: CliIo): void {
  const cluster = program.command('cluster').description('inspect the cluster');
  const describe = cluster
    .command('describe')
    .description(
      'show the cluster id, the active controller, the brokers and the Raft quorum as the answering node sees it',
    )
    .option('--json', 'print JSON');
  describe.addHelpText(
    'after',
    `
Replication progress (match index, lag) is known only on the Raft leader: point --bootstrap at
the leader the output names to see it for every member.`,
  );
  addBootstrapOption(describe).action(async (options: { bootstrap?: string; json?: boolean }) => {
    const admin = new Admin({ bootstrap: bootstrapOf(options, io), retries: 2 });
    try {
      const description = await admin.describeCluster();
      if (options.json === true) {
        await write(io.stdout, formatJson(description));
        return;
      }
      await write(io.stdout, clusterText(description));
    } finally {
      await admin.close();
    }
  });
}

function clusterText(description: ClusterDescription): string {
  const rows = description.brokers.map((broker) => [
    String(broker.nodeId),
    broker.address,
    broker.rack || '-',
    broker.fenced ? 'yes' : 'no',
  ]);
  const text =
    `Cluster id: ${description.clusterId}\nController: ${description.controllerId}\n` +
    formatTable(['NODE', 'ADDRESS', 'RACK', 'FENCED'], rows);
  return description.quorum === null ? text : `${text}\n${quorumText(description.quorum)}`;
}

/** The quorum section: a summary line, this node's own indexes, then one row per member. */
function quorumText(quorum: QuorumDescription): string {
  const node = quorum.node;
  const leader = quorum.leaderId < 0 ? 'none known' : String(quorum.leaderId);
  const isLeader = node.role === 'leader';
  const rows = quorum.members.map((m) => {
    const r = m.replication;
    const dash = '-';
    return [
      String(m.nodeId),
      m.address,
      m.kind,
      r === null ? dash : String(r.matchIndex),
      r === null ? dash : String(r.lag),
      r === null ? dash : r.state,
      r === null ? dash : r.recentlyActive ? 'yes' : 'no',
    ];
  });
  const note = isLeader
    ? ''
    : `(Match index and lag are known only on the leader${quorum.leaderId < 0 ? '' : `, node ${quorum.leaderId}`}.)\n`;
  return (
    `Raft quorum, as node ${node.nodeId} sees it: leader ${leader}, term ${quorum.term}\n` +
    `Node ${node.nodeId}: ${node.role}, commit ${node.commitIndex}, applied ${node.appliedIndex}, ` +
    `last ${node.lastIndex}, snapshot ${node.snapshotIndex}, digest ${node.appliedDigest.slice(0, 16)}\n` +
    formatTable(['NODE', 'ADDRESS', 'KIND', 'MATCH', 'LAG', 'STATE', 'ACTIVE'], rows) +
    note
  );
}
