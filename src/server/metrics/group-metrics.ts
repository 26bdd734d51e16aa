/**
 * Consumer groups this node coordinates (it leads their __consumer_offsets partition), computed
 * at scrape time: state, members and lag per committed partition.
 *
 * Lag is the partition's high watermark minus the group's committed offset, where this node
 * knows the high watermark: it leads the partition (exact), or holds a follower replica (the
 * HW the leader last sent, at most one fetch behind, so the lag may read a little low). A
 * partition with no replica here has no lag series; brook_group_lag_unknown_partitions counts
 * them, so a dashboard can tell "no lag" from "not known here". Every coordinator reports only
 * its own groups, so a group's series come from one node at a time.
 */
import { Gauge, type Registry } from 'prom-client';
import {
  splitPartitionKey,
  stateName,
  type GroupStateName,
  type GroupView,
} from '../../group/index.js';
import { oncePerTurn } from './collect.js';

/** Most lag series per scrape; groups and their counts are still all reported. */
export const GROUP_LAG_SERIES_MAX = 20_000;

export const GROUP_STATES: readonly GroupStateName[] = [
  'Empty',
  'Assigning',
  'Reconciling',
  'Stable',
];

export interface GroupSource {
  /** The groups of every coordinator shard serving now. */
  groups(): readonly GroupView[];
  /** The high watermark this node knows for the partition, or null when it holds no replica. */
  highWatermarkOf(topic: string, partition: number): number | null;
}

export interface GroupRow {
  readonly group: string;
  readonly state: GroupStateName;
  readonly members: number;
  /** Committed partitions whose high watermark is not known here. */
  readonly unknownPartitions: number;
}

export interface LagRow {
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
  readonly lag: number;
}

export interface GroupSnapshot {
  readonly groups: readonly GroupRow[];
  /** At most GROUP_LAG_SERIES_MAX rows. */
  readonly lags: readonly LagRow[];
  readonly omittedLags: number;
}

export function groupSnapshot(source: GroupSource): GroupSnapshot {
  const groups: GroupRow[] = [];
  const lags: LagRow[] = [];
  let omittedLags = 0;
  for (const view of source.groups()) {
    let unknownPartitions = 0;
    for (const [key, committed] of view.offsets) {
      const [topic, partition] = splitPartitionKey(key);
      const highWatermark = source.highWatermarkOf(topic, partition);
      if (highWatermark === null) {
        unknownPartitions++;
        continue;
      }
      if (lags.length >= GROUP_LAG_SERIES_MAX) {
        omittedLags++;
        continue;
      }
      const lag = Math.max(0, highWatermark - committed.offset);
      lags.push({ group: view.groupId, topic, partition, lag });
    }
    groups.push({
      group: view.groupId,
      state: view.state === undefined ? 'Empty' : stateName(view.state),
      members: view.state?.members.size ?? 0,
      unknownPartitions,
    });
  }
  return { groups, lags, omittedLags };
}

export function registerGroupMetrics(registry: Registry, source: GroupSource): void {
  const snapshot = oncePerTurn(() => groupSnapshot(source));
  new Gauge({
    name: 'brook_group_lag',
    help: "Records a group has yet to commit on a partition (the partition's high watermark minus the committed offset), for groups this node coordinates and partitions whose high watermark it knows (it holds a replica).",
    labelNames: ['group', 'topic', 'partition'],
    registers: [registry],
    collect(this: Gauge<'group' | 'topic' | 'partition'>) {
      this.reset();
      for (const row of snapshot().lags) {
        this.set({ group: row.group, topic: row.topic, partition: row.partition }, row.lag);
      }
    },
  });
  new Gauge({
    name: 'brook_group_lag_unknown_partitions',
    help: 'Partitions a group this node coordinates has committed offsets for, whose high watermark this node does not know (it holds no replica): they have no brook_group_lag series here.',
    labelNames: ['group'],
    registers: [registry],
    collect(this: Gauge<'group'>) {
      this.reset();
      for (const row of snapshot().groups) this.set({ group: row.group }, row.unknownPartitions);
    },
  });
  new Gauge({
    name: 'brook_group_members',
    help: 'Members of a group this node coordinates.',
    labelNames: ['group'],
    registers: [registry],
    collect(this: Gauge<'group'>) {
      this.reset();
      for (const row of snapshot().groups) this.set({ group: row.group }, row.members);
    },
  });
  new Gauge({
    name: 'brook_group_state',
    help: 'State of a group this node coordinates: 1 for the current one (Empty, Assigning, Reconciling, Stable), 0 for the others.',
    labelNames: ['group', 'state'],
    registers: [registry],
    collect(this: Gauge<'group' | 'state'>) {
      this.reset();
      for (const row of snapshot().groups) {
        for (const state of GROUP_STATES) {
          this.set({ group: row.group, state }, state === row.state ? 1 : 0);
        }
      }
    },
  });
  new Gauge({
    name: 'brook_group_lag_series_omitted',
    help: `Group partitions left without a brook_group_lag series because there are more than ${GROUP_LAG_SERIES_MAX}.`,
    registers: [registry],
    collect(this: Gauge) {
      this.set(snapshot().omittedLags);
    },
  });
}
