/// A launch that holds resources on a node: placed and not yet terminal. The fleet view counts
/// these to compute free capacity and spread.
public struct PlacedLaunch: Codable, Equatable, Hashable, Sendable {
    /// The launch's id (`launch_id`).
    public var launchID: String
    /// The workload's name (`workload_name`), which spread counts by.
    public var workloadName: String
    /// The node it is placed on (`node_id`).
    public var nodeID: String
    /// vCPUs it holds (`vcpus`).
    public var vcpus: Int
    /// Memory it holds in MiB (`memory_mib`).
    public var memoryMiB: Int

    public init(launchID: String, workloadName: String, nodeID: String, vcpus: Int, memoryMiB: Int) {
        self.launchID = launchID
        self.workloadName = workloadName
        self.nodeID = nodeID
        self.vcpus = vcpus
        self.memoryMiB = memoryMiB
    }

    enum CodingKeys: String, CodingKey {
        case launchID = "launch_id"
        case workloadName = "workload_name"
        case nodeID = "node_id"
        case vcpus
        case memoryMiB = "memory_mib"
    }
}
