/// A launch with every choice made (the hydrated LaunchSpec of spec §5): the node, and the
/// architecture, backend and acceleration that node will run it with. This is what an agent
/// receives and what `launch/validate` checks. Decode API input with `LaunchSpec.parse(json:)`.
public struct LaunchSpec: Equatable, Hashable, Sendable {
    /// The workload's name (`name`).
    public var name: String
    /// The node it runs on (`node_id`).
    public var nodeID: String
    /// The architecture it runs as (`arch`), the node's.
    public var arch: Architecture
    /// The backend that runs it (`backend`), never `any`.
    public var backend: BackendKind
    /// How the guest executes (`accel`): `kvm` or `tcg` for a VM, `none` for a process.
    public var accel: Acceleration
    /// Virtual CPUs (`vcpus`).
    public var vcpus: Int
    /// Memory in MiB (`memory_mib`).
    public var memoryMiB: Int
    /// What it runs: `image` or `command` on the wire.
    public var payload: WorkloadPayload
    /// The labels the intent required (`labels`), kept for the record.
    public var labels: [String: String]

    public init(
        name: String, nodeID: String, arch: Architecture, backend: BackendKind, accel: Acceleration, vcpus: Int,
        memoryMiB: Int, payload: WorkloadPayload, labels: [String: String] = [:]
    ) {
        self.name = name
        self.nodeID = nodeID
        self.arch = arch
        self.backend = backend
        self.accel = accel
        self.vcpus = vcpus
        self.memoryMiB = memoryMiB
        self.payload = payload
        self.labels = labels
    }

    /// `intent` made concrete for `node`: `any` architecture becomes the node's, `any` backend
    /// becomes the first runnable one in `BackendKind.virtualMachinePreference` (or `process`),
    /// and the acceleration is KVM where usable, TCG for QEMU where not. Refused, with the same
    /// reasons evaluation would give, when the node's hardware or runtimes cannot run it.
    /// Capacity, health, age and cordons are evaluation's business, not hydration's.
    public static func hydrate(_ intent: WorkloadIntent, on node: NodeTruth) throws(HydrationError) -> LaunchSpec {
        let requirements = PlacementRequirements(intent)
        let reasons = requirements.hardwareRejections(node)
        guard reasons.isEmpty, let (backend, accel) = requirements.resolve(on: NodeCapabilities(node.envelope)) else {
            throw HydrationError(nodeID: node.nodeID, reasons: reasons)
        }
        return LaunchSpec(
            name: intent.name, nodeID: node.nodeID, arch: node.envelope.arch, backend: backend, accel: accel,
            vcpus: intent.vcpus, memoryMiB: intent.memoryMiB, payload: intent.payload, labels: intent.labels)
    }
}

/// The chosen node cannot run the intent (HTTP 409 `NODE_CANNOT_RUN`). `reasons` is empty only
/// for an intent whose backend contradicts its payload, which validation refuses earlier.
public struct HydrationError: Error, Equatable, Hashable, Sendable {
    public var nodeID: String
    public var reasons: [Rejection]

    public init(nodeID: String, reasons: [Rejection]) {
        self.nodeID = nodeID
        self.reasons = reasons
    }

    public static let code = "NODE_CANNOT_RUN"
}

extension LaunchSpec: Codable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case name
        case nodeID = "node_id"
        case arch
        case backend
        case accel
        case vcpus
        case memoryMiB = "memory_mib"
        case image
        case command
        case shell
        case labels
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(nodeID, forKey: .nodeID)
        try container.encode(arch, forKey: .arch)
        try container.encode(backend, forKey: .backend)
        try container.encode(accel, forKey: .accel)
        try container.encode(vcpus, forKey: .vcpus)
        try container.encode(memoryMiB, forKey: .memoryMiB)
        try payload.encode(into: &container, imageKey: .image, commandKey: .command, shellKey: .shell)
        try container.encode(labels, forKey: .labels)
    }

    public init(from decoder: any Decoder) throws {
        self = try decodeValidated(from: decoder, Self.read)
    }
}

extension LaunchSpec: ValidatedDocument {
    /// Reads a spec with the intent's limits, and refuses combinations no node runs: a backend
    /// that does not run the payload, or an acceleration the backend cannot use.
    public static func read(_ value: JSONValue) throws(ValidationFailure) -> LaunchSpec {
        let limits = ValidationLimits.self
        var reader = FieldReader()
        let root = reader.object(Field(value: value, path: ""))
        reader.rejectUnknownMembers(root, allowed: Set(CodingKeys.allCases.map(\.rawValue)))
        let name = reader.string(reader.required(root, "name"), bytes: limits.workloadNameBytes)
        let nodeID = reader.string(reader.required(root, "node_id"), bytes: limits.nodeIDBytes, charset: .identifier)
        let arch = reader.choice(reader.required(root, "arch"), as: Architecture.self)
        let backendField = reader.required(root, "backend")
        let backend = reader.choice(backendField, as: BackendKind.self)
        let accelField = reader.required(root, "accel")
        let accel = reader.choice(accelField, as: Acceleration.self)
        let vcpus = reader.integer(reader.required(root, "vcpus"), in: limits.workloadVCPUs)
        let memory = reader.integer(reader.required(root, "memory_mib"), in: limits.workloadMemoryMiB)
        let payload = reader.payload(root)
        let labels = reader.labels(reader.optional(root, "labels")) ?? [:]
        if let backend, let payload, let backendField {
            switch payload {
            case .image where !backend.isVirtualMachine:
                reader.report(backendField.path, .inconsistent, "\(backend.rawValue) runs a command, not an image")
            case .command where backend.isVirtualMachine:
                reader.report(backendField.path, .inconsistent, "\(backend.rawValue) runs an image, not a command")
            default:
                break
            }
        }
        if let backend, let accel, let accelField {
            let allowed: [Acceleration]
            switch backend {
            case .qemu: allowed = [.kvm, .tcg]
            case .cloudHypervisor, .firecracker: allowed = [.kvm]
            case .process: allowed = [.none]
            }
            if !allowed.contains(accel) {
                let names = allowed.map(\.rawValue).joined(separator: " or ")
                reader.report(
                    accelField.path, .inconsistent, "\(backend.rawValue) runs with \(names), not \(accel.rawValue)")
            }
        }
        guard reader.problems.isEmpty, let name, let nodeID, let arch, let backend, let accel, let vcpus, let memory,
            let payload
        else { throw reader.failure }
        return LaunchSpec(
            name: name, nodeID: nodeID, arch: arch, backend: backend, accel: accel, vcpus: Int(vcpus),
            memoryMiB: Int(memory), payload: payload, labels: labels)
    }
}
