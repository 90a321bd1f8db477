import BerthControlPlane
import Foundation
import Testing

/// `Explanation.jsonBytes()`: the same document as `Encodable`, written directly.
@Suite struct ExplanationJSONTests {
    @Test("exact text: fixed key order, scores as exact decimals, evidence of every kind")
    func exactText() {
        let explanation = Explanation(
            evaluatedAtMs: 1_748_856_600_250,
            rankedNodes: [
                RankedNode(
                    nodeID: "a",
                    components: ScoreComponents(
                        resourceFitMilli: 1, spreadMilli: 10, backendPreferenceMilli: 100, healthMilli: 1000))
            ],
            rejectedNodes: [
                RejectedNode(
                    nodeID: "b",
                    reasons: [
                        Rejection(code: .insufficientCPU, needed: .int(4), available: .int(-2)),
                        Rejection(code: .labelMismatch, needed: .string("q=\"x\"\n"), available: .none),
                        Rejection(code: .kvmMissing, needed: .bool(true), available: .bool(false)),
                        Rejection(code: .backendMissing, needed: .list(["qemu", "firecracker"]), available: .list([])),
                    ])
            ])
        let text = String(decoding: explanation.jsonBytes(), as: UTF8.self)
        let expected =
            #"{"evaluated_at":"2025-06-02T09:30:00.250Z","ranked_nodes":[{"node_id":"a","score":1.111,"#
            + #""components":{"resource_fit":0.001,"spread":0.01,"backend_preference":0.1,"health":1}}],"#
            + #""rejected_nodes":[{"node_id":"b","reasons":["#
            + #"{"code":"INSUFFICIENT_CPU","message":"needs 4 vCPU, node has -2 free","needed":4,"available":-2},"#
            + #"{"code":"LABEL_MISMATCH","message":"needs label q=\"x\"\n, node does not have it","needed":"q=\"x\"\n","#
            + #""available":null},"#
            + #"{"code":"KVM_MISSING","message":"needs KVM, node has no /dev/kvm","needed":true,"available":false},"#
            + #"{"code":"BACKEND_MISSING","message":"needs one of the backends qemu, firecracker, node has none","#
            + #""needed":["qemu","firecracker"],"available":[]}]}]}"#
        #expect(text == expected)
    }

    @Test("control characters and non-ASCII survive a round trip")
    func escaping() throws {
        let odd = "tab\there\u{1}\u{1f} é 😀 \\ \" /"
        let explanation = Explanation(
            evaluatedAtMs: 0, rankedNodes: [],
            rejectedNodes: [
                RejectedNode(
                    nodeID: "n",
                    reasons: [Rejection(code: .labelMismatch, needed: .string(odd), available: .list([odd]))])
            ])
        let decoded = try JSONDecoder().decode(Explanation.self, from: Data(explanation.jsonBytes()))
        #expect(decoded == explanation)
    }

    @Test("a large varied explanation: the same document as JSONEncoder's, decoding to the same value")
    func sameAsEncoder() throws {
        var fleet = RandomFleet(seed: 3, nodes: 400)
        fleet.envelopes[5].labels["zone"] = "we\"ird\\zo\u{7}ne é"
        let view = fleet.build(order: Array(0..<400))
        for intent in [Build.vm(labels: ["zone": "z1"]), Build.process(), Build.vm(backend: .firecracker)] {
            let explanation = view.evaluate(intent, atMs: Build.now + 50_000)
            let fast = explanation.jsonBytes()
            let viaEncoder = try JSONEncoder().encode(explanation)
            let fastObject = try JSONSerialization.jsonObject(with: Data(fast)) as! NSDictionary
            let encoderObject = try JSONSerialization.jsonObject(with: viaEncoder) as! NSDictionary
            #expect(fastObject == encoderObject)
            #expect(try JSONDecoder().decode(Explanation.self, from: Data(fast)) == explanation)
        }
    }

    @Test("every rejection code is written with its wire name and derived message")
    func everyCode() throws {
        let reasons = RejectionCode.allCases.map { Rejection(code: $0, needed: .list(["x", "y"]), available: .int(3)) }
        let explanation = Explanation(
            evaluatedAtMs: 0, rankedNodes: [], rejectedNodes: [RejectedNode(nodeID: "n", reasons: reasons)])
        let object = try JSONSerialization.jsonObject(with: Data(explanation.jsonBytes())) as! [String: Any]
        let written = ((object["rejected_nodes"] as! [[String: Any]])[0]["reasons"] as! [[String: Any]])
        #expect(written.map { $0["code"] as! String } == RejectionCode.allCases.map(\.rawValue))
        #expect(written.map { $0["message"] as! String } == reasons.map(\.message))
    }
}
