/// The handshake frame: the dialer sends it first on every connection and the acceptor answers
/// with its own (docs/wire-protocol.md §5).
public struct Hello: Equatable, Hashable, Sendable {
    /// The cluster the sender belongs to (`--cluster-id`); peers of another cluster are refused.
    public var clusterID: String
    /// The sender's Raft id, ≥ 1.
    public var nodeID: UInt64
    /// The sender's incarnation (its data directory's id, non-zero). Every Raft message on this
    /// connection is the sender's under this incarnation.
    public var incarnation: UInt64
    /// Whether the sender's log holds anything (it was bootstrapped or admitted to a cluster).
    /// A node about to bootstrap a new cluster asks its peers this first.
    public var hasLog: Bool
    /// The peer protocol version the sender will use for every later frame on this connection.
    public var protocolVersion: UInt8
    /// Where the sender serves its HTTP API, "host:port", so peers can name it in leader hints.
    public var httpAddress: String

    public init(
        clusterID: String,
        nodeID: UInt64,
        incarnation: UInt64 = 1,
        hasLog: Bool = true,
        protocolVersion: UInt8 = PeerProtocol.version,
        httpAddress: String
    ) {
        self.clusterID = clusterID
        self.nodeID = nodeID
        self.incarnation = incarnation
        self.hasLog = hasLog
        self.protocolVersion = protocolVersion
        self.httpAddress = httpAddress
    }
}

/// The refusal of a handshake. Its sender closes the connection right after writing it.
public struct HelloRejected: Equatable, Hashable, Sendable {
    /// Why the handshake was refused.
    public var reason: HelloRejectReason
    /// The protocol version the refusing side speaks, so the other side can log what it would need.
    public var supportedVersion: UInt8
    /// A human explanation for logs ("cluster id is \"prod-eu\", not \"berth\""); not parsed.
    public var detail: String

    public init(
        reason: HelloRejectReason, supportedVersion: UInt8 = PeerProtocol.version, detail: String
    ) {
        self.reason = reason
        self.supportedVersion = supportedVersion
        self.detail = detail
    }
}

/// A stable code for why a handshake was refused. Codes are never reused; a receiver keeps and
/// logs a code it does not know instead of failing the frame, so new codes can be added freely.
public struct HelloRejectReason: RawRepresentable, Equatable, Hashable, Sendable,
    CustomStringConvertible
{
    /// The code as it travels on the wire.
    public var rawValue: UInt16

    public init(rawValue: UInt16) {
        self.rawValue = rawValue
    }

    /// The hello named another cluster id.
    public static let wrongCluster = HelloRejectReason(rawValue: 1)
    /// The hello asked for a protocol version the receiver does not speak.
    public static let unsupportedVersion = HelloRejectReason(rawValue: 2)
    /// The node id is 0, not a member the receiver knows, or not the node the dialer meant to reach.
    public static let unknownNode = HelloRejectReason(rawValue: 3)
    /// The node id is the receiver's own, or another live connection already speaks for it.
    public static let duplicateNode = HelloRejectReason(rawValue: 4)

    public var description: String {
        switch self {
        case .wrongCluster: return "wrong_cluster"
        case .unsupportedVersion: return "unsupported_version"
        case .unknownNode: return "unknown_node"
        case .duplicateNode: return "duplicate_node"
        default: return "reason_\(rawValue)"
        }
    }
}
