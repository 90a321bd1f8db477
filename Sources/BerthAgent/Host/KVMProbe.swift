import BerthControlPlane
import CBerthHost
import Foundation

/// What the KVM probe found, with the evidence for it.
public struct KVMProbeResult: Codable, Equatable, Sendable {
    /// The device opened and answered KVM_GET_API_VERSION with 12.
    public var present: Bool
    /// A guest ran to its known exit.
    public var usable: Bool
    /// What the device answered to KVM_GET_API_VERSION, when it opened.
    public var apiVersion: Int?
    /// Which step decided the answer, in words (the failing step, errno, or "timed out").
    public var evidence: String
    public var elapsedMs: Int

    public init(present: Bool, usable: Bool, apiVersion: Int?, evidence: String, elapsedMs: Int) {
        self.present = present
        self.usable = usable
        self.apiVersion = apiVersion
        self.evidence = evidence
        self.elapsedMs = elapsedMs
    }

    /// The envelope's `kvm` member.
    public var status: KVMStatus { KVMStatus(present: present, usable: usable) }

    enum CodingKeys: String, CodingKey {
        case present, usable, evidence
        case apiVersion = "api_version"
        case elapsedMs = "elapsed_ms"
    }
}

/// Proves /dev/kvm present and usable (spec §6): usable only when a guest actually ran, in a
/// child process that is killed when the timeout passes, so a host whose guests hang (nested
/// virtualisation off) answers `usable: false` instead of hanging the agent.
public enum KVMProbe {
    public static let defaultTimeoutMs = 2000

    /// Probes `device` with the guest for this host's architecture. Never takes much longer
    /// than `timeoutMs`; runs on a thread of its own because the wait blocks.
    public static func run(
        device: String = "/dev/kvm", guest: KVMProbeGuest? = HostArchitecture.current.map(KVMProbeGuest.guest(for:)),
        timeoutMs: Int = defaultTimeoutMs
    ) async -> KVMProbeResult {
        await withCheckedContinuation { continuation in
            let thread = Thread {
                continuation.resume(returning: runBlocking(device: device, guest: guest, timeoutMs: timeoutMs))
            }
            thread.name = "berth-kvm-probe"
            thread.start()
        }
    }

    /// `run`, blocking the calling thread.
    public static func runBlocking(device: String, guest: KVMProbeGuest?, timeoutMs: Int) -> KVMProbeResult {
        guard let guest else {
            return KVMProbeResult(
                present: false, usable: false, apiVersion: nil,
                evidence: "no probe guest for this architecture", elapsedMs: 0)
        }
        var result = berth_kvm_probe_result()
        let ids = guest.registers.map(\.id)
        let values = guest.registers.map(\.value)
        guest.code.withUnsafeBufferPointer { code in
            ids.withUnsafeBufferPointer { ids in
                values.withUnsafeBufferPointer { values in
                    var exitKind: UInt32
                    var exitAddress: UInt64
                    var exitValue: UInt8
                    switch guest.expectedExit {
                    case .portOutThenHalt(let port, let value):
                        exitKind = UInt32(BERTH_KVM_EXIT_PORT_OUT_THEN_HLT.rawValue)
                        exitAddress = UInt64(port)
                        exitValue = value
                    case .mmioWrite(let address, let value):
                        exitKind = UInt32(BERTH_KVM_EXIT_MMIO_WRITE.rawValue)
                        exitAddress = address
                        exitValue = value
                    }
                    var plan = berth_kvm_guest(
                        code: code.baseAddress, code_length: code.count, memory_address: guest.memoryAddress,
                        memory_size: guest.memorySize, entry: guest.entry, register_ids: ids.baseAddress,
                        register_values: values.baseAddress, register_count: UInt32(ids.count),
                        expected_exit: exitKind, exit_address: exitAddress, exit_value: exitValue)
                    berth_kvm_probe(device, &plan, Int32(timeoutMs), &result)
                }
            }
        }
        return KVMProbeResult(
            present: result.present != 0, usable: result.usable != 0,
            apiVersion: result.present != 0 || result.failed_step == Int32(BERTH_KVM_STEP_API_VERSION.rawValue)
                ? Int(result.api_version) : nil,
            evidence: evidence(result, device: device, guest: guest, timeoutMs: timeoutMs),
            elapsedMs: Int(result.elapsed_ms))
    }

    private static func evidence(
        _ result: berth_kvm_probe_result, device: String, guest: KVMProbeGuest, timeoutMs: Int
    ) -> String {
        let error =
            result.error_number != 0
            ? ": \(String(cString: strerror(result.error_number))) (errno \(result.error_number))" : ""
        switch UInt32(result.failed_step) {
        case BERTH_KVM_STEP_NONE.rawValue:
            return
                "a one-vCPU guest ran to its known exit (\(guest.expectedExitDescription)) in \(result.elapsed_ms) ms"
        case BERTH_KVM_STEP_OPEN.rawValue: return "open \(device)\(error)"
        case BERTH_KVM_STEP_API_VERSION.rawValue:
            return "KVM_GET_API_VERSION answered \(result.api_version), expected 12\(error)"
        case BERTH_KVM_STEP_FORK.rawValue: return "starting the probe child\(error)"
        case BERTH_KVM_STEP_CREATE_VM.rawValue: return "KVM_CREATE_VM\(error)"
        case BERTH_KVM_STEP_GUEST_MEMORY.rawValue: return "setting up guest memory (step \(result.detail))\(error)"
        case BERTH_KVM_STEP_CREATE_VCPU.rawValue: return "KVM_CREATE_VCPU\(error)"
        case BERTH_KVM_STEP_VCPU_MMAP.rawValue: return "mapping the vCPU's kvm_run (step \(result.detail))\(error)"
        case BERTH_KVM_STEP_VCPU_SETUP.rawValue: return "setting the vCPU's registers (step \(result.detail))\(error)"
        case BERTH_KVM_STEP_RUN.rawValue: return "KVM_RUN\(error)"
        case BERTH_KVM_STEP_UNEXPECTED_EXIT.rawValue:
            return "the guest exited with KVM exit reason \(result.detail), not \(guest.expectedExitDescription)"
        case BERTH_KVM_STEP_TIMEOUT.rawValue:
            return "timed out: the guest did not reach its exit within \(timeoutMs) ms; the probe child was killed"
        case BERTH_KVM_STEP_CHILD_DIED.rawValue:
            return "the probe child died without answering (wait status \(result.detail))"
        case BERTH_KVM_STEP_UNSUPPORTED_ARCH.rawValue: return "the agent has no KVM probe for this architecture"
        default: return "probe step \(result.failed_step)\(error)"
        }
    }
}
