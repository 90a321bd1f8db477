/// What a user asks to run (spec §5): how big it is, what it needs from a node, and what it runs.
/// Decode API input with `WorkloadIntent.parse(json:)`, which reports every problem at once.
public struct WorkloadIntent: Equatable, Hashable, Sendable {
    /// The workload's name (`name`); replicas with the same name are spread apart.
    public var name: String
    /// The architecture it needs (`arch`), or `any`.
    public var arch: ArchitectureChoice
    /// Virtual CPUs it needs (`vcpus`), 1–1024.
    public var vcpus: Int
    /// Memory it needs in MiB (`memory_mib`), 1–16,777,216.
    public var memoryMiB: Int
    /// It must run under KVM (`requires_kvm`, default false): no TCG fallback.
    public var requiresKVM: Bool
    /// The backend it asks for (`backend`, default `any`).
    public var backend: BackendChoice
    /// Labels a node must carry with exactly these values (`labels`, default none).
    public var labels: [String: String]
    /// What it runs: `image` or `command` on the wire.
    public var payload: WorkloadPayload
    /// What happens when its node is lost (`on_node_lost`, default `fail`).
    public var onNodeLost: NodeLossPolicy

    public init(
        name: String, arch: ArchitectureChoice = .any, vcpus: Int, memoryMiB: Int, requiresKVM: Bool = false,
        backend: BackendChoice = .any, labels: [String: String] = [:], payload: WorkloadPayload,
        onNodeLost: NodeLossPolicy = .fail
    ) {
        self.name = name
        self.arch = arch
        self.vcpus = vcpus
        self.memoryMiB = memoryMiB
        self.requiresKVM = requiresKVM
        self.backend = backend
        self.labels = labels
        self.payload = payload
        self.onNodeLost = onNodeLost
    }

    /// The image, when it runs one.
    public var image: WorkloadImage? {
        if case .image(let image) = payload { return image }
        return nil
    }

    /// The command, when it runs one.
    public var command: WorkloadCommand? {
        if case .command(let command) = payload { return command }
        return nil
    }

    /// Whether the node must have usable KVM: asked for explicitly, or implied by a backend that
    /// cannot run without it (Cloud Hypervisor, Firecracker). QEMU alone can fall back to TCG.
    public var needsKVM: Bool {
        requiresKVM || (backend.kind?.requiresKVM ?? false)
    }
}

extension WorkloadIntent: Codable {
    enum CodingKeys: String, CodingKey {
        case name
        case arch
        case vcpus
        case memoryMiB = "memory_mib"
        case requiresKVM = "requires_kvm"
        case backend
        case labels
        case image
        case command
        case shell
        case onNodeLost = "on_node_lost"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(arch, forKey: .arch)
        try container.encode(vcpus, forKey: .vcpus)
        try container.encode(memoryMiB, forKey: .memoryMiB)
        try container.encode(requiresKVM, forKey: .requiresKVM)
        try container.encode(backend, forKey: .backend)
        try container.encode(labels, forKey: .labels)
        try payload.encode(into: &container, imageKey: .image, commandKey: .command, shellKey: .shell)
        // Only when asked for: intents stored before the field existed keep their exact bytes.
        if onNodeLost != .fail { try container.encode(onNodeLost, forKey: .onNodeLost) }
    }

    public init(from decoder: any Decoder) throws {
        self = try decodeValidated(from: decoder, Self.read)
    }
}

extension WorkloadIntent: ValidatedDocument {
    /// Reads an intent, checking every limit in `ValidationLimits`. Unknown members are refused:
    /// intents are written by people, and a misspelt `requires_kvm` silently ignored would place
    /// a workload somewhere it cannot run.
    public static func read(_ value: JSONValue) throws(ValidationFailure) -> WorkloadIntent {
        let limits = ValidationLimits.self
        var reader = FieldReader()
        let root = reader.object(Field(value: value, path: ""))
        reader.rejectUnknownMembers(root, allowed: Set(CodingKeys.allCases.map(\.rawValue)))
        let name = reader.string(reader.required(root, "name"), bytes: limits.workloadNameBytes)
        let arch = reader.choice(reader.required(root, "arch"), as: ArchitectureChoice.self)
        let vcpus = reader.integer(reader.required(root, "vcpus"), in: limits.workloadVCPUs)
        let memory = reader.integer(reader.required(root, "memory_mib"), in: limits.workloadMemoryMiB)
        let requiresKVM = reader.bool(reader.optional(root, "requires_kvm")) ?? false
        let backendField = reader.optional(root, "backend")
        let backend = reader.choice(backendField, as: BackendChoice.self) ?? .any
        let labels = reader.labels(reader.optional(root, "labels")) ?? [:]
        let payload = reader.payload(root)
        let onNodeLost = reader.choice(reader.optional(root, "on_node_lost"), as: NodeLossPolicy.self) ?? .fail
        if let payload, let kind = backend.kind, let backendField {
            switch payload {
            case .image where !kind.isVirtualMachine:
                reader.report(backendField.path, .inconsistent, "\(kind.rawValue) runs a command, not an image")
            case .command where kind.isVirtualMachine:
                reader.report(backendField.path, .inconsistent, "\(kind.rawValue) runs an image, not a command")
            default:
                break
            }
        }
        guard reader.problems.isEmpty, let name, let arch, let vcpus, let memory, let payload else {
            throw reader.failure
        }
        return WorkloadIntent(
            name: name, arch: arch, vcpus: Int(vcpus), memoryMiB: Int(memory), requiresKVM: requiresKVM,
            backend: backend, labels: labels, payload: payload, onNodeLost: onNodeLost)
    }
}

extension WorkloadIntent.CodingKeys: CaseIterable {}
