import BerthRaft
import GRDB

/// A server's addresses, replicated so every node (and a node that joins later) can reach
/// every other one.
public struct MemberRecord: Codable, Equatable, Hashable, Sendable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "members"

    public var nodeID: NodeID
    /// The binary Raft peer address, `HOST:PORT`.
    public var peerAddress: String
    /// The HTTP API address, `HOST:PORT`.
    public var httpAddress: String

    public init(nodeID: NodeID, peerAddress: String, httpAddress: String) {
        self.nodeID = nodeID
        self.peerAddress = peerAddress
        self.httpAddress = httpAddress
    }

    enum CodingKeys: String, CodingKey {
        case nodeID = "node_id"
        case peerAddress = "peer_address"
        case httpAddress = "http_address"
    }
}
