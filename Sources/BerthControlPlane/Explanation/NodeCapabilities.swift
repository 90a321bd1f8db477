/// What a node's hardware and installed runtimes let it run, derived once from its envelope.
/// Health, telemetry age and cordons are not capabilities: they change what may be placed, not
/// what the node could run.
struct NodeCapabilities: Equatable, Hashable, Sendable {
    var kvmPresent: Bool
    var kvmUsable: Bool
    /// Backend kinds with at least one binary installed.
    var installed: BackendSet
    /// Backend kinds with at least one binary new enough (`BackendSupport`).
    var supported: BackendSet

    init(_ envelope: SchedulerEnvelope) {
        kvmPresent = envelope.kvm.present
        kvmUsable = envelope.kvm.present && envelope.kvm.usable
        installed = BackendSet(envelope.backends.map(\.kind))
        supported = BackendSet(envelope.backends.filter(\.isSupported).map(\.kind))
    }

    /// Whether a supported `kind` can run here: the KVM-only backends also need usable KVM.
    func canRun(_ kind: BackendKind) -> Bool {
        supported.contains(kind) && (!kind.requiresKVM || kvmUsable)
    }
}
