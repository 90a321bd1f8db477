/// A set of backend kinds as a bit mask, so the per-node checks of an evaluation compare
/// integers instead of walking arrays.
struct BackendSet: OptionSet, Hashable, Sendable {
    let rawValue: UInt8

    init(rawValue: UInt8) {
        self.rawValue = rawValue
    }

    init(_ kind: BackendKind) {
        switch kind {
        case .qemu: rawValue = 1
        case .cloudHypervisor: rawValue = 2
        case .firecracker: rawValue = 4
        case .process: rawValue = 8
        }
    }

    init(_ kinds: some Sequence<BackendKind>) {
        self = kinds.reduce(into: BackendSet()) { $0.insert(BackendSet($1)) }
    }

    static let virtualMachines = BackendSet(BackendKind.virtualMachinePreference)

    func contains(_ kind: BackendKind) -> Bool {
        contains(BackendSet(kind))
    }

    /// The members in `BackendKind.allCases` order.
    var kinds: [BackendKind] {
        BackendKind.allCases.filter(contains)
    }
}
