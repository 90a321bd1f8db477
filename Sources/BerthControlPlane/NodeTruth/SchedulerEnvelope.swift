/// A node's truth as its agent reports it (spec §5). The agent emits one per fingerprint, each
/// with a higher `sequence`; the control plane keeps the latest and never edits it.
///
/// Decode API input with `SchedulerEnvelope.parse(json:)`, which reports every problem at once.
/// `Decodable` goes through the same reader, so a stored envelope is held to the same rules.
public struct SchedulerEnvelope: Equatable, Hashable, Sendable {
    /// The node's stable id (`node_id`): 1–63 bytes of `[A-Za-z0-9._-]`.
    public var nodeID: String
    /// Per-node counter (`sequence`), at least 1, increasing with every envelope the agent sends.
    public var sequence: UInt64
    /// When the agent took the fingerprint (`observed_at`, RFC 3339 on the wire), in ms since the epoch.
    public var observedAtMs: Int64
    /// The node's CPU architecture (`arch`).
    public var arch: Architecture
    /// Logical CPUs (`cpus`).
    public var cpus: ResourceCapacity
    /// Memory in MiB (`memory_mib`).
    public var memoryMiB: ResourceCapacity
    /// `/dev/kvm` presence and usability (`kvm`).
    public var kvm: KVMStatus
    /// The running kernel's release string (`kernel`).
    public var kernel: String
    /// Runtime binaries found on the node (`backends`), at most 16.
    public var backends: [InstalledBackend]
    /// Operator-assigned labels (`labels`) that intents can require.
    public var labels: [String: String]
    /// The agent's own verdict on the node (`health`).
    public var health: NodeHealth

    public init(
        nodeID: String, sequence: UInt64, observedAtMs: Int64, arch: Architecture, cpus: ResourceCapacity,
        memoryMiB: ResourceCapacity, kvm: KVMStatus, kernel: String, backends: [InstalledBackend],
        labels: [String: String], health: NodeHealth
    ) {
        self.nodeID = nodeID
        self.sequence = sequence
        self.observedAtMs = observedAtMs
        self.arch = arch
        self.cpus = cpus
        self.memoryMiB = memoryMiB
        self.kvm = kvm
        self.kernel = kernel
        self.backends = backends
        self.labels = labels
        self.health = health
    }
}

extension SchedulerEnvelope: Codable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case nodeID = "node_id"
        case sequence
        case observedAt = "observed_at"
        case arch
        case cpus
        case memoryMiB = "memory_mib"
        case kvm
        case kernel
        case backends
        case labels
        case health
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(nodeID, forKey: .nodeID)
        try container.encode(sequence, forKey: .sequence)
        try container.encodeTimestamp(observedAtMs, forKey: .observedAt)
        try container.encode(arch, forKey: .arch)
        try container.encode(cpus, forKey: .cpus)
        try container.encode(memoryMiB, forKey: .memoryMiB)
        try container.encode(kvm, forKey: .kvm)
        try container.encode(kernel, forKey: .kernel)
        try container.encode(backends, forKey: .backends)
        try container.encode(labels, forKey: .labels)
        try container.encode(health, forKey: .health)
    }

    public init(from decoder: any Decoder) throws {
        self = try decodeValidated(from: decoder, Self.read)
    }
}
