/// A node that cannot take the workload, with every reason that applies (`node_id`, `reasons`),
/// in `RejectionCode` declaration order.
public struct RejectedNode: Codable, Equatable, Hashable, Sendable {
    public var nodeID: String
    public var reasons: [Rejection]

    public init(nodeID: String, reasons: [Rejection]) {
        self.nodeID = nodeID
        self.reasons = reasons
    }

    enum CodingKeys: String, CodingKey {
        case nodeID = "node_id"
        case reasons
    }
}
