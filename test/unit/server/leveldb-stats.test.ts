/**
 * The `leveldb.stats` table parser: a table as LevelDB 1.20 prints it, the table of a real store
 * on disk (so a classic-level upgrade that changes the format fails here), text without rows, and
 * generated text, which must never throw nor yield a row that is not six non-negative integers.
 */
import { randomFillSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ClassicLevel } from 'classic-level';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseLevelDbStats } from '../../../src/server/metrics/leveldb-stats.js';
import { STATS_TABLE } from './metrics-fixtures.js';

const MIB = 1_048_576;

describe('parseLevelDbStats', () => {
  it('reads every level row, sizes in bytes', () => {
    expect(parseLevelDbStats(STATS_TABLE)).toEqual([
      { level: 0, files: 5, sizeBytes: 133 * MIB, readBytes: 0, writtenBytes: 308 * MIB },
      { level: 1, files: 25, sizeBytes: 50 * MIB, readBytes: 128 * MIB, writtenBytes: 130 * MIB },
      { level: 2, files: 55, sizeBytes: 114 * MIB, readBytes: 180 * MIB, writtenBytes: 185 * MIB },
    ]);
  });

  it('reads the table of a real LevelDB after its memtable was flushed', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'brook-leveldb-stats-'));
    const db = new ClassicLevel<Buffer, Buffer>(dir, {
      keyEncoding: 'buffer',
      valueEncoding: 'buffer',
    });
    try {
      await db.open();
      const value = randomFillSync(Buffer.alloc(64 * 1024));
      for (let i = 0; i < 48; i++) {
        const key = Buffer.alloc(4);
        key.writeUInt32BE(i);
        await db.put(key, value);
      }
      expect(parseLevelDbStats(db.getProperty('leveldb.stats'))).toEqual([]);
      // Flushes the memtable (3 MiB of values) into a table and compacts it.
      await db.compactRange(Buffer.alloc(4), Buffer.alloc(4, 0xff));
      const rows = parseLevelDbStats(db.getProperty('leveldb.stats'));
      expect(rows.reduce((files, row) => files + row.files, 0)).toBeGreaterThanOrEqual(1);
      // Random values do not compress: the flush alone wrote 3 MiB of tables.
      expect(rows.reduce((bytes, row) => bytes + row.writtenBytes, 0)).toBeGreaterThanOrEqual(
        3 * MIB,
      );
      expect(rows.every((row) => row.level >= 0 && row.level <= 6)).toBe(true);
    } finally {
      await db.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('yields no rows for a store that has no table yet, or for text of another shape', () => {
    const header = STATS_TABLE.split('\n').slice(0, 3).join('\n');
    expect(parseLevelDbStats(header)).toEqual([]);
    expect(parseLevelDbStats('')).toEqual([]);
    expect(parseLevelDbStats('Level 0: 5 files, 133 MB')).toEqual([]);
    // A row with a column missing or a fraction is not LevelDB's row format.
    expect(parseLevelDbStats('  0        5      133         2        0')).toEqual([]);
    expect(parseLevelDbStats('  0        5      133.5       2        0       308')).toEqual([]);
  });

  it('never throws on generated text, and every row it yields is whole and non-negative', () => {
    const line = fc.oneof(
      fc.string(),
      fc
        .array(fc.nat({ max: 1_000_000 }), { minLength: 5, maxLength: 7 })
        .map((cells) => cells.map((cell) => String(cell).padStart(8)).join(' ')),
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 12 }), (lines) => {
        const rows = parseLevelDbStats(lines.join('\n'));
        for (const row of rows) {
          for (const value of Object.values(row)) {
            expect(Number.isSafeInteger(value) && value >= 0).toBe(true);
          }
        }
        expect(rows.length).toBeLessThanOrEqual(lines.length);
      }),
      { numRuns: 300 },
    );
  });
});
