import BerthControlPlane
import BerthRaft
import BerthStorage
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension ProcessClusterTests {
    /// Spec §5 on real processes: node truth replicated through Raft, explain and select equal on
    /// every node and across a leader's death, cordons, and typed 4xx for every bad input.
    @Suite("Placement API")
    struct PlacementAPI {
        @Test("the payments scenario: arm-01 selected, the others rejected with evidence, equal on every node")
        func payments() async throws {
            try await withServerCluster { cluster in
                let leader = try await cluster.waitForLeader()
                let nowMs = Int64(Date().timeIntervalSince1970 * 1000)
                // Each envelope goes to another node: followers forward them.
                for (n, envelope) in try Payments.envelopes(newestAtMs: nowMs).enumerated() {
                    let via = cluster.ids[n % cluster.ids.count]
                    let answer = try await HTTPCall.post(
                        "\(cluster.url(via))/api/v1alpha1/intake/envelope", json: envelope)
                    #expect(answer.status == 200, "node \(via): \(answer)")
                    #expect(answer.object?["accepted"] as? Bool == true, "\(answer)")
                }
                let at = RFC3339.string(fromMilliseconds: nowMs + 1000)
                var answers: [NodeID: String] = [:]
                for id in cluster.ids {
                    let answer = try await HTTPCall.post(
                        "\(cluster.url(id))/api/v1alpha1/schedule/explain?consistent=true&at=\(at)",
                        json: try Payments.intent())
                    #expect(answer.status == 200, "node \(id): \(answer)")
                    try Payments.expectScenario(answer, node: id)
                    answers[id] = answer.body
                    let select = try await HTTPCall.post(
                        "\(cluster.url(id))/api/v1alpha1/schedule/select?consistent=true&at=\(at)",
                        json: try Payments.intent())
                    #expect(select.string("node_id") == "arm-01", "node \(id): \(select)")
                }
                #expect(Set(answers.values).count == 1, "every node gives the same explanation: \(answers)")

                // The summary: arm-01 first, one node rejected for each of the three reasons.
                let summary = try await HTTPCall.post(
                    "\(cluster.url(cluster.ids[2]))/api/v1alpha1/schedule/explain?summary=true&top=1&at=\(at)",
                    json: try Payments.intent())
                #expect(summary.string("selected_node_id") == "arm-01", "\(summary)")
                #expect(summary.integer("ranked_count") == 1 && summary.integer("rejected_count") == 3, "\(summary)")
                #expect(
                    summary.object?["rejected_by_code"] as? [String: Int]
                        == ["KVM_MISSING": 1, "TELEMETRY_STALE": 1, "INSUFFICIENT_MEMORY": 1], "\(summary)")
                #expect((summary.object?["ranked_nodes"] as? [Any])?.count == 1, "\(summary)")

                // "Why not this node", for one node.
                let whyNot = try await HTTPCall.post(
                    "\(cluster.url(cluster.ids[1]))/api/v1alpha1/schedule/explain?node=arm-02&at=\(at)",
                    json: try Payments.intent())
                #expect(Payments.codes(whyNot, node: "arm-02") == ["KVM_MISSING"], "\(whyNot)")
                #expect((whyNot.object?["ranked_nodes"] as? [Any])?.isEmpty == true, "\(whyNot)")

                // The leader dies: the new leader (and every survivor) gives the same answer.
                await cluster.stop(leader.id)
                let next = try await cluster.waitForLeader(
                    among: cluster.ids.filter { $0 != leader.id }, excluding: leader.id)
                for id in cluster.ids where id != leader.id {
                    let answer = try await HTTPCall.post(
                        "\(cluster.url(id))/api/v1alpha1/schedule/explain?consistent=true&at=\(at)",
                        json: try Payments.intent())
                    #expect(answer.status == 200, "node \(id) under leader \(next.id): \(answer)")
                    #expect(
                        Payments.withoutStateIndex(answer.body) == Payments.withoutStateIndex(answers[leader.id]!),
                        "node \(id) after the failover: \(answer)")
                }
            }
        }

        @Test("sequence, cordon and node views: older envelopes refused, cordoned nodes rejected with evidence")
        func truthAndCordons() async throws {
            try await withServerCluster { cluster in
                let leader = try await cluster.waitForLeader()
                let follower = cluster.ids.first { $0 != leader.id }!
                let nowMs = Int64(Date().timeIntervalSince1970 * 1000)
                for envelope in try Payments.envelopes(newestAtMs: nowMs) {
                    let answer = try await HTTPCall.post(
                        "\(cluster.url(follower))/api/v1alpha1/intake/envelope", json: envelope)
                    #expect(answer.status == 200, "\(answer)")
                }
                let armOne = try Payments.envelopes(newestAtMs: nowMs).first { $0.contains("\"arm-01\"") }!
                // The same sequence again: 409, nothing changes.
                let again = try await HTTPCall.post(
                    "\(cluster.url(follower))/api/v1alpha1/intake/envelope", json: armOne)
                #expect(again.status == 409, "\(again)")
                #expect(again.errorCode == "STALE_SEQUENCE", "\(again)")
                #expect(again.isErrorShape, "\(again)")
                // Evidence in the details is plain text: the sequence needed and the one stored.
                let staleDetails = (again.object?["error"] as? [String: Any])?["details"] as? [String: String]
                #expect(staleDetails?["needed"].flatMap { Int($0) } != nil, "\(again)")
                #expect(staleDetails?["available"] == staleDetails?["stored_sequence"], "\(again)")

                let base = cluster.url(follower)
                let nodes = try await HTTPCall.get("\(base)/api/v1alpha1/nodes?consistent=true")
                #expect(nodes.status == 200, "\(nodes)")
                let listed = (nodes.object?["nodes"] as? [[String: Any]])?.compactMap { $0["node_id"] as? String }
                #expect(listed == ["arm-01", "arm-02", "edge-01", "x86-02"], "\(nodes)")
                #expect(nodes.integer("state_index") ?? 0 > 0, "\(nodes)")

                let explain = try await HTTPCall.get("\(base)/api/v1alpha1/nodes/arm-02/explain")
                #expect(explain.status == 200, "\(explain)")
                let capabilities = explain.object?["capabilities"] as? [String: Any]
                #expect(capabilities?["can_run_kvm"] as? Bool == false, "\(explain)")
                #expect(explain.string("arch") == "aarch64", "\(explain)")

                // Cordon the only fitting node: nothing fits, and the answer says why.
                let cordon = try await HTTPCall.post("\(base)/api/v1alpha1/nodes/arm-01/cordon", json: "{}")
                #expect(cordon.status == 200, "\(cordon)")
                #expect(cordon.object?["cordoned"] as? Bool == true, "\(cordon)")
                let at = RFC3339.string(fromMilliseconds: nowMs + 1000)
                let none = try await HTTPCall.post(
                    "\(base)/api/v1alpha1/schedule/select?consistent=true&at=\(at)", json: try Payments.intent())
                #expect(none.status == 422, "\(none)")
                #expect(none.errorCode == "NO_ELIGIBLE_NODE", "\(none)")
                let details = (none.object?["error"] as? [String: Any])?["details"] as? [String: Any]
                let explanation = details?["explanation"] as? [String: Any]
                let armOneReasons =
                    (explanation?["rejected_nodes"] as? [[String: Any]])?
                    .first { $0["node_id"] as? String == "arm-01" }?["reasons"] as? [[String: Any]]
                #expect(armOneReasons?.compactMap { $0["code"] as? String } == ["NODE_CORDONED"], "\(none)")

                let uncordon = try await HTTPCall.post("\(base)/api/v1alpha1/nodes/arm-01/uncordon", json: "")
                #expect(uncordon.status == 200, "\(uncordon)")
                let back = try await HTTPCall.post(
                    "\(base)/api/v1alpha1/schedule/select?consistent=true&at=\(at)", json: try Payments.intent())
                #expect(back.string("node_id") == "arm-01", "\(back)")
            }
        }

        @Test("bad input on every placement endpoint gets a typed 4xx and the node stays up")
        func badInput() async throws {
            try await withServerCluster { cluster in
                let leader = try await cluster.waitForLeader()
                let follower = cluster.ids.first { $0 != leader.id }!
                for id in [leader.id, follower] {
                    let base = cluster.url(id)
                    let cases: [(String, String, String, Int, String)] = [
                        ("POST", "/api/v1alpha1/intake/envelope", "{", 400, "INVALID_ARGUMENT"),
                        ("POST", "/api/v1alpha1/intake/envelope", "[]", 400, "INVALID_ARGUMENT"),
                        (
                            "POST", "/api/v1alpha1/intake/envelope",
                            #"{"node_id":"x","sequence":-1,"arch":"sparc","cpus":{"total":2,"allocatable":9}}"#,
                            400, "INVALID_ARGUMENT"
                        ),
                        ("POST", "/api/v1alpha1/schedule/explain", #"{"name":""}"#, 400, "INVALID_ARGUMENT"),
                        ("POST", "/api/v1alpha1/schedule/select", "null", 400, "INVALID_ARGUMENT"),
                        (
                            "POST", "/api/v1alpha1/schedule/explain?at=yesterday", try Payments.intent(), 400,
                            "INVALID_ARGUMENT"
                        ),
                        (
                            "POST", "/api/v1alpha1/schedule/explain?summary=yes", try Payments.intent(), 400,
                            "INVALID_ARGUMENT"
                        ),
                        (
                            "POST", "/api/v1alpha1/schedule/explain?summary=true&top=5000", try Payments.intent(),
                            400, "INVALID_ARGUMENT"
                        ),
                        ("GET", "/api/v1alpha1/nodes/nope/explain", "", 404, "NODE_NOT_FOUND"),
                        ("POST", "/api/v1alpha1/nodes/nope/cordon", "{}", 404, "NODE_NOT_FOUND"),
                        ("POST", "/api/v1alpha1/nodes/nope/cordon", "{\"draining\":3}", 400, "INVALID_ARGUMENT"),
                    ]
                    for (method, path, body, status, code) in cases {
                        let answer = try await HTTPCall.send(
                            method, "\(base)\(path)", json: body.isEmpty ? nil : body)
                        #expect(answer.status == status, "node \(id) \(method) \(path) \(body): \(answer)")
                        #expect(answer.errorCode == code, "node \(id) \(method) \(path): \(answer)")
                        #expect(answer.isErrorShape, "node \(id) \(method) \(path): \(answer)")
                    }
                    // Every problem at once, each with its field.
                    let many = try await HTTPCall.post(
                        "\(base)/api/v1alpha1/intake/envelope",
                        json: #"{"node_id":"x","sequence":-1,"arch":"sparc","cpus":{"total":2,"allocatable":9}}"#)
                    let problems =
                        ((many.object?["error"] as? [String: Any])?["details"] as? [String: Any])?[
                            "problems"] as? [[String: Any]]
                    let fields = Set(problems?.compactMap { $0["field"] as? String } ?? [])
                    #expect(fields.isSuperset(of: ["sequence", "arch", "cpus.allocatable"]), "\(many)")

                    let huge = try await HTTPCall.post(
                        "\(base)/api/v1alpha1/intake/envelope",
                        json: "{\"pad\":\"" + String(repeating: "x", count: 300 << 10) + "\"}")
                    #expect(huge.status == 413, "node \(id): \(huge)")
                }
                for id in cluster.ids {
                    let live = try await HTTPCall.get("\(cluster.url(id))/health/live")
                    #expect(live.status == 200, "node \(id) is still up")
                }
            }
        }
    }
}

/// The Schedune README's fleet (`fixtures/payments`).
enum Payments {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fixtures/payments")

    /// The four envelopes as JSON, shifted so the newest was observed at `newestAtMs` (x86-02
    /// stays ten minutes older than the rest).
    static func envelopes(newestAtMs: Int64) throws -> [String] {
        let parsed = try ["arm-01", "arm-02", "x86-02", "edge-01"].map { name in
            let bytes = try Data(contentsOf: directory.appendingPathComponent("\(name).json"))
            return try SchedulerEnvelope.parse(json: Array(bytes))
        }
        return SchedulerEnvelope.rebased(parsed, newestObservedAtMs: newestAtMs).map {
            String(decoding: StateCommand.canonicalJSON($0), as: UTF8.self)
        }
    }

    static func intent() throws -> String {
        try String(contentsOf: directory.appendingPathComponent("intent.json"), encoding: .utf8)
    }

    /// The rejection codes `answer` gives `node`.
    static func codes(_ answer: HTTPAnswer, node: String) -> [String]? {
        let rejected = answer.object?["rejected_nodes"] as? [[String: Any]]
        let reasons = rejected?.first { $0["node_id"] as? String == node }?["reasons"] as? [[String: Any]]
        return reasons?.compactMap { $0["code"] as? String }
    }

    static func expectScenario(_ answer: HTTPAnswer, node: NodeID) throws {
        let ranked = (answer.object?["ranked_nodes"] as? [[String: Any]])?.compactMap { $0["node_id"] as? String }
        #expect(ranked == ["arm-01"], "node \(node): \(answer)")
        #expect(codes(answer, node: "arm-02") == ["KVM_MISSING"], "node \(node): \(answer)")
        #expect(codes(answer, node: "x86-02") == ["TELEMETRY_STALE"], "node \(node): \(answer)")
        #expect(codes(answer, node: "edge-01") == ["INSUFFICIENT_MEMORY"], "node \(node): \(answer)")
        let edge =
            (answer.object?["rejected_nodes"] as? [[String: Any]])?
            .first { $0["node_id"] as? String == "edge-01" }?["reasons"] as? [[String: Any]]
        #expect(edge?.first?["needed"] != nil && edge?.first?["available"] != nil, "evidence: \(answer)")
        #expect(answer.integer("state_index") ?? 0 > 0, "node \(node): \(answer)")
    }

    /// The body without its `state_index` (a later entry, such as a new leader's, moves it).
    static func withoutStateIndex(_ body: String) -> String {
        guard var object = (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] else {
            return body
        }
        object["state_index"] = nil
        let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return data.map { String(decoding: $0, as: UTF8.self) } ?? body
    }
}
