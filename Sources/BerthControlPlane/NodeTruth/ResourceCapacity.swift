/// A node resource as the agent reports it: how much exists, and how much of it Berth may hand
/// out (the rest is kept for the host). The unit is the field's: CPUs for `cpus`, MiB for `memory_mib`.
public struct ResourceCapacity: Codable, Equatable, Hashable, Sendable {
    /// Everything the node has.
    public var total: Int
    /// The part workloads may be given; never more than `total`.
    public var allocatable: Int

    public init(total: Int, allocatable: Int) {
        self.total = total
        self.allocatable = allocatable
    }
}
