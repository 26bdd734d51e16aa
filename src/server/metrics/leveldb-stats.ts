/**
 * LevelDB's own account of its levels and compactions: the table `db.getProperty('leveldb.stats')`
 * prints, one row per level that holds files or has compacted since the store was opened:
 *
 *                                  Compactions
 *   Level  Files Size(MB) Time(sec) Read(MB) Write(MB)
 *   --------------------------------------------------
 *     0        7      125         0        0        22
 *
 * Read counts the input of merging compactions (a table moved to the next level without a
 * rewrite reads nothing); Write counts every table written, memtable flushes included. Both are
 * totals since the store was opened, in whole MiB as LevelDB rounds them.
 */

export interface LevelStats {
  readonly level: number;
  readonly files: number;
  readonly sizeBytes: number;
  readonly readBytes: number;
  readonly writtenBytes: number;
}

/** LevelDB's "MB" is 1,048,576 bytes. */
const MIB = 1_048_576;

const ROW = /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*$/;

/**
 * The rows of a `leveldb.stats` table, in level order. Lines that are not rows (the header, the
 * rule) are skipped, so text of another shape yields no rows rather than an error: a metric must
 * not fail a scrape because a LevelDB release reworded its table.
 */
export function parseLevelDbStats(text: string): LevelStats[] {
  const rows: LevelStats[] = [];
  for (const line of text.split('\n')) {
    const match = ROW.exec(line);
    if (match === null) continue;
    const [level, files, sizeMb, , readMb, writeMb] = match.slice(1).map(Number) as [
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    rows.push({
      level,
      files,
      sizeBytes: sizeMb * MIB,
      readBytes: readMb * MIB,
      writtenBytes: writeMb * MIB,
    });
  }
  return rows;
}
