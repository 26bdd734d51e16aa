/**
 * `node dist/test/deploy/rehearsal/main.js [--seed N] [--out DIR]`: a rehearsal of the
 * Kubernetes deployment on this machine (root only). The pods of deploy/k8s/base run as the
 * StatefulSet would start them, each in a network namespace of the fault harness's network that
 * stands for its node, with a per-namespace hosts file in place of cluster DNS; the harness and
 * its clients run in one more namespace on the same bridge, the client host, with the same
 * hosts file, because the SDK dials the pods' advertised DNS names from the metadata.
 *
 * Two processes: this one (root namespace) builds the network, the hosts files and a temp dir
 * for the volumes, runs itself again with `--inner` under `ip netns exec <client host>`, and
 * removes all of it when that exits, whatever happened. Exit status: 0 when the checkers find
 * the history valid, 1 when they do not, 2 when the rehearsal itself failed.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { brookBinPath } from '../../../src/util/brook-bin.js';
import { FaultNetwork } from '../../fault/net/index.js';
import {
  hostEntries,
  removeNamespaceHosts,
  renderHostsFile,
  staleHostsDirs,
  writeNamespaceHosts,
} from './hosts.js';
import { podTemplateOf, renderKustomize } from './manifest.js';
import { runRehearsal, type InnerConfig } from './rehearsal.js';

/**
 * Pod slots the network holds: the base's 3 plus room to scale to 5 later. Only the base's
 * replicas are started; every slot's name is in the hosts files from the start.
 */
export const PODS_MAX = 5;
/** metadata.namespace of the pods (the base sets none; an overlay would). */
export const K8S_NAMESPACE = 'brook-rehearsal';

const SELF = fileURLToPath(import.meta.url);

interface CliOptions {
  seed?: number;
  out: string;
  warmup: number;
  minReady: boolean;
  inner?: string;
}

function integer(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError('expected a whole number');
  }
  return value;
}

async function outer(options: CliOptions): Promise<number> {
  FaultNetwork.requireRoot();
  await FaultNetwork.cleanupStale();
  const repoRoot = path.dirname(path.dirname(brookBinPath()));
  const template = podTemplateOf(renderKustomize(path.join(repoRoot, 'deploy/k8s/base')));
  if (template.replicas > PODS_MAX) throw new Error(`the base has more than ${PODS_MAX} replicas`);
  const seed = options.seed ?? Math.floor(Math.random() * 1_000_000);
  const runDir = path.resolve(
    options.out,
    `${new Date().toISOString().replace(/[:.]/g, '-')}-seed-${seed}`,
  );
  await mkdir(path.join(runDir, 'nodes'), { recursive: true });
  process.stdout.write(`run folder ${runDir}\n`);
  const network = await FaultNetwork.create({ nodes: PODS_MAX + 1 });
  const namespaces = Array.from({ length: PODS_MAX + 1 }, (_, i) => network.namespace(i));
  let volumesDir: string | null = null;
  try {
    const live = new Set(namespaces);
    await removeNamespaceHosts(await staleHostsDirs(live));
    volumesDir = await mkdtemp(path.join(os.tmpdir(), 'brook-rehearsal-'));
    const podAddresses = Array.from({ length: PODS_MAX }, (_, i) => network.address(i));
    const hosts = renderHostsFile(hostEntries(template, podAddresses, K8S_NAMESPACE));
    for (const namespace of namespaces) await writeNamespaceHosts(namespace, hosts);
    const config: InnerConfig = {
      runDir,
      seed,
      volumesDir,
      hosts: podAddresses.map((address, i) => ({ netns: namespaces[i]!, address })),
      k8sNamespace: K8S_NAMESPACE,
      repoRoot,
      warmupS: options.warmup,
      isMinReadyHonoured: options.minReady,
    };
    const clientNs = network.namespace(PODS_MAX);
    process.stdout.write(`client host ${clientNs} at ${network.address(PODS_MAX)}\n`);
    return await runInner([
      'ip',
      'netns',
      'exec',
      clientNs,
      process.execPath,
      SELF,
      '--inner',
      JSON.stringify(config),
    ]);
  } finally {
    await removeNamespaceHosts(namespaces);
    await network.destroy();
    if (volumesDir !== null) await rm(volumesDir, { recursive: true, force: true });
  }
}

/** Runs the inner process; Ctrl-C reaches it (same process group), and this waits for it. */
async function runInner(argv: readonly string[]): Promise<number> {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: 'inherit' });
  const forward = (signal: NodeJS.Signals): void => {
    child.kill(signal);
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  try {
    return await new Promise<number>((resolve) => {
      child.once('exit', (code) => resolve(code ?? 2));
    });
  } finally {
    process.off('SIGINT', forward);
    process.off('SIGTERM', forward);
  }
}

async function main(): Promise<void> {
  const program = new Command()
    .name('rehearsal')
    .description('Rehearse the StatefulSet of deploy/k8s/base on this machine (root only)')
    .option('--seed <n>', 'seed of the random choices (which pod is killed, ...)', integer)
    .option('--out <dir>', 'parent of the run folder', 'rehearsal-runs')
    .option('--warmup <s>', 'seconds of load before the first step', integer, 10)
    .option(
      '--min-ready',
      "after each pod is ready with full ISRs, also wait the manifest's minReadySeconds",
      false,
    )
    .addOption(new Command().createOption('--inner <json>').hideHelp())
    .parse();
  const options = program.opts<CliOptions>();
  let code: number;
  try {
    if (options.inner !== undefined) {
      code = (await runRehearsal(JSON.parse(options.inner) as InnerConfig)) ? 0 : 1;
    } else {
      code = await outer(options);
    }
  } catch (error) {
    process.stderr.write(
      `rehearsal failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    code = 2;
  }
  process.exit(code);
}

await main();
