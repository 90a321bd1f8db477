/// How a launch's guest executes.
public enum Acceleration: String, Codable, CaseIterable, Equatable, Hashable, Sendable {
    /// Hardware virtualisation through /dev/kvm.
    case kvm
    /// QEMU's software emulation (tiny code generator): slow, but needs no KVM.
    case tcg
    /// Not a VM: the `process` backend.
    case none
}
