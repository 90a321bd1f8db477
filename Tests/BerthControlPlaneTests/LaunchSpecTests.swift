import BerthControlPlane
import Testing

/// Hydration: `any` resolved to what the chosen node runs; and LaunchSpec input validation.
@Suite struct LaunchSpecTests {
    func hydrate(_ intent: WorkloadIntent, _ envelope: SchedulerEnvelope) throws(HydrationError) -> LaunchSpec {
        try LaunchSpec.hydrate(intent, on: NodeTruth(envelope: envelope, receivedAtMs: 0))
    }

    @Test("any arch becomes the node's; any backend with an image becomes QEMU under KVM")
    func vmOnKVMNode() throws {
        let spec = try hydrate(
            Build.vm(labels: ["zone": "a"]), Build.envelope("n1", arch: .aarch64, labels: ["zone": "a"]))
        #expect(
            spec
                == LaunchSpec(
                    name: "web", nodeID: "n1", arch: .aarch64, backend: .qemu, accel: .kvm, vcpus: 2, memoryMiB: 2_048,
                    payload: .image(Build.image), labels: ["zone": "a"]))
    }

    @Test("without usable KVM an image runs on QEMU under TCG")
    func tcg() throws {
        let spec = try hydrate(Build.vm(), Build.envelope("n1", kvmPresent: true, kvmUsable: false))
        #expect(spec.backend == .qemu && spec.accel == .tcg)
    }

    @Test("any picks the first runnable VM backend in preference order")
    func preference() throws {
        let spec = try hydrate(Build.vm(), Build.envelope("n1", backends: [Build.firecracker, Build.cloudHypervisor]))
        #expect(spec.backend == .cloudHypervisor && spec.accel == .kvm)
        #expect(try hydrate(Build.vm(), Build.envelope("n1", backends: [Build.firecracker])).backend == .firecracker)
        #expect(
            try hydrate(
                Build.vm(backend: .firecracker), Build.envelope("n1", backends: [Build.qemu, Build.firecracker])
            ).backend == .firecracker)
    }

    @Test("a command runs on the process backend, unaccelerated")
    func process() throws {
        let spec = try hydrate(Build.process(), Build.envelope("n1", arch: .x86_64))
        #expect(spec.backend == .process && spec.accel == Acceleration.none && spec.arch == .x86_64)
        #expect(spec.payload == .command(WorkloadCommand(argv: ["/bin/echo", "hi"])))
    }

    @Test("a node that cannot run the intent is refused with evaluation's reasons")
    func refused() {
        #expect(
            throws: HydrationError(
                nodeID: "n1",
                reasons: [
                    Rejection(code: .archMismatch, needed: .string("x86_64"), available: .string("aarch64")),
                    Rejection(code: .kvmMissing, needed: .bool(true), available: .bool(false)),
                ])
        ) {
            try hydrate(
                Build.vm(arch: .x86_64, requiresKVM: true), Build.envelope("n1", kvmPresent: false, kvmUsable: false))
        }
        #expect(throws: HydrationError.self) {
            try hydrate(Build.process(), Build.envelope("n1", backends: [Build.qemu]))
        }
    }

    static func valid() -> [String: Any] {
        [
            "name": "web", "node_id": "n1", "arch": "aarch64", "backend": "qemu", "accel": "tcg", "vcpus": 2,
            "memory_mib": 2048, "image": ["kernel": "/k"], "labels": ["zone": "a"],
        ]
    }

    func problems(_ change: (inout [String: Any]) -> Void) -> [String] {
        var document = Self.valid()
        change(&document)
        return fieldsAndCodes(BerthControlPlaneTests.problems(LaunchSpec.self, document))
    }

    @Test("LaunchSpec input: fields, and backend/payload/accel combinations no node runs")
    func validation() throws {
        #expect(problems { _ in } == [])
        #expect(problems { $0["backend"] = "any" } == ["backend UNKNOWN_VALUE"])
        #expect(problems { $0["arch"] = "any" } == ["arch UNKNOWN_VALUE"])
        #expect(problems { $0["accel"] = "none" } == ["accel INCONSISTENT"])
        #expect(problems { $0["backend"] = "firecracker" } == ["accel INCONSISTENT"])
        #expect(problems { $0["backend"] = "process" } == ["backend INCONSISTENT", "accel INCONSISTENT"])
        #expect(problems { $0["node_id"] = nil } == ["node_id MISSING_FIELD"])
        #expect(problems { $0["extra"] = 1 } == ["extra UNKNOWN_FIELD"])
        #expect(
            problems {
                $0["backend"] = "process"
                $0["accel"] = "none"
                $0["image"] = nil
                $0["command"] = "/bin/true"
            } == [])
    }
}
