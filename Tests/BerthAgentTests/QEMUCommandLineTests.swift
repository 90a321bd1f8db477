import BerthControlPlane
import Foundation
import Testing

@testable import BerthAgent

@Suite("QEMU: the command line built from a LaunchSpec")
struct QEMUCommandLineTests {
    static func spec(
        accel: Acceleration, arch: Architecture = .x86_64, image: WorkloadImage = WorkloadImage(kernel: "vmlinuz")
    ) -> LaunchSpec {
        LaunchSpec(
            name: "vm", nodeID: "n1", arch: arch, backend: .qemu, accel: accel, vcpus: 2, memoryMiB: 128,
            payload: .image(image))
    }

    @Test("KVM: -accel kvm, no TSC hint; TCG: -accel tcg -cpu max and tsc_early_khz from the host")
    func kvmAndTCG() throws {
        let temporary = try TemporaryRoot()
        defer { temporary.remove() }
        let root = try AgentRoot(temporary.path)
        let image = WorkloadImage(kernel: "images/vmlinuz", initrd: "images/initrd.img", cmdline: "console=ttyS0")
        let kvm = try QEMUCommandLine.build(
            spec: Self.spec(accel: .kvm, image: image), root: root, launchDirectory: "launches/l1",
            program: "/usr/bin/qemu-system-x86_64", hostTSCkHz: 2_000_000)
        let directory = root.path + "/launches/l1"
        #expect(
            kvm.argv == [
                "/usr/bin/qemu-system-x86_64", "-name", "berth-vm", "-nodefaults", "-no-user-config", "-display",
                "none",
                "-M", "microvm", "-accel", "kvm", "-m", "128", "-smp", "2", "-kernel", root.path + "/images/vmlinuz",
                "-initrd", root.path + "/images/initrd.img", "-append", "console=ttyS0", "-serial", "stdio", "-qmp",
                "unix:\(directory)/qmp.sock,server=on,wait=off", "-no-reboot",
            ])
        #expect(kvm.qmpSocket == directory + "/qmp.sock" && kvm.serialLog == directory + "/serial.log")

        let tcg = try QEMUCommandLine.build(
            spec: Self.spec(accel: .tcg, image: image), root: root, launchDirectory: "launches/l1",
            program: "/usr/bin/qemu-system-x86_64", hostTSCkHz: 2_000_000)
        #expect(tcg.argv.contains(subsequence: ["-accel", "tcg", "-cpu", "max"]))
        #expect(tcg.argv.contains(subsequence: ["-append", "console=ttyS0 tsc_early_khz=2000000"]))

        // A command line that already sets it is left alone; none at all gets the serial console.
        var own = image
        own.cmdline = "console=ttyS0 tsc_early_khz=1000"
        let kept = try QEMUCommandLine.build(
            spec: Self.spec(accel: .tcg, image: own), root: root, launchDirectory: "launches/l1",
            program: "q", hostTSCkHz: 2_000_000)
        #expect(kept.argv.contains(subsequence: ["-append", "console=ttyS0 tsc_early_khz=1000"]))
        let bare = try QEMUCommandLine.build(
            spec: Self.spec(accel: .kvm), root: root, launchDirectory: "launches/l1", program: "q", hostTSCkHz: nil)
        #expect(bare.argv.contains(subsequence: ["-append", "console=ttyS0"]))
        #expect(!bare.argv.contains("-initrd"))
    }

    @Test("a disk is a virtio-blk device; aarch64 runs the virt machine")
    func diskAndArm() throws {
        let temporary = try TemporaryRoot()
        defer { temporary.remove() }
        let root = try AgentRoot(temporary.path)
        let image = WorkloadImage(kernel: "k", disk: "disk.img")
        let x86 = try QEMUCommandLine.build(
            spec: Self.spec(accel: .kvm, image: image), root: root, launchDirectory: "launches/l", program: "q",
            hostTSCkHz: nil)
        #expect(
            x86.argv.contains(subsequence: [
                "-drive", "id=disk0,file=\(root.path)/disk.img,format=raw,if=none", "-device",
                "virtio-blk-device,drive=disk0",
            ]))
        let arm = try QEMUCommandLine.build(
            spec: Self.spec(accel: .tcg, arch: .aarch64, image: image), root: root, launchDirectory: "launches/l",
            program: "q", hostTSCkHz: 2_000_000)
        #expect(arm.argv.contains(subsequence: ["-M", "virt", "-accel", "tcg", "-cpu", "max"]))
        #expect(arm.argv.contains(subsequence: ["-append", "console=ttyAMA0"]), "no TSC hint off x86")
    }

    @Test("paths outside the root are refused: '..', absolute elsewhere, a symlink out, a comma")
    func pathsRefused() throws {
        let temporary = try TemporaryRoot()
        defer { temporary.remove() }
        let root = try AgentRoot(temporary.path + "/root")
        try FileManager.default.createSymbolicLink(atPath: root.path + "/out", withDestinationPath: temporary.path)
        let refused: [WorkloadImage] = [
            WorkloadImage(kernel: "../vmlinuz"), WorkloadImage(kernel: "/boot/vmlinuz"),
            WorkloadImage(kernel: "k", initrd: "out/initrd"), WorkloadImage(kernel: "k", disk: "/etc/passwd"),
            WorkloadImage(kernel: "k", disk: "a,b.img"),
        ]
        for image in refused {
            #expect(throws: QEMUCommandLineError.self, "\(image)") {
                try QEMUCommandLine.build(
                    spec: Self.spec(accel: .tcg, image: image), root: root, launchDirectory: "launches/l",
                    program: "q", hostTSCkHz: nil)
            }
        }
        #expect(throws: QEMUCommandLineError.self, "the launch directory too") {
            try QEMUCommandLine.build(
                spec: Self.spec(accel: .tcg), root: root, launchDirectory: "out/l", program: "q", hostTSCkHz: nil)
        }
        // Inside the root, absolute spellings are fine.
        _ = try QEMUCommandLine.build(
            spec: Self.spec(accel: .tcg, image: WorkloadImage(kernel: root.path + "/k")), root: root,
            launchDirectory: "launches/l", program: "q", hostTSCkHz: nil)
    }

    @Test("a QMP socket path too long for sun_path is refused before QEMU starts")
    func longSocket() throws {
        let temporary = try TemporaryRoot()
        defer { temporary.remove() }
        let root = try AgentRoot(temporary.path + "/" + String(repeating: "r", count: 90))
        #expect(throws: QEMUCommandLineError.self) {
            try QEMUCommandLine.build(
                spec: Self.spec(accel: .tcg), root: root, launchDirectory: "launches/l", program: "q", hostTSCkHz: nil)
        }
    }

    @Test("the host TSC frequency is read from /proc/cpuinfo's MHz")
    func tsc() {
        #expect(QEMUCommandLine.hostTSCkHz(cpuinfo: "processor\t: 0\ncpu MHz\t\t: 2445.430\n") == 2_445_430)
        #expect(QEMUCommandLine.hostTSCkHz(cpuinfo: "processor\t: 0\n") == nil)
    }
}

extension Array where Element: Equatable {
    /// Whether `part` appears in order, contiguously.
    func contains(subsequence part: [Element]) -> Bool {
        guard !part.isEmpty, part.count <= count else { return part.isEmpty }
        return (0...(count - part.count)).contains { Array(self[$0..<($0 + part.count)]) == part }
    }
}
