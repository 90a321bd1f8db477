import BerthControlPlane
import Foundation
import Testing

/// Intent input: defaults, the payload rules, and every problem class.
@Suite struct WorkloadIntentValidationTests {
    static func valid() -> [String: Any] {
        [
            "name": "payments", "arch": "aarch64", "vcpus": 4, "memory_mib": 8192,
            "image": ["kernel": "/images/vmlinux", "disk": "/images/rootfs.ext4"],
        ]
    }

    func problems(_ change: (inout [String: Any]) -> Void) -> [String] {
        var document = Self.valid()
        change(&document)
        return fieldsAndCodes(BerthControlPlaneTests.problems(WorkloadIntent.self, document))
    }

    func parse(_ change: (inout [String: Any]) -> Void) throws -> WorkloadIntent {
        var document = Self.valid()
        change(&document)
        return try WorkloadIntent.parse(json: JSON.bytes(document))
    }

    @Test("defaults: requires_kvm false, backend any, no labels")
    func defaults() throws {
        let intent = try parse { _ in }
        #expect(!intent.requiresKVM)
        #expect(intent.backend == .any)
        #expect(intent.labels.isEmpty)
        #expect(intent.image == WorkloadImage(kernel: "/images/vmlinux", disk: "/images/rootfs.ext4"))
        #expect(intent.command == nil)
    }

    @Test("a command string is split on whitespace, with no quoting")
    func commandString() throws {
        let intent = try parse {
            $0["image"] = nil
            $0["command"] = "  /usr/bin/stress\t--cpu 2\n"
        }
        #expect(intent.command?.argv == ["/usr/bin/stress", "--cpu", "2"])
        #expect(intent.command?.shell == false)
    }

    @Test("a command string with shell: true runs under /bin/sh -c, whole")
    func shellCommand() throws {
        let intent = try parse {
            $0["image"] = nil
            $0["command"] = "echo a | wc -c"
            $0["shell"] = true
        }
        #expect(intent.command?.argv == ["/bin/sh", "-c", "echo a | wc -c"])
        #expect(intent.command?.script == "echo a | wc -c")
    }

    @Test("a command array is taken as the argument vector")
    func commandArray() throws {
        let intent = try parse {
            $0["image"] = nil
            $0["command"] = ["/bin/echo", "hello world", ""]
            $0["backend"] = "process"
        }
        #expect(intent.command?.argv == ["/bin/echo", "hello world", ""])
        #expect(intent.backend == .process)
    }

    @Test("name, arch, vcpus and memory_mib are checked against their limits")
    func scalars() {
        #expect(problems { $0["name"] = "" } == ["name INVALID_FORMAT"])
        #expect(problems { $0["name"] = String(repeating: "n", count: 129) } == ["name TOO_LONG"])
        #expect(problems { $0["name"] = String(repeating: "n", count: 128) } == [])
        #expect(problems { $0["arch"] = "arm64" } == ["arch UNKNOWN_VALUE"])
        #expect(problems { $0["arch"] = "any" } == [])
        #expect(problems { $0["vcpus"] = 0 } == ["vcpus OUT_OF_RANGE"])
        #expect(problems { $0["vcpus"] = 1025 } == ["vcpus OUT_OF_RANGE"])
        #expect(problems { $0["vcpus"] = 1024 } == [])
        #expect(problems { $0["vcpus"] = 2.5 } == ["vcpus INVALID_TYPE"])
        #expect(problems { $0["memory_mib"] = 0 } == ["memory_mib OUT_OF_RANGE"])
        #expect(problems { $0["memory_mib"] = 16_777_217 } == ["memory_mib OUT_OF_RANGE"])
        #expect(problems { $0["requires_kvm"] = "true" } == ["requires_kvm INVALID_TYPE"])
        #expect(problems { $0["backend"] = "docker" } == ["backend UNKNOWN_VALUE"])
    }

    @Test("required labels have the node labels' limits")
    func labels() {
        #expect(problems { $0["labels"] = ["zone": "a", "bad key": "b"] } == [#"labels["bad key"] INVALID_FORMAT"#])
        #expect(problems { $0["labels"] = ["zone": 1] } == ["labels.zone INVALID_TYPE"])
        #expect(
            problems { $0["labels"] = Dictionary(uniqueKeysWithValues: (0..<65).map { ("k\($0)", "v") }) } == [
                "labels TOO_MANY"
            ])
    }

    @Test("exactly one of image and command")
    func exactlyOnePayload() {
        #expect(problems { $0["command"] = "/bin/true" } == ["command INCONSISTENT"])
        #expect(problems { $0["image"] = nil } == ["image MISSING_FIELD"])
    }

    @Test("process needs a command, VM backends need an image")
    func backendMatchesPayload() {
        #expect(problems { $0["backend"] = "process" } == ["backend INCONSISTENT"])
        for vm in ["qemu", "cloud-hypervisor", "firecracker"] {
            #expect(
                problems {
                    $0["backend"] = vm
                    $0["image"] = nil
                    $0["command"] = "/bin/true"
                } == ["backend INCONSISTENT"])
            #expect(problems { $0["backend"] = vm } == [])
        }
    }

    @Test("shell applies only to a command string")
    func shellRules() {
        #expect(
            problems {
                $0["image"] = nil
                $0["command"] = ["/bin/true"]
                $0["shell"] = true
            } == ["shell INCONSISTENT"])
        #expect(problems { $0["shell"] = true } == ["shell INCONSISTENT"])
        #expect(problems { $0["shell"] = false } == [])
        #expect(problems { $0["shell"] = "yes" } == ["shell INVALID_TYPE"])
    }

    @Test("commands: not empty, a program first, bounded in count and bytes")
    func commandLimits() {
        func command(_ value: Any) -> [String] {
            problems {
                $0["image"] = nil
                $0["command"] = value
            }
        }
        #expect(command("   ") == ["command INVALID_FORMAT"])
        #expect(command([String]()) == ["command INVALID_FORMAT"])
        #expect(command(["", "x"]) == ["command[0] INVALID_FORMAT"])
        #expect(command(["/bin/echo", 3]) == ["command[1] INVALID_TYPE"])
        #expect(command(5) == ["command INVALID_TYPE"])
        #expect(command(Array(repeating: "a", count: 257)) == ["command TOO_MANY"])
        #expect(command(Array(repeating: "a", count: 256)) == [])
        #expect(command(String(repeating: "a", count: 4097)) == ["command TOO_LONG"])
        #expect(command(String(repeating: "a", count: 4096)) == [])
        #expect(command(Array(repeating: " ", count: 258).joined(separator: "a")) == ["command TOO_MANY"])
    }

    @Test("images: a kernel is required; paths are bounded; no other members")
    func imageRules() {
        #expect(problems { $0["image"] = ["disk": "/d"] } == ["image.kernel MISSING_FIELD"])
        #expect(problems { $0["image"] = ["kernel": ""] } == ["image.kernel INVALID_FORMAT"])
        #expect(
            problems { $0["image"] = ["kernel": "/k", "initrd": String(repeating: "i", count: 4097)] } == [
                "image.initrd TOO_LONG"
            ])
        #expect(problems { $0["image"] = ["kernel": "/k", "cmdline": ""] } == [])
        #expect(problems { $0["image"] = ["kernel": "/k", "rootfs": "/r"] } == ["image.rootfs UNKNOWN_FIELD"])
        #expect(problems { $0["image"] = "/k" } == ["image INVALID_TYPE"])
    }

    @Test("an unknown member is refused: a misspelt requires_kvm must not be ignored")
    func unknownMembers() {
        #expect(problems { $0["require_kvm"] = true } == ["require_kvm UNKNOWN_FIELD"])
    }

    @Test("needsKVM: asked for, or implied by Cloud Hypervisor and Firecracker, never by QEMU")
    func needsKVM() {
        #expect(Build.vm(requiresKVM: true).needsKVM)
        #expect(Build.vm(backend: .cloudHypervisor).needsKVM)
        #expect(Build.vm(backend: .firecracker).needsKVM)
        #expect(!Build.vm(backend: .qemu).needsKVM)
        #expect(!Build.vm(backend: .any).needsKVM)
        #expect(!Build.process().needsKVM)
    }
}
