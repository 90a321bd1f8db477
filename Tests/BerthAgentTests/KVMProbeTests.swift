import BerthControlPlane
import Foundation
import Testing

@testable import BerthAgent

@Suite("KVM probe")
struct KVMProbeTests {
    static let hasKVM = FileManager.default.fileExists(atPath: "/dev/kvm")
    /// The hand-made broken guests below are x86 code.
    static let hasX86KVM = hasKVM && HostArchitecture.current == .x86_64

    @Test("the aarch64 guest: its instructions, memory layout and registers, byte for byte")
    func aarch64Guest() {
        let guest = KVMProbeGuest.aarch64
        #expect(
            guest.code == [
                0x40, 0x08, 0x80, 0xD2,  // movz x0, #0x42
                0x01, 0x00, 0xA2, 0xD2,  // movz x1, #0x1000, lsl #16
                0x20, 0x00, 0x00, 0xF9,  // str x0, [x1]
                0x00, 0x00, 0x00, 0x14,  // b .
            ])
        #expect(guest.registers == [KVMProbeGuest.OneRegister(id: 0x6030_0000_0010_0040, value: 0x1_0000)])
        #expect(guest.memoryAddress == 0x1_0000 && guest.memorySize == 0x1_0000)
        #expect(guest.memoryAddress % 0x1_0000 == 0, "aligned for 64 KiB pages too")
        #expect(guest.expectedExit == .mmioWrite(address: 0x1000_0000, value: 0x42))
        // The store must leave guest memory, or it would not exit to the host.
        #expect(0x1000_0000 >= guest.memoryAddress + guest.memorySize)
        #expect(UInt64(guest.code.count) <= guest.memorySize)
    }

    @Test("the x86_64 guest: real-mode out then hlt at 0x1000")
    func x86Guest() {
        let guest = KVMProbeGuest.x86_64
        #expect(guest.code == [0xB0, 0x42, 0xE6, 0xE9, 0xF4])
        #expect(guest.entry == guest.memoryAddress)
        #expect(guest.expectedExit == .portOutThenHalt(port: 0xE9, value: 0x42))
        #expect(KVMProbeGuest.guest(for: .aarch64) == .aarch64)
    }

    @Test("a missing device is neither present nor usable, and says why")
    func missingDevice() async {
        let result = await KVMProbe.run(device: "/nonexistent/kvm", timeoutMs: 500)
        #expect(!result.present && !result.usable)
        #expect(result.evidence.contains("open /nonexistent/kvm") && result.evidence.contains("errno 2"), "\(result)")
    }

    @Test("not a KVM device: present only if it answers the API version")
    func notKVM() async {
        let result = await KVMProbe.run(device: "/dev/null", timeoutMs: 500)
        #expect(!result.present && !result.usable, "\(result)")
        #expect(result.evidence.contains("KVM_GET_API_VERSION"), "\(result)")
    }

    @Test("this host's /dev/kvm runs a guest to its known exit", .enabled(if: KVMProbeTests.hasKVM, "needs /dev/kvm"))
    func realProbe() async {
        let result = await KVMProbe.run(timeoutMs: 2000)
        #expect(result.present && result.apiVersion == 12, "\(result)")
        #expect(result.usable, "\(result)")
        #expect(result.evidence.contains("known exit"), "\(result)")
    }

    @Test(
        "a guest that never exits is killed at the timeout: usable false, with evidence, and no hang",
        .enabled(if: KVMProbeTests.hasX86KVM, "needs /dev/kvm on x86_64"))
    func hangingGuest() async throws {
        var guest = try #require(HostArchitecture.current.map(KVMProbeGuest.guest(for:)))
        // x86: `jmp $` (a tight loop that never exits to the host).
        guest.code = [0xEB, 0xFE]
        let started = ContinuousClock.now
        let result = await KVMProbe.run(guest: guest, timeoutMs: 400)
        let elapsed = ContinuousClock.now - started
        #expect(result.present && !result.usable, "\(result)")
        #expect(result.evidence.contains("timed out"), "\(result)")
        // "No hang": the probe itself gave up at its timeout. Wall-clock time around the call is
        // not a measure of that: during a full parallel test run the awaiting task waited 30 s
        // for a free thread of the cooperative pool, long after the probe had returned.
        #expect(result.elapsedMs < 2_000, "the probe gave up after \(result.elapsedMs) ms")
        #expect(elapsed < .seconds(120), "the probe returned after \(elapsed)")
    }

    @Test(
        "a guest that exits the wrong way is not usable, with the exit reason",
        .enabled(if: KVMProbeTests.hasX86KVM, "needs /dev/kvm on x86_64"))
    func wrongExit() async throws {
        var guest = try #require(HostArchitecture.current.map(KVMProbeGuest.guest(for:)))
        guest.code = [0xF4]  // hlt without the out first
        let result = await KVMProbe.run(guest: guest, timeoutMs: 2000)
        #expect(result.present && !result.usable, "\(result)")
        #expect(result.evidence.contains("exit reason"), "\(result)")
    }
}
