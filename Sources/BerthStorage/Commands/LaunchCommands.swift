import BerthControlPlane
import BerthRaft

/// The launch commands of the replicated state machine (spec §5, §6). Like every command they
/// carry the leader's clock, so applying them reads no clock.
extension StateCommand {
    /// `POST /api/v1alpha1/launch/execute`: place a new launch of `intent` on `nodeID`.
    ///
    /// The leader (or a plan, with `expectStateIndex`) chose the node; the apply evaluates the
    /// intent again against the state it applies to — the same on every server — and places the
    /// launch only if that node still fits, storing the whole explanation with the record. So
    /// two placements decided at once never overcommit a node: the second finds the capacity
    /// gone and is refused, and the leader decides again.
    public struct ExecuteLaunch: Codable, Equatable, Sendable {
        public var launchID: String
        public var intent: WorkloadIntent
        /// The node to place on; nil when none fit when the leader evaluated (with
        /// `waitForCapacity` the launch then waits as `pending`).
        public var nodeID: String?
        /// The leader's clock: the evaluation time and the record's creation time.
        public var atMs: Int64
        /// A plan's `state_index`: refused when node truth changed after it.
        public var expectStateIndex: LogIndex?
        /// Keep the launch `pending` when no node fits, instead of refusing it.
        public var waitForCapacity: Bool
        /// The telemetry age limit the leader evaluates with (part of the decision's input).
        public var telemetryMaxAgeMs: Int64
        public var idempotencyKey: String?
        public var requestHash: UInt64

        public init(
            launchID: String, intent: WorkloadIntent, nodeID: String?, atMs: Int64, expectStateIndex: LogIndex? = nil,
            waitForCapacity: Bool = false, telemetryMaxAgeMs: Int64 = PlacementPolicy.standard.telemetryMaxAgeMs,
            idempotencyKey: String? = nil, requestHash: UInt64 = 0
        ) {
            self.launchID = launchID
            self.intent = intent
            self.nodeID = nodeID
            self.atMs = atMs
            self.expectStateIndex = expectStateIndex
            self.waitForCapacity = waitForCapacity
            self.telemetryMaxAgeMs = telemetryMaxAgeMs
            self.idempotencyKey = idempotencyKey
            self.requestHash = requestHash
        }

        enum CodingKeys: String, CodingKey {
            case launchID = "launch_id"
            case intent
            case nodeID = "node_id"
            case atMs = "at_ms"
            case expectStateIndex = "expect_state_index"
            case waitForCapacity = "wait_for_capacity"
            case telemetryMaxAgeMs = "telemetry_max_age_ms"
            case idempotencyKey = "idempotency_key"
            case requestHash = "request_hash"
        }
    }

    /// `POST /api/v1alpha1/launch/:id/transitions`: an agent reports a state change.
    public struct ReportLaunch: Codable, Equatable, Sendable {
        public var launchID: String
        /// The node whose agent reports: only the launch's own node may move it.
        public var nodeID: String
        public var state: LaunchState
        public var reason: FailureReason?
        public var note: String?
        /// What the workload printed, with a terminal report of a `process` launch (bounded).
        public var output: LaunchOutput?
        public var atMs: Int64

        public init(
            launchID: String, nodeID: String, state: LaunchState, reason: FailureReason? = nil, note: String? = nil,
            output: LaunchOutput? = nil, atMs: Int64
        ) {
            self.launchID = launchID
            self.nodeID = nodeID
            self.state = state
            self.reason = reason
            self.note = note
            self.output = output
            self.atMs = atMs
        }

        enum CodingKeys: String, CodingKey {
            case launchID = "launch_id"
            case nodeID = "node_id"
            case state, reason, note, output
            case atMs = "at_ms"
        }
    }

    /// `POST /api/v1alpha1/launch/:id/terminate`.
    public struct TerminateLaunch: Codable, Equatable, Sendable {
        public var launchID: String
        public var atMs: Int64
        public var idempotencyKey: String?
        public var requestHash: UInt64
        /// Why, for the trace (the leader's own terminates: a drain's handover); nil for a
        /// client's, which says "terminate requested".
        public var note: String?

        public init(
            launchID: String, atMs: Int64, idempotencyKey: String? = nil, requestHash: UInt64 = 0, note: String? = nil
        ) {
            self.launchID = launchID
            self.atMs = atMs
            self.idempotencyKey = idempotencyKey
            self.requestHash = requestHash
            self.note = note
        }

        enum CodingKeys: String, CodingKey {
            case launchID = "launch_id"
            case atMs = "at_ms"
            case idempotencyKey = "idempotency_key"
            case requestHash = "request_hash"
            case note
        }
    }
}
