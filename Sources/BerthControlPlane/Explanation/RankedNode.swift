/// A node that can take the workload, with its score (`node_id`, `score`, `components`).
public struct RankedNode: Equatable, Hashable, Sendable {
    public var nodeID: String
    public var components: ScoreComponents

    public init(nodeID: String, components: ScoreComponents) {
        self.nodeID = nodeID
        self.components = components
    }

    /// The score in millipoints (the sum of the components).
    public var scoreMilli: Int { components.totalMilli }
}

extension RankedNode: Codable {
    enum CodingKeys: String, CodingKey {
        case nodeID = "node_id"
        case score
        case components
    }

    public init(from decoder: any Decoder) throws {
        // The score is not read back: it is the sum of the components by definition.
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            nodeID: try container.decode(String.self, forKey: .nodeID),
            components: try container.decode(ScoreComponents.self, forKey: .components))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(nodeID, forKey: .nodeID)
        try container.encode(Double(scoreMilli) / 1000, forKey: .score)
        try container.encode(components, forKey: .components)
    }
}
