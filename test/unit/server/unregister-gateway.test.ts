/**
 * ControllerGateway.unregisterBroker on the active controller: the registration first, then the
 * Raft observer. A stub controller answers as the pure handler would and a stub Raft member
 * records membership changes, so the tests can stage what a crash or a lost leadership between
 * the two steps leaves behind and check that a rerun finishes the job.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { BrokerError } from '../../../src/errors/index.js';
import {
  MetadataState,
  type QuorumController,
  type UnregisterBrokerResponse,
} from '../../../src/metadata/index.js';
import { ControllerGateway } from '../../../src/server/controller-gateway.js';
import type { PeerClients } from '../../../src/server/peer-clients.js';
import { ConfChangeType, type ConfChange, type ConfState } from '../../../src/raft/types.js';

const VOTERS = [1, 2, 3].map((id) => ({ id, address: `127.0.0.1:${9000 + id}` }));

/** A gateway on an active controller whose answers come from `answers`, in turn. */
function gatewayWith(
  answers: UnregisterBrokerResponse[],
  options: { observers: number[]; failFirstChange?: boolean },
) {
  let conf: ConfState = {
    voters: VOTERS,
    observers: options.observers.map((id) => ({ id, address: `127.0.0.1:${9000 + id}` })),
  };
  const changes: ConfChange[] = [];
  let calls = 0;
  let isFirstChange = true;
  const controller = {
    active: () => true,
    unregisterBroker: () => {
      calls++;
      const answer = answers.shift();
      if (answer === undefined) throw new Error('no more answers');
      return Promise.resolve(answer);
    },
  } as unknown as QuorumController;
  const raft = {
    status: () => ({ confState: conf }),
    changeMembership: (change: ConfChange) => {
      if (options.failFirstChange === true && isFirstChange) {
        isFirstChange = false;
        return Promise.reject(new BrokerError('NOT_CONTROLLER', 'lost the leadership'));
      }
      changes.push(change);
      conf = { ...conf, observers: conf.observers.filter((m) => m.id !== change.nodeId) };
      return Promise.resolve();
    },
  };
  const gateway = new ControllerGateway({
    state: new MetadataState(),
    controller,
    peers: {} as PeerClients,
    controllerAddress: () => null,
    settled: () => Promise.resolve(),
    raft,
    logger: pino({ level: 'silent' }),
  });
  return { gateway, changes, calls: () => calls };
}

const NONE: UnregisterBrokerResponse = { errorCode: 'NONE', errorMessage: '' };
const NOT_REGISTERED: UnregisterBrokerResponse = {
  errorCode: 'BROKER_ID_NOT_REGISTERED',
  errorMessage: 'broker 4 is not registered',
};
const removal: ConfChange = { type: ConfChangeType.REMOVE_OBSERVER, nodeId: 4, address: '' };

describe('ControllerGateway.unregisterBroker', () => {
  it('removes the observer once the registration is gone', async () => {
    const { gateway, changes } = gatewayWith([NONE], { observers: [4, 5] });
    expect(await gateway.unregisterBroker(4)).toEqual(NONE);
    expect(changes).toEqual([removal]);
  });

  it('touches no membership when the controller refuses', async () => {
    const refused: UnregisterBrokerResponse = {
      errorCode: 'INVALID_REQUEST',
      errorMessage: 'broker 4 is running (unfenced): stop it first',
    };
    const { gateway, changes } = gatewayWith([refused], { observers: [4] });
    expect(await gateway.unregisterBroker(4)).toEqual(refused);
    expect(changes).toEqual([]);
  });

  it('a rerun after the record committed but the observer stayed finishes the job with NONE', async () => {
    const { gateway, changes } = gatewayWith([NOT_REGISTERED], { observers: [4] });
    expect(await gateway.unregisterBroker(4)).toEqual(NONE);
    expect(changes).toEqual([removal]);
  });

  it('an unknown id that is no observer stays BROKER_ID_NOT_REGISTERED', async () => {
    const { gateway, changes } = gatewayWith([NOT_REGISTERED], { observers: [5] });
    expect(await gateway.unregisterBroker(4)).toEqual(NOT_REGISTERED);
    expect(changes).toEqual([]);
  });

  it('a leadership lost between the two steps is retried, and the retry removes the observer', async () => {
    const { gateway, changes, calls } = gatewayWith([NONE, NOT_REGISTERED], {
      observers: [4],
      failFirstChange: true,
    });
    expect(await gateway.unregisterBroker(4)).toEqual(NONE);
    expect(calls()).toBe(2);
    expect(changes).toEqual([removal]);
  });
});
