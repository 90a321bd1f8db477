/// What placed, not yet terminal launches hold on a node.
public struct NodeUsage: Codable, Equatable, Hashable, Sendable {
    /// vCPUs held (`used_cpus`).
    public var usedCPUs: Int
    /// Memory held in MiB (`used_memory_mib`).
    public var usedMemoryMiB: Int
    /// How many launches hold them (`active_launches`).
    public var activeLaunches: Int

    public init(usedCPUs: Int = 0, usedMemoryMiB: Int = 0, activeLaunches: Int = 0) {
        self.usedCPUs = usedCPUs
        self.usedMemoryMiB = usedMemoryMiB
        self.activeLaunches = activeLaunches
    }

    enum CodingKeys: String, CodingKey {
        case usedCPUs = "used_cpus"
        case usedMemoryMiB = "used_memory_mib"
        case activeLaunches = "active_launches"
    }
}
