/// The health an agent reports for its node.
public enum NodeHealth: String, Codable, CaseIterable, Equatable, Hashable, Sendable {
    /// Everything the agent checks is fine.
    case healthy
    /// Usable, but something is off (a disk filling, a flapping link): placement allowed, scored lower.
    case degraded
    /// Not fit for new work: placement refused (NODE_UNHEALTHY).
    case unhealthy
}
