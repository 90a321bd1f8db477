/// Why a node cannot take a workload: a closed set of stable codes (spec §5's hard rejection
/// codes). A node's reasons are listed in the order the cases are declared here.
public enum RejectionCode: String, Codable, CaseIterable, Equatable, Hashable, Sendable {
    /// The workload needs another CPU architecture. needed: arch; available: the node's arch.
    case archMismatch = "ARCH_MISMATCH"
    /// Not enough free vCPUs. needed: vCPUs; available: allocatable minus what placed launches use.
    case insufficientCPU = "INSUFFICIENT_CPU"
    /// Not enough free memory. needed: MiB; available: free MiB.
    case insufficientMemory = "INSUFFICIENT_MEMORY"
    /// The workload needs KVM and the node has no /dev/kvm. needed: true; available: false.
    case kvmMissing = "KVM_MISSING"
    /// The workload needs KVM and /dev/kvm exists but guests cannot run on it. needed: true; available: false.
    case kvmUnusable = "KVM_UNUSABLE"
    /// No backend that could run the workload is installed. needed: the kind (or the candidate
    /// kinds); available: the node's backends.
    case backendMissing = "BACKEND_MISSING"
    /// A backend is installed but older than `BackendSupport` allows. needed: `kind >= minimum`;
    /// available: `kind version`.
    case backendVersionUnsupported = "BACKEND_VERSION_UNSUPPORTED"
    /// The node's last report is older than the policy allows. needed: the limit in ms; available: the age in ms.
    case telemetryStale = "TELEMETRY_STALE"
    /// The agent reports the node unhealthy. needed: "healthy"; available: the reported health.
    case nodeUnhealthy = "NODE_UNHEALTHY"
    /// An operator cordoned or is draining the node. needed: "schedulable"; available: "cordoned" or "draining".
    case nodeCordoned = "NODE_CORDONED"
    /// A required label is absent or has another value, one rejection per label. needed:
    /// `key=value`; available: the node's `key=value`, or null when the node lacks the key.
    case labelMismatch = "LABEL_MISMATCH"

    /// The raw value as a static string, for writers that copy bytes without building Strings.
    var staticName: StaticString {
        switch self {
        case .archMismatch: return "ARCH_MISMATCH"
        case .insufficientCPU: return "INSUFFICIENT_CPU"
        case .insufficientMemory: return "INSUFFICIENT_MEMORY"
        case .kvmMissing: return "KVM_MISSING"
        case .kvmUnusable: return "KVM_UNUSABLE"
        case .backendMissing: return "BACKEND_MISSING"
        case .backendVersionUnsupported: return "BACKEND_VERSION_UNSUPPORTED"
        case .telemetryStale: return "TELEMETRY_STALE"
        case .nodeUnhealthy: return "NODE_UNHEALTHY"
        case .nodeCordoned: return "NODE_CORDONED"
        case .labelMismatch: return "LABEL_MISMATCH"
        }
    }
}
