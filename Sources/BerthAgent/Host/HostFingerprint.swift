import BerthControlPlane
import Foundation

/// What the agent knows about its host: everything in a SchedulerEnvelope except who sends it,
/// its sequence and when. Probed from the host, or read from a fixture (`--fixture`).
public struct HostFingerprint: Equatable, Sendable {
    public var arch: Architecture
    public var cpus: ResourceCapacity
    public var memoryMiB: ResourceCapacity
    public var kvm: KVMStatus
    /// Why `kvm` says what it says (the probe's evidence); kept locally and logged, the envelope
    /// has no member for it.
    public var kvmEvidence: String
    public var kernel: String
    public var backends: [InstalledBackend]
    public var labels: [String: String]
    public var health: NodeHealth

    public init(
        arch: Architecture, cpus: ResourceCapacity, memoryMiB: ResourceCapacity, kvm: KVMStatus,
        kvmEvidence: String, kernel: String, backends: [InstalledBackend], labels: [String: String],
        health: NodeHealth
    ) {
        self.arch = arch
        self.cpus = cpus
        self.memoryMiB = memoryMiB
        self.kvm = kvm
        self.kvmEvidence = kvmEvidence
        self.kernel = kernel
        self.backends = backends
        self.labels = labels
        self.health = health
    }

    /// The envelope that reports this fingerprint.
    public func envelope(nodeID: String, sequence: UInt64, observedAtMs: Int64) -> SchedulerEnvelope {
        SchedulerEnvelope(
            nodeID: nodeID, sequence: sequence, observedAtMs: observedAtMs, arch: arch, cpus: cpus,
            memoryMiB: memoryMiB, kvm: kvm, kernel: kernel, backends: backends, labels: labels, health: health)
    }
}

/// How the agent takes its host's fingerprint.
public struct HostProbe: Sendable {
    /// CPUs kept for the host and not offered to workloads.
    public var reservedCPUs = 0
    /// Memory kept for the host (the agent itself, the page cache).
    public var reservedMemoryMiB = 256
    public var labels: [String: String] = [:]
    public var discovery = BackendDiscovery(searchPath: BackendDiscovery.environmentPath)
    public var kvmDevice = "/dev/kvm"
    public var kvmTimeoutMs = KVMProbe.defaultTimeoutMs
    /// The `process` backend's entry: the agent's own executable is its launcher, and `1` is
    /// the version of how it runs processes (any version is supported, see `BackendSupport`).
    public var processBackend = InstalledBackend(kind: .process, binary: HostProbe.selfExecutable, version: "1")

    public init() {}

    static var selfExecutable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// The fingerprint with `kvm` and `backends` taken apart (`probeKVM`, `discoverBackends`):
    /// the rest is cheap enough to take every second, those fork processes.
    public func fingerprint(kvm: KVMProbeResult, backends: [InstalledBackend]) throws(Failure) -> HostFingerprint {
        guard let arch = HostArchitecture.current else {
            throw Failure(description: "unsupported architecture \(HostArchitecture.machine)")
        }
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8),
            let memory = MemInfo(parsing: text)
        else { throw Failure(description: "cannot read MemTotal from /proc/meminfo") }
        let cpus = ProcessInfo.processInfo.activeProcessorCount
        return HostFingerprint(
            arch: arch,
            cpus: ResourceCapacity(total: cpus, allocatable: max(0, cpus - reservedCPUs)),
            memoryMiB: ResourceCapacity(
                total: memory.totalMiB, allocatable: max(0, memory.totalMiB - reservedMemoryMiB)),
            kvm: kvm.status, kvmEvidence: kvm.evidence, kernel: HostArchitecture.kernelRelease,
            backends: Array(([processBackend] + backends).prefix(16)), labels: labels, health: .healthy)
    }

    /// The VM backends on PATH, each asked for its version.
    public func discoverBackends() -> [InstalledBackend] {
        guard let arch = HostArchitecture.current else { return [] }
        return discovery.discover(hostArch: arch)
    }

    public func probeKVM() async -> KVMProbeResult {
        await KVMProbe.run(device: kvmDevice, timeoutMs: kvmTimeoutMs)
    }
}
