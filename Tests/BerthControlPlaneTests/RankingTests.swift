import BerthControlPlane
import Testing

/// Scores, their components, the tie-break, and that the answer does not depend on the order
/// the view was built in.
@Suite struct RankingTests {
    func components(_ view: FleetView, _ intent: WorkloadIntent, _ nodeID: String) -> ScoreComponents? {
        view.evaluate(intent, atMs: Build.now).rankedNodes.first { $0.nodeID == nodeID }?.components
    }

    @Test("components of a plain node: headroom on the tighter resource, full marks elsewhere")
    func plainNode() {
        // 16 CPUs, 32 GiB; the intent takes 2 and 2 GiB: 14/16 = 0.875 of CPU left, 30/32 = 0.9375 of memory.
        let explanation = Build.fleet([Build.envelope("n1")]).evaluate(Build.vm(), atMs: Build.now)
        #expect(
            explanation.rankedNodes == [
                RankedNode(
                    nodeID: "n1",
                    components: ScoreComponents(
                        resourceFitMilli: 875, spreadMilli: 1000, backendPreferenceMilli: 1000, healthMilli: 1000))
            ])
        #expect(explanation.rankedNodes[0].scoreMilli == 3875)
        #expect(explanation.evaluatedAtMs == Build.now)
    }

    @Test("the emptier node ranks first")
    func resourceFit() {
        let view = Build.fleet([Build.envelope("small", cpus: 4), Build.envelope("big", cpus: 32)])
        #expect(view.evaluate(Build.vm(), atMs: Build.now).rankedNodes.map(\.nodeID) == ["big", "small"])
        #expect(components(view, Build.vm(), "small")?.resourceFitMilli == 500)
    }

    @Test("KVM acceleration is preferred to TCG emulation; a process has no emulation penalty")
    func backendPreference() {
        let view = Build.fleet([
            Build.envelope("tcg", kvmPresent: true, kvmUsable: false), Build.envelope("kvm"),
        ])
        #expect(view.select(Build.vm(), atMs: Build.now) == "kvm")
        #expect(components(view, Build.vm(), "tcg")?.backendPreferenceMilli == 250)
        #expect(components(view, Build.vm(), "kvm")?.backendPreferenceMilli == 1000)
        #expect(components(view, Build.process(), "tcg")?.backendPreferenceMilli == 1000)
    }

    @Test("a degraded node is allowed but scores lower")
    func health() {
        let view = Build.fleet([Build.envelope("degraded", cpus: 64, health: .degraded), Build.envelope("healthy")])
        #expect(view.select(Build.vm(), atMs: Build.now) == "healthy")
        #expect(components(view, Build.vm(), "degraded")?.healthMilli == 250)
    }

    @Test("spread: among nodes with the same labels, replicas of the same name go elsewhere")
    func spread() throws {
        let labels = ["role": "web"]
        var view = Build.fleet([
            Build.envelope("n1", labels: labels), Build.envelope("n2", labels: labels),
            Build.envelope("other", labels: ["role": "batch"]),
        ])
        try view.placeLaunch(Build.launch("w1", on: "n1", name: "web", vcpus: 1, memoryMiB: 1))
        #expect(components(view, Build.vm("web"), "n1")?.spreadMilli == 0)
        #expect(components(view, Build.vm("web"), "n2")?.spreadMilli == 1000)
        #expect(components(view, Build.vm("web"), "other")?.spreadMilli == 1000)
        #expect(components(view, Build.vm("db"), "n1")?.spreadMilli == 1000)
        try view.placeLaunch(Build.launch("w2", on: "n2", name: "web", vcpus: 1, memoryMiB: 1))
        try view.placeLaunch(Build.launch("w3", on: "n2", name: "web", vcpus: 1, memoryMiB: 1))
        // The group runs 3: n1 has 1 of them (2/3 elsewhere), n2 has 2 (1/3 elsewhere).
        #expect(components(view, Build.vm("web"), "n1")?.spreadMilli == 666)
        #expect(components(view, Build.vm("web"), "n2")?.spreadMilli == 333)
        view.releaseLaunch(id: "w1")
        view.releaseLaunch(id: "w2")
        view.releaseLaunch(id: "w3")
        #expect(components(view, Build.vm("web"), "n2")?.spreadMilli == 1000)
    }

    @Test("spread follows a node into its new label group when its labels change")
    func spreadRegroups() throws {
        var view = Build.fleet([Build.envelope("a", labels: ["g": "1"]), Build.envelope("b", labels: ["g": "1"])])
        try view.placeLaunch(Build.launch("w1", on: "a", name: "web"))
        #expect(components(view, Build.vm("web"), "b")?.spreadMilli == 1000)
        try view.upsert(Build.envelope("b", sequence: 2, labels: ["g": "2"]), receivedAtMs: Build.now)
        #expect(components(view, Build.vm("web"), "a")?.spreadMilli == 0)
        #expect(components(view, Build.vm("web"), "b")?.spreadMilli == 1000)
        // a joins b's group, bringing its replica along: the group now runs one, on a.
        try view.upsert(Build.envelope("a", sequence: 2, labels: ["g": "2"]), receivedAtMs: Build.now)
        #expect(components(view, Build.vm("web"), "a")?.spreadMilli == 0)
        #expect(components(view, Build.vm("web"), "b")?.spreadMilli == 1000)
        try view.placeLaunch(Build.launch("w2", on: "b", name: "web"))
        #expect(components(view, Build.vm("web"), "a")?.spreadMilli == 500)
        #expect(components(view, Build.vm("web"), "b")?.spreadMilli == 500)
    }

    @Test("tie-break: equal scores go to the node with more free memory")
    func tieBreakMemory() {
        // CPU is the tighter resource on both (4 of 8 left = 0.5), so the scores are equal.
        let view = Build.fleet([
            Build.envelope("a", cpus: 8, memoryMiB: 32_768), Build.envelope("b", cpus: 8, memoryMiB: 65_536),
        ])
        let ranked = view.evaluate(Build.vm(vcpus: 4, memoryMiB: 1_024), atMs: Build.now).rankedNodes
        #expect(ranked.map(\.scoreMilli) == [3500, 3500])
        #expect(ranked.map(\.nodeID) == ["b", "a"])
    }

    @Test("tie-break: equal scores and memory go to the lowest node_id in byte order")
    func tieBreakNodeID() {
        let view = Build.fleet(["node-b", "node-c", "node-a", "Node-z", "node-A"].map { Build.envelope($0) })
        #expect(
            view.evaluate(Build.vm(), atMs: Build.now).rankedNodes.map(\.nodeID) == [
                "Node-z", "node-A", "node-a", "node-b", "node-c",
            ])
        #expect(view.select(Build.vm(), atMs: Build.now) == "Node-z")
    }

    @Test("rejected nodes are listed by node_id; every node is in exactly one list")
    func everyNodeOnce() {
        let view = Build.fleet([
            Build.envelope("d", arch: .x86_64), Build.envelope("b"), Build.envelope("c", arch: .x86_64),
            Build.envelope("a"),
        ])
        let explanation = view.evaluate(Build.vm(arch: .x86_64), atMs: Build.now)
        #expect(explanation.rankedNodes.map(\.nodeID) == ["c", "d"])
        #expect(explanation.rejectedNodes.map(\.nodeID) == ["a", "b"])
    }

    @Test("explain for one node agrees with the full evaluation; unknown nodes give nil")
    func explainOne() throws {
        var view = RandomFleet(seed: 7, nodes: 60).build(order: Array(0..<60))
        try view.cordon("node-007", atMs: Build.now)
        let intent = Build.vm(vcpus: 6, memoryMiB: 10_000)
        let full = view.evaluate(intent, atMs: Build.now + 30_000)
        for nodeID in view.nodeIDs {
            let one = view.explain(intent, nodeID: nodeID, atMs: Build.now + 30_000)!
            #expect(one.rankedNodes.count + one.rejectedNodes.count == 1)
            #expect(one.rankedNodes.allSatisfy { full.rankedNodes.contains($0) })
            #expect(one.rejectedNodes.allSatisfy { full.rejectedNodes.contains($0) })
        }
        #expect(view.explain(intent, nodeID: "missing", atMs: Build.now) == nil)
    }

    @Test("the same state, intent and time give the same answer whatever order the view was built in")
    func orderIndependence() {
        let fleet = RandomFleet(seed: 42, nodes: 300)
        var random = SplitMix(seed: 99)
        let reference = fleet.build(order: Array(0..<300))
        let intents = [
            Build.vm(), Build.vm("web", vcpus: 4, memoryMiB: 8_192, requiresKVM: true),
            Build.vm(arch: .x86_64, vcpus: 1, memoryMiB: 512, labels: ["zone": "z1"]), Build.process(),
            Build.vm(backend: .qemu, labels: ["zone": "z2", "tier": "gold"]),
        ]
        for _ in 0..<6 {
            let view = fleet.build(order: random.shuffled(Array(0..<300)))
            for intent in intents {
                let expected = reference.evaluate(intent, atMs: Build.now + 45_000)
                #expect(view.evaluate(intent, atMs: Build.now + 45_000) == expected)
                #expect(view.select(intent, atMs: Build.now + 45_000) == expected.selectedNodeID)
            }
        }
        #expect(reference.select(intents[0], atMs: Build.now + 45_000) != nil)
    }

    @Test("select decides without explaining, and always names the node evaluate ranks first")
    func selectAgreesWithEvaluate() {
        let intents = [
            Build.vm(), Build.vm("web", vcpus: 4, memoryMiB: 8_192, requiresKVM: true),
            Build.vm(arch: .x86_64, vcpus: 1, memoryMiB: 512, labels: ["zone": "z1"]), Build.process(),
            Build.vm(backend: .qemu, labels: ["zone": "z2", "tier": "gold"]), Build.vm(vcpus: 1_000),
        ]
        for seed in UInt64(1)...20 {
            let view = RandomFleet(seed: seed, nodes: 120).build(order: Array(0..<120))
            for intent in intents {
                for atMs in [Build.now, Build.now + 45_000, Build.now + 10_000_000] {
                    #expect(view.select(intent, atMs: atMs) == view.evaluate(intent, atMs: atMs).selectedNodeID)
                }
            }
        }
        // Identical nodes: only the tie-breaks decide, and the two must break ties alike.
        let twins = Build.fleet((0..<50).map { Build.envelope("twin-\(($0 * 37) % 50)") })
        #expect(twins.select(Build.vm(), atMs: Build.now) == "twin-0")
        #expect(twins.select(Build.vm(), atMs: Build.now) == twins.evaluate(Build.vm(), atMs: Build.now).selectedNodeID)
    }
}

/// A deterministic pseudo-random fleet, with launches, for tests that need many varied nodes.
struct RandomFleet {
    var envelopes: [SchedulerEnvelope] = []
    var launches: [PlacedLaunch] = []
    var cordoned: Set<String> = []

    init(seed: UInt64, nodes count: Int) {
        var random = SplitMix(seed: seed)
        let backendSets: [[InstalledBackend]] = [
            [Build.qemu, Build.process], [Build.cloudHypervisor, Build.firecracker], [Build.process],
            [InstalledBackend(kind: .qemu, binary: "/usr/bin/qemu", version: "5.2.0")],
            [Build.qemu, Build.cloudHypervisor, Build.firecracker, Build.process],
        ]
        for index in 0..<count {
            let nodeID = "node-" + String(String(index + 1000).dropFirst())
            let present = random.next(4) > 0
            envelopes.append(
                Build.envelope(
                    nodeID, sequence: UInt64(1 + random.next(100)),
                    observedAtMs: Build.now - Int64(random.next(90_000)),
                    arch: random.next(2) == 0 ? .x86_64 : .aarch64, cpus: [4, 8, 16, 32][random.next(4)],
                    memoryMiB: [8_192, 16_384, 32_768][random.next(3)], kvmPresent: present,
                    kvmUsable: present && random.next(3) > 0, backends: backendSets[random.next(backendSets.count)],
                    labels: ["zone": "z\(random.next(3))", "tier": random.next(2) == 0 ? "gold" : "silver"],
                    health: [.healthy, .healthy, .healthy, .degraded, .unhealthy][random.next(5)]))
            if random.next(10) == 0 { cordoned.insert(nodeID) }
            for launch in 0..<random.next(3) {
                launches.append(
                    Build.launch(
                        "\(nodeID)-\(launch)", on: nodeID, name: ["web", "db", "job"][random.next(3)],
                        vcpus: 1 + random.next(2), memoryMiB: 512 * (1 + random.next(4))))
            }
        }
    }

    /// A view with the nodes inserted in `order`, then the cordons and launches in an order
    /// derived from it, so different node orders also change the order of everything else.
    func build(order: [Int]) -> FleetView {
        var view = FleetView()
        for index in order { try! view.upsert(envelopes[index], receivedAtMs: Build.now) }
        let nodeOrder = order.map { envelopes[$0].nodeID }
        for nodeID in nodeOrder where cordoned.contains(nodeID) { try! view.cordon(nodeID, atMs: Build.now) }
        for nodeID in nodeOrder.reversed() {
            for launch in launches where launch.nodeID == nodeID { try! view.placeLaunch(launch) }
        }
        return view
    }
}

/// SplitMix64: a tiny seeded generator, so "random" fleets are the same on every run.
struct SplitMix {
    var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func nextRaw() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in 0..<bound.
    mutating func next(_ bound: Int) -> Int {
        Int(nextRaw() % UInt64(bound))
    }

    mutating func shuffled<T>(_ values: [T]) -> [T] {
        var values = values
        for index in stride(from: values.count - 1, to: 0, by: -1) {
            values.swapAt(index, next(index + 1))
        }
        return values
    }
}
