/// Every node's verdict for one intent at one instant (the `schedule/explain` answer): each
/// node appears in exactly one list. Launch records keep the explanation they were placed
/// with, so the reason for a past launch can be shown exactly later.
public struct Explanation: Equatable, Hashable, Sendable {
    /// The instant the evaluation was made for (`evaluated_at`), in ms since the epoch.
    public var evaluatedAtMs: Int64
    /// Nodes that can take the workload, best first (`ranked_nodes`). Order: higher score, then
    /// more free memory, then `node_id` ascending (byte order) — see `PlacementOrder`.
    public var rankedNodes: [RankedNode]
    /// Nodes that cannot, by `node_id` ascending (`rejected_nodes`).
    public var rejectedNodes: [RejectedNode]

    public init(evaluatedAtMs: Int64, rankedNodes: [RankedNode], rejectedNodes: [RejectedNode]) {
        self.evaluatedAtMs = evaluatedAtMs
        self.rankedNodes = rankedNodes
        self.rejectedNodes = rejectedNodes
    }

    /// The node `select` picks: the first ranked one, or nil when none fits.
    public var selectedNodeID: String? { rankedNodes.first?.nodeID }

    /// The reasons `nodeID` was rejected, or nil when it was ranked or not evaluated.
    public func reasons(for nodeID: String) -> [Rejection]? {
        rejectedNodes.first { $0.nodeID == nodeID }?.reasons
    }
}

extension Explanation: Codable {
    enum CodingKeys: String, CodingKey {
        case evaluatedAt = "evaluated_at"
        case rankedNodes = "ranked_nodes"
        case rejectedNodes = "rejected_nodes"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            evaluatedAtMs: try container.decodeTimestamp(forKey: .evaluatedAt),
            rankedNodes: try container.decode([RankedNode].self, forKey: .rankedNodes),
            rejectedNodes: try container.decode([RejectedNode].self, forKey: .rejectedNodes))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeTimestamp(evaluatedAtMs, forKey: .evaluatedAt)
        try container.encode(rankedNodes, forKey: .rankedNodes)
        try container.encode(rejectedNodes, forKey: .rejectedNodes)
    }
}
