/// The checks a node failed for one intent, one bit per rejection family, so a verdict is
/// reached with integer operations and evidence is only built for rejected nodes. Labels are
/// not here: they are compared one by one (`PlacementRequirements.labelsMatch`).
struct FailedChecks: OptionSet, Sendable {
    let rawValue: UInt16

    init(rawValue: UInt16) {
        self.rawValue = rawValue
    }

    static let arch = FailedChecks(rawValue: 1 << 0)
    static let cpu = FailedChecks(rawValue: 1 << 1)
    static let memory = FailedChecks(rawValue: 1 << 2)
    /// KVM is needed and not usable (missing or unusable, told apart in the evidence).
    static let kvm = FailedChecks(rawValue: 1 << 3)
    /// No candidate backend is supported (missing or too old, told apart in the evidence).
    static let backend = FailedChecks(rawValue: 1 << 4)
    static let telemetry = FailedChecks(rawValue: 1 << 5)
    static let health = FailedChecks(rawValue: 1 << 6)
    static let cordon = FailedChecks(rawValue: 1 << 7)

    /// How many families failed.
    var count: Int { rawValue.nonzeroBitCount }
}
