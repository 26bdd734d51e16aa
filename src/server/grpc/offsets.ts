/** ListOffsets: earliest, latest (the high watermark) or first offset at a timestamp. */
import { limits } from '../../config/index.js';
import { BrokerError } from '../../errors/index.js';
import type {
  ListOffsetsPartitionResponse,
  ListOffsetsRequest__Output,
  ListOffsetsResponse,
} from '../../proto/index.js';
import type { PartitionResolver } from '../partition-resolver.js';
import { requireCount, requireEnum, requireInt, requireNonEmpty } from '../validate.js';

const SPECS = ['EARLIEST', 'LATEST', 'TIMESTAMP'] as const;

export async function listOffsets(
  resolver: PartitionResolver,
  request: ListOffsetsRequest__Output,
): Promise<ListOffsetsResponse> {
  requireCount(request.partitions, 'partitions', limits.fetchPartitionsMax, 1);
  const specs = request.partitions.map((p, i) => {
    requireNonEmpty(p.topic, `partitions[${i}].topic`);
    requireInt(p.partition, `partitions[${i}].partition`, 0, limits.partitionsPerTopicMax - 1);
    const spec = requireEnum(p.spec, `partitions[${i}].spec`, SPECS);
    if (spec === 'TIMESTAMP')
      requireInt(p.timestampMs, `partitions[${i}].timestamp_ms`, 0, Number.MAX_SAFE_INTEGER);
    return spec;
  });
  const partitions: ListOffsetsPartitionResponse[] = [];
  for (let i = 0; i < request.partitions.length; i++) {
    const wanted = request.partitions[i]!;
    const out: ListOffsetsPartitionResponse = {
      topic: wanted.topic,
      partition: wanted.partition,
      errorCode: 'NONE',
      errorMessage: '',
      offset: -1,
      timestampMs: -1,
      leaderEpoch: -1,
    };
    try {
      const { log } = resolver.leader(wanted.topic, wanted.partition);
      const spec = specs[i]!;
      if (spec === 'EARLIEST') out.offset = log.logStartOffset;
      else if (spec === 'LATEST') out.offset = log.highWatermark;
      else {
        const found = await log.offsetForTimestamp(wanted.timestampMs);
        if (found !== null) {
          out.offset = found.offset;
          out.timestampMs = found.timestampMs;
          out.leaderEpoch = found.leaderEpoch;
        }
      }
    } catch (error) {
      if (!(error instanceof BrokerError)) throw error;
      out.errorCode = error.code;
      out.errorMessage = error.message;
      if (error.leader !== null)
        out.leader = { nodeId: error.leader.nodeId, address: error.leader.address };
    }
    partitions.push(out);
  }
  return { partitions };
}
