/// The short answer to "where can this run, and why not elsewhere" over a large fleet
/// (`schedule/explain?summary=true`): the best few ranked nodes and, for every rejection code,
/// how many nodes it rejected. A full explanation of 10,000 nodes is 1.6 MB of JSON; this is a
/// few kilobytes and carries what an operator reads first. The per-node answer stays one
/// request away (`?node=ID`).
public struct ExplanationSummary: Equatable, Sendable {
    public var evaluatedAtMs: Int64
    /// The best `rankedNodes.count` nodes, best first, as `Explanation.rankedNodes` lists them.
    public var rankedNodes: [RankedNode]
    /// How many nodes can take the workload.
    public var rankedCount: Int
    /// How many cannot.
    public var rejectedCount: Int
    /// For each code, the number of nodes with at least one reason of that code (a node
    /// rejected for several reasons counts under each).
    public var rejectedByCode: [RejectionCode: Int]

    public init(
        evaluatedAtMs: Int64, rankedNodes: [RankedNode], rankedCount: Int, rejectedCount: Int,
        rejectedByCode: [RejectionCode: Int]
    ) {
        self.evaluatedAtMs = evaluatedAtMs
        self.rankedNodes = rankedNodes
        self.rankedCount = rankedCount
        self.rejectedCount = rejectedCount
        self.rejectedByCode = rejectedByCode
    }

    /// The node `select` picks, or nil when none fits.
    public var selectedNodeID: String? { rankedNodes.first?.nodeID }

    /// The summary of a full explanation: what `FleetView.summarize` must agree with.
    public init(_ explanation: Explanation, top: Int) {
        var byCode: [RejectionCode: Int] = [:]
        for node in explanation.rejectedNodes {
            for code in Set(node.reasons.map(\.code)) { byCode[code, default: 0] += 1 }
        }
        self.init(
            evaluatedAtMs: explanation.evaluatedAtMs, rankedNodes: Array(explanation.rankedNodes.prefix(top)),
            rankedCount: explanation.rankedNodes.count, rejectedCount: explanation.rejectedNodes.count,
            rejectedByCode: byCode)
    }

    /// Compact JSON: `evaluated_at`, `selected_node_id`, `ranked_count`, `rejected_count`,
    /// `rejected_by_code` (codes in declaration order, only those that rejected a node), and
    /// `ranked_nodes` in the full explanation's shape.
    public func jsonBytes() -> [UInt8] {
        let writer = JSONByteWriter(capacity: 512 + rankedNodes.count * 150)
        writer.raw(#"{"evaluated_at":"#)
        writer.string(RFC3339.string(fromMilliseconds: evaluatedAtMs))
        writer.raw(#","selected_node_id":"#)
        if let selectedNodeID { writer.string(selectedNodeID) } else { writer.null() }
        writer.raw(#","ranked_count":"#)
        writer.integer(Int64(rankedCount))
        writer.raw(#","rejected_count":"#)
        writer.integer(Int64(rejectedCount))
        writer.raw(#","rejected_by_code":{"#)
        var first = true
        for code in RejectionCode.allCases {
            guard let count = rejectedByCode[code] else { continue }
            writer.raw(first ? #"""# : #",""#)
            first = false
            writer.raw(code.staticName)
            writer.raw(#"":"#)
            writer.integer(Int64(count))
        }
        writer.raw(#"},"ranked_nodes":["#)
        for (index, node) in rankedNodes.enumerated() {
            if index > 0 { writer.raw(",") }
            writer.rankedNode(node)
        }
        writer.raw("]}")
        return writer.bytes
    }
}
