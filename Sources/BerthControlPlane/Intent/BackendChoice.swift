/// The backend a workload asks for: one kind, or `any` kind that can run it (a VM backend for an
/// image, `process` for a command).
public enum BackendChoice: String, Codable, CaseIterable, Equatable, Hashable, Sendable {
    case qemu
    case cloudHypervisor = "cloud-hypervisor"
    case firecracker
    case process
    case any

    /// The kind asked for, or nil for `any`.
    public var kind: BackendKind? {
        BackendKind(rawValue: rawValue)
    }

    public init(_ kind: BackendKind) {
        self = BackendChoice(rawValue: kind.rawValue)!
    }
}
