extension Explanation {
    /// The explanation as compact JSON, the same document `Encodable` produces (keys in a fixed
    /// order) but written directly: messages are derived here, once per reason, and nothing
    /// goes through `JSONEncoder`, which is slow at ten thousand nodes.
    public func jsonBytes() -> [UInt8] {
        var writer = JSONByteWriter(capacity: 64 + rankedNodes.count * 150 + rejectedNodes.count * 200)
        writer.raw(#"{"evaluated_at":"#)
        writer.string(RFC3339.string(fromMilliseconds: evaluatedAtMs))
        writer.raw(#","ranked_nodes":["#)
        for (index, node) in rankedNodes.enumerated() {
            if index > 0 { writer.raw(",") }
            writer.rankedNode(node)
        }
        writer.raw(#"],"rejected_nodes":["#)
        for (index, node) in rejectedNodes.enumerated() {
            writer.raw(index == 0 ? #"{"node_id":"# : #",{"node_id":"#)
            writer.string(node.nodeID)
            writer.raw(#","reasons":["#)
            for (reasonIndex, reason) in node.reasons.enumerated() {
                writer.raw(reasonIndex == 0 ? #"{"code":""# : #",{"code":""#)
                writer.raw(reason.code.staticName)
                writer.raw(#"","message":""#)
                reason.writeMessage(into: &writer)
                writer.raw(#"","needed":"#)
                writer.evidence(reason.needed)
                writer.raw(#","available":"#)
                writer.evidence(reason.available)
                writer.raw("}")
            }
            writer.raw("]}")
        }
        writer.raw("]}")
        return writer.bytes
    }
}

extension JSONByteWriter {
    func rankedNode(_ node: RankedNode) {
        raw(#"{"node_id":"#)
        string(node.nodeID)
        raw(#","score":"#)
        millis(node.scoreMilli)
        raw(#","components":{"resource_fit":"#)
        millis(node.components.resourceFitMilli)
        raw(#","spread":"#)
        millis(node.components.spreadMilli)
        raw(#","backend_preference":"#)
        millis(node.components.backendPreferenceMilli)
        raw(#","health":"#)
        millis(node.components.healthMilli)
        raw("}}")
    }

    func evidence(_ evidence: Evidence) {
        switch evidence {
        case .int(let value): integer(value)
        case .string(let value): string(value)
        case .bool(let value): bool(value)
        case .none: null()
        case .list(let values):
            raw("[")
            for (index, value) in values.enumerated() {
                if index > 0 { raw(",") }
                string(value)
            }
            raw("]")
        }
    }
}
