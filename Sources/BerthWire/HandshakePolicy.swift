/// The refusal rules of the peer handshake (docs/wire-protocol.md §5), as one pure function both
/// ends apply to the other's `Hello`. A non-nil answer is sent as a `helloRejected` frame, logged,
/// and the connection closed.
public struct HandshakePolicy: Equatable, Hashable, Sendable {
    /// This node's cluster id; a hello with any other is refused.
    public var clusterID: String
    /// This node's id; a hello claiming it is refused as a duplicate.
    public var nodeID: UInt64
    /// The only protocol version this node speaks.
    public var protocolVersion: UInt8

    public init(clusterID: String, nodeID: UInt64, protocolVersion: UInt8 = PeerProtocol.version) {
        self.clusterID = clusterID
        self.nodeID = nodeID
        self.protocolVersion = protocolVersion
    }

    /// The hello this node sends, advertising `httpAddress`.
    public func hello(httpAddress: String, incarnation: UInt64 = 1, hasLog: Bool = true) -> Hello {
        Hello(
            clusterID: clusterID, nodeID: nodeID, incarnation: incarnation, hasLog: hasLog,
            protocolVersion: protocolVersion, httpAddress: httpAddress)
    }

    /// Why `hello` must be refused, or nil to accept it. Checked in this order, first failure wins:
    /// cluster id, protocol version, node id.
    ///
    /// - Parameters:
    ///   - expectedNode: the dialer's check on the acceptor: the id it meant to reach; nil on the
    ///     accepting side.
    ///   - members: the ids this node knows as voters or learners; nil when it does not know the
    ///     membership yet (a node that has just joined), in which case any id ≥ 1 is allowed.
    ///   - connected: ids that already have a live, handshaken connection in the same direction
    ///     (on the accepting side: other accepted connections). Each pair of nodes may have one
    ///     connection each way.
    public func refusal(
        of hello: Hello,
        expectedNode: UInt64? = nil,
        members: Set<UInt64>? = nil,
        connected: Set<UInt64> = []
    ) -> HelloRejected? {
        func refuse(_ reason: HelloRejectReason, _ detail: String) -> HelloRejected {
            HelloRejected(reason: reason, supportedVersion: protocolVersion, detail: detail)
        }
        guard hello.clusterID == clusterID else {
            return refuse(.wrongCluster, "cluster id is \"\(clusterID)\", not \"\(hello.clusterID)\"")
        }
        guard hello.protocolVersion == protocolVersion else {
            return refuse(
                .unsupportedVersion,
                "protocol version \(hello.protocolVersion) is not supported; this node speaks \(protocolVersion)"
            )
        }
        guard hello.nodeID != 0 else {
            return refuse(.unknownNode, "node id 0 is not a valid server id")
        }
        guard hello.incarnation != 0 else {
            return refuse(.unknownNode, "incarnation 0 names no data directory")
        }
        guard hello.nodeID != nodeID else {
            return refuse(.duplicateNode, "node id \(hello.nodeID) is this node's own id")
        }
        if let expectedNode, hello.nodeID != expectedNode {
            return refuse(.unknownNode, "dialed node \(expectedNode) but node \(hello.nodeID) answered")
        }
        if let members, !members.contains(hello.nodeID) {
            return refuse(
                .unknownNode, "node \(hello.nodeID) is not a member of cluster \"\(clusterID)\"")
        }
        guard !connected.contains(hello.nodeID) else {
            return refuse(.duplicateNode, "node \(hello.nodeID) already has a live connection")
        }
        return nil
    }
}
