/// A runtime that can run a workload on a node.
public enum BackendKind: String, Codable, CaseIterable, Equatable, Hashable, Sendable {
    /// QEMU: a full VM, accelerated by KVM or emulated by TCG where KVM is not usable.
    case qemu
    /// Cloud Hypervisor: a VM that needs KVM.
    case cloudHypervisor = "cloud-hypervisor"
    /// Firecracker: a microVM that needs KVM.
    case firecracker
    /// A plain host process (no VM).
    case process

    /// Whether this backend runs a VM (and so needs an image rather than a command).
    public var isVirtualMachine: Bool { self != .process }

    /// Whether this backend cannot run at all without a usable /dev/kvm. QEMU falls back to TCG.
    public var requiresKVM: Bool { self == .cloudHypervisor || self == .firecracker }

    /// The VM backends in the order `backend: any` prefers them when several can run an image:
    /// QEMU first because its device model boots the widest range of images, then Cloud
    /// Hypervisor, then Firecracker, whose minimal device model fits the fewest.
    public static let virtualMachinePreference: [BackendKind] = [.qemu, .cloudHypervisor, .firecracker]
}
