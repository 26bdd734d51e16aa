/**
 * isClusterReady, the rule `brook dev` waits on, judged on hand-made DescribeCluster answers:
 * every node answers, all know the same Raft leader, every node is registered as a broker (today
 * each node lists only itself; once the metadata is on Raft every node lists all), none fenced.
 */
import { describe, expect, it } from 'vitest';
import type { ClusterDescription } from '../../../src/client/index.js';
import { isClusterReady } from '../../../src/cli/dev/readiness.js';

interface AnswerShape {
  /** The answering node. */
  readonly nodeId: number;
  /** The leader it knows; -1 for none. */
  readonly leaderId?: number;
  /** The ids of the brokers it lists; default: only itself. */
  readonly brokers?: readonly number[];
  /** Which of those are fenced. */
  readonly fenced?: readonly number[];
  readonly withQuorum?: boolean;
}

function answer(shape: AnswerShape): ClusterDescription {
  const brokers = shape.brokers ?? [shape.nodeId];
  return {
    clusterId: 'c',
    controllerId: shape.nodeId,
    brokers: brokers.map((id) => ({
      nodeId: id,
      host: '127.0.0.1',
      port: 7070 + id,
      address: `127.0.0.1:${7070 + id}`,
      rack: '',
      fenced: shape.fenced?.includes(id) ?? false,
    })),
    quorum:
      shape.withQuorum === false
        ? null
        : {
            leaderId: shape.leaderId ?? 0,
            term: 1,
            members: [],
            node: {
              nodeId: shape.nodeId,
              role: shape.leaderId === shape.nodeId ? 'leader' : 'follower',
              commitIndex: 1,
              appliedIndex: 1,
              lastIndex: 1,
              snapshotIndex: 0,
              appliedDigest: '00',
            },
          },
  };
}

/** Answers of `count` nodes that each list only themselves and know leader 1: today's shape. */
function localAnswers(count: number): ClusterDescription[] {
  return Array.from({ length: count }, (_, nodeId) => answer({ nodeId, leaderId: 1 }));
}

describe('isClusterReady', () => {
  it('is ready when every node answers, knows the same leader, and lists itself (local metadata)', () => {
    expect(isClusterReady(localAnswers(3))).toEqual({ ready: true, leaderId: 1 });
  });

  it('is ready when every node lists every broker (metadata on Raft)', () => {
    const answers = [0, 1, 2].map((nodeId) => answer({ nodeId, leaderId: 2, brokers: [0, 1, 2] }));
    expect(isClusterReady(answers)).toEqual({ ready: true, leaderId: 2 });
  });

  it('is ready for one node that leads itself', () => {
    expect(isClusterReady([answer({ nodeId: 0, leaderId: 0 })])).toEqual({
      ready: true,
      leaderId: 0,
    });
  });

  it('waits for nodes that do not answer, naming them', () => {
    const answers = [localAnswers(3)[0]!, null, null];
    expect(isClusterReady(answers)).toEqual({ ready: false, waitingFor: ['nodes 1, 2 to answer'] });
  });

  it('waits while a node knows no leader, or answers without a quorum section', () => {
    const answers = [
      answer({ nodeId: 0, leaderId: -1 }),
      answer({ nodeId: 1, leaderId: 1 }),
      answer({ nodeId: 2, withQuorum: false }),
    ];
    expect(isClusterReady(answers)).toEqual({
      ready: false,
      waitingFor: ['nodes 0, 2 to know a Raft leader'],
    });
  });

  it('waits while the nodes name different leaders (an election settling)', () => {
    const answers = [0, 1, 2].map((nodeId) => answer({ nodeId, leaderId: nodeId === 2 ? 2 : 0 }));
    const verdict = isClusterReady(answers);
    expect(verdict.ready).toBe(false);
    expect(!verdict.ready && verdict.waitingFor).toEqual([
      'the nodes to agree on one Raft leader (they name 0, 2)',
    ]);
  });

  it('waits for a node no answer lists as a broker', () => {
    const answers = [0, 1, 2].map((nodeId) => answer({ nodeId, leaderId: 0, brokers: [0, 1] }));
    expect(isClusterReady(answers)).toEqual({
      ready: false,
      waitingFor: ['node 2 to register as a broker'],
    });
  });

  it('waits while any answer lists a fenced broker', () => {
    const answers = [0, 1, 2].map((nodeId) =>
      answer({ nodeId, leaderId: 0, brokers: [0, 1, 2], fenced: nodeId === 0 ? [1] : [] }),
    );
    expect(isClusterReady(answers)).toEqual({
      ready: false,
      waitingFor: ['broker 1 to be unfenced'],
    });
  });

  it('lists everything missing at once', () => {
    const answers = [answer({ nodeId: 0, leaderId: -1, brokers: [] }), null];
    expect(isClusterReady(answers)).toEqual({
      ready: false,
      waitingFor: [
        'node 1 to answer',
        'node 0 to know a Raft leader',
        'node 0 to register as a broker',
      ],
    });
  });
});
