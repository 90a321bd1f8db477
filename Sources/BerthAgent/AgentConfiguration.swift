/// How `berth agent` runs.
public struct AgentConfiguration: Sendable {
    public var servers: [String]
    public var nodeID: String
    public var rootPath: String
    public var labels: [String: String] = [:]
    /// A fingerprint to report instead of the probed one (`--fixture`).
    public var fixturePath: String?
    /// The longest time between two envelopes when nothing changed: the control plane counts
    /// telemetry older than 60 s as stale, so this stays well below.
    public var envelopeInterval: Duration = .seconds(5)
    /// How often the fingerprint is retaken to notice a change.
    public var fingerprintInterval: Duration = .seconds(1)
    /// How often the KVM probe runs again (it forks and runs a guest).
    public var kvmReprobeInterval: Duration = .seconds(300)
    /// How often PATH is searched again for backend binaries (each is run for its version).
    public var backendRescanInterval: Duration = .seconds(30)
    /// How long one action poll waits on the server (at most 30).
    public var pollWaitSeconds = 20
    /// How often running workloads are checked and transitions reported.
    public var watchInterval: Duration = .milliseconds(200)
    /// How often `/proc` is scanned for workloads no record owns.
    public var orphanScanInterval: Duration = .seconds(30)
    /// Bytes of stdout, and of stderr, kept per process launch.
    public var outputLimitBytes: Int64 = 1 << 20
    /// How long a started VM may take to answer `running` on QMP (READINESS_TIMEOUT after).
    public var vmReadinessTimeout: Duration = .seconds(30)
    /// How long a VM's guest gets to power off after QMP `system_powerdown` before `quit`.
    public var vmPowerdownGrace: Duration = .seconds(3)
    /// Where `cloud-hypervisor` and `firecracker` are searched when a launch runs (nil: PATH).
    public var vmmSearchPath: [String]?
    /// How long a Cloud Hypervisor or Firecracker process may take to listen on its API socket.
    public var vmmSocketTimeout: Duration = .seconds(5)
    public var reservedCPUs = 0
    public var reservedMemoryMiB = 256

    public init(servers: [String], nodeID: String, rootPath: String) {
        self.servers = servers
        self.nodeID = nodeID
        self.rootPath = rootPath
    }
}
