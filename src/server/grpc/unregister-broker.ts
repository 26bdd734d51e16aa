/**
 * UnregisterBroker: removes a broker that holds no replicas and is stopped, the last step of a
 * scale-down. A malformed broker_id is INVALID_ARGUMENT and changes nothing. A Raft voter is
 * refused here, by the answering node's view of the membership (voters are fixed by
 * raft.voters and never change at run time); the controller checks the rest (unregister.ts),
 * and the gateway takes an observer out of the quorum once the registration is gone.
 */
import type { MetadataService } from '../../metadata/index.js';
import type {
  UnregisterBrokerRequest__Output,
  UnregisterBrokerResponse,
} from '../../proto/index.js';
import { isVoter } from '../../raft/conf.js';
import type { ConfState } from '../../raft/types.js';
import { requireInt } from '../validate.js';

const NODE_ID_MAX = 2 ** 31 - 1;

export async function unregisterBroker(
  metadata: MetadataService,
  quorum: { status(): { readonly confState: ConfState } },
  request: UnregisterBrokerRequest__Output,
): Promise<UnregisterBrokerResponse> {
  const brokerId = requireInt(request.brokerId, 'broker_id', 0, NODE_ID_MAX);
  if (isVoter(quorum.status().confState, brokerId)) {
    return {
      errorCode: 'INVALID_REQUEST',
      errorMessage: `broker ${brokerId} is a Raft voter; voters are fixed by raft.voters`,
      metadataOffset: 0,
    };
  }
  const answer = await metadata.unregisterBroker(brokerId);
  return {
    errorCode: answer.errorCode,
    errorMessage: answer.errorMessage,
    metadataOffset: answer.errorCode === 'NONE' ? Math.max(0, metadata.image().offset) : 0,
  };
}
