/**
 * The data dir's identity, in `meta.properties` as in Kafka: node id and cluster id, written at
 * first start and checked on every later one, so a node can never serve another node's or
 * another cluster's data.
 */
import { randomUUID } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
  openSync,
  fsyncSync,
  closeSync,
} from 'node:fs';
import path from 'node:path';
import { parseProperties } from '../config/index.js';

export const META_FILE = 'meta.properties';
/** The node's main LevelDB: Raft log and snapshots, group offsets, partition state and indexes. */
export const STORE_DIR = 'store';
/** The partition logs' record batches (src/log/README.md, "Two stores"). */
export const LOG_STORE_DIR = 'log';
const VERSION = '1';

export class DataDirError extends Error {
  override readonly name = 'DataDirError';
}

export interface NodeIdentity {
  readonly nodeId: number;
  readonly clusterId: string;
  /** True when this start formatted a new data dir. */
  readonly formatted: boolean;
}

export function loadOrFormatIdentity(
  dataDir: string,
  nodeId: number,
  clusterId: string | null,
): NodeIdentity {
  mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, META_FILE);
  if (!existsSync(file)) {
    if (existsSync(path.join(dataDir, STORE_DIR))) {
      throw new DataDirError(
        `${dataDir} holds a store but no ${META_FILE}; refusing to guess whose data it is. Restore ${META_FILE} or point data.dir at an empty directory.`,
      );
    }
    const identity = { nodeId, clusterId: clusterId ?? randomUUID(), formatted: true };
    writeDurably(
      file,
      `# Written by Brook at first start; do not edit.\nversion=${VERSION}\nnode.id=${nodeId}\ncluster.id=${identity.clusterId}\n`,
    );
    return identity;
  }
  const stored = parseProperties(file, readFileSync(file, 'utf8'));
  if (stored['version'] !== VERSION) {
    throw new DataDirError(
      `${file} has version ${String(stored['version'])}; this Brook reads version ${VERSION}`,
    );
  }
  const storedNode = Number(stored['node.id']);
  const storedCluster = stored['cluster.id'] ?? '';
  if (storedNode !== nodeId) {
    throw new DataDirError(
      `data dir ${dataDir} belongs to node ${storedNode}, but this node is configured as node.id=${nodeId}. Use node.id=${storedNode}, or another data.dir.`,
    );
  }
  if (clusterId !== null && clusterId !== storedCluster) {
    throw new DataDirError(
      `data dir ${dataDir} belongs to cluster ${storedCluster}, but cluster.id=${clusterId} was configured. Remove cluster.id, or use another data.dir.`,
    );
  }
  return { nodeId, clusterId: storedCluster, formatted: false };
}

/** Write to a temp file, fsync, rename, fsync the directory: the file is whole or absent. */
function writeDurably(file: string, text: string): void {
  const temp = `${file}.tmp`;
  writeFileSync(temp, text, { encoding: 'utf8' });
  const fd = openSync(temp, 'r+');
  fsyncSync(fd);
  closeSync(fd);
  renameSync(temp, file);
  const dir = openSync(path.dirname(file), 'r');
  fsyncSync(dir);
  closeSync(dir);
}
