/**
 * The RaftPeer gRPC service (peer.proto) of one node, as a definition and an implementation the
 * node's grpc.Server adds before it binds: Send (peer-receiver.ts), Propose and RaftStatus
 * (answered by the driver through the handlers given here).
 *
 * The definition decodes requests tolerantly and statuses are built by server/error-status.ts,
 * like every other Brook service, so a not-leader Propose carries the same trailers
 * (brook-error-code=NOT_CONTROLLER, brook-leader-id, brook-leader-address) the SDK reads.
 */
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { limits } from '../../config/index.js';
import { InvalidArgumentError } from '../../errors/index.js';
import {
  brookV1Peer,
  type ProposeRequest__Output,
  type ProposeResponse,
  type RaftStatusRequest__Output,
  type RaftStatusResponse,
} from '../../proto/index.js';
import { unary } from '../../server/error-status.js';
import { tolerantDefinition } from '../../server/grpc/malformed.js';
import type { PeerReceiver } from './peer-receiver.js';

export interface PeerServiceHandlers {
  readonly receiver: PeerReceiver;
  readonly logger: Logger;
  /** Resolves once the entries are committed and applied here; rejects with a BrokerError. */
  propose(entries: Uint8Array[]): Promise<{ firstIndex: number; lastIndex: number; term: number }>;
  status(): RaftStatusResponse;
}

export interface PeerService {
  readonly definition: grpc.ServiceDefinition;
  readonly implementation: grpc.UntypedServiceImplementation;
}

export function peerService(handlers: PeerServiceHandlers): PeerService {
  const { logger } = handlers;
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
      return handlers.propose(entries);
    },
  );
  const status = unary<RaftStatusRequest__Output, RaftStatusResponse>(
    'RaftPeer.RaftStatus',
    logger,
    () => Promise.resolve(handlers.status()),
  );
  return {
    definition: tolerantDefinition(brookV1Peer().RaftPeer.service),
    implementation: { Send: handlers.receiver.handleSend, Propose: propose, RaftStatus: status },
  };
}
