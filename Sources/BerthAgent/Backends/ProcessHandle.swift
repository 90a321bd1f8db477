/// What the agent keeps to find a started process again, even after its own restart.
public struct ProcessHandle: Codable, Equatable, Sendable {
    /// The workload (its pid is also its process group).
    public var workload: ProcessIdentity
    /// The keeper that waits for it and writes `statusPath`.
    public var keeper: ProcessIdentity?
    public var stdoutPath: String
    public var stderrPath: String
    public var statusPath: String
    /// A QEMU workload's QMP socket (its readiness and its terminate go through it).
    public var qmpSocketPath: String?
    /// A Cloud Hypervisor or Firecracker workload's API socket (readiness and terminate).
    public var apiSocketPath: String?

    public init(
        workload: ProcessIdentity, keeper: ProcessIdentity?, stdoutPath: String, stderrPath: String, statusPath: String
    ) {
        self.workload = workload
        self.keeper = keeper
        self.stdoutPath = stdoutPath
        self.stderrPath = stderrPath
        self.statusPath = statusPath
    }

    enum CodingKeys: String, CodingKey {
        case workload, keeper
        case stdoutPath = "stdout_path"
        case stderrPath = "stderr_path"
        case statusPath = "status_path"
        case qmpSocketPath = "qmp_socket_path"
        case apiSocketPath = "api_socket_path"
    }
}
