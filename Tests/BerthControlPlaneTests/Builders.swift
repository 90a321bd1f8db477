import BerthControlPlane
import Foundation

/// Small, readable constructors for node truth and intents: each test states only what it is about.
enum Build {
    /// A fixed "now" for tests (2025-06-15T00:26:40Z): no test reads a clock.
    static let now: Int64 = 1_749_947_200_000

    static let qemu = InstalledBackend(kind: .qemu, binary: "/usr/bin/qemu-system-aarch64", version: "8.2.2")
    static let cloudHypervisor = InstalledBackend(
        kind: .cloudHypervisor, binary: "/usr/local/bin/cloud-hypervisor", version: "41.0")
    static let firecracker = InstalledBackend(
        kind: .firecracker, binary: "/usr/local/bin/firecracker", version: "1.7.0")
    static let process = InstalledBackend(kind: .process, binary: "/usr/local/bin/berth", version: "0.1.0")

    static func envelope(
        _ nodeID: String, sequence: UInt64 = 1, observedAtMs: Int64 = now, arch: Architecture = .aarch64,
        cpus: Int = 16, memoryMiB: Int = 32_768, kvmPresent: Bool = true, kvmUsable: Bool = true,
        backends: [InstalledBackend] = [qemu, process], labels: [String: String] = [:], health: NodeHealth = .healthy
    ) -> SchedulerEnvelope {
        SchedulerEnvelope(
            nodeID: nodeID, sequence: sequence, observedAtMs: observedAtMs, arch: arch,
            cpus: ResourceCapacity(total: cpus, allocatable: cpus),
            memoryMiB: ResourceCapacity(total: memoryMiB, allocatable: memoryMiB),
            kvm: KVMStatus(present: kvmPresent, usable: kvmUsable), kernel: "6.8.0", backends: backends, labels: labels,
            health: health)
    }

    static let image = WorkloadImage(kernel: "/images/vmlinux", disk: "/images/rootfs.ext4")

    /// A VM intent (an image), `any` arch and backend unless told otherwise.
    static func vm(
        _ name: String = "web", arch: ArchitectureChoice = .any, vcpus: Int = 2, memoryMiB: Int = 2_048,
        requiresKVM: Bool = false, backend: BackendChoice = .any, labels: [String: String] = [:]
    ) -> WorkloadIntent {
        WorkloadIntent(
            name: name, arch: arch, vcpus: vcpus, memoryMiB: memoryMiB, requiresKVM: requiresKVM, backend: backend,
            labels: labels, payload: .image(image))
    }

    /// A process intent (a command).
    static func process(_ name: String = "job", vcpus: Int = 1, memoryMiB: Int = 256, backend: BackendChoice = .any)
        -> WorkloadIntent
    {
        WorkloadIntent(
            name: name, vcpus: vcpus, memoryMiB: memoryMiB, backend: backend,
            payload: .command(WorkloadCommand(argv: ["/bin/echo", "hi"])))
    }

    /// A view holding `envelopes`, each received at `now`.
    static func fleet(_ envelopes: [SchedulerEnvelope], receivedAtMs: Int64 = now) -> FleetView {
        var view = FleetView()
        for envelope in envelopes { try! view.upsert(envelope, receivedAtMs: receivedAtMs) }
        return view
    }

    static func launch(_ id: String, on nodeID: String, name: String = "web", vcpus: Int = 2, memoryMiB: Int = 2_048)
        -> PlacedLaunch
    {
        PlacedLaunch(launchID: id, workloadName: name, nodeID: nodeID, vcpus: vcpus, memoryMiB: memoryMiB)
    }
}

/// JSON helpers for tests that build documents as dictionaries and look at encoded output.
enum JSON {
    static func bytes(_ object: Any) -> [UInt8] {
        Array(try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
    }

    /// `value` encoded and parsed back into a dictionary, to check field names.
    static func object(_ value: some Encodable) -> [String: Any] {
        let data = try! JSONEncoder().encode(value)
        return try! JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    static func keys(_ value: some Encodable) -> Set<String> {
        Set(object(value).keys)
    }

    static func roundTrip<T: Codable>(_ value: T) throws -> T {
        try JSONDecoder().decode(T.self, from: JSONEncoder().encode(value))
    }
}

/// What the problems of a failed parse are, as (field, code) pairs — or an empty list when it parsed.
func problems<T: ValidatedDocument>(_ type: T.Type, _ document: Any) -> [ValidationProblem] {
    do {
        _ = try T.parse(json: JSON.bytes(document))
        return []
    } catch {
        return error.problems
    }
}

func fieldsAndCodes(_ problems: [ValidationProblem]) -> [String] {
    problems.map { "\($0.field) \($0.code.rawValue)" }
}
