/// What an evaluation reads about one node, derived from its truth when it changes so that
/// evaluating does not re-derive it. Plain values only: copying one costs no reference
/// counting, which matters at ten thousand nodes per evaluation. Id and labels are read from
/// the truth, and only when needed.
struct FleetNode: Sendable {
    var arch: Architecture
    var capabilities: NodeCapabilities
    var health: NodeHealth
    var cordon: CordonState
    /// The leader declared the node lost: nothing is placed on it until its agent reports again.
    var lost: Bool
    /// `NodeTruth.telemetryTakenAtMs`.
    var telemetryTakenAtMs: Int64
    var allocatableCPUs: Int
    var allocatableMemoryMiB: Int
    /// The id of the node's label set in the fleet's label groups (spread compares within one).
    var labelGroup: Int
    var usage = NodeUsage()

    init(_ truth: NodeTruth, labelGroup: Int) {
        arch = truth.envelope.arch
        capabilities = NodeCapabilities(truth.envelope)
        health = truth.envelope.health
        cordon = CordonState(truth)
        lost = truth.lost
        telemetryTakenAtMs = truth.telemetryTakenAtMs
        allocatableCPUs = truth.envelope.cpus.allocatable
        allocatableMemoryMiB = truth.envelope.memoryMiB.allocatable
        self.labelGroup = labelGroup
    }

    /// Allocatable minus what placed launches hold; never below zero, even when a new envelope
    /// shrank the node under what is already placed there.
    var freeCPUs: Int { max(0, allocatableCPUs - usage.usedCPUs) }
    var freeMemoryMiB: Int { max(0, allocatableMemoryMiB - usage.usedMemoryMiB) }
}
