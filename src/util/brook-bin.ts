/**
 * This package's bin/brook, for code that starts brook processes (`brook dev`, the fault
 * harness): the first directory above this file holding package.json and bin/brook. This file
 * runs from src/util under vitest and from dist/src/util when built.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** How many directories above this file the package root may be. */
const PACKAGE_ROOT_DEPTH_MAX = 6;

export function brookBinPath(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < PACKAGE_ROOT_DEPTH_MAX; depth++) {
    const bin = path.join(dir, 'bin', 'brook');
    if (existsSync(bin) && existsSync(path.join(dir, 'package.json'))) return bin;
    dir = path.dirname(dir);
  }
  throw new Error(`cannot find bin/brook above ${fileURLToPath(import.meta.url)}`);
}
