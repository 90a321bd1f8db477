import BerthControlPlane

/// The guest the KVM probe runs: a few instructions that end in an exit only a running guest
/// can make. Pure data, so the aarch64 guest is checked by unit tests on hosts without ARM.
public struct KVMProbeGuest: Equatable, Sendable {
    /// How a guest that ran proves it.
    public enum ExpectedExit: Equatable, Sendable {
        /// x86_64: `out` of `value` to I/O `port` (KVM_EXIT_IO), then `hlt` (KVM_EXIT_HLT).
        case portOutThenHalt(port: UInt16, value: UInt8)
        /// aarch64: a store of `value` to `address`, which no memory backs (KVM_EXIT_MMIO).
        case mmioWrite(address: UInt64, value: UInt8)
    }

    /// One register set with KVM_SET_ONE_REG (aarch64).
    public struct OneRegister: Equatable, Sendable {
        public var id: UInt64
        public var value: UInt64
    }

    public var arch: Architecture
    /// Machine code, copied to the start of guest memory.
    public var code: [UInt8]
    /// Guest-physical address of the one memory slot, and its size (a page multiple).
    public var memoryAddress: UInt64
    public var memorySize: UInt64
    /// x86_64's `rip` (real mode, flat CS); aarch64 starts at the `pc` in `registers`.
    public var entry: UInt64
    public var registers: [OneRegister]
    public var expectedExit: ExpectedExit

    /// `mov al, 0x42; out 0xe9, al; hlt`, in real mode at 0x1000.
    public static let x86_64 = KVMProbeGuest(
        arch: .x86_64,
        code: [0xB0, 0x42, 0xE6, 0xE9, 0xF4],
        memoryAddress: 0x1000, memorySize: 0x1000, entry: 0x1000, registers: [],
        expectedExit: .portOutThenHalt(port: 0xE9, value: 0x42))

    /// `movz x0, #0x42; movz x1, #0x1000, lsl #16; str x0, [x1]; b .` at 0x10000, the MMU off
    /// (KVM_ARM_VCPU_INIT leaves EL1h with interrupts masked), storing to 0x1000_0000 where no
    /// memory is. 64 KiB of memory so hosts with 64 KiB pages accept the slot.
    public static let aarch64 = KVMProbeGuest(
        arch: .aarch64,
        code: AArch64.littleEndian([
            AArch64.movz(register: 0, immediate: 0x42, shift: 0),
            AArch64.movz(register: 1, immediate: 0x1000, shift: 16),
            AArch64.storeRegister(value: 0, base: 1),
            AArch64.branchToSelf,
        ]),
        memoryAddress: 0x1_0000, memorySize: 0x1_0000, entry: 0x1_0000,
        registers: [OneRegister(id: AArch64.programCounterRegisterID, value: 0x1_0000)],
        expectedExit: .mmioWrite(address: 0x1000_0000, value: 0x42))

    /// The guest for `arch`.
    public static func guest(for arch: Architecture) -> KVMProbeGuest {
        switch arch {
        case .x86_64: return .x86_64
        case .aarch64: return .aarch64
        }
    }

    /// The exit in words, for evidence.
    public var expectedExitDescription: String {
        switch expectedExit {
        case .portOutThenHalt(let port, let value):
            return "out 0x\(String(value, radix: 16)) to port 0x\(String(port, radix: 16)), then hlt"
        case .mmioWrite(let address, let value):
            return "mmio write of 0x\(String(value, radix: 16)) to 0x\(String(address, radix: 16))"
        }
    }
}

/// The few A64 encodings the probe guest needs, spelled out so tests can check them.
enum AArch64 {
    /// MOVZ Xd, #imm16, LSL #shift (shift 0, 16, 32 or 48).
    static func movz(register: UInt32, immediate: UInt16, shift: UInt32) -> UInt32 {
        0xD280_0000 | ((shift / 16) << 21) | (UInt32(immediate) << 5) | register
    }

    /// STR Xt, [Xn] (64-bit, unsigned offset 0).
    static func storeRegister(value: UInt32, base: UInt32) -> UInt32 {
        0xF900_0000 | (base << 5) | value
    }

    /// B . (branch to itself): a guest that got past the store spins instead of running on.
    static let branchToSelf: UInt32 = 0x1400_0000

    /// KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | the offset of `regs.pc` in
    /// `struct kvm_regs` in 32-bit words (31 general registers and sp precede it: 256 bytes).
    static let programCounterRegisterID: UInt64 =
        0x6000_0000_0000_0000 | 0x0030_0000_0000_0000 | 0x0010_0000 | (256 / 4)

    static func littleEndian(_ words: [UInt32]) -> [UInt8] {
        words.flatMap { word in (0..<4).map { UInt8((word >> (8 * $0)) & 0xFF) } }
    }
}
