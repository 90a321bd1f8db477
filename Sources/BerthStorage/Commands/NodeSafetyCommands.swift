import BerthControlPlane

// The commands of lost nodes, drains and orphans (spec §6). All are stamped with the leader's
// clock; the leader proposes `markNodeLost` and `moveLaunch` itself.
extension StateCommand {
    /// The leader found node `nodeID`'s agent silent for `silentForMs` (> `lostAfterMs`).
    public struct MarkNodeLost: Codable, Equatable, Sendable {
        public var nodeID: String
        /// The node's `received_at` when the leader decided: a newer envelope applied in between
        /// means the agent spoke, and the command changes nothing.
        public var receivedAtMs: Int64
        public var silentForMs: Int64
        public var lostAfterMs: Int64
        public var atMs: Int64

        public init(nodeID: String, receivedAtMs: Int64, silentForMs: Int64, lostAfterMs: Int64, atMs: Int64) {
            self.nodeID = nodeID
            self.receivedAtMs = receivedAtMs
            self.silentForMs = silentForMs
            self.lostAfterMs = lostAfterMs
            self.atMs = atMs
        }

        enum CodingKeys: String, CodingKey {
            case nodeID = "node_id"
            case receivedAtMs = "received_at_ms"
            case silentForMs = "silent_for_ms"
            case lostAfterMs = "lost_after_ms"
            case atMs = "at_ms"
        }
    }

    /// A drain moves launch `launchID`: a replacement is made (`NodeLossRules.move`).
    public struct MoveLaunch: Codable, Equatable, Sendable {
        public var launchID: String
        public var reason: String
        public var atMs: Int64

        public init(launchID: String, reason: String, atMs: Int64) {
            self.launchID = launchID
            self.reason = reason
            self.atMs = atMs
        }

        enum CodingKeys: String, CodingKey {
            case launchID = "launch_id"
            case reason
            case atMs = "at_ms"
        }
    }

    /// `POST /api/v1alpha1/nodes/:id/drain` (`draining`: cordon and drain) and `DELETE` (stop
    /// draining; the node stays cordoned).
    public struct DrainNode: Codable, Equatable, Sendable {
        public var nodeID: String
        public var draining: Bool
        public var atMs: Int64
        public var idempotencyKey: String?
        public var requestHash: UInt64

        public init(nodeID: String, draining: Bool, atMs: Int64, idempotencyKey: String? = nil, requestHash: UInt64 = 0)
        {
            self.nodeID = nodeID
            self.draining = draining
            self.atMs = atMs
            self.idempotencyKey = idempotencyKey
            self.requestHash = requestHash
        }

        enum CodingKeys: String, CodingKey {
            case nodeID = "node_id"
            case draining
            case atMs = "at_ms"
            case idempotencyKey = "idempotency_key"
            case requestHash = "request_hash"
        }
    }

    /// `PUT /api/v1alpha1/agents/:node/orphans`: the agent's orphans now, and the sweep it has
    /// just carried out, if any.
    public struct ReportOrphans: Codable, Equatable, Sendable {
        public var nodeID: String
        public var orphans: [OrphanProcess]
        public var swept: UInt64?
        public var atMs: Int64

        public init(nodeID: String, orphans: [OrphanProcess], swept: UInt64? = nil, atMs: Int64) {
            self.nodeID = nodeID
            self.orphans = orphans
            self.swept = swept
            self.atMs = atMs
        }

        enum CodingKeys: String, CodingKey {
            case nodeID = "node_id"
            case orphans, swept
            case atMs = "at_ms"
        }
    }

    /// `POST /api/v1alpha1/nodes/:id/orphans/sweep`: kill the orphans the node lists now.
    public struct SweepOrphans: Codable, Equatable, Sendable {
        public var nodeID: String
        public var atMs: Int64
        public var idempotencyKey: String?
        public var requestHash: UInt64

        public init(nodeID: String, atMs: Int64, idempotencyKey: String? = nil, requestHash: UInt64 = 0) {
            self.nodeID = nodeID
            self.atMs = atMs
            self.idempotencyKey = idempotencyKey
            self.requestHash = requestHash
        }

        enum CodingKeys: String, CodingKey {
            case nodeID = "node_id"
            case atMs = "at_ms"
            case idempotencyKey = "idempotency_key"
            case requestHash = "request_hash"
        }
    }
}
