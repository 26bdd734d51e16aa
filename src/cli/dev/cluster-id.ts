/**
 * The dev cluster's id, kept in `<dir>/cluster-id`: every voter of a multi-node quorum must be
 * formatted with the same cluster id, and a later run must give the already formatted node dirs
 * the id they were formatted with.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';

/** What a cluster-id file may hold: one token, as meta.properties and --cluster-id take it. */
const CLUSTER_ID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;

export interface LoadedClusterId {
  readonly clusterId: string;
  /** True when this call generated the id and wrote the file. */
  readonly created: boolean;
}

/**
 * Reads the cluster id from `file`, or, when the file does not exist, generates one (a random
 * UUID), creates `dataDir` and writes it. Rejects with an Error naming the file when it holds
 * something else than one id, or cannot be read or written.
 */
export async function loadOrCreateClusterId(
  dataDir: string,
  file: string,
): Promise<LoadedClusterId> {
  await mkdir(dataDir, { recursive: true });
  const existing = await readIfExists(file);
  if (existing !== null) return { clusterId: checked(existing, file), created: false };
  const clusterId = randomUUID();
  try {
    // 'wx': a second `brook dev` racing on the same dir must not replace the id under the first.
    await writeFile(file, `${clusterId}\n`, { encoding: 'utf8', flag: 'wx' });
  } catch (error: unknown) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return { clusterId: checked(await readFile(file, 'utf8'), file), created: false };
  }
  return { clusterId, created: true };
}

async function readIfExists(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (error: unknown) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

function checked(text: string, file: string): string {
  const clusterId = text.trim();
  if (!CLUSTER_ID_PATTERN.test(clusterId)) {
    throw new Error(
      `${file} does not hold a cluster id (one word of letters, digits, '.', '_' or '-'); fix it, or remove the whole data dir to start a new cluster`,
    );
  }
  return clusterId;
}
