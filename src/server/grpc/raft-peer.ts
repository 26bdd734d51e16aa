/**
 * The RaftPeer gRPC service (peer.proto) of one node: Send (peers' message streams, handled by
 * the Raft driver's receiver), Propose and RaftStatus, answered by the node's RaftPeerEndpoint.
 * The broker adds it to its grpc.Server before binding; the Raft module itself builds no
 * service, so raft/ never depends on server/ (STYLE.md §2).
 *
 * The definition decodes requests tolerantly and statuses are built by error-status.ts, like
 * every other Brook service, so a not-leader Propose carries the same trailers
 * (brook-error-code=NOT_CONTROLLER, brook-leader-id, brook-leader-address) the SDK reads.
 * RaftPeer is internal: not in server reflection, not part of api.md.
 */
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { limits } from '../../config/index.js';
import { InvalidArgumentError } from '../../errors/index.js';
import { decodeMetadataEntry } from '../../metadata/index.js';
import {
  brookV1Peer,
  type ProposeRequest__Output,
  type ProposeResponse,
  type RaftStatusRequest__Output,
  type RaftStatusResponse,
} from '../../proto/index.js';
import type { RaftPeerEndpoint } from '../../raft/io/driver.js';
import { unary } from '../error-status.js';
import { tolerantDefinition } from './malformed.js';

export interface RaftPeerService {
  readonly definition: grpc.ServiceDefinition;
  readonly implementation: grpc.UntypedServiceImplementation;
}

/** The service for `peer`; `logger` logs calls that fail unexpectedly. */
export function raftPeerService(peer: RaftPeerEndpoint, logger: Logger): RaftPeerService {
  const propose = unary<ProposeRequest__Output, ProposeResponse>(
    'RaftPeer.Propose',
    logger,
    async (request) => {
      const { entries } = request;
      if (entries.length === 0) throw new InvalidArgumentError('entries', 'is empty');
      if (entries.length > limits.raftProposeEntriesMax) {
        throw new InvalidArgumentError(
          'entries',
          `has ${entries.length} entries, more than ${limits.raftProposeEntriesMax}`,
        );
      }
      entries.forEach((entry, i) => {
        if (!isEmptyMetadataEntry(entry)) {
          throw new InvalidArgumentError(
            `entries[${i}]`,
            'is not an empty metadata entry ({"v":1,"records":[]}, other fields ignored): metadata changes go through the controller',
          );
        }
      });
      return peer.propose(entries);
    },
  );
  const status = unary<RaftStatusRequest__Output, RaftStatusResponse>(
    'RaftPeer.RaftStatus',
    logger,
    () => Promise.resolve(peer.statusResponse()),
  );
  return {
    definition: tolerantDefinition(brookV1Peer().RaftPeer.service),
    implementation: { Send: peer.handleSend, Propose: propose, RaftStatus: status },
  };
}

/**
 * Whether `data` is a metadata entry without records, the only kind RaftPeer.Propose accepts:
 * it exercises the quorum (tests, `npm run bench -- raft`, which pads it to a size) and changes
 * no metadata, since the controller is the only writer of metadata records.
 */
function isEmptyMetadataEntry(data: Uint8Array): boolean {
  try {
    return decodeMetadataEntry(data).length === 0;
  } catch {
    return false;
  }
}
