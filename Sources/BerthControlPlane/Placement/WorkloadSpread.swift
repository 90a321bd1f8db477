/// Active launches of one workload name, counted per node and per label group, kept up to date
/// as launches are placed and released so spread is scored without scanning launches.
struct WorkloadSpread: Sendable {
    /// Node slot → active launches of this workload there (no zero entries).
    var onNode: [Int: Int] = [:]
    /// Label group → active launches of this workload on its nodes (no zero entries).
    var inGroup: [Int: Int] = [:]

    var isEmpty: Bool { onNode.isEmpty }

    mutating func add(_ count: Int, node: Int, group: Int) {
        adjust(&onNode, node, by: count)
        adjust(&inGroup, group, by: count)
    }

    private func adjust(_ counts: inout [Int: Int], _ key: Int, by delta: Int) {
        let value = counts[key, default: 0] + delta
        counts[key] = value == 0 ? nil : value
    }
}
