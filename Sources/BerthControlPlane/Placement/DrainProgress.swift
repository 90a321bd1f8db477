/// How far a drain has got (`GET /api/v1alpha1/nodes/:id`): from the launches on the node, pure.
public struct DrainProgress: Equatable, Sendable {
    /// Reschedulable launches still running here without a replacement yet.
    public var remaining: [String] = []
    /// Launches whose replacement exists but that still run here (waiting for it to run).
    public var moving: [String] = []
    /// Launches moved off since the drain began (ended here, with a replacement).
    public var moved: [String] = []
    /// Launches a drain does not move (`on_node_lost: fail`): they stay until they end.
    public var staying: [String] = []

    /// Nothing left to move.
    public var done: Bool { remaining.isEmpty && moving.isEmpty }

    /// The progress over `launches` (the node's launches) of a drain begun at `sinceMs`.
    public init(launches: [LaunchRecord], nodeID: String, sinceMs: Int64) {
        for record in launches.sorted(by: { $0.id < $1.id }) where record.nodeID == nodeID {
            if record.state.isTerminal {
                if record.replacedBy != nil, record.updatedAtMs >= sinceMs { moved.append(record.id) }
            } else if record.replacedBy != nil {
                moving.append(record.id)
            } else if NodeLossRules.isMovable(record) {
                remaining.append(record.id)
            } else if record.state != .terminating {
                staying.append(record.id)
            }
        }
    }
}
