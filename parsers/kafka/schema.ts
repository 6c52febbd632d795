/**
 * Kafka protocol tables, from the protocol specification: the API keys with the first flexible version
 * (tagged fields, compact strings/arrays) and the newest version known here, the error codes, and the
 * message layouts of the APIs decoded in depth.
 *
 * Source: the message definitions Apache Kafka generates its protocol guide
 * (https://kafka.apache.org/protocol) from, `clients/src/main/resources/common/message/*.json` at
 * apache/kafka commit 1eb7644349cb07139d6a3c1ad1986979647cac99 (Oct 2024), transcribed mechanically
 * (every non-tagged field in order, with its version range and nullability; tagged fields are skipped
 * as the encoding allows); keys 88-92 and error codes 129-133 from the later Errors.java/definitions.
 * Field names are kept as comments. Fields a span needs carry a role (topic, topic id, partition,
 * error code, group, acks); records fields are walked batch by batch (see records.ts).
 */

/** Field types. Fixed-size integers are read big-endian. */
export const T_I8 = 1; // int8, bool
export const T_I16 = 2; // int16, uint16
export const T_I32 = 3; // int32, uint32
export const T_I64 = 4; // int64, float64
export const T_UUID = 5; // 16 bytes
export const T_STR = 6; // string / compact string (nullable in nullable versions)
export const T_BYTES = 7; // bytes / compact bytes
export const T_RECORDS = 8; // records: bytes holding record batches (or message sets)
export const T_ARRAY = 9; // array of structs (each ends with tagged fields in flexible versions)
export const T_PARRAY = 10; // array of one primitive type (children[0])
export const T_STRUCT = 11; // a nested struct (a presence byte in its nullable versions)

/** Roles: what a field's value means for the span. */
export const R_NONE = 0;
export const R_TOPIC = 1;
export const R_TOPIC_ID = 2;
export const R_PARTITION = 3;
export const R_ERROR = 4;
export const R_GROUP = 5;
export const R_ACKS = 6;

/** A field of a message layout: present in versions min..max, nullable from `nullMin` (99: never). */
export interface FieldSpec {
  readonly min: number;
  readonly max: number;
  readonly type: number;
  readonly role: number;
  readonly nullMin: number;
  readonly children: readonly FieldSpec[] | null;
}

function F(min: number, max: number, type: number, role: number, nullMin: number, children: readonly FieldSpec[] | null): FieldSpec {
  return { min, max, type, role, nullMin, children };
}

/** [api key, name, first flexible version (99: none), newest version known]. */
const API_TABLE: readonly (readonly [number, string, number, number])[] = [
  [0, 'Produce', 9, 11],
  [1, 'Fetch', 12, 17],
  [2, 'ListOffsets', 6, 10],
  [3, 'Metadata', 9, 12],
  [4, 'LeaderAndIsr', 4, 7],
  [5, 'StopReplica', 2, 4],
  [6, 'UpdateMetadata', 6, 8],
  [7, 'ControlledShutdown', 3, 3],
  [8, 'OffsetCommit', 8, 9],
  [9, 'OffsetFetch', 6, 9],
  [10, 'FindCoordinator', 3, 6],
  [11, 'JoinGroup', 6, 9],
  [12, 'Heartbeat', 4, 4],
  [13, 'LeaveGroup', 4, 5],
  [14, 'SyncGroup', 4, 5],
  [15, 'DescribeGroups', 5, 5],
  [16, 'ListGroups', 3, 5],
  [17, 'SaslHandshake', 99, 1],
  [18, 'ApiVersions', 3, 4],
  [19, 'CreateTopics', 5, 7],
  [20, 'DeleteTopics', 4, 6],
  [21, 'DeleteRecords', 2, 2],
  [22, 'InitProducerId', 2, 5],
  [23, 'OffsetForLeaderEpoch', 4, 4],
  [24, 'AddPartitionsToTxn', 3, 5],
  [25, 'AddOffsetsToTxn', 3, 4],
  [26, 'EndTxn', 3, 5],
  [27, 'WriteTxnMarkers', 1, 1],
  [28, 'TxnOffsetCommit', 3, 4],
  [29, 'DescribeAcls', 2, 3],
  [30, 'CreateAcls', 2, 3],
  [31, 'DeleteAcls', 2, 3],
  [32, 'DescribeConfigs', 4, 4],
  [33, 'AlterConfigs', 2, 2],
  [34, 'AlterReplicaLogDirs', 2, 2],
  [35, 'DescribeLogDirs', 2, 4],
  [36, 'SaslAuthenticate', 2, 2],
  [37, 'CreatePartitions', 2, 3],
  [38, 'CreateDelegationToken', 2, 3],
  [39, 'RenewDelegationToken', 2, 2],
  [40, 'ExpireDelegationToken', 2, 2],
  [41, 'DescribeDelegationToken', 2, 3],
  [42, 'DeleteGroups', 2, 2],
  [43, 'ElectLeaders', 2, 2],
  [44, 'IncrementalAlterConfigs', 1, 1],
  [45, 'AlterPartitionReassignments', 0, 0],
  [46, 'ListPartitionReassignments', 0, 0],
  [47, 'OffsetDelete', 99, 0],
  [48, 'DescribeClientQuotas', 1, 1],
  [49, 'AlterClientQuotas', 1, 1],
  [50, 'DescribeUserScramCredentials', 0, 0],
  [51, 'AlterUserScramCredentials', 0, 0],
  [52, 'Vote', 0, 1],
  [53, 'BeginQuorumEpoch', 1, 1],
  [54, 'EndQuorumEpoch', 1, 1],
  [55, 'DescribeQuorum', 0, 2],
  [56, 'AlterPartition', 0, 3],
  [57, 'UpdateFeatures', 0, 2],
  [58, 'Envelope', 0, 0],
  [59, 'FetchSnapshot', 0, 1],
  [60, 'DescribeCluster', 0, 1],
  [61, 'DescribeProducers', 0, 0],
  [62, 'BrokerRegistration', 0, 4],
  [63, 'BrokerHeartbeat', 0, 1],
  [64, 'UnregisterBroker', 0, 0],
  [65, 'DescribeTransactions', 0, 0],
  [66, 'ListTransactions', 0, 1],
  [67, 'AllocateProducerIds', 0, 0],
  [68, 'ConsumerGroupHeartbeat', 0, 1],
  [69, 'ConsumerGroupDescribe', 0, 0],
  [70, 'ControllerRegistration', 0, 0],
  [71, 'GetTelemetrySubscriptions', 0, 0],
  [72, 'PushTelemetry', 0, 0],
  [73, 'AssignReplicasToDirs', 0, 0],
  [74, 'ListClientMetricsResources', 0, 0],
  [75, 'DescribeTopicPartitions', 0, 0],
  [76, 'ShareGroupHeartbeat', 0, 0],
  [77, 'ShareGroupDescribe', 0, 0],
  [78, 'ShareFetch', 0, 0],
  [79, 'ShareAcknowledge', 0, 0],
  [80, 'AddRaftVoter', 0, 0],
  [81, 'RemoveRaftVoter', 0, 0],
  [82, 'UpdateRaftVoter', 0, 0],
  [83, 'InitializeShareGroupState', 0, 0],
  [84, 'ReadShareGroupState', 0, 0],
  [85, 'WriteShareGroupState', 0, 0],
  [86, 'DeleteShareGroupState', 0, 0],
  [87, 'ReadShareGroupStateSummary', 0, 0],
  [88, 'StreamsGroupHeartbeat', 0, 1],
  [89, 'StreamsGroupDescribe', 0, 0],
  [90, 'DescribeShareGroupOffsets', 0, 0],
  [91, 'AlterShareGroupOffsets', 0, 0],
  [92, 'DeleteShareGroupOffsets', 0, 0],
];

export const API_KEY_PRODUCE = 0;
export const API_KEY_FETCH = 1;
export const API_KEY_CONTROLLED_SHUTDOWN = 7;
export const API_KEY_API_VERSIONS = 18;
export const MAX_API_KEY = 92;

/** API names by key ('' when unknown), e.g. 'JoinGroup'. */
export const API_NAMES: string[] = [];
/** `messaging.operation.name` by key: the API name in snake case ('join_group'). */
export const OPERATION_NAMES: string[] = [];
/** First flexible version by key (99 when never flexible or unknown). */
export const FLEXIBLE_FROM: number[] = [];
/** Newest version known here by key (-1 when the key is unknown). */
export const MAX_VERSION: number[] = [];
for (let k = 0; k <= MAX_API_KEY; k++) {
  API_NAMES.push('');
  OPERATION_NAMES.push('');
  FLEXIBLE_FROM.push(99);
  MAX_VERSION.push(-1);
}
for (const [key, name, flex, max] of API_TABLE) {
  API_NAMES[key] = name;
  OPERATION_NAMES[key] = name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
  FLEXIBLE_FROM[key] = flex;
  MAX_VERSION[key] = max;
}

/** Error names by code + 1 (code -1 is index 0). */
const ERROR_NAMES: readonly string[] = [
  'UNKNOWN_SERVER_ERROR', 'NONE', 'OFFSET_OUT_OF_RANGE', 'CORRUPT_MESSAGE', 'UNKNOWN_TOPIC_OR_PARTITION',
  'INVALID_FETCH_SIZE', 'LEADER_NOT_AVAILABLE', 'NOT_LEADER_OR_FOLLOWER', 'REQUEST_TIMED_OUT',
  'BROKER_NOT_AVAILABLE', 'REPLICA_NOT_AVAILABLE', 'MESSAGE_TOO_LARGE', 'STALE_CONTROLLER_EPOCH',
  'OFFSET_METADATA_TOO_LARGE', 'NETWORK_EXCEPTION', 'COORDINATOR_LOAD_IN_PROGRESS', 'COORDINATOR_NOT_AVAILABLE',
  'NOT_COORDINATOR', 'INVALID_TOPIC_EXCEPTION', 'RECORD_LIST_TOO_LARGE', 'NOT_ENOUGH_REPLICAS',
  'NOT_ENOUGH_REPLICAS_AFTER_APPEND', 'INVALID_REQUIRED_ACKS', 'ILLEGAL_GENERATION', 'INCONSISTENT_GROUP_PROTOCOL',
  'INVALID_GROUP_ID', 'UNKNOWN_MEMBER_ID', 'INVALID_SESSION_TIMEOUT', 'REBALANCE_IN_PROGRESS',
  'INVALID_COMMIT_OFFSET_SIZE', 'TOPIC_AUTHORIZATION_FAILED', 'GROUP_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED', 'INVALID_TIMESTAMP', 'UNSUPPORTED_SASL_MECHANISM', 'ILLEGAL_SASL_STATE',
  'UNSUPPORTED_VERSION', 'TOPIC_ALREADY_EXISTS', 'INVALID_PARTITIONS', 'INVALID_REPLICATION_FACTOR',
  'INVALID_REPLICA_ASSIGNMENT', 'INVALID_CONFIG', 'NOT_CONTROLLER', 'INVALID_REQUEST',
  'UNSUPPORTED_FOR_MESSAGE_FORMAT', 'POLICY_VIOLATION', 'OUT_OF_ORDER_SEQUENCE_NUMBER', 'DUPLICATE_SEQUENCE_NUMBER',
  'INVALID_PRODUCER_EPOCH', 'INVALID_TXN_STATE', 'INVALID_PRODUCER_ID_MAPPING', 'INVALID_TRANSACTION_TIMEOUT',
  'CONCURRENT_TRANSACTIONS', 'TRANSACTION_COORDINATOR_FENCED', 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  'SECURITY_DISABLED', 'OPERATION_NOT_ATTEMPTED', 'KAFKA_STORAGE_ERROR', 'LOG_DIR_NOT_FOUND',
  'SASL_AUTHENTICATION_FAILED', 'UNKNOWN_PRODUCER_ID', 'REASSIGNMENT_IN_PROGRESS', 'DELEGATION_TOKEN_AUTH_DISABLED',
  'DELEGATION_TOKEN_NOT_FOUND', 'DELEGATION_TOKEN_OWNER_MISMATCH', 'DELEGATION_TOKEN_REQUEST_NOT_ALLOWED',
  'DELEGATION_TOKEN_AUTHORIZATION_FAILED', 'DELEGATION_TOKEN_EXPIRED', 'INVALID_PRINCIPAL_TYPE', 'NON_EMPTY_GROUP',
  'GROUP_ID_NOT_FOUND', 'FETCH_SESSION_ID_NOT_FOUND', 'INVALID_FETCH_SESSION_EPOCH', 'LISTENER_NOT_FOUND',
  'TOPIC_DELETION_DISABLED', 'FENCED_LEADER_EPOCH', 'UNKNOWN_LEADER_EPOCH', 'UNSUPPORTED_COMPRESSION_TYPE',
  'STALE_BROKER_EPOCH', 'OFFSET_NOT_AVAILABLE', 'MEMBER_ID_REQUIRED', 'PREFERRED_LEADER_NOT_AVAILABLE',
  'GROUP_MAX_SIZE_REACHED', 'FENCED_INSTANCE_ID', 'ELIGIBLE_LEADERS_NOT_AVAILABLE', 'ELECTION_NOT_NEEDED',
  'NO_REASSIGNMENT_IN_PROGRESS', 'GROUP_SUBSCRIBED_TO_TOPIC', 'INVALID_RECORD', 'UNSTABLE_OFFSET_COMMIT',
  'THROTTLING_QUOTA_EXCEEDED', 'PRODUCER_FENCED', 'RESOURCE_NOT_FOUND', 'DUPLICATE_RESOURCE',
  'UNACCEPTABLE_CREDENTIAL', 'INCONSISTENT_VOTER_SET', 'INVALID_UPDATE_VERSION', 'FEATURE_UPDATE_FAILED',
  'PRINCIPAL_DESERIALIZATION_FAILURE', 'SNAPSHOT_NOT_FOUND', 'POSITION_OUT_OF_RANGE', 'UNKNOWN_TOPIC_ID',
  'DUPLICATE_BROKER_REGISTRATION', 'BROKER_ID_NOT_REGISTERED', 'INCONSISTENT_TOPIC_ID', 'INCONSISTENT_CLUSTER_ID',
  'TRANSACTIONAL_ID_NOT_FOUND', 'FETCH_SESSION_TOPIC_ID_ERROR', 'INELIGIBLE_REPLICA', 'NEW_LEADER_ELECTED',
  'OFFSET_MOVED_TO_TIERED_STORAGE', 'FENCED_MEMBER_EPOCH', 'UNRELEASED_INSTANCE_ID', 'UNSUPPORTED_ASSIGNOR',
  'STALE_MEMBER_EPOCH', 'MISMATCHED_ENDPOINT_TYPE', 'UNSUPPORTED_ENDPOINT_TYPE', 'UNKNOWN_CONTROLLER_ID',
  'UNKNOWN_SUBSCRIPTION_ID', 'TELEMETRY_TOO_LARGE', 'INVALID_REGISTRATION', 'TRANSACTION_ABORTABLE',
  'INVALID_RECORD_STATE', 'SHARE_SESSION_NOT_FOUND', 'INVALID_SHARE_SESSION_EPOCH', 'FENCED_STATE_EPOCH',
  'INVALID_VOTER_KEY', 'DUPLICATE_VOTER', 'VOTER_NOT_FOUND', 'INVALID_REGULAR_EXPRESSION', 'REBOOTSTRAP_REQUIRED',
  'STREAMS_INVALID_TOPOLOGY', 'STREAMS_INVALID_TOPOLOGY_EPOCH', 'STREAMS_TOPOLOGY_FENCED',
  'SHARE_SESSION_LIMIT_REACHED',
];

/** The error name of a code ('UNKNOWN_TOPIC_OR_PARTITION'), or 'ERROR_{code}' for codes not in the table. */
export function errorName(code: number): string {
  const n = ERROR_NAMES[code + 1];
  return n !== undefined ? n : `ERROR_${code}`;
}

/** [api key, 1 request / 2 response, newest version, fields]. */
const LAYOUTS: readonly (readonly [number, number, number, readonly FieldSpec[]])[] = [
  // ProduceRequest: apiKey 0, versions 0-11, flexible 9+
  [0, 1, 11, [
    F(3, 99, T_STR, R_NONE, 3, null), // TransactionalId
    F(0, 99, T_I16, R_ACKS, 99, null), // Acks
    F(0, 99, T_I32, R_NONE, 99, null), // TimeoutMs
    F(0, 99, T_ARRAY, R_NONE, 99, [ // TopicData
      F(0, 99, T_STR, R_TOPIC, 99, null), // Name
      F(0, 99, T_ARRAY, R_NONE, 99, [ // PartitionData
        F(0, 99, T_I32, R_PARTITION, 99, null), // Index
        F(0, 99, T_RECORDS, R_NONE, 0, null), // Records
      ]),
    ]),
  ]],
  // ProduceResponse: apiKey 0, versions 0-11, flexible 9+
  [0, 2, 11, [
    F(0, 99, T_ARRAY, R_NONE, 99, [ // Responses
      F(0, 99, T_STR, R_TOPIC, 99, null), // Name
      F(0, 99, T_ARRAY, R_NONE, 99, [ // PartitionResponses
        F(0, 99, T_I32, R_PARTITION, 99, null), // Index
        F(0, 99, T_I16, R_ERROR, 99, null), // ErrorCode
        F(0, 99, T_I64, R_NONE, 99, null), // BaseOffset
        F(2, 99, T_I64, R_NONE, 99, null), // LogAppendTimeMs
        F(5, 99, T_I64, R_NONE, 99, null), // LogStartOffset
        F(8, 99, T_ARRAY, R_NONE, 99, [ // RecordErrors
          F(8, 99, T_I32, R_NONE, 99, null), // BatchIndex
          F(8, 99, T_STR, R_NONE, 8, null), // BatchIndexErrorMessage
        ]),
        F(8, 99, T_STR, R_NONE, 8, null), // ErrorMessage
      ]),
    ]),
    F(1, 99, T_I32, R_NONE, 99, null), // ThrottleTimeMs
  ]],
  // FetchRequest: apiKey 1, versions 0-17, flexible 12+
  [1, 1, 17, [
    F(0, 14, T_I32, R_NONE, 99, null), // ReplicaId
    F(0, 99, T_I32, R_NONE, 99, null), // MaxWaitMs
    F(0, 99, T_I32, R_NONE, 99, null), // MinBytes
    F(3, 99, T_I32, R_NONE, 99, null), // MaxBytes
    F(4, 99, T_I8, R_NONE, 99, null), // IsolationLevel
    F(7, 99, T_I32, R_NONE, 99, null), // SessionId
    F(7, 99, T_I32, R_NONE, 99, null), // SessionEpoch
    F(0, 99, T_ARRAY, R_NONE, 99, [ // Topics
      F(0, 12, T_STR, R_TOPIC, 99, null), // Topic
      F(13, 99, T_UUID, R_TOPIC_ID, 99, null), // TopicId
      F(0, 99, T_ARRAY, R_NONE, 99, [ // Partitions
        F(0, 99, T_I32, R_PARTITION, 99, null), // Partition
        F(9, 99, T_I32, R_NONE, 99, null), // CurrentLeaderEpoch
        F(0, 99, T_I64, R_NONE, 99, null), // FetchOffset
        F(12, 99, T_I32, R_NONE, 99, null), // LastFetchedEpoch
        F(5, 99, T_I64, R_NONE, 99, null), // LogStartOffset
        F(0, 99, T_I32, R_NONE, 99, null), // PartitionMaxBytes
      ]),
    ]),
    F(7, 99, T_ARRAY, R_NONE, 99, [ // ForgottenTopicsData
      F(7, 12, T_STR, R_NONE, 99, null), // Topic
      F(13, 99, T_UUID, R_NONE, 99, null), // TopicId
      F(7, 99, T_PARRAY, R_NONE, 99, [F(0, 99, T_I32, R_NONE, 99, null)]),
    ]),
    F(11, 99, T_STR, R_NONE, 99, null), // RackId
  ]],
  // FetchResponse: apiKey 1, versions 0-17, flexible 12+
  [1, 2, 17, [
    F(1, 99, T_I32, R_NONE, 99, null), // ThrottleTimeMs
    F(7, 99, T_I16, R_ERROR, 99, null), // ErrorCode
    F(7, 99, T_I32, R_NONE, 99, null), // SessionId
    F(0, 99, T_ARRAY, R_NONE, 99, [ // Responses
      F(0, 12, T_STR, R_TOPIC, 99, null), // Topic
      F(13, 99, T_UUID, R_TOPIC_ID, 99, null), // TopicId
      F(0, 99, T_ARRAY, R_NONE, 99, [ // Partitions
        F(0, 99, T_I32, R_PARTITION, 99, null), // PartitionIndex
        F(0, 99, T_I16, R_ERROR, 99, null), // ErrorCode
        F(0, 99, T_I64, R_NONE, 99, null), // HighWatermark
        F(4, 99, T_I64, R_NONE, 99, null), // LastStableOffset
        F(5, 99, T_I64, R_NONE, 99, null), // LogStartOffset
        F(4, 99, T_ARRAY, R_NONE, 4, [ // AbortedTransactions
          F(4, 99, T_I64, R_NONE, 99, null), // ProducerId
          F(4, 99, T_I64, R_NONE, 99, null), // FirstOffset
        ]),
        F(11, 99, T_I32, R_NONE, 99, null), // PreferredReadReplica
        F(0, 99, T_RECORDS, R_NONE, 0, null), // Records
      ]),
    ]),
  ]],
  // ListOffsetsRequest: apiKey 2, versions 0-10, flexible 6+
  [2, 1, 10, [
    F(0, 99, T_I32, R_NONE, 99, null), // ReplicaId
    F(2, 99, T_I8, R_NONE, 99, null), // IsolationLevel
    F(0, 99, T_ARRAY, R_NONE, 99, [ // Topics
      F(0, 99, T_STR, R_TOPIC, 99, null), // Name
      F(0, 99, T_ARRAY, R_NONE, 99, [ // Partitions
        F(0, 99, T_I32, R_PARTITION, 99, null), // PartitionIndex
        F(4, 99, T_I32, R_NONE, 99, null), // CurrentLeaderEpoch
        F(0, 99, T_I64, R_NONE, 99, null), // Timestamp
        F(0, 0, T_I32, R_NONE, 99, null), // MaxNumOffsets
      ]),
    ]),
    F(10, 99, T_I32, R_NONE, 99, null), // TimeoutMs
  ]],
  // ListOffsetsResponse: apiKey 2, versions 0-10, flexible 6+
  [2, 2, 10, [
    F(2, 99, T_I32, R_NONE, 99, null), // ThrottleTimeMs
    F(0, 99, T_ARRAY, R_NONE, 99, [ // Topics
      F(0, 99, T_STR, R_TOPIC, 99, null), // Name
      F(0, 99, T_ARRAY, R_NONE, 99, [ // Partitions
        F(0, 99, T_I32, R_PARTITION, 99, null), // PartitionIndex
        F(0, 99, T_I16, R_ERROR, 99, null), // ErrorCode
        F(0, 0, T_PARRAY, R_NONE, 99, [F(0, 99, T_I64, R_NONE, 99, null)]),
        F(1, 99, T_I64, R_NONE, 99, null), // Timestamp
        F(1, 99, T_I64, R_NONE, 99, null), // Offset
        F(4, 99, T_I32, R_NONE, 99, null), // LeaderEpoch
      ]),
    ]),
  ]],
  // MetadataRequest: apiKey 3, versions 0-12, flexible 9+
  [3, 1, 12, [
    F(0, 99, T_ARRAY, R_NONE, 1, [ // Topics
      F(10, 99, T_UUID, R_TOPIC_ID, 99, null), // TopicId
      F(0, 99, T_STR, R_TOPIC, 10, null), // Name
    ]),
    F(4, 99, T_I8, R_NONE, 99, null), // AllowAutoTopicCreation
    F(8, 10, T_I8, R_NONE, 99, null), // IncludeClusterAuthorizedOperations
    F(8, 99, T_I8, R_NONE, 99, null), // IncludeTopicAuthorizedOperations
  ]],
  // MetadataResponse: apiKey 3, versions 0-12, flexible 9+
  [3, 2, 12, [
    F(3, 99, T_I32, R_NONE, 99, null), // ThrottleTimeMs
    F(0, 99, T_ARRAY, R_NONE, 99, [ // Brokers
      F(0, 99, T_I32, R_NONE, 99, null), // NodeId
      F(0, 99, T_STR, R_NONE, 99, null), // Host
      F(0, 99, T_I32, R_NONE, 99, null), // Port
      F(1, 99, T_STR, R_NONE, 1, null), // Rack
    ]),
    F(2, 99, T_STR, R_NONE, 2, null), // ClusterId
    F(1, 99, T_I32, R_NONE, 99, null), // ControllerId
    F(0, 99, T_ARRAY, R_NONE, 99, [ // Topics
      F(0, 99, T_I16, R_ERROR, 99, null), // ErrorCode
      F(0, 99, T_STR, R_TOPIC, 12, null), // Name
      F(10, 99, T_UUID, R_TOPIC_ID, 99, null), // TopicId
      F(1, 99, T_I8, R_NONE, 99, null), // IsInternal
      F(0, 99, T_ARRAY, R_NONE, 99, [ // Partitions
        F(0, 99, T_I16, R_ERROR, 99, null), // ErrorCode
        F(0, 99, T_I32, R_PARTITION, 99, null), // PartitionIndex
        F(0, 99, T_I32, R_NONE, 99, null), // LeaderId
        F(7, 99, T_I32, R_NONE, 99, null), // LeaderEpoch
        F(0, 99, T_PARRAY, R_NONE, 99, [F(0, 99, T_I32, R_NONE, 99, null)]),
        F(0, 99, T_PARRAY, R_NONE, 99, [F(0, 99, T_I32, R_NONE, 99, null)]),
        F(5, 99, T_PARRAY, R_NONE, 99, [F(0, 99, T_I32, R_NONE, 99, null)]),
      ]),
      F(8, 99, T_I32, R_NONE, 99, null), // TopicAuthorizedOperations
    ]),
    F(8, 10, T_I32, R_NONE, 99, null), // ClusterAuthorizedOperations
  ]],
  // OffsetCommitRequest: apiKey 8, versions 0-9, flexible 8+
  [8, 1, 9, [
    F(0, 99, T_STR, R_GROUP, 99, null), // GroupId
    F(1, 99, T_I32, R_NONE, 99, null), // GenerationIdOrMemberEpoch
    F(1, 99, T_STR, R_NONE, 99, null), // MemberId
    F(7, 99, T_STR, R_NONE, 7, null), // GroupInstanceId
    F(2, 4, T_I64, R_NONE, 99, null), // RetentionTimeMs
    F(0, 99, T_ARRAY, R_NONE, 99, [ // Topics
      F(0, 99, T_STR, R_TOPIC, 99, null), // Name
      F(0, 99, T_ARRAY, R_NONE, 99, [ // Partitions
        F(0, 99, T_I32, R_PARTITION, 99, null), // PartitionIndex
        F(0, 99, T_I64, R_NONE, 99, null), // CommittedOffset
        F(6, 99, T_I32, R_NONE, 99, null), // CommittedLeaderEpoch
        F(1, 1, T_I64, R_NONE, 99, null), // CommitTimestamp
        F(0, 99, T_STR, R_NONE, 0, null), // CommittedMetadata
      ]),
    ]),
  ]],
  // OffsetCommitResponse: apiKey 8, versions 0-9, flexible 8+
  [8, 2, 9, [
    F(3, 99, T_I32, R_NONE, 99, null), // ThrottleTimeMs
    F(0, 99, T_ARRAY, R_NONE, 99, [ // Topics
      F(0, 99, T_STR, R_TOPIC, 99, null), // Name
      F(0, 99, T_ARRAY, R_NONE, 99, [ // Partitions
        F(0, 99, T_I32, R_PARTITION, 99, null), // PartitionIndex
        F(0, 99, T_I16, R_ERROR, 99, null), // ErrorCode
      ]),
    ]),
  ]],
  // OffsetFetchRequest: apiKey 9, versions 0-9, flexible 6+
  [9, 1, 9, [
    F(0, 7, T_STR, R_GROUP, 99, null), // GroupId
    F(0, 7, T_ARRAY, R_NONE, 2, [ // Topics
      F(0, 7, T_STR, R_TOPIC, 99, null), // Name
      F(0, 7, T_PARRAY, R_NONE, 99, [F(0, 99, T_I32, R_NONE, 99, null)]),
    ]),
    F(8, 99, T_ARRAY, R_NONE, 99, [ // Groups
      F(8, 99, T_STR, R_GROUP, 99, null), // GroupId
      F(9, 99, T_STR, R_NONE, 9, null), // MemberId
      F(9, 99, T_I32, R_NONE, 99, null), // MemberEpoch
      F(8, 99, T_ARRAY, R_NONE, 8, [ // Topics
        F(8, 99, T_STR, R_TOPIC, 99, null), // Name
        F(8, 99, T_PARRAY, R_NONE, 99, [F(0, 99, T_I32, R_PARTITION, 99, null)]),
      ]),
    ]),
    F(7, 99, T_I8, R_NONE, 99, null), // RequireStable
  ]],
  // OffsetFetchResponse: apiKey 9, versions 0-9, flexible 6+
  [9, 2, 9, [
    F(3, 99, T_I32, R_NONE, 99, null), // ThrottleTimeMs
    F(0, 7, T_ARRAY, R_NONE, 99, [ // Topics
      F(0, 7, T_STR, R_TOPIC, 99, null), // Name
      F(0, 7, T_ARRAY, R_NONE, 99, [ // Partitions
        F(0, 7, T_I32, R_PARTITION, 99, null), // PartitionIndex
        F(0, 7, T_I64, R_NONE, 99, null), // CommittedOffset
        F(5, 7, T_I32, R_NONE, 99, null), // CommittedLeaderEpoch
        F(0, 7, T_STR, R_NONE, 0, null), // Metadata
        F(0, 7, T_I16, R_ERROR, 99, null), // ErrorCode
      ]),
    ]),
    F(2, 7, T_I16, R_ERROR, 99, null), // ErrorCode
    F(8, 99, T_ARRAY, R_NONE, 99, [ // Groups
      F(8, 99, T_STR, R_GROUP, 99, null), // GroupId
      F(8, 99, T_ARRAY, R_NONE, 99, [ // Topics
        F(8, 99, T_STR, R_TOPIC, 99, null), // Name
        F(8, 99, T_ARRAY, R_NONE, 99, [ // Partitions
          F(8, 99, T_I32, R_PARTITION, 99, null), // PartitionIndex
          F(8, 99, T_I64, R_NONE, 99, null), // CommittedOffset
          F(8, 99, T_I32, R_NONE, 99, null), // CommittedLeaderEpoch
          F(8, 99, T_STR, R_NONE, 8, null), // Metadata
          F(8, 99, T_I16, R_ERROR, 99, null), // ErrorCode
        ]),
      ]),
      F(8, 99, T_I16, R_ERROR, 99, null), // ErrorCode
    ]),
  ]],
  // FindCoordinatorRequest: apiKey 10, versions 0-6, flexible 3+
  [10, 1, 6, [
    F(0, 3, T_STR, R_GROUP, 99, null), // Key
    F(1, 99, T_I8, R_NONE, 99, null), // KeyType
    F(4, 99, T_PARRAY, R_NONE, 99, [F(0, 99, T_STR, R_GROUP, 99, null)]),
  ]],
  // FindCoordinatorResponse: apiKey 10, versions 0-6, flexible 3+
  [10, 2, 6, [
    F(1, 99, T_I32, R_NONE, 99, null), // ThrottleTimeMs
    F(0, 3, T_I16, R_ERROR, 99, null), // ErrorCode
    F(1, 3, T_STR, R_NONE, 1, null), // ErrorMessage
    F(0, 3, T_I32, R_NONE, 99, null), // NodeId
    F(0, 3, T_STR, R_NONE, 99, null), // Host
    F(0, 3, T_I32, R_NONE, 99, null), // Port
    F(4, 99, T_ARRAY, R_NONE, 99, [ // Coordinators
      F(4, 99, T_STR, R_GROUP, 99, null), // Key
      F(4, 99, T_I32, R_NONE, 99, null), // NodeId
      F(4, 99, T_STR, R_NONE, 99, null), // Host
      F(4, 99, T_I32, R_NONE, 99, null), // Port
      F(4, 99, T_I16, R_ERROR, 99, null), // ErrorCode
      F(4, 99, T_STR, R_NONE, 4, null), // ErrorMessage
    ]),
  ]],
  // JoinGroupRequest: apiKey 11, versions 0-9, flexible 6+
  [11, 1, 9, [
    F(0, 99, T_STR, R_GROUP, 99, null), // GroupId
    F(0, 99, T_I32, R_NONE, 99, null), // SessionTimeoutMs
    F(1, 99, T_I32, R_NONE, 99, null), // RebalanceTimeoutMs
    F(0, 99, T_STR, R_NONE, 99, null), // MemberId
    F(5, 99, T_STR, R_NONE, 5, null), // GroupInstanceId
    F(0, 99, T_STR, R_NONE, 99, null), // ProtocolType
    F(0, 99, T_ARRAY, R_NONE, 99, [ // Protocols
      F(0, 99, T_STR, R_NONE, 99, null), // Name
      F(0, 99, T_BYTES, R_NONE, 99, null), // Metadata
    ]),
    F(8, 99, T_STR, R_NONE, 8, null), // Reason
  ]],
  // JoinGroupResponse: apiKey 11, versions 0-9, flexible 6+
  [11, 2, 9, [
    F(2, 99, T_I32, R_NONE, 99, null), // ThrottleTimeMs
    F(0, 99, T_I16, R_ERROR, 99, null), // ErrorCode
    F(0, 99, T_I32, R_NONE, 99, null), // GenerationId
    F(7, 99, T_STR, R_NONE, 7, null), // ProtocolType
    F(0, 99, T_STR, R_NONE, 7, null), // ProtocolName
    F(0, 99, T_STR, R_NONE, 99, null), // Leader
    F(9, 99, T_I8, R_NONE, 99, null), // SkipAssignment
    F(0, 99, T_STR, R_NONE, 99, null), // MemberId
    F(0, 99, T_ARRAY, R_NONE, 99, [ // Members
      F(0, 99, T_STR, R_NONE, 99, null), // MemberId
      F(5, 99, T_STR, R_NONE, 5, null), // GroupInstanceId
      F(0, 99, T_BYTES, R_NONE, 99, null), // Metadata
    ]),
  ]],
  // HeartbeatRequest: apiKey 12, versions 0-4, flexible 4+
  [12, 1, 4, [
    F(0, 99, T_STR, R_GROUP, 99, null), // GroupId
    F(0, 99, T_I32, R_NONE, 99, null), // GenerationId
    F(0, 99, T_STR, R_NONE, 99, null), // MemberId
    F(3, 99, T_STR, R_NONE, 3, null), // GroupInstanceId
  ]],
  // HeartbeatResponse: apiKey 12, versions 0-4, flexible 4+
  [12, 2, 4, [
    F(1, 99, T_I32, R_NONE, 99, null), // ThrottleTimeMs
    F(0, 99, T_I16, R_ERROR, 99, null), // ErrorCode
  ]],
  // LeaveGroupRequest: apiKey 13, versions 0-5, flexible 4+
  [13, 1, 5, [
    F(0, 99, T_STR, R_GROUP, 99, null), // GroupId
    F(0, 2, T_STR, R_NONE, 99, null), // MemberId
    F(3, 99, T_ARRAY, R_NONE, 99, [ // Members
      F(3, 99, T_STR, R_NONE, 99, null), // MemberId
      F(3, 99, T_STR, R_NONE, 3, null), // GroupInstanceId
      F(5, 99, T_STR, R_NONE, 5, null), // Reason
    ]),
  ]],
  // LeaveGroupResponse: apiKey 13, versions 0-5, flexible 4+
  [13, 2, 5, [
    F(1, 99, T_I32, R_NONE, 99, null), // ThrottleTimeMs
    F(0, 99, T_I16, R_ERROR, 99, null), // ErrorCode
    F(3, 99, T_ARRAY, R_NONE, 99, [ // Members
      F(3, 99, T_STR, R_NONE, 99, null), // MemberId
      F(3, 99, T_STR, R_NONE, 3, null), // GroupInstanceId
      F(3, 99, T_I16, R_ERROR, 99, null), // ErrorCode
    ]),
  ]],
  // SyncGroupRequest: apiKey 14, versions 0-5, flexible 4+
  [14, 1, 5, [
    F(0, 99, T_STR, R_GROUP, 99, null), // GroupId
    F(0, 99, T_I32, R_NONE, 99, null), // GenerationId
    F(0, 99, T_STR, R_NONE, 99, null), // MemberId
    F(3, 99, T_STR, R_NONE, 3, null), // GroupInstanceId
    F(5, 99, T_STR, R_NONE, 5, null), // ProtocolType
    F(5, 99, T_STR, R_NONE, 5, null), // ProtocolName
    F(0, 99, T_ARRAY, R_NONE, 99, [ // Assignments
      F(0, 99, T_STR, R_NONE, 99, null), // MemberId
      F(0, 99, T_BYTES, R_NONE, 99, null), // Assignment
    ]),
  ]],
  // SyncGroupResponse: apiKey 14, versions 0-5, flexible 4+
  [14, 2, 5, [
    F(1, 99, T_I32, R_NONE, 99, null), // ThrottleTimeMs
    F(0, 99, T_I16, R_ERROR, 99, null), // ErrorCode
    F(5, 99, T_STR, R_NONE, 5, null), // ProtocolType
    F(5, 99, T_STR, R_NONE, 5, null), // ProtocolName
    F(0, 99, T_BYTES, R_NONE, 99, null), // Assignment
  ]],
  // ApiVersionsRequest: apiKey 18, versions 0-4, flexible 3+
  [18, 1, 4, [
    F(3, 99, T_STR, R_NONE, 99, null), // ClientSoftwareName
    F(3, 99, T_STR, R_NONE, 99, null), // ClientSoftwareVersion
  ]],
  // ApiVersionsResponse: apiKey 18, versions 0-4, flexible 3+
  [18, 2, 4, [
    F(0, 99, T_I16, R_ERROR, 99, null), // ErrorCode
    F(0, 99, T_ARRAY, R_NONE, 99, [ // ApiKeys
      F(0, 99, T_I16, R_NONE, 99, null), // ApiKey
      F(0, 99, T_I16, R_NONE, 99, null), // MinVersion
      F(0, 99, T_I16, R_NONE, 99, null), // MaxVersion
    ]),
    F(1, 99, T_I32, R_NONE, 99, null), // ThrottleTimeMs
  ]],
];

/** Layouts by api key: requests and responses (null when the API is not decoded in depth), and their newest version. */
export const REQUEST_LAYOUT: (readonly FieldSpec[] | null)[] = [];
export const RESPONSE_LAYOUT: (readonly FieldSpec[] | null)[] = [];
export const LAYOUT_MAX_VERSION: number[] = [];
for (let k = 0; k <= MAX_API_KEY; k++) {
  REQUEST_LAYOUT.push(null);
  RESPONSE_LAYOUT.push(null);
  LAYOUT_MAX_VERSION.push(-1);
}
for (const [key, dir, max, fields] of LAYOUTS) {
  (dir === 1 ? REQUEST_LAYOUT : RESPONSE_LAYOUT)[key] = fields;
  LAYOUT_MAX_VERSION[key] = max;
}
