import BerthRaft

/// `GET /api/cluster` as a test reads it (spec §7).
struct ClusterStatus: Decodable, Sendable {
    /// One member as this node sees it.
    struct Node: Decodable, Sendable {
        var nodeID: NodeID
        /// HTTP address learned from the handshake, if known.
        var address: String?
        var peerAddress: String?
        var isAlive: Bool
        var voter: Bool
        /// The incarnation the configuration admitted it under (16 hex digits).
        var incarnation: String?
        /// Set while it is heard from under another incarnation (it lost its disk).
        var unadmittedIncarnation: String?
        /// On the leader: how it replicates to this member (probe, replicate, snapshot), and
        /// the highest index known to match.
        var replication: String?
        var matchIndex: LogIndex?

        enum CodingKeys: String, CodingKey {
            case nodeID = "node_id"
            case address
            case peerAddress = "peer_address"
            case isAlive = "is_alive"
            case voter
            case incarnation
            case unadmittedIncarnation = "unadmitted_incarnation"
            case replication
            case matchIndex = "match_index"
        }
    }

    var nodeID: NodeID
    /// This node's incarnation (16 hex digits).
    var incarnation: String?
    var role: String
    var currentTerm: Term
    var leaderID: NodeID?
    var commitIndex: LogIndex
    var lastApplied: LogIndex
    var logLength: LogIndex
    var firstIndex: LogIndex
    var clusterID: String
    var draining: Bool
    var nodes: [Node]

    enum CodingKeys: String, CodingKey {
        case nodeID = "node_id"
        case incarnation
        case role
        case currentTerm = "current_term"
        case leaderID = "leader_id"
        case commitIndex = "commit_index"
        case lastApplied = "last_applied"
        case logLength = "log_length"
        case firstIndex = "first_index"
        case clusterID = "cluster_id"
        case draining
        case nodes
    }

    func node(_ id: NodeID) -> Node? { nodes.first { $0.nodeID == id } }
}

/// Who leads, as every polled node agrees.
struct LeaderView: Sendable, Hashable, CustomStringConvertible {
    var id: NodeID
    var term: Term
    var description: String { "node \(id) in term \(term)" }
}
