/// Everything placement knows about one node at one instant (`GET /nodes/:id/explain`): what it
/// is, what it has free, how old its truth is, and what it can run.
public struct NodeExplanation: Equatable, Hashable, Sendable {
    /// A resource's totals and what placed launches hold of it.
    public struct Resource: Codable, Equatable, Hashable, Sendable {
        /// Everything the node has (`total`).
        public var total: Int
        /// What workloads may be given (`allocatable`).
        public var allocatable: Int
        /// What placed, not yet terminal launches hold (`used`).
        public var used: Int
        /// `allocatable − used`, never below zero (`free`).
        public var free: Int

        public init(total: Int, allocatable: Int, used: Int, free: Int) {
            self.total = total
            self.allocatable = allocatable
            self.used = used
            self.free = free
        }
    }

    /// How old the node's truth is.
    public struct Telemetry: Codable, Equatable, Hashable, Sendable {
        /// Evaluation time minus the earlier of observation and receipt, never below zero (`age_ms`).
        public var ageMs: Int64
        /// The policy's limit (`max_age_ms`).
        public var maxAgeMs: Int64
        /// `age_ms > max_age_ms` (`stale`): the node is rejected with TELEMETRY_STALE.
        public var stale: Bool

        public init(ageMs: Int64, maxAgeMs: Int64, stale: Bool) {
            self.ageMs = ageMs
            self.maxAgeMs = maxAgeMs
            self.stale = stale
        }

        enum CodingKeys: String, CodingKey {
            case ageMs = "age_ms"
            case maxAgeMs = "max_age_ms"
            case stale
        }
    }

    /// One installed backend and whether Berth can drive it.
    public struct Backend: Codable, Equatable, Hashable, Sendable {
        public var kind: BackendKind
        public var binary: String
        public var version: String
        /// At least `minimum_version` (`supported`).
        public var supported: Bool
        /// The oldest version Berth drives (`minimum_version`), absent when any will do.
        public var minimumVersion: String?

        public init(kind: BackendKind, binary: String, version: String, supported: Bool, minimumVersion: String?) {
            self.kind = kind
            self.binary = binary
            self.version = version
            self.supported = supported
            self.minimumVersion = minimumVersion
        }

        enum CodingKeys: String, CodingKey {
            case kind
            case binary
            case version
            case supported
            case minimumVersion = "minimum_version"
        }
    }

    /// What the node can run, whatever its health, age or cordon.
    public struct Capabilities: Codable, Equatable, Hashable, Sendable {
        /// /dev/kvm is present and a guest ran on it (`can_run_kvm`).
        public var canRunKVM: Bool
        /// A supported QEMU with KVM acceleration (`can_run_qemu`).
        public var canRunQEMU: Bool
        /// A supported QEMU, which can always emulate with TCG (`can_run_qemu_tcg`).
        public var canRunQEMUTCG: Bool
        /// A supported Cloud Hypervisor and usable KVM (`can_run_cloud_hypervisor`).
        public var canRunCloudHypervisor: Bool
        /// A supported Firecracker and usable KVM (`can_run_firecracker`).
        public var canRunFirecracker: Bool
        /// The `process` backend is installed (`can_run_process`).
        public var canRunProcess: Bool

        init(_ capabilities: NodeCapabilities) {
            canRunKVM = capabilities.kvmUsable
            canRunQEMU = capabilities.canRun(.qemu) && capabilities.kvmUsable
            canRunQEMUTCG = capabilities.canRun(.qemu)
            canRunCloudHypervisor = capabilities.canRun(.cloudHypervisor)
            canRunFirecracker = capabilities.canRun(.firecracker)
            canRunProcess = capabilities.canRun(.process)
        }

        enum CodingKeys: String, CodingKey {
            case canRunKVM = "can_run_kvm"
            case canRunQEMU = "can_run_qemu"
            case canRunQEMUTCG = "can_run_qemu_tcg"
            case canRunCloudHypervisor = "can_run_cloud_hypervisor"
            case canRunFirecracker = "can_run_firecracker"
            case canRunProcess = "can_run_process"
        }
    }

    /// `node_id`.
    public var nodeID: String
    /// The latest envelope's `sequence`.
    public var sequence: UInt64
    /// When the agent observed it (`observed_at`), ms since the epoch.
    public var observedAtMs: Int64
    /// When the leader received it (`received_at`), ms since the epoch.
    public var receivedAtMs: Int64
    /// The instant this answer is for (`evaluated_at`), ms since the epoch.
    public var evaluatedAtMs: Int64
    public var arch: Architecture
    public var health: NodeHealth
    public var kernel: String
    /// CPUs (`cpus`).
    public var cpus: Resource
    /// Memory in MiB (`memory_mib`).
    public var memoryMiB: Resource
    public var telemetry: Telemetry
    public var cordoned: Bool
    public var draining: Bool
    /// When it was cordoned (`cordoned_at`), ms since the epoch.
    public var cordonedAtMs: Int64?
    public var labels: [String: String]
    public var kvm: KVMStatus
    public var backends: [Backend]
    public var capabilities: Capabilities
    /// Launches placed here and not yet terminal (`active_launches`).
    public var activeLaunches: Int
    /// When the leader declared the node lost (`lost_at`, only while it is): its agent went silent.
    public var lostAtMs: Int64? = nil
}

extension NodeExplanation: Codable {
    enum CodingKeys: String, CodingKey {
        case nodeID = "node_id"
        case sequence
        case observedAt = "observed_at"
        case receivedAt = "received_at"
        case evaluatedAt = "evaluated_at"
        case arch
        case health
        case kernel
        case cpus
        case memoryMiB = "memory_mib"
        case telemetry
        case cordoned
        case draining
        case cordonedAt = "cordoned_at"
        case labels
        case kvm
        case backends
        case capabilities
        case activeLaunches = "active_launches"
        case lostAt = "lost_at"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        nodeID = try container.decode(String.self, forKey: .nodeID)
        sequence = try container.decode(UInt64.self, forKey: .sequence)
        observedAtMs = try container.decodeTimestamp(forKey: .observedAt)
        receivedAtMs = try container.decodeTimestamp(forKey: .receivedAt)
        evaluatedAtMs = try container.decodeTimestamp(forKey: .evaluatedAt)
        arch = try container.decode(Architecture.self, forKey: .arch)
        health = try container.decode(NodeHealth.self, forKey: .health)
        kernel = try container.decode(String.self, forKey: .kernel)
        cpus = try container.decode(Resource.self, forKey: .cpus)
        memoryMiB = try container.decode(Resource.self, forKey: .memoryMiB)
        telemetry = try container.decode(Telemetry.self, forKey: .telemetry)
        cordoned = try container.decode(Bool.self, forKey: .cordoned)
        draining = try container.decode(Bool.self, forKey: .draining)
        cordonedAtMs = try container.decodeTimestampIfPresent(forKey: .cordonedAt)
        labels = try container.decode([String: String].self, forKey: .labels)
        kvm = try container.decode(KVMStatus.self, forKey: .kvm)
        backends = try container.decode([Backend].self, forKey: .backends)
        capabilities = try container.decode(Capabilities.self, forKey: .capabilities)
        activeLaunches = try container.decode(Int.self, forKey: .activeLaunches)
        lostAtMs = try container.decodeTimestampIfPresent(forKey: .lostAt)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(nodeID, forKey: .nodeID)
        try container.encode(sequence, forKey: .sequence)
        try container.encodeTimestamp(observedAtMs, forKey: .observedAt)
        try container.encodeTimestamp(receivedAtMs, forKey: .receivedAt)
        try container.encodeTimestamp(evaluatedAtMs, forKey: .evaluatedAt)
        try container.encode(arch, forKey: .arch)
        try container.encode(health, forKey: .health)
        try container.encode(kernel, forKey: .kernel)
        try container.encode(cpus, forKey: .cpus)
        try container.encode(memoryMiB, forKey: .memoryMiB)
        try container.encode(telemetry, forKey: .telemetry)
        try container.encode(cordoned, forKey: .cordoned)
        try container.encode(draining, forKey: .draining)
        try container.encodeTimestampIfPresent(cordonedAtMs, forKey: .cordonedAt)
        try container.encode(labels, forKey: .labels)
        try container.encode(kvm, forKey: .kvm)
        try container.encode(backends, forKey: .backends)
        try container.encode(capabilities, forKey: .capabilities)
        try container.encode(activeLaunches, forKey: .activeLaunches)
        try container.encodeTimestampIfPresent(lostAtMs, forKey: .lostAt)
    }
}

extension FleetView {
    /// What placement knows about `nodeID` at `atMs`, or nil when the node is not known.
    public func explainNode(_ nodeID: String, atMs: Int64, policy: PlacementPolicy = .standard) -> NodeExplanation? {
        guard let slot = slot(of: nodeID) else { return nil }
        let node = nodes[slot]
        let truth = truths[slot]
        let envelope = truth.envelope
        let ageMs = max(0, atMs &- truth.telemetryTakenAtMs)
        return NodeExplanation(
            nodeID: nodeID, sequence: envelope.sequence, observedAtMs: envelope.observedAtMs,
            receivedAtMs: truth.receivedAtMs, evaluatedAtMs: atMs, arch: envelope.arch, health: envelope.health,
            kernel: envelope.kernel,
            cpus: .init(
                total: envelope.cpus.total, allocatable: envelope.cpus.allocatable, used: node.usage.usedCPUs,
                free: node.freeCPUs),
            memoryMiB: .init(
                total: envelope.memoryMiB.total, allocatable: envelope.memoryMiB.allocatable,
                used: node.usage.usedMemoryMiB, free: node.freeMemoryMiB),
            telemetry: .init(ageMs: ageMs, maxAgeMs: policy.telemetryMaxAgeMs, stale: ageMs > policy.telemetryMaxAgeMs),
            cordoned: truth.cordoned, draining: truth.draining, cordonedAtMs: truth.cordonedAtMs,
            labels: envelope.labels, kvm: envelope.kvm,
            backends: envelope.backends.map {
                .init(
                    kind: $0.kind, binary: $0.binary, version: $0.version, supported: $0.isSupported,
                    minimumVersion: BackendSupport.minimumVersion(of: $0.kind)?.description)
            },
            capabilities: .init(node.capabilities), activeLaunches: node.usage.activeLaunches, lostAtMs: truth.lostAtMs)
    }
}
