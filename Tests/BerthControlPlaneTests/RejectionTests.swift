import BerthControlPlane
import Testing

/// For every rejection code, the one case that triggers it (and nothing else) and the near
/// miss that does not: the boundaries are where placement bugs live.
@Suite struct RejectionTests {
    /// A case for one code: a node, an intent, and the instant and policy to evaluate at.
    struct Case {
        var envelope: SchedulerEnvelope
        var intent: WorkloadIntent
        var receivedAtMs: Int64 = Build.now
        var atMs: Int64 = Build.now
        var policy = PlacementPolicy.standard
        var cordon: (draining: Bool, at: Int64)?
        var placed: [PlacedLaunch] = []

        func explanation() -> Explanation {
            var view = FleetView()
            try! view.upsert(envelope, receivedAtMs: receivedAtMs)
            if let cordon { try! view.cordon(envelope.nodeID, atMs: cordon.at, draining: cordon.draining) }
            for launch in placed { try! view.placeLaunch(launch) }
            return view.evaluate(intent, atMs: atMs, policy: policy)
        }

        func reasons() -> [Rejection] {
            explanation().reasons(for: envelope.nodeID) ?? []
        }
    }

    /// The triggering case and the near miss for `code`, and the evidence the trigger must carry.
    static func cases(_ code: RejectionCode) -> (trigger: Case, nearMiss: Case, evidence: Rejection) {
        let node = Build.envelope("n1")
        switch code {
        case .archMismatch:
            return (
                Case(envelope: node, intent: Build.vm(arch: .x86_64)),
                Case(envelope: node, intent: Build.vm(arch: .aarch64)),
                Rejection(code: code, needed: .string("x86_64"), available: .string("aarch64"))
            )
        case .insufficientCPU:
            let placed = [Build.launch("l1", on: "n1", vcpus: 10, memoryMiB: 1)]
            return (
                Case(envelope: node, intent: Build.vm(vcpus: 7), placed: placed),
                Case(envelope: node, intent: Build.vm(vcpus: 6), placed: placed),
                Rejection(code: code, needed: .int(7), available: .int(6))
            )
        case .insufficientMemory:
            return (
                Case(envelope: node, intent: Build.vm(memoryMiB: 32_769)),
                Case(envelope: node, intent: Build.vm(memoryMiB: 32_768)),
                Rejection(code: code, needed: .int(32_769), available: .int(32_768))
            )
        case .kvmMissing:
            let noKVM = Build.envelope("n1", kvmPresent: false, kvmUsable: false)
            // Without requires_kvm the same node runs the image under QEMU/TCG.
            return (
                Case(envelope: noKVM, intent: Build.vm(requiresKVM: true)),
                Case(envelope: noKVM, intent: Build.vm(requiresKVM: false)),
                Rejection(code: code, needed: .bool(true), available: .bool(false))
            )
        case .kvmUnusable:
            let unusable = Build.envelope("n1", kvmPresent: true, kvmUsable: false)
            return (
                Case(envelope: unusable, intent: Build.vm(requiresKVM: true)),
                Case(envelope: node, intent: Build.vm(requiresKVM: true)),
                Rejection(code: code, needed: .bool(true), available: .bool(false))
            )
        case .backendMissing:
            let withFirecracker = Build.envelope("n1", backends: [Build.qemu, firecracker("1.0.0")])
            return (
                Case(envelope: node, intent: Build.vm(backend: .firecracker)),
                Case(envelope: withFirecracker, intent: Build.vm(backend: .firecracker)),
                Rejection(
                    code: code, needed: .string("firecracker"), available: .list(["qemu 8.2.2", "process 0.1.0"]))
            )
        case .backendVersionUnsupported:
            return (
                Case(envelope: Build.envelope("n1", backends: [qemu("6.1.0")]), intent: Build.vm(backend: .qemu)),
                Case(envelope: Build.envelope("n1", backends: [qemu("6.2.0")]), intent: Build.vm(backend: .qemu)),
                Rejection(code: code, needed: .string("qemu >= 6.2"), available: .string("qemu 6.1.0"))
            )
        case .telemetryStale:
            let limit = PlacementPolicy.standard.telemetryMaxAgeMs
            return (
                Case(envelope: node, intent: Build.vm(), atMs: Build.now + limit + 1),
                Case(envelope: node, intent: Build.vm(), atMs: Build.now + limit),
                Rejection(code: code, needed: .int(limit), available: .int(limit + 1))
            )
        case .nodeUnhealthy:
            return (
                Case(envelope: Build.envelope("n1", health: .unhealthy), intent: Build.vm()),
                Case(envelope: Build.envelope("n1", health: .degraded), intent: Build.vm()),
                Rejection(code: code, needed: .string("healthy"), available: .string("unhealthy"))
            )
        case .nodeCordoned:
            var uncordoned = Case(envelope: node, intent: Build.vm())
            uncordoned.cordon = nil
            return (
                Case(envelope: node, intent: Build.vm(), cordon: (false, Build.now)), uncordoned,
                Rejection(code: code, needed: .string("schedulable"), available: .string("cordoned"))
            )
        case .labelMismatch:
            let labelled = Build.envelope("n1", labels: ["zone": "a", "tier": "gold"])
            return (
                Case(envelope: labelled, intent: Build.vm(labels: ["zone": "b"])),
                Case(envelope: labelled, intent: Build.vm(labels: ["zone": "a"])),
                Rejection(code: code, needed: .string("zone=b"), available: .string("zone=a"))
            )
        }
    }

    static func qemu(_ version: String) -> InstalledBackend {
        InstalledBackend(kind: .qemu, binary: "/usr/bin/qemu-system-aarch64", version: version)
    }

    static func firecracker(_ version: String) -> InstalledBackend {
        InstalledBackend(kind: .firecracker, binary: "/usr/local/bin/firecracker", version: version)
    }

    @Test("each code's trigger gives exactly that reason with its evidence", arguments: RejectionCode.allCases)
    func trigger(_ code: RejectionCode) {
        let (trigger, _, evidence) = Self.cases(code)
        #expect(trigger.reasons() == [evidence])
        #expect(trigger.explanation().rankedNodes.isEmpty)
    }

    @Test("each code's near miss ranks the node", arguments: RejectionCode.allCases)
    func nearMiss(_ code: RejectionCode) {
        let nearMiss = Self.cases(code).nearMiss.explanation()
        #expect(nearMiss.rejectedNodes.isEmpty)
        #expect(nearMiss.selectedNodeID == "n1")
    }

    @Test("messages are derived from code and evidence")
    func messages() {
        let expected: [RejectionCode: String] = [
            .archMismatch: "needs architecture x86_64, node is aarch64",
            .insufficientCPU: "needs 7 vCPU, node has 6 free",
            .insufficientMemory: "needs 32769 MiB of memory, node has 32768 MiB free",
            .kvmMissing: "needs KVM, node has no /dev/kvm",
            .kvmUnusable: "needs KVM, node has /dev/kvm but guests cannot run on it",
            .backendMissing: "needs backend firecracker, node has qemu 8.2.2, process 0.1.0",
            .backendVersionUnsupported: "needs qemu >= 6.2, node has qemu 6.1.0",
            .telemetryStale: "telemetry is 60001 ms old, the limit is 60000 ms",
            .nodeUnhealthy: "node reports itself unhealthy",
            .nodeCordoned: "node is cordoned",
            .labelMismatch: "needs label zone=b, node has zone=a",
        ]
        for code in RejectionCode.allCases {
            #expect(Self.cases(code).evidence.message == expected[code], "\(code)")
        }
        #expect(
            Rejection(code: .labelMismatch, needed: .string("zone=b"), available: .none).message
                == "needs label zone=b, node does not have it")
        #expect(
            Rejection(code: .insufficientCPU, needed: .int(4), available: .int(2)).message
                == "needs 4 vCPU, node has 2 free")
    }

    @Test("the closed set of codes and their wire names")
    func codes() {
        #expect(
            RejectionCode.allCases.map(\.rawValue) == [
                "ARCH_MISMATCH", "INSUFFICIENT_CPU", "INSUFFICIENT_MEMORY", "KVM_MISSING", "KVM_UNUSABLE",
                "BACKEND_MISSING", "BACKEND_VERSION_UNSUPPORTED", "TELEMETRY_STALE", "NODE_UNHEALTHY", "NODE_CORDONED",
                "LABEL_MISMATCH",
            ])
    }

    // MARK: Beyond one reason

    @Test("every applicable reason is reported, in declared code order")
    func everyReason() {
        let bad = Build.envelope(
            "n1", arch: .x86_64, cpus: 1, memoryMiB: 512, kvmPresent: false, kvmUsable: false,
            backends: [Build.process],
            labels: ["zone": "a"], health: .unhealthy)
        let intent = Build.vm(
            arch: .aarch64, vcpus: 2, memoryMiB: 1024, requiresKVM: true, backend: .qemu,
            labels: ["zone": "b", "rack": "r1"])
        var view = FleetView()
        try! view.upsert(bad, receivedAtMs: Build.now)
        try! view.cordon("n1", atMs: Build.now, draining: true)
        let reasons = view.evaluate(intent, atMs: Build.now + 3_600_000).reasons(for: "n1")!
        #expect(
            reasons.map(\.code) == [
                .archMismatch, .insufficientCPU, .insufficientMemory, .kvmMissing, .backendMissing, .telemetryStale,
                .nodeUnhealthy, .nodeCordoned, .labelMismatch, .labelMismatch,
            ])
        // One LABEL_MISMATCH per label, by key: the absent one shows null.
        #expect(reasons[8] == Rejection(code: .labelMismatch, needed: .string("rack=r1"), available: .none))
        #expect(reasons[9] == Rejection(code: .labelMismatch, needed: .string("zone=b"), available: .string("zone=a")))
        #expect(reasons[7].available == .string("draining"))
        #expect(reasons[7].message == "node is draining")
    }

    @Test("Cloud Hypervisor and Firecracker imply KVM even without requires_kvm; QEMU does not")
    func impliedKVM() {
        let noKVM = Build.envelope(
            "n1", kvmPresent: false, kvmUsable: false,
            backends: [Build.qemu, Build.cloudHypervisor, Build.firecracker, Build.process])
        let view = Build.fleet([noKVM])
        #expect(
            view.evaluate(Build.vm(backend: .firecracker), atMs: Build.now).reasons(for: "n1")?.map(\.code) == [
                .kvmMissing
            ])
        #expect(
            view.evaluate(Build.vm(backend: .cloudHypervisor), atMs: Build.now).reasons(for: "n1")?.map(\.code) == [
                .kvmMissing
            ])
        #expect(view.select(Build.vm(backend: .qemu), atMs: Build.now) == "n1")
    }

    @Test("backend any + image without usable KVM: only QEMU (TCG) is a candidate")
    func anyImageWithoutKVM() {
        let onlyMicroVMs = Build.envelope(
            "n1", kvmPresent: true, kvmUsable: false, backends: [Build.firecracker, Build.cloudHypervisor])
        let reasons = Build.fleet([onlyMicroVMs]).evaluate(Build.vm(), atMs: Build.now).reasons(for: "n1")
        #expect(
            reasons == [
                Rejection(
                    code: .backendMissing, needed: .string("qemu"),
                    available: .list(["firecracker 1.7.0", "cloud-hypervisor 41.0"]))
            ])
        // With KVM usable, the same node runs the image on Cloud Hypervisor.
        let usable = Build.envelope("n1", backends: [Build.firecracker, Build.cloudHypervisor])
        #expect(Build.fleet([usable]).select(Build.vm(), atMs: Build.now) == "n1")
    }

    @Test("backend any + image that needs KVM on a node without it: one KVM reason, not a backend reason too")
    func anyImageNeedingKVM() {
        let node = Build.envelope("n1", kvmPresent: true, kvmUsable: false, backends: [Build.firecracker])
        let reasons = Build.fleet([node]).evaluate(Build.vm(requiresKVM: true), atMs: Build.now).reasons(for: "n1")
        #expect(reasons?.map(\.code) == [.kvmUnusable])
    }

    @Test("backend any: no VM backend at all lists every candidate; only old ones is a version reason")
    func anyImageCandidates() {
        let processOnly = Build.envelope("n1", backends: [Build.process])
        #expect(
            Build.fleet([processOnly]).evaluate(Build.vm(), atMs: Build.now).reasons(for: "n1") == [
                Rejection(
                    code: .backendMissing, needed: .list(["qemu", "cloud-hypervisor", "firecracker"]),
                    available: .list(["process 0.1.0"]))
            ])
        let old = Build.envelope("n1", backends: [Self.qemu("5.2.0"), Self.firecracker("0.25.0")])
        let reasons = Build.fleet([old]).evaluate(Build.vm(), atMs: Build.now).reasons(for: "n1")
        #expect(
            reasons == [
                Rejection(
                    code: .backendVersionUnsupported, needed: .list(["qemu >= 6.2", "firecracker >= 1.0"]),
                    available: .list(["qemu 5.2.0", "firecracker 0.25.0"]))
            ])
        #expect(reasons?[0].message == "needs qemu >= 6.2, firecracker >= 1.0, node has qemu 5.2.0, firecracker 0.25.0")
        // One old and one new binary of the same kind: the new one counts.
        let both = Build.envelope("n1", backends: [Self.qemu("5.2.0"), Self.qemu("8.2.2")])
        #expect(Build.fleet([both]).select(Build.vm(), atMs: Build.now) == "n1")
    }

    @Test("backend any + command needs the process backend")
    func anyCommand() {
        let vmOnly = Build.envelope("n1", backends: [Build.qemu])
        #expect(
            Build.fleet([vmOnly]).evaluate(Build.process(), atMs: Build.now).reasons(for: "n1") == [
                Rejection(code: .backendMissing, needed: .string("process"), available: .list(["qemu 8.2.2"]))
            ])
        #expect(
            Build.fleet([Build.envelope("n1", backends: [Build.process])]).select(Build.process(), atMs: Build.now)
                == "n1")
    }

    @Test("telemetry age counts from the earlier of observation and receipt, against the policy's limit")
    func telemetryAge() {
        // An agent whose clock runs 10 minutes ahead cannot look fresh: receipt is the earlier time.
        let ahead = Build.envelope("n1", observedAtMs: Build.now + 600_000)
        let view = Build.fleet([ahead], receivedAtMs: Build.now - 61_000)
        #expect(
            view.evaluate(Build.vm(), atMs: Build.now).reasons(for: "n1") == [
                Rejection(code: .telemetryStale, needed: .int(60_000), available: .int(61_000))
            ])
        // An old observation received just now is stale too.
        let old = Build.fleet([Build.envelope("n1", observedAtMs: Build.now - 120_000)])
        #expect(old.evaluate(Build.vm(), atMs: Build.now).reasons(for: "n1")?.map(\.code) == [.telemetryStale])
        // A stricter policy makes a 20 s old report stale.
        let recent = Build.fleet([Build.envelope("n1", observedAtMs: Build.now - 20_000)])
        let strict = PlacementPolicy(telemetryMaxAgeMs: 10_000)
        #expect(
            recent.evaluate(Build.vm(), atMs: Build.now, policy: strict).reasons(for: "n1")?.map(\.code) == [
                .telemetryStale
            ])
        #expect(recent.select(Build.vm(), atMs: Build.now) == "n1")
    }

    @Test("a cordon ends with uncordon; a new envelope does not lift it")
    func cordonLifecycle() throws {
        var view = Build.fleet([Build.envelope("n1")])
        try view.cordon("n1", atMs: Build.now)
        try view.upsert(Build.envelope("n1", sequence: 2), receivedAtMs: Build.now)
        #expect(view.evaluate(Build.vm(), atMs: Build.now).reasons(for: "n1")?.map(\.code) == [.nodeCordoned])
        try view.uncordon("n1")
        #expect(view.select(Build.vm(), atMs: Build.now) == "n1")
        #expect(throws: FleetError.unknownNode("nope")) { try view.cordon("nope", atMs: 0) }
    }

    @Test("label checks follow a node's labels as new envelopes change them")
    func labelsChange() throws {
        var view = Build.fleet([
            Build.envelope("n1", labels: ["zone": "a"]), Build.envelope("n2", labels: ["zone": "a"]),
        ])
        let intent = Build.vm(labels: ["zone": "a"])
        #expect(view.evaluate(intent, atMs: Build.now).rankedNodes.map(\.nodeID) == ["n1", "n2"])
        try view.upsert(Build.envelope("n1", sequence: 2, labels: ["zone": "b"]), receivedAtMs: Build.now)
        #expect(
            view.evaluate(intent, atMs: Build.now).reasons(for: "n1") == [
                Rejection(code: .labelMismatch, needed: .string("zone=a"), available: .string("zone=b"))
            ])
        #expect(view.explain(intent, nodeID: "n1", atMs: Build.now)?.rejectedNodes.count == 1)
        #expect(view.explain(intent, nodeID: "n2", atMs: Build.now)?.rankedNodes.count == 1)
        try view.upsert(Build.envelope("n1", sequence: 3, labels: [:]), receivedAtMs: Build.now)
        #expect(view.evaluate(intent, atMs: Build.now).reasons(for: "n1")?.first?.available == Evidence.none)
        try view.upsert(Build.envelope("n1", sequence: 4, labels: ["zone": "a", "x": "y"]), receivedAtMs: Build.now)
        try view.upsert(Build.envelope("n2", sequence: 2, labels: [:]), receivedAtMs: Build.now)
        #expect(view.select(Build.vm(labels: ["zone": "a", "x": "y"]), atMs: Build.now) == "n1")
        #expect(view.evaluate(intent, atMs: Build.now).rankedNodes.map(\.nodeID) == ["n1"])
    }
}
