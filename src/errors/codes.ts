/**
 * The one table of Kafka error codes Brook returns (STYLE.md §4). Everything else derives from
 * it: the proto enum carries the same names and numbers, BrokerError reads `retriable` here, and
 * server/error-status.ts maps a whole-call failure to the gRPC status named here.
 */

/** gRPC status codes (google.rpc.Code), named here so errors/ does not depend on grpc-js. */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;
export type GrpcStatus = (typeof GrpcStatus)[keyof typeof GrpcStatus];

interface ErrorInfo {
  readonly code: number;
  readonly retriable: boolean;
  /** Status of a gRPC call that fails as a whole with this error. */
  readonly status: GrpcStatus;
  readonly message: string;
}

const S = GrpcStatus;

/** Keyed by the Kafka name, which is also the proto enum name. */
export const ERRORS = {
  NONE: { code: 0, retriable: false, status: S.OK, message: 'success' },
  UNKNOWN_SERVER_ERROR: {
    code: -1,
    retriable: false,
    status: S.INTERNAL,
    message: 'the server hit an unexpected error; see its log',
  },
  OFFSET_OUT_OF_RANGE: {
    code: 1,
    retriable: false,
    status: S.OUT_OF_RANGE,
    message: 'the offset is outside the range the partition holds',
  },
  CORRUPT_MESSAGE: {
    code: 2,
    retriable: true,
    status: S.INVALID_ARGUMENT,
    message: 'the record batch failed its CRC or structure check',
  },
  UNKNOWN_TOPIC_OR_PARTITION: {
    code: 3,
    retriable: true,
    status: S.NOT_FOUND,
    message: 'this server does not host this topic-partition',
  },
  LEADER_NOT_AVAILABLE: {
    code: 5,
    retriable: true,
    status: S.UNAVAILABLE,
    message: 'there is no leader for this partition right now',
  },
  NOT_LEADER_OR_FOLLOWER: {
    code: 6,
    retriable: true,
    status: S.UNAVAILABLE,
    message: 'this server is not the leader for the partition',
  },
  REQUEST_TIMED_OUT: {
    code: 7,
    retriable: true,
    status: S.DEADLINE_EXCEEDED,
    message: 'the request timed out',
  },
  RECORD_TOO_LARGE: {
    code: 10,
    retriable: false,
    status: S.INVALID_ARGUMENT,
    message: 'the record batch is larger than max.message.bytes',
  },
  OFFSET_METADATA_TOO_LARGE: {
    code: 12,
    retriable: false,
    status: S.INVALID_ARGUMENT,
    message: 'the metadata string of a committed offset is longer than offset.metadata.max.bytes',
  },
  // Retriable: the new coordinator is replaying its __consumer_offsets partition; ask again.
  COORDINATOR_LOAD_IN_PROGRESS: {
    code: 14,
    retriable: true,
    status: S.UNAVAILABLE,
    message: 'the group coordinator is loading the group state; retry shortly',
  },
  COORDINATOR_NOT_AVAILABLE: {
    code: 15,
    retriable: true,
    status: S.UNAVAILABLE,
    message:
      'the group coordinator is not available (no leader for its partition of __consumer_offsets)',
  },
  // Retriable once the sender has found the coordinator again (FindCoordinator, or the hint).
  NOT_COORDINATOR: {
    code: 16,
    retriable: true,
    status: S.UNAVAILABLE,
    message: 'this node is not the coordinator of the group',
  },
  INVALID_TOPIC_EXCEPTION: {
    code: 17,
    retriable: false,
    status: S.INVALID_ARGUMENT,
    message: 'the topic name is not valid',
  },
  NOT_ENOUGH_REPLICAS: {
    code: 19,
    retriable: true,
    status: S.UNAVAILABLE,
    message: 'fewer in-sync replicas than min.insync.replicas',
  },
  NOT_ENOUGH_REPLICAS_AFTER_APPEND: {
    code: 20,
    retriable: true,
    status: S.UNAVAILABLE,
    message:
      'the batch was appended, but the ISR shrank below min.insync.replicas before it was acknowledged',
  },
  INVALID_GROUP_ID: {
    code: 24,
    retriable: false,
    status: S.INVALID_ARGUMENT,
    message: 'the group id is not valid',
  },
  // Not retriable as is: the member was removed (left, or its session expired); it joins again
  // with member epoch 0.
  UNKNOWN_MEMBER_ID: {
    code: 25,
    retriable: false,
    status: S.FAILED_PRECONDITION,
    message: 'the group has no member with this id; join again',
  },
  INVALID_SESSION_TIMEOUT: {
    code: 26,
    retriable: false,
    status: S.INVALID_ARGUMENT,
    message: "the session timeout is outside the broker's allowed range",
  },
  INVALID_TIMESTAMP: {
    code: 32,
    retriable: false,
    status: S.INVALID_ARGUMENT,
    message: 'the timestamp is out of the acceptable range',
  },
  TOPIC_ALREADY_EXISTS: {
    code: 36,
    retriable: false,
    status: S.ALREADY_EXISTS,
    message: 'the topic already exists',
  },
  INVALID_PARTITIONS: {
    code: 37,
    retriable: false,
    status: S.INVALID_ARGUMENT,
    message: 'the partition count is not valid',
  },
  INVALID_REPLICATION_FACTOR: {
    code: 38,
    retriable: false,
    status: S.INVALID_ARGUMENT,
    message: 'the replication factor is not valid',
  },
  INVALID_REPLICA_ASSIGNMENT: {
    code: 39,
    retriable: false,
    status: S.INVALID_ARGUMENT,
    message: 'the replica assignment is not valid',
  },
  INVALID_CONFIG: {
    code: 40,
    retriable: false,
    status: S.INVALID_ARGUMENT,
    message: 'the configuration is not valid',
  },
  NOT_CONTROLLER: {
    code: 41,
    retriable: true,
    status: S.UNAVAILABLE,
    message: 'this node is not the active controller (the Raft leader of the metadata quorum)',
  },
  INVALID_REQUEST: {
    code: 42,
    retriable: false,
    status: S.INVALID_ARGUMENT,
    message: 'the request is malformed',
  },
  KAFKA_STORAGE_ERROR: {
    code: 56,
    retriable: true,
    status: S.UNAVAILABLE,
    message: 'the broker could not read or write its storage',
  },
  NON_EMPTY_GROUP: {
    code: 68,
    retriable: false,
    status: S.FAILED_PRECONDITION,
    message: 'the group has active members',
  },
  GROUP_ID_NOT_FOUND: {
    code: 69,
    retriable: false,
    status: S.FAILED_PRECONDITION,
    message: 'the group does not exist',
  },
  GROUP_MAX_SIZE_REACHED: {
    code: 81,
    retriable: false,
    status: S.RESOURCE_EXHAUSTED,
    message: 'the group has as many members as it may have',
  },
  NO_REASSIGNMENT_IN_PROGRESS: {
    code: 85,
    retriable: false,
    status: S.FAILED_PRECONDITION,
    message: 'no reassignment of the partition is in progress',
  },
  // Retriable once the sender has refreshed its metadata: another leader epoch began, and the
  // sender may still lead the new one (or learn who does).
  FENCED_LEADER_EPOCH: {
    code: 74,
    retriable: true,
    status: S.ABORTED,
    message: 'the leader epoch in the request is older than the current one',
  },
  // Retriable: the receiver (a partition leader) has not yet seen the newer leader epoch the
  // sender names; it will once its metadata catches up.
  UNKNOWN_LEADER_EPOCH: {
    code: 75,
    retriable: true,
    status: S.UNAVAILABLE,
    message: 'the leader epoch in the request is newer than the one this broker knows',
  },
  UNSUPPORTED_COMPRESSION_TYPE: {
    code: 76,
    retriable: false,
    status: S.INVALID_ARGUMENT,
    message: 'the compression codec is not supported',
  },
  // Not retriable: the registration the broker holds was superseded; it must register again
  // (and get a new broker epoch) rather than repeat the call.
  STALE_BROKER_EPOCH: {
    code: 77,
    retriable: false,
    status: S.FAILED_PRECONDITION,
    message: 'the broker epoch is not the epoch of its current registration; register again',
  },
  INVALID_RECORD: {
    code: 87,
    retriable: false,
    status: S.INVALID_ARGUMENT,
    message: 'a record in the batch is not valid',
  },
  // Not retriable: the node's data dir belongs to another cluster; an operator must fix it.
  // Not retriable: the broker id has no registration (never registered, or unregistered).
  BROKER_ID_NOT_REGISTERED: {
    code: 102,
    retriable: false,
    status: S.FAILED_PRECONDITION,
    message: 'the broker id is not registered',
  },
  INCONSISTENT_CLUSTER_ID: {
    code: 104,
    retriable: false,
    status: S.FAILED_PRECONDITION,
    message: 'the node belongs to another cluster (its data dir has another cluster id)',
  },
  // Retriable (ABORTED, gRPC's code for a failed optimistic-concurrency check): the leader
  // proposed an ISR change to a member that is not registered, unfenced and out of controlled
  // shutdown; it proposes again once the replica is eligible, or without it.
  INELIGIBLE_REPLICA: {
    code: 107,
    retriable: true,
    status: S.ABORTED,
    message: 'a replica added to the ISR is not eligible (fenced, shutting down or unknown)',
  },
  // Retriable (ABORTED): the ISR change was computed from an older partition epoch; the leader
  // waits for the newer partition state in the metadata and proposes again from it.
  INVALID_UPDATE_VERSION: {
    code: 108,
    retriable: true,
    status: S.ABORTED,
    message: 'the partition epoch in the request is not the current one',
  },
  // Not retriable as is: another member took over, or the member was evicted; it must drop its
  // partitions (without committing) and join again with member epoch 0.
  FENCED_MEMBER_EPOCH: {
    code: 110,
    retriable: false,
    status: S.FAILED_PRECONDITION,
    message: 'the member epoch is not the current one: the member was fenced; rejoin',
  },
  UNSUPPORTED_ASSIGNOR: {
    code: 112,
    retriable: false,
    status: S.INVALID_ARGUMENT,
    message: 'the server assignor named is not one this broker has',
  },
  // Retriable after the next heartbeat: the member's epoch moved on since the request was made.
  STALE_MEMBER_EPOCH: {
    code: 113,
    retriable: true,
    status: S.FAILED_PRECONDITION,
    message: "the member epoch is older than the member's current epoch; heartbeat, then retry",
  },
} as const satisfies Record<string, ErrorInfo>;

/** A Kafka error name, as in the proto enum `brook.v1.ErrorCode`. */
export type ErrorCode = keyof typeof ERRORS;

/** All names, for exhaustive checks and for decoding. */
export const ERROR_CODES = Object.keys(ERRORS) as readonly ErrorCode[];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERRORS, value);
}

export function errorInfo(code: ErrorCode): ErrorInfo {
  return ERRORS[code];
}
