import BerthControlPlane
import Foundation
import Testing

@testable import BerthAgent

/// Specs and boot artifacts shared by the Cloud Hypervisor and Firecracker tests.
enum VMMFixture {
    static func spec(
        _ backend: BackendKind, arch: Architecture = .x86_64, vcpus: Int = 2, memoryMiB: Int = 256,
        image: WorkloadImage = WorkloadImage(
            kernel: "images/vmlinux", initrd: "images/initrd.img", disk: "images/rootfs.ext4", cmdline: nil)
    ) -> LaunchSpec {
        LaunchSpec(
            name: "micro", nodeID: "node-a", arch: arch, backend: backend, accel: .kvm, vcpus: vcpus,
            memoryMiB: memoryMiB, payload: .image(image))
    }

    /// `images/vmlinux`, `images/initrd.img` and `images/rootfs.ext4` under `root`.
    static func artifacts(in root: AgentRoot) throws {
        let directory = try root.directory("images")
        for name in ["vmlinux", "initrd.img", "rootfs.ext4"] {
            try name.write(toFile: directory + "/" + name, atomically: true, encoding: .utf8)
        }
    }
}

@Suite("Cloud Hypervisor and Firecracker: the planned process and API calls")
struct VMMPlanTests {
    @Test(
        "Cloud Hypervisor: --api-socket, then vm.create with the VmConfig and vm.boot; vm.info; vm.shutdown, vmm.shutdown"
    )
    func cloudHypervisor() throws {
        let temporary = try TemporaryRoot()
        defer { temporary.remove() }
        let root = try AgentRoot(temporary.path)
        let plan = try VMMLaunchPlan.build(
            spec: VMMFixture.spec(.cloudHypervisor), root: root, launchDirectory: "launches/l-1",
            program: "/usr/bin/cloud-hypervisor")
        let directory = root.path + "/launches/l-1"
        #expect(plan.argv == ["/usr/bin/cloud-hypervisor", "--api-socket", directory + "/api.sock"])
        #expect(plan.api.socket == directory + "/api.sock")
        #expect(plan.api.boot.map(\.description) == ["PUT /api/v1/vm.create", "PUT /api/v1/vm.boot"])
        #expect(plan.api.boot[1].body == nil)
        let config: VMMJSON = .object([
            "cpus": .object(["boot_vcpus": .int(2), "max_vcpus": .int(2)]),
            "memory": .object(["size": .int(256 << 20)]),
            "payload": .object([
                "kernel": .string(root.path + "/images/vmlinux"),
                "initramfs": .string(root.path + "/images/initrd.img"),
                "cmdline": .string("console=ttyS0"),
            ]),
            "disks": .array([.object(["path": .string(root.path + "/images/rootfs.ext4")])]),
            "serial": .object(["mode": .string("File"), "file": .string(directory + "/serial.log")]),
            "console": .object(["mode": .string("Off")]),
        ])
        #expect(plan.api.boot[0].body == config)
        #expect(plan.api.readiness == VMMAPIRequest("GET", "/api/v1/vm.info"))
        #expect(plan.api.readyState == "Running")
        #expect(plan.api.terminate.map(\.description) == ["PUT /api/v1/vm.shutdown", "PUT /api/v1/vmm.shutdown"])
        #expect(plan.serialLog == directory + "/serial.log" && plan.stdoutName == "stdout" && plan.precreated.isEmpty)
        // The wire form: compact, keys sorted, paths unescaped.
        let wire = String(decoding: config["memory"]!.encoded(), as: UTF8.self)
        #expect(wire == #"{"size":268435456}"#)

        // aarch64: the PL011 console; no initrd or disk, an own command line.
        let arm = try VMMLaunchPlan.build(
            spec: VMMFixture.spec(
                .cloudHypervisor, arch: .aarch64,
                image: WorkloadImage(kernel: "images/vmlinux", initrd: nil, disk: nil, cmdline: nil)),
            root: root, launchDirectory: "launches/l-2", program: "cloud-hypervisor")
        #expect(
            arm.api.boot[0].body?["payload"]
                == .object([
                    "kernel": .string(root.path + "/images/vmlinux"), "cmdline": .string("console=ttyAMA0"),
                ]))
        #expect(arm.api.boot[0].body?["disks"] == nil)
    }

    @Test(
        "Firecracker: --api-sock, logger, boot-source, machine-config, drives/rootfs, InstanceStart; GET /; SendCtrlAltDel"
    )
    func firecracker() throws {
        let temporary = try TemporaryRoot()
        defer { temporary.remove() }
        let root = try AgentRoot(temporary.path)
        let plan = try VMMLaunchPlan.build(
            spec: VMMFixture.spec(.firecracker), root: root, launchDirectory: "launches/l-1",
            program: "/usr/bin/firecracker")
        let directory = root.path + "/launches/l-1"
        #expect(plan.argv == ["/usr/bin/firecracker", "--api-sock", directory + "/api.sock"])
        #expect(
            plan.api.boot == [
                VMMAPIRequest(
                    "PUT", "/logger",
                    body: .object([
                        "log_path": .string(directory + "/firecracker.log"), "level": .string("Info"),
                        "show_level": .bool(true), "show_log_origin": .bool(false),
                    ])),
                VMMAPIRequest(
                    "PUT", "/boot-source",
                    body: .object([
                        "kernel_image_path": .string(root.path + "/images/vmlinux"),
                        "initrd_path": .string(root.path + "/images/initrd.img"),
                        "boot_args": .string("console=ttyS0 reboot=k panic=1 pci=off"),
                    ])),
                VMMAPIRequest(
                    "PUT", "/machine-config",
                    body: .object(["vcpu_count": .int(2), "mem_size_mib": .int(256), "smt": .bool(false)])),
                VMMAPIRequest(
                    "PUT", "/drives/rootfs",
                    body: .object([
                        "drive_id": .string("rootfs"), "path_on_host": .string(root.path + "/images/rootfs.ext4"),
                        "is_root_device": .bool(true), "is_read_only": .bool(false),
                    ])),
                VMMAPIRequest("PUT", "/actions", body: .object(["action_type": .string("InstanceStart")])),
            ])
        #expect(plan.api.readiness == VMMAPIRequest("GET", "/"))
        #expect(
            plan.api.terminate == [
                VMMAPIRequest("PUT", "/actions", body: .object(["action_type": .string("SendCtrlAltDel")]))
            ])
        // Its stdout is the guest's serial console; the logger's file must exist beforehand.
        #expect(plan.stdoutName == "serial.log" && plan.serialLog == directory + "/serial.log")
        #expect(plan.precreated == [directory + "/firecracker.log"])

        // No disk: no drive call. aarch64: no Ctrl-Alt-Del (SIGTERM instead). The image's cmdline wins.
        let arm = try VMMLaunchPlan.build(
            spec: VMMFixture.spec(
                .firecracker, arch: .aarch64,
                image: WorkloadImage(kernel: "images/vmlinux", initrd: nil, disk: nil, cmdline: "console=ttyS0 quiet")),
            root: root, launchDirectory: "launches/l-2", program: "firecracker")
        #expect(arm.api.boot.map(\.path) == ["/logger", "/boot-source", "/machine-config", "/actions"])
        #expect(arm.api.boot[1].body?["boot_args"] == .string("console=ttyS0 quiet"))
        #expect(arm.api.boot[1].body?["initrd_path"] == nil)
        #expect(arm.api.terminate.isEmpty)
        #expect(VMMAPIPlan.control(kind: .firecracker, arch: .x86_64, socket: "s").terminate == plan.api.terminate)
        #expect(
            VMMAPIPlan.control(kind: .cloudHypervisor, arch: .x86_64, socket: "s").readiness.path == "/api/v1/vm.info")
    }

    @Test("paths outside the root, a socket path too long, too many vCPUs are refused")
    func refusals() throws {
        let temporary = try TemporaryRoot()
        defer { temporary.remove() }
        let root = try AgentRoot(temporary.path + "/root")
        try FileManager.default.createSymbolicLink(atPath: root.path + "/out", withDestinationPath: temporary.path)
        for kind in [BackendKind.cloudHypervisor, .firecracker] {
            for image in [
                WorkloadImage(kernel: "../vmlinux", initrd: nil, disk: nil, cmdline: nil),
                WorkloadImage(kernel: "/boot/vmlinux", initrd: nil, disk: nil, cmdline: nil),
                WorkloadImage(kernel: "vmlinux", initrd: "out/initrd", disk: nil, cmdline: nil),
                WorkloadImage(kernel: "vmlinux", initrd: nil, disk: "images/../../disk", cmdline: nil),
            ] {
                #expect(throws: VMMPlanError.self, "\(kind) \(image)") {
                    try VMMLaunchPlan.build(
                        spec: VMMFixture.spec(kind, image: image), root: root, launchDirectory: "launches/l",
                        program: "x")
                }
                do {
                    _ = try VMMLaunchPlan.build(
                        spec: VMMFixture.spec(kind, image: image), root: root, launchDirectory: "launches/l",
                        program: "x")
                } catch { #expect(error.code == .validationFailed) }
            }
            let deep = String(repeating: "d", count: 100)
            do {
                _ = try VMMLaunchPlan.build(
                    spec: VMMFixture.spec(kind), root: root, launchDirectory: "launches/\(deep)", program: "x")
                Issue.record("a socket path over 107 bytes was accepted")
            } catch {
                #expect(error.code == .prepareFailed && error.detail.contains("longer than 107"), "\(error)")
            }
        }
        do {
            _ = try VMMLaunchPlan.build(
                spec: VMMFixture.spec(.firecracker, vcpus: 33), root: root, launchDirectory: "launches/l", program: "x")
            Issue.record("33 vCPUs accepted for Firecracker")
        } catch { #expect(error.code == .validationFailed) }
    }

    @Test("version strings of cloud-hypervisor and firecracker --version, and the supported ranges")
    func versions() {
        // `cloud-hypervisor --version`: the binary's name and `v` + a release, or `git describe`.
        #expect(BackendVersionText.parse("cloud-hypervisor v40.0.0\n") == "40.0.0")
        #expect(BackendVersionText.parse("cloud-hypervisor v41.0\n") == "41.0")
        #expect(BackendVersionText.parse("cloud-hypervisor v39.0-45-g5f6c3f1a-dirty\n") == "39.0")
        #expect(BackendVersionText.parse("cloud-hypervisor v30.0.0-custom-build\n") == "30.0.0")
        // `firecracker --version`: a line, a blank line, then the snapshot formats.
        #expect(
            BackendVersionText.parse("Firecracker v1.7.0\n\nSupported snapshot data format versions: v1.0.0, v2.0.0\n")
                == "1.7.0")
        #expect(BackendVersionText.parse("Firecracker v1.10.1-dev\n\n") == "1.10.1")
        #expect(BackendVersionText.parse("Firecracker v0.25.2\n\n") == "0.25.2")
        // Cloud Hypervisor >= 30.0 (the v1 API with `payload`); Firecracker >= 1.0.
        #expect(!BackendSupport.isSupported(.cloudHypervisor, version: "29.0"))
        #expect(BackendSupport.isSupported(.cloudHypervisor, version: "30.0"))
        #expect(BackendSupport.isSupported(.cloudHypervisor, version: "40.0.0"))
        #expect(!BackendSupport.isSupported(.firecracker, version: "0.25.2"))
        #expect(BackendSupport.isSupported(.firecracker, version: "1.0.0"))
        #expect(BackendSupport.isSupported(.firecracker, version: "1.10.1"))
        #expect(!BackendSupport.isSupported(.firecracker, version: ""), "a version it would not say is not proven")
    }
}

@Suite("berth agent prepare: Cloud Hypervisor and Firecracker dry runs")
struct VMMPreparationTests {
    @Test("a host with the binary and KVM is ready; the exact API calls are in the invocation")
    func ready() throws {
        let temporary = try TemporaryRoot()
        defer { temporary.remove() }
        let root = try AgentRoot(temporary.path)
        try VMMFixture.artifacts(in: root)
        let installed = [
            InstalledBackend(kind: .cloudHypervisor, binary: "/opt/vmm/cloud-hypervisor", version: "40.0.0"),
            InstalledBackend(kind: .firecracker, binary: "/opt/vmm/firecracker", version: "1.7.0"),
        ]
        let preparation = LaunchPreparation(
            fingerprint: LaunchPreparationTests.host(backends: installed), root: root, nodeID: "node-a")
        for kind in [BackendKind.cloudHypervisor, .firecracker] {
            let result = preparation.prepare(VMMFixture.spec(kind))
            #expect(result.status == "ready" && result.reasons.isEmpty, "\(result)")
            let invocation = try #require(result.invocation)
            let expected = try VMMLaunchPlan.build(
                spec: VMMFixture.spec(kind), root: root, launchDirectory: "launches/{launch_id}",
                program: "/opt/vmm/\(kind.rawValue)")
            #expect(invocation.program == "/opt/vmm/\(kind.rawValue)")
            #expect(invocation.argv == expected.argv)
            #expect(invocation.api == expected.api)
            #expect(invocation.api?.socket == root.path + "/launches/{launch_id}/api.sock")
            #expect(invocation.serialLog == root.path + "/launches/{launch_id}/serial.log")
        }
        // The JSON printed carries the calls.
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let text = String(
            decoding: try encoder.encode(preparation.prepare(VMMFixture.spec(.firecracker))), as: UTF8.self)
        #expect(text.contains(#""action_type":"InstanceStart""#) && text.contains(#""path":"/boot-source""#), "\(text)")
    }

    @Test("no binary, a binary too old, KVM missing or unusable: typed reasons, and still the dry run's calls")
    func notReady() throws {
        let temporary = try TemporaryRoot()
        defer { temporary.remove() }
        let root = try AgentRoot(temporary.path)
        try VMMFixture.artifacts(in: root)
        var preparation = LaunchPreparation(
            fingerprint: LaunchPreparationTests.host(kvm: KVMStatus(present: true, usable: false)), root: root,
            nodeID: "node-a")
        preparation.searchPath = []
        let missing = preparation.prepare(VMMFixture.spec(.cloudHypervisor))
        #expect(missing.reasons.map(\.code) == [.kvmUnusable, .backendMissing], "\(missing.reasons)")
        #expect(missing.invocation?.api?.boot.map(\.description) == ["PUT /api/v1/vm.create", "PUT /api/v1/vm.boot"])
        #expect(missing.invocation?.program == "cloud-hypervisor")

        preparation.fingerprint = LaunchPreparationTests.host(
            kvm: KVMStatus(present: false, usable: false),
            backends: [InstalledBackend(kind: .firecracker, binary: "/usr/bin/firecracker", version: "0.25.2")])
        let old = preparation.prepare(VMMFixture.spec(.firecracker))
        #expect(old.reasons.map(\.code) == [.kvmMissing, .backendVersionUnsupported], "\(old.reasons)")
        #expect(old.reasons[1].needed == "firecracker >= 1.0")
        #expect(old.invocation?.api?.boot.last?.body?["action_type"] == .string("InstanceStart"))

        // A path outside the root: no calls are built with it.
        let outside = preparation.prepare(
            VMMFixture.spec(
                .firecracker, image: WorkloadImage(kernel: "../vmlinux", initrd: nil, disk: nil, cmdline: nil)))
        #expect(outside.reasons.contains { $0.code == .pathOutsideRoot })
        #expect(outside.invocation == nil)
        // Too many vCPUs for Firecracker.
        let big = preparation.prepare(VMMFixture.spec(.firecracker, vcpus: 64))
        #expect(big.reasons.last?.code == .backendRefused, "\(big.reasons)")
    }
}
