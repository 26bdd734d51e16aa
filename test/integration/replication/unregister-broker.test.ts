/**
 * Removing a broker safely, as a StatefulSet scale-down does it, on a real cluster of three Raft
 * voters (1-3) and one observer broker (4): `brook brokers drain 4` moves every replica off it
 * while acks=all producers keep writing, then `brook brokers unregister 4` removes it once its
 * process is gone. Checks: no partition names 4 afterwards and every acknowledged record is
 * still at its offset; unregister refuses a running broker, a voter, an unknown id and bad ids
 * (INVALID_ARGUMENT naming broker_id), changing nothing; once 4 is stopped it leaves both the
 * brokers and the Raft observers; a drain that cannot place a replica says why and moves nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Admin, BrokerError, type TopicDescription } from '../../../src/client/index.js';
import { runCli, startCluster, type BrokerProcess } from '../../helpers/broker-process.js';
import {
  FAST_CLUSTER_ARGS,
  ProduceLoad,
  createTopic,
  readCommitted,
  waitFor,
} from '../../helpers/cluster.js';
import { call, callError, rawClients } from '../../helpers/grpc.js';
import type { DescribeClusterResponse__Output } from '../../../src/proto/index.js';

const TOPIC = 'leaving';
const PARTITIONS = 4;
const OBSERVER = 4;

let nodes: BrokerProcess[] = [];
/** The voters' addresses: they run throughout, unlike the observer. */
let voters: string[] = [];
let admin: Admin;

beforeAll(async () => {
  nodes = await startCluster(4, { voters: 3, extraArgs: FAST_CLUSTER_ARGS });
  voters = nodes.slice(0, 3).map((n) => n.address);
  admin = new Admin({ bootstrap: voters, retries: 5 });
  await waitFor('four brokers in service', async () => {
    const { brokers } = await admin.describeCluster();
    return brokers.filter((b) => !b.fenced).length === 4 ? true : undefined;
  });
  // Four partitions over four live brokers: each one is the preferred leader of one of them.
  await createTopic(nodes[0]!, TOPIC, PARTITIONS, 2);
}, 60_000);

afterAll(async () => {
  await admin?.close();
  await Promise.all(nodes.map((n) => n.cleanup()));
});

function brook(...args: string[]) {
  return runCli([...args, '--bootstrap', voters.join(',')]);
}

async function topics(): Promise<readonly TopicDescription[]> {
  return (await admin.metadata()).topics;
}

/** Partition names whose replicas include `brokerId`. */
async function holding(brokerId: number): Promise<string[]> {
  return (await topics()).flatMap((t) =>
    t.partitions
      .filter((p) => p.replicas.includes(brokerId))
      .map((p) => `${t.name}-${p.partition}`),
  );
}

/** Every partition's replicas and ISR, to compare before and after a refused command. */
async function layout(): Promise<string> {
  return JSON.stringify(
    (await topics()).map((t) => [t.name, t.partitions.map((p) => [p.replicas, [...p.isr].sort()])]),
  );
}

describe('brook brokers drain and unregister', () => {
  it('a dry run prints the moves as reassignment JSON and changes nothing', async () => {
    const before = await layout();
    const held = await holding(OBSERVER);
    expect(held.length).toBeGreaterThanOrEqual(1);
    const result = await brook('brokers', 'drain', String(OBSERVER), '--dry-run');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const plan = JSON.parse(result.stdout) as {
      version: number;
      partitions: { topic: string; partition: number; replicas: number[] }[];
    };
    expect(plan.version).toBe(1);
    expect(plan.partitions.map((p) => `${p.topic}-${p.partition}`)).toEqual(held);
    for (const p of plan.partitions) {
      expect(p.replicas).toHaveLength(2);
      expect(p.replicas).not.toContain(OBSERVER);
    }
    expect(await layout()).toBe(before);
    expect(await admin.listPartitionReassignments()).toEqual([]);
  });

  it('drain moves every replica off the broker under acks=all load, losing no acknowledged record', async () => {
    const loads = Array.from(
      { length: PARTITIONS },
      (_, p) => new ProduceLoad(nodes, TOPIC, p, `p${p}`),
    );
    let result;
    try {
      await Promise.all(loads.map((l) => l.waitForAcked(30)));
      result = await brook('brokers', 'drain', String(OBSERVER));
      await Promise.all(loads.map((l, p) => l.waitForAcked(loads[p]!.acked.length + 10)));
    } finally {
      await Promise.all(loads.map((l) => l.stop()));
    }
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      `Broker ${OBSERVER} holds no replicas now. Once its process is gone: brook brokers unregister ${OBSERVER}\n`,
    );
    expect(await holding(OBSERVER)).toEqual([]);
    for (const [p, load] of loads.entries()) {
      const read = await readCommitted(nodes, TOPIC, p);
      const lost = load.acked.filter((a) => read.get(a.offset) !== a.value);
      expect(lost, `${TOPIC}-${p}`).toEqual([]);
    }

    const again = await brook('brokers', 'drain', String(OBSERVER));
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(
      `Broker ${OBSERVER} holds no replicas: nothing to move. Once its process is gone: brook brokers unregister ${OBSERVER}\n`,
    );
  });

  it('unregister refuses a running broker, then removes a stopped one from the brokers and the Raft observers', async () => {
    const running = await admin.unregisterBroker(OBSERVER).catch((e: unknown) => e);
    expect(running).toBeInstanceOf(BrokerError);
    expect((running as BrokerError).code).toBe('INVALID_REQUEST');
    expect((running as BrokerError).message).toBe(
      `broker ${OBSERVER} is running (unfenced): stop it first; a running broker would register again`,
    );
    const still = await admin.describeCluster();
    expect(still.brokers.find((b) => b.nodeId === OBSERVER)?.fenced).toBe(false);
    expect(still.quorum?.members.map((m) => m.nodeId)).toContain(OBSERVER);

    // SIGTERM by PID: a controlled shutdown, which fences the broker before it exits.
    await nodes[OBSERVER - 1]!.stop();
    await waitFor('the stopped broker fenced', async () => {
      const { brokers } = await admin.describeCluster();
      return brokers.find((b) => b.nodeId === OBSERVER)?.fenced === true ? true : undefined;
    });
    const removed = await brook('brokers', 'unregister', String(OBSERVER));
    expect(removed.stderr).toBe('');
    expect(removed.code).toBe(0);
    expect(removed.stdout).toBe(`Unregistered broker ${OBSERVER}.\n`);

    // Every voter's own view: the registration and the observer are gone.
    for (const address of voters) {
      const raw = rawClients(address);
      try {
        await waitFor(`node at ${address} without broker ${OBSERVER}`, async () => {
          const answer = await call<DescribeClusterResponse__Output>(
            raw.admin,
            'DescribeCluster',
            {},
          );
          const brokers = answer.brokers.map((b) => b.nodeId);
          const members = answer.quorum?.members.map((m) => m.nodeId) ?? [];
          return !brokers.includes(OBSERVER) && !members.includes(OBSERVER) ? true : undefined;
        });
      } finally {
        raw.close();
      }
    }
    const described = await brook('cluster', 'describe');
    expect(described.code).toBe(0);
    expect(described.stdout).toMatch(/^1\s+127\.0\.0\.1:/m);
    expect(described.stdout).not.toMatch(new RegExp(`^${OBSERVER}\\s`, 'm'));

    const twice = await brook('brokers', 'unregister', String(OBSERVER));
    expect(twice.code).toBe(1);
    expect(twice.stderr).toBe(
      `brook: broker ${OBSERVER} is not registered (BROKER_ID_NOT_REGISTERED)\n`,
    );
    const again = await admin.unregisterBroker(OBSERVER).catch((e: unknown) => e);
    expect((again as BrokerError).code).toBe('BROKER_ID_NOT_REGISTERED');
  });

  it('unregister refuses a Raft voter and bad ids, changing nothing', async () => {
    const before = await admin.describeCluster();
    const voter = await admin.unregisterBroker(1).catch((e: unknown) => e);
    expect((voter as BrokerError).code).toBe('INVALID_REQUEST');
    expect((voter as BrokerError).message).toBe(
      'broker 1 is a Raft voter; voters are fixed by raft.voters',
    );

    const raw = rawClients(nodes[1]!.address);
    try {
      // 2^31 and 2^32 - 1 do not fit an int32: they arrive as -2^31 and -1.
      for (const brokerId of [-1, -7, 2 ** 31, 2 ** 32 - 1]) {
        const error = await callError(raw.admin, 'UnregisterBroker', { brokerId });
        expect(error.code, String(brokerId)).toBe(3); // INVALID_ARGUMENT
        expect(error.details).toContain('broker_id');
      }
      const after = await call<DescribeClusterResponse__Output>(raw.admin, 'DescribeCluster', {});
      expect(after.brokers.map((b) => b.nodeId)).toEqual(before.brokers.map((b) => b.nodeId));
    } finally {
      raw.close();
    }
    expect(nodes[1]!.isRunning()).toBe(true);
    expect(nodes[1]!.errorLines()).toEqual([]);
  });

  it('drain refuses a partition that cannot move, and an unknown broker, changing nothing', async () => {
    // Three live brokers now, so a replica of an RF 3 partition has nowhere to go.
    await createTopic(nodes[0]!, 'stuck', 1, 3);
    const before = await layout();
    const stuck = await brook('brokers', 'drain', '2');
    expect(stuck.code).toBe(1);
    expect(stuck.stdout).toBe('');
    expect(stuck.stderr).toMatch(
      /^brook: \S+-\d+ already has a replica on every other live broker \(1,3\).*; add a broker or lower the replication factor\n$/,
    );
    const unknown = await brook('brokers', 'drain', '9');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe('brook: broker(s) 9 are not registered; the cluster has 1, 2, 3\n');
    expect(await layout()).toBe(before);
    expect(await admin.listPartitionReassignments()).toEqual([]);
  });

  it('a removed broker started again on its old volume rejoins the quorum and comes into service', async () => {
    // Its stored Raft membership still lists it as an observer; it must ask to be one again.
    await nodes[OBSERVER - 1]!.restart();
    await waitFor(`broker ${OBSERVER} in service again`, async () => {
      const { brokers, quorum } = await admin.describeCluster();
      const isBroker = brokers.find((b) => b.nodeId === OBSERVER)?.fenced === false;
      const isMember = quorum?.members.some((m) => m.nodeId === OBSERVER) ?? false;
      return isBroker && isMember ? true : undefined;
    });
  });
});
