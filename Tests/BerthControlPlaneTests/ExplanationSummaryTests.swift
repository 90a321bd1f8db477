import BerthControlPlane
import Foundation
import Testing

/// `FleetView.summarize`: the full evaluation's answer in short, decided the same way.
@Suite struct ExplanationSummaryTests {
    static let intents = [
        Build.vm(), Build.vm("web", vcpus: 4, memoryMiB: 8_192, requiresKVM: true),
        Build.vm(arch: .x86_64, vcpus: 1, memoryMiB: 512, labels: ["zone": "z1"]), Build.process(),
        Build.vm(backend: .qemu, labels: ["zone": "z2", "tier": "gold"]), Build.vm(vcpus: 1_000),
        Build.vm(requiresKVM: true, backend: .firecracker),
    ]

    @Test("the summary agrees with the full evaluation: the same top nodes and counts by code")
    func agreesWithEvaluate() {
        var codesSeen: Set<RejectionCode> = []
        for seed in UInt64(1)...15 {
            let view = RandomFleet(seed: seed, nodes: 150).build(order: Array(0..<150))
            for intent in Self.intents {
                for atMs in [Build.now, Build.now + 45_000, Build.now + 10_000_000] {
                    for top in [0, 1, 5, 1_000] {
                        let full = view.evaluate(intent, atMs: atMs)
                        let summary = view.summarize(intent, atMs: atMs, top: top)
                        #expect(summary == ExplanationSummary(full, top: top))
                        codesSeen.formUnion(summary.rejectedByCode.keys)
                    }
                }
            }
        }
        // The random fleets reach every code but a cordon (RandomFleet cordons through the view).
        #expect(codesSeen.count >= RejectionCode.allCases.count - 1, "\(codesSeen)")
    }

    @Test("the summary's JSON: counts, codes in declaration order, the top nodes in the full shape")
    func json() throws {
        let fleet = Build.fleet([
            Build.envelope("a", cpus: 8), Build.envelope("b", cpus: 16), Build.envelope("c", arch: .x86_64, cpus: 1),
            Build.envelope("d", kvmPresent: false, kvmUsable: false),
        ])
        let summary = fleet.summarize(
            Build.vm(arch: .aarch64, vcpus: 4, requiresKVM: true), atMs: Build.now, top: 1)
        let object = try JSONSerialization.jsonObject(with: Data(summary.jsonBytes())) as! [String: Any]
        #expect(object["selected_node_id"] as? String == "b")
        #expect(object["ranked_count"] as? Int == 2)
        #expect(object["rejected_count"] as? Int == 2)
        let byCode = object["rejected_by_code"] as? [String: Int]
        #expect(byCode == ["ARCH_MISMATCH": 1, "INSUFFICIENT_CPU": 1, "KVM_MISSING": 1])
        let text = String(decoding: summary.jsonBytes(), as: UTF8.self)
        #expect(text.contains(#""rejected_by_code":{"ARCH_MISMATCH":1,"INSUFFICIENT_CPU":1,"KVM_MISSING":1}"#))
        let ranked = object["ranked_nodes"] as? [[String: Any]]
        #expect(ranked?.count == 1)
        #expect(ranked?.first?["node_id"] as? String == "b")
        #expect((ranked?.first?["components"] as? [String: Any])?.count == 4)
        let none = fleet.summarize(Build.vm(vcpus: 64), atMs: Build.now, top: 3)
        let empty = try JSONSerialization.jsonObject(with: Data(none.jsonBytes())) as! [String: Any]
        #expect(empty["selected_node_id"] is NSNull)
        #expect(empty["ranked_nodes"] as? [Any] == nil || (empty["ranked_nodes"] as? [Any])?.isEmpty == true)
    }
}
