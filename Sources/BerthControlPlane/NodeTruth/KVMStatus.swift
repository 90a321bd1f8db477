/// What the agent found out about hardware virtualisation on its node.
public struct KVMStatus: Codable, Equatable, Hashable, Sendable {
    /// `/dev/kvm` exists.
    public var present: Bool
    /// A probe guest actually ran under KVM. A host can expose /dev/kvm whose guests never run
    /// (nested virtualisation turned off, permissions), so presence alone proves nothing.
    public var usable: Bool

    public init(present: Bool, usable: Bool) {
        self.present = present
        self.usable = usable
    }
}
