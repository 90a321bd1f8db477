/// What the control plane holds about one node: its latest envelope, when the leader received
/// it, and the operator's cordon. Received time comes from the leader's clock and is stamped into
/// the replicated command, so every server applies the same value.
public struct NodeTruth: Codable, Equatable, Hashable, Sendable {
    /// The latest accepted envelope.
    public var envelope: SchedulerEnvelope
    /// When the leader received `envelope` (`received_at`, RFC 3339 on the wire), in ms since the epoch.
    public var receivedAtMs: Int64
    /// An operator stopped new placements on this node.
    public var cordoned: Bool
    /// An operator is emptying this node: no new placements, and existing launches are being moved
    /// off. A draining node is always also cordoned.
    public var draining: Bool
    /// When the node was cordoned (`cordoned_at`), in ms since the epoch; nil while schedulable.
    public var cordonedAtMs: Int64?
    /// The leader declared the node lost (`lost_at`): its agent was silent longer than
    /// `--node-lost-after`. Nil while the agent reports; its next envelope clears it.
    public var lostAtMs: Int64?
    /// The orphans its agent reported and any sweep asked for (`orphans`).
    public var orphans = NodeOrphans()

    public init(
        envelope: SchedulerEnvelope, receivedAtMs: Int64, cordoned: Bool = false, draining: Bool = false,
        cordonedAtMs: Int64? = nil
    ) {
        self.envelope = envelope
        self.receivedAtMs = receivedAtMs
        self.cordoned = cordoned || draining
        self.draining = draining
        self.cordonedAtMs = cordonedAtMs
    }

    public var nodeID: String { envelope.nodeID }

    /// Whether the node is declared lost (nothing is placed on it).
    public var lost: Bool { lostAtMs != nil }

    /// The truth after `envelope` arrives, keeping the cordon: an agent's report cannot uncordon
    /// a node. Refused when `envelope` is not newer than `previous`.
    public static func accepting(_ envelope: SchedulerEnvelope, receivedAtMs: Int64, previous: NodeTruth?)
        throws(StaleSequence) -> NodeTruth
    {
        guard let previous else { return NodeTruth(envelope: envelope, receivedAtMs: receivedAtMs) }
        guard envelope.sequence > previous.envelope.sequence else {
            throw StaleSequence(
                nodeID: envelope.nodeID, storedSequence: previous.envelope.sequence,
                offeredSequence: envelope.sequence)
        }
        var next = previous
        next.envelope = envelope
        next.receivedAtMs = receivedAtMs
        // The agent speaks again: the node is back (its lost launches stay lost).
        next.lostAtMs = nil
        return next
    }

    /// Stops new placements (and with `draining`, marks the node as being emptied). Cordoning an
    /// already cordoned node keeps the first time; draining can be added later, not removed.
    public mutating func cordon(atMs: Int64, draining: Bool = false) {
        if !cordoned { cordonedAtMs = atMs }
        cordoned = true
        self.draining = self.draining || draining
    }

    /// Makes the node schedulable again.
    public mutating func uncordon() {
        cordoned = false
        draining = false
        cordonedAtMs = nil
    }

    /// The instant the node's telemetry is as old as: the earlier of the agent's observation and
    /// the leader's receipt, so an agent whose clock runs ahead cannot make its report look fresh.
    public var telemetryTakenAtMs: Int64 {
        min(envelope.observedAtMs, receivedAtMs)
    }

    enum CodingKeys: String, CodingKey {
        case envelope
        case receivedAt = "received_at"
        case cordoned
        case draining
        case cordonedAt = "cordoned_at"
        case lostAt = "lost_at"
        case orphans
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            envelope: try container.decode(SchedulerEnvelope.self, forKey: .envelope),
            receivedAtMs: try container.decodeTimestamp(forKey: .receivedAt),
            cordoned: try container.decode(Bool.self, forKey: .cordoned),
            draining: try container.decode(Bool.self, forKey: .draining),
            cordonedAtMs: try container.decodeTimestampIfPresent(forKey: .cordonedAt))
        lostAtMs = try container.decodeTimestampIfPresent(forKey: .lostAt)
        orphans = try container.decodeIfPresent(NodeOrphans.self, forKey: .orphans) ?? NodeOrphans()
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(envelope, forKey: .envelope)
        try container.encodeTimestamp(receivedAtMs, forKey: .receivedAt)
        try container.encode(cordoned, forKey: .cordoned)
        try container.encode(draining, forKey: .draining)
        try container.encodeTimestampIfPresent(cordonedAtMs, forKey: .cordonedAt)
        try container.encodeTimestampIfPresent(lostAtMs, forKey: .lostAt)
        if !orphans.isEmpty { try container.encode(orphans, forKey: .orphans) }
    }
}
