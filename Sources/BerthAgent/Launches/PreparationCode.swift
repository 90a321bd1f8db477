/// Why a host is not ready for a launch spec (`berth agent prepare`). Where a placement
/// rejection means the same thing, the code is the same (`docs/reason-codes.md`); the rest are
/// about this host's files, which placement never sees.
public enum PreparationCode: String, Codable, CaseIterable, Sendable {
    /// The spec is for another node.
    case nodeMismatch = "NODE_MISMATCH"
    case archMismatch = "ARCH_MISMATCH"
    case kvmMissing = "KVM_MISSING"
    case kvmUnusable = "KVM_UNUSABLE"
    case backendMissing = "BACKEND_MISSING"
    case backendVersionUnsupported = "BACKEND_VERSION_UNSUPPORTED"
    /// A kernel, initrd or disk path has `..`, is outside the root, or escapes it by a link.
    case pathOutsideRoot = "PATH_OUTSIDE_ROOT"
    /// A kernel, initrd or disk that is not there.
    case artifactMissing = "ARTIFACT_MISSING"
    /// The process's program is not an executable file (or not on PATH).
    case programNotFound = "PROGRAM_NOT_FOUND"
    /// This agent cannot launch the backend yet, even though the host has it.
    case backendNotImplemented = "BACKEND_NOT_IMPLEMENTED"
    /// The backend cannot run the spec as given: an API socket path longer than a unix socket
    /// allows, more vCPUs than Firecracker runs.
    case backendRefused = "BACKEND_REFUSED"

    /// The reason in words; the evidence is in `needed` and `available`.
    public var summary: String {
        switch self {
        case .nodeMismatch: return "the spec is for another node"
        case .archMismatch: return "the host's architecture is not the spec's"
        case .kvmMissing: return "the spec needs KVM and the host has no /dev/kvm"
        case .kvmUnusable: return "the spec needs KVM and /dev/kvm does not run guests"
        case .backendMissing: return "the backend's binary is not installed"
        case .backendVersionUnsupported: return "the backend's binary is older than Berth supports"
        case .pathOutsideRoot: return "a path is not under the agent's root"
        case .artifactMissing: return "a boot artifact does not exist"
        case .programNotFound: return "the program is not an executable file"
        case .backendNotImplemented: return "this agent cannot launch this backend yet"
        case .backendRefused: return "the backend cannot run the spec as given"
        }
    }
}

/// One reason, with its evidence.
public struct PreparationReason: Codable, Equatable, Sendable {
    public var code: PreparationCode
    public var message: String
    public var needed: String?
    public var available: String?

    public init(_ code: PreparationCode, needed: String? = nil, available: String? = nil, detail: String? = nil) {
        self.code = code
        self.message = detail.map { "\(code.summary): \($0)" } ?? code.summary
        self.needed = needed
        self.available = available
    }
}
