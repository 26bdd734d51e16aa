/**
 * Leftovers of crashed runs: namespaces named `brookf-<runId>-<i>` and root-namespace links
 * named `bf<runId>...`. A run is stale unless the process named in its links' alias
 * (`brookf-run-<runId>-pid-<pid>`) is alive and, when that process is this one, still holds it:
 * two harnesses on one machine (or two vitest workers) must not tear down each other's networks.
 * A run whose namespaces have no aliased link left crashed mid-create or mid-destroy: stale.
 */
import { killLeftovers, namespacePids, ownerPidOfAlias, ignoreGone } from './namespaces.js';
import { runIdOfLink, runIdOfNamespace } from './names.js';
import { parseJsonArray, stringField } from './host-checks.js';
import { runCommand, type NetLogger } from './run-command.js';

/**
 * Removes every stale run's namespaces (SIGKILLing, by pid, processes left in them) and links.
 * `liveRunIds` are this process's networks in use. Resolves the names it removed.
 */
export async function cleanupStaleRuns(
  logger: NetLogger,
  liveRunIds: ReadonlySet<string>,
): Promise<string[]> {
  const [namespaces, links] = await Promise.all([listNamespaces(logger), listLinks(logger)]);
  const owners = new Map<string, number>();
  for (const link of links) {
    if (link.ownerPid !== null) owners.set(link.runId, link.ownerPid);
  }
  const isStale = (runId: string): boolean => {
    const owner = owners.get(runId);
    if (owner === undefined || !isAlive(owner)) return true;
    return owner === process.pid && !liveRunIds.has(runId);
  };
  const staleNamespaces = namespaces.filter((ns) => isStale(ns.runId)).map((ns) => ns.name);
  // A link with someone else's alias only looks like ours: leave it.
  const staleLinks = links
    .filter((link) => isStale(link.runId) && (link.ownerPid !== null || link.alias === null))
    .map((link) => link.name);
  const pids = await Promise.all(staleNamespaces.map((ns) => namespacePids(logger, ns)));
  killLeftovers(logger, pids.flat());
  await Promise.all(
    staleLinks.map((link) => ignoreGone(runCommand(logger, ['ip', 'link', 'delete', link]))),
  );
  await Promise.all(
    staleNamespaces.map((ns) => ignoreGone(runCommand(logger, ['ip', 'netns', 'delete', ns]))),
  );
  const removed = [...staleNamespaces, ...staleLinks];
  if (removed.length > 0)
    logger.warn(`net: removed leftovers of crashed runs: ${removed.join(' ')}`);
  return removed;
}

async function listNamespaces(logger: NetLogger): Promise<{ name: string; runId: string }[]> {
  const { stdout } = await runCommand(logger, ['ip', '-j', 'netns', 'list']);
  const found: { name: string; runId: string }[] = [];
  for (const entry of parseJsonArray(stdout)) {
    const name = stringField(entry, 'name');
    const runId = name === null ? null : runIdOfNamespace(name);
    if (name !== null && runId !== null) found.push({ name, runId });
  }
  return found;
}

interface LinkOfRun {
  readonly name: string;
  readonly runId: string;
  readonly alias: string | null;
  readonly ownerPid: number | null;
}

async function listLinks(logger: NetLogger): Promise<LinkOfRun[]> {
  const { stdout } = await runCommand(logger, ['ip', '-j', 'link', 'show']);
  const found: LinkOfRun[] = [];
  for (const entry of parseJsonArray(stdout)) {
    const name = stringField(entry, 'ifname');
    const runId = name === null ? null : runIdOfLink(name);
    if (name === null || runId === null) continue;
    const alias = stringField(entry, 'ifalias');
    found.push({
      name,
      runId,
      alias,
      ownerPid: alias === null ? null : ownerPidOfAlias(alias, runId),
    });
  }
  return found;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
