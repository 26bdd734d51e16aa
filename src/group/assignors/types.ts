/**
 * The contract between the group coordinator and a server-side assignor (KIP-848): whenever a
 * group's epoch changes, the coordinator resolves each member's subscription to existing topic
 * names and asks the group's assignor for the new target assignment.
 */

/** topic name -> partition numbers (ascending, no duplicates). */
export type TopicAssignment = ReadonlyMap<string, readonly number[]>;

export interface AssignorMember {
  readonly memberId: string;
  /** Names of the existing topics this member subscribes to (already resolved from names or a regex). */
  readonly subscribedTopics: ReadonlySet<string>;
  /** The member's partitions in the group's previous target assignment (empty for a new member): stickiness starts from here. */
  readonly previousTarget: TopicAssignment;
}

export interface AssignorInput {
  /** Members in any order; the result must not depend on the order. */
  readonly members: readonly AssignorMember[];
  /** Partition count of every topic some member subscribes to (and only those). */
  readonly topics: ReadonlyMap<string, number>;
}

export interface Assignor {
  readonly name: string;
  /** memberId -> its target partitions; every member of the input has an entry (possibly empty). Pure and deterministic. */
  assign(input: AssignorInput): Map<string, TopicAssignment>;
}
