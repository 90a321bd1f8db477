import BerthControlPlane
import Foundation
import Testing

@testable import BerthAgent

@Suite("QEMU: a real boot of the test guest through the backend")
struct QEMUBootTests {
    /// TCG unless BERTH_TEST_QEMU_ACCEL=kvm: TCG boots the same on every host.
    static var accel: Acceleration {
        ProcessInfo.processInfo.environment["BERTH_TEST_QEMU_ACCEL"] == "kvm" ? .kvm : .tcg
    }

    @Test(
        "boot: QMP says running, the guest's ready line reaches the serial log, terminate stops QEMU",
        .enabled(if: TestGuest.available, "\(TestGuest.built)"), .timeLimit(.minutes(3)))
    func boot() async throws {
        let temporary = try TemporaryRoot()
        defer { temporary.remove() }
        let root = try AgentRoot(temporary.path)
        try TestGuest.install(under: root.path)
        let processes = ProcessBackend(root: root)
        var backend = QEMUBackend(processes: processes)
        backend.powerdownGrace = .seconds(1)
        backend.readinessTimeout = .seconds(30)
        let spec = LaunchSpec(
            name: "guest", nodeID: "n1", arch: .x86_64, backend: .qemu, accel: Self.accel, vcpus: 1, memoryMiB: 128,
            payload: .image(
                WorkloadImage(kernel: "images/vmlinuz", initrd: "images/initrd.img", cmdline: "console=ttyS0")))
        let started = ContinuousClock.now
        let handle = try backend.start(launchID: "boot", spec: spec)
        defer { killAndReap(handle) }
        try await backend.waitUntilReady(handle)
        let ready = ContinuousClock.now - started
        #expect(try QMPClient(path: handle.qmpSocketPath ?? "").status() == "running")
        #expect(handle.stdoutPath == root.path + "/launches/boot/serial.log")
        let environ = FileManager.default.contents(atPath: "/proc/\(handle.workload.pid)/environ") ?? Data()
        #expect(MarkedProcess.markers(in: environ)?.launchID == "boot", "QEMU carries Berth's marker")

        let booted = await eventually(within: 120) {
            let log = (try? String(contentsOfFile: handle.stdoutPath, encoding: .utf8)) ?? ""
            return log.contains(TestGuest.readyLine)
        }
        let log = (try? String(contentsOfFile: handle.stdoutPath, encoding: .utf8)) ?? ""
        #expect(booted, "no ready line; serial log tail:\n\(log.suffix(2000))")
        print(
            "QEMU boot (\(Self.accel.rawValue)): QMP running \(ready) after the spawn, guest ready line \(ContinuousClock.now - started)"
        )

        let (outcome, steps) = await backend.terminate(handle)
        #expect(steps.first == "system_powerdown" && steps.contains("quit"), "\(steps)")
        guard case .ended(let status) = outcome else {
            Issue.record("expected QEMU to have ended, got \(outcome)")
            return
        }
        #expect(status.ending == .exited(0), "QEMU quits cleanly on QMP quit")
        #expect(!handle.workload.isAlive())
    }
}
