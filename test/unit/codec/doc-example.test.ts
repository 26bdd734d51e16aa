// Goal: the worked example in docs/record-batch.md is exactly what the codec produces, so a
// client author in another language can test against it without running our code.
// Method: read the doc, take the hex pairs at the start of each line of its ```hex blocks (the
// rest of a line is annotation), and compare with encodeBatch's output and the stamped batch.
import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import {
  BATCH,
  RecordBatch,
  checkBatch,
  decodeRecords,
  encodeBatch,
  stampBatch,
} from '../../../src/codec/index.js';

const doc = readFileSync(new URL('../../../docs/record-batch.md', import.meta.url), 'utf8');

function hexBlocks(markdown: string): Buffer[] {
  const blocks: Buffer[] = [];
  for (const match of markdown.matchAll(/```hex\n([\s\S]*?)```/g)) {
    const lines = match[1]!.split('\n');
    const hex = lines.map(
      (line) => /^((?:[0-9a-f]{2} )*[0-9a-f]{2})(?:\s|$)/.exec(line)?.[1] ?? '',
    );
    blocks.push(Buffer.from(hex.join('').replace(/ /g, ''), 'hex'));
  }
  return blocks;
}

const exampleRecords = [
  {
    key: Buffer.from('key'),
    value: Buffer.from('value'),
    timestampMs: 1700000000000,
    headers: [{ key: 'h', value: Buffer.from('1') }],
  },
];

test('the documented 1-record batch is byte for byte what encodeBatch writes', async () => {
  const [documented] = hexBlocks(doc);
  expect(documented!.length).toBe(80);
  const encoded = await encodeBatch(exampleRecords);
  expect(encoded.toString('hex')).toBe(documented!.toString('hex'));
  expect(await checkBatch(documented!)).toEqual({ ok: true });
});

test('the documented stamped header is what stampBatch writes at offset 42, epoch 7', async () => {
  const [, stampedHeader] = hexBlocks(doc);
  expect(stampedHeader!.length).toBe(BATCH.LAST_OFFSET_DELTA);
  const buf = await encodeBatch(exampleRecords);
  const unstamped = Buffer.from(buf);
  stampBatch(buf, { baseOffset: 42, leaderEpoch: 7, logAppendTimeMs: null });
  expect(buf.subarray(0, BATCH.LAST_OFFSET_DELTA).toString('hex')).toBe(
    stampedHeader!.toString('hex'),
  );
  expect(
    buf.subarray(BATCH.LAST_OFFSET_DELTA).equals(unstamped.subarray(BATCH.LAST_OFFSET_DELTA)),
  ).toBe(true);
  expect(await checkBatch(buf)).toEqual({ ok: true });
  const batch = RecordBatch.of(buf);
  expect([batch.baseOffset, batch.leaderEpoch, batch.crc]).toEqual([42, 7, 0x883cc20d]);
  const [decoded] = await decodeRecords(buf);
  expect(decoded).toMatchObject({ offset: 42, timestampMs: 1700000000000 });
  expect(decoded!.key!.toString()).toBe('key');
  expect(decoded!.value!.toString()).toBe('value');
  expect(decoded!.headers.map((h) => [h.key, h.value.toString()])).toEqual([['h', '1']]);
});
