/** `brook cluster describe`: cluster id, active controller and brokers. */
import type { Command } from 'commander';
import { Admin } from '../../client/index.js';
import { formatJson, formatTable, write, type CliIo } from '../output.js';
import { addBootstrapOption, bootstrapOf } from './common.js';

export function registerClusterCommand(program: Command, io: CliIo): void {
  const cluster = program.command('cluster').description('inspect the cluster');
  const describe = cluster
    .command('describe')
    .description('show the cluster id, the active controller and the brokers')
    .option('--json', 'print JSON');
  addBootstrapOption(describe).action(async (options: { bootstrap?: string; json?: boolean }) => {
    const admin = new Admin({ bootstrap: bootstrapOf(options, io), retries: 2 });
    try {
      const description = await admin.describeCluster();
      if (options.json === true) {
        await write(io.stdout, formatJson(description));
        return;
      }
      const rows = description.brokers.map((broker) => [
        String(broker.nodeId),
        broker.address,
        broker.rack || '-',
        broker.fenced ? 'yes' : 'no',
      ]);
      await write(
        io.stdout,
        `Cluster id: ${description.clusterId}\nController: ${description.controllerId}\n` +
          formatTable(['NODE', 'ADDRESS', 'RACK', 'FENCED'], rows),
      );
    } finally {
      await admin.close();
    }
  });
}
