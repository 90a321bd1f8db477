import BerthControlPlane
import Foundation
import Testing

@testable import BerthAgent

@Suite("berth agent prepare: a spec checked on this host")
struct LaunchPreparationTests {
    static func host(kvm: KVMStatus = KVMStatus(present: true, usable: true), backends: [InstalledBackend] = [])
        -> HostFingerprint
    {
        HostFingerprint(
            arch: .x86_64, cpus: ResourceCapacity(total: 4, allocatable: 4),
            memoryMiB: ResourceCapacity(total: 8192, allocatable: 8000), kvm: kvm, kvmEvidence: "probe said so",
            kernel: "6.1", backends: backends, labels: [:], health: .healthy)
    }

    static func vm(_ image: WorkloadImage, backend: BackendKind = .qemu, accel: Acceleration = .kvm) -> LaunchSpec {
        LaunchSpec(
            name: "vm", nodeID: "n1", arch: .x86_64, backend: backend, accel: accel, vcpus: 1, memoryMiB: 256,
            payload: .image(image))
    }

    @Test("a process spec is ready, with the program found on PATH and its files under the root")
    func processReady() throws {
        let temporary = try TemporaryRoot()
        defer { temporary.remove() }
        let preparation = LaunchPreparation(fingerprint: Self.host(), root: try AgentRoot(temporary.path), nodeID: "n1")
        let spec = LaunchSpec(
            name: "p", nodeID: "n1", arch: .x86_64, backend: .process, accel: .none, vcpus: 1, memoryMiB: 16,
            payload: .command(WorkloadCommand(argv: ["sh", "-c", "true"])))
        let result = preparation.prepare(spec)
        #expect(result.status == "ready" && result.reasons.isEmpty, "\(result)")
        #expect(result.invocation?.program.hasSuffix("/sh") == true)
        #expect(result.invocation?.stdout.hasPrefix(preparation.root.path + "/launches/") == true)

        var missing = spec
        missing.payload = .command(WorkloadCommand(argv: ["no-such-program-berth"]))
        #expect(preparation.prepare(missing).reasons.map(\.code) == [.programNotFound])
        missing.payload = .command(WorkloadCommand(argv: ["../../../bin/sh"]))
        #expect(preparation.prepare(missing).reasons.map(\.code) == [.pathOutsideRoot])
    }

    @Test("every reason at once: another node, another architecture, KVM unusable, no binary")
    func hostNotReady() throws {
        let temporary = try TemporaryRoot()
        defer { temporary.remove() }
        let root = try AgentRoot(temporary.path)
        try "k".write(toFile: root.path + "/vmlinuz", atomically: true, encoding: .utf8)
        let preparation = LaunchPreparation(
            fingerprint: Self.host(kvm: KVMStatus(present: true, usable: false)), root: root, nodeID: "n2")
        var spec = Self.vm(WorkloadImage(kernel: "vmlinuz", initrd: nil, disk: nil, cmdline: nil))
        spec.arch = .aarch64
        let result = preparation.prepare(spec)
        #expect(result.status == "not_ready")
        #expect(
            result.reasons.map(\.code) == [
                .nodeMismatch, .archMismatch, .kvmUnusable, .backendMissing,
            ], "\(result.reasons)")
        #expect(result.invocation == nil, "no command line for a host that cannot run it")
        #expect(result.reasons[2].message.contains("probe said so"), "the KVM evidence is kept")
    }

    @Test("boot artifacts: missing, outside the root, behind '..', through a symlink out")
    func artifacts() throws {
        let temporary = try TemporaryRoot()
        defer { temporary.remove() }
        let root = try AgentRoot(temporary.path + "/root")
        try FileManager.default.createSymbolicLink(atPath: root.path + "/out", withDestinationPath: temporary.path)
        let qemu = InstalledBackend(kind: .qemu, binary: "/usr/bin/qemu-system-x86_64", version: "8.2.2")
        let preparation = LaunchPreparation(fingerprint: Self.host(backends: [qemu]), root: root, nodeID: nil)
        let result = preparation.prepare(
            Self.vm(WorkloadImage(kernel: "images/vmlinuz", initrd: "../initrd", disk: "out/disk.img", cmdline: nil)))
        #expect(
            result.reasons.map(\.code) == [
                .artifactMissing, .pathOutsideRoot, .pathOutsideRoot,
            ],
            "\(result.reasons)")
        let absolute = preparation.prepare(
            Self.vm(WorkloadImage(kernel: "/boot/vmlinuz", initrd: nil, disk: nil, cmdline: nil), accel: .tcg))
        #expect(absolute.reasons.map(\.code) == [.pathOutsideRoot])
    }

    @Test("a backend too old is refused with the minimum and what was found")
    func oldBackend() throws {
        let temporary = try TemporaryRoot()
        defer { temporary.remove() }
        let old = InstalledBackend(kind: .firecracker, binary: "/usr/bin/firecracker", version: "0.25.0")
        let preparation = LaunchPreparation(
            fingerprint: Self.host(backends: [old]), root: try AgentRoot(temporary.path), nodeID: nil)
        let result = preparation.prepare(
            Self.vm(WorkloadImage(kernel: "k", initrd: nil, disk: nil, cmdline: nil), backend: .firecracker))
        let reason = try #require(result.reasons.first { $0.code == .backendVersionUnsupported })
        #expect(reason.needed == "firecracker >= 1.0" && reason.available == "/usr/bin/firecracker 0.25.0")
        #expect(result.reasons.map(\.code) == [.backendVersionUnsupported, .artifactMissing], "\(result.reasons)")
        #expect(result.invocation?.api?.boot.last?.path == "/actions", "the dry run's calls are printed all the same")
    }

    @Test("a QEMU spec on a host that can run it is ready, with the exact argv under the root")
    func qemuReady() throws {
        let temporary = try TemporaryRoot()
        defer { temporary.remove() }
        let root = try AgentRoot(temporary.path)
        try "k".write(toFile: root.path + "/vmlinuz", atomically: true, encoding: .utf8)
        try "i".write(toFile: root.path + "/initrd.img", atomically: true, encoding: .utf8)
        let qemu = InstalledBackend(kind: .qemu, binary: "/usr/bin/qemu-system-x86_64", version: "7.2.22")
        var preparation = LaunchPreparation(fingerprint: Self.host(backends: [qemu]), root: root, nodeID: "n1")
        preparation.hostTSCkHz = 2_445_430
        let result = preparation.prepare(
            Self.vm(WorkloadImage(kernel: "vmlinuz", initrd: "initrd.img", cmdline: "console=ttyS0"), accel: .tcg))
        #expect(result.status == "ready" && result.reasons.isEmpty, "\(result)")
        let invocation = try #require(result.invocation)
        let directory = root.path + "/launches/{launch_id}"
        #expect(invocation.program == "/usr/bin/qemu-system-x86_64")
        #expect(invocation.qmpSocket == directory + "/qmp.sock")
        #expect(invocation.serialLog == directory + "/serial.log")
        #expect(
            invocation.argv == [
                "/usr/bin/qemu-system-x86_64", "-name", "berth-vm", "-nodefaults", "-no-user-config", "-display",
                "none", "-M", "microvm", "-accel", "tcg", "-cpu", "max", "-m", "256", "-smp", "1", "-kernel",
                root.path + "/vmlinuz", "-initrd", root.path + "/initrd.img", "-append",
                "console=ttyS0 tsc_early_khz=2445430", "-serial", "stdio", "-qmp",
                "unix:\(directory)/qmp.sock,server=on,wait=off", "-no-reboot",
            ])
    }
}
