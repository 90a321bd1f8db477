import BerthControlPlane
import BerthRaft
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension ProcessClusterTests {
    /// Spec §5–§6 on real processes: execute places through the leader and stores its
    /// explanation, agents see their actions through any node and report transitions, capacity
    /// is accounted, plans go stale, and a launch is placed once across a leader's death.
    @Suite("Launch API")
    struct LaunchAPI {
        static func execute(_ body: String, via base: String, key: String? = nil) async throws -> HTTPAnswer {
            try await HTTPCall.post(
                "\(base)/api/v1alpha1/launch/execute", json: body,
                headers: key.map { ["Idempotency-Key": $0] } ?? [:])
        }

        static func executeBody(_ extra: String = "") throws -> String {
            "{\"intent\":\(try Payments.intent())\(extra)}"
        }

        static func pushFleet(_ cluster: ServerCluster) async throws {
            let nowMs = Int64(Date().timeIntervalSince1970 * 1000)
            for envelope in try Payments.envelopes(newestAtMs: nowMs) {
                let answer = try await HTTPCall.post(
                    "\(cluster.url(cluster.ids[0]))/api/v1alpha1/intake/envelope", json: envelope)
                #expect(answer.status == 200, "\(answer)")
            }
        }

        @Test(
            "a launch's life: placed on arm-01 with its explanation, offered to its agent anywhere, reported to terminated"
        )
        func lifecycle() async throws {
            try await withServerCluster { cluster in
                let leader = try await cluster.waitForLeader()
                let follower = cluster.ids.first { $0 != leader.id }!
                let other = cluster.ids.first { $0 != leader.id && $0 != follower }!
                try await Self.pushFleet(cluster)
                let created = try await Self.execute(try Self.executeBody(), via: cluster.url(follower))
                #expect(created.status == 201, "\(created)")
                #expect(created.string("state") == "validated", "\(created)")
                #expect(created.string("node_id") == "arm-01", "\(created)")
                let id = try #require(created.string("launch_id"))
                for node in cluster.ids {
                    // Every server keeps the whole explanation the launch was placed with.
                    let shown = try await HTTPCall.get(
                        "\(cluster.url(node))/api/v1alpha1/launch/\(id)?consistent=true")
                    let placement = shown.object?["placement"] as? [String: Any]
                    #expect((placement?["rejected_nodes"] as? [Any])?.count == 3, "node \(node): \(shown)")
                    #expect((placement?["ranked_nodes"] as? [Any])?.count == 1, "node \(node): \(shown)")
                    #expect(shown.string("state") == "validated", "node \(node): \(shown)")
                }

                // The agent of arm-01 polls another node and finds its action.
                let actions = try await HTTPCall.get(
                    "\(cluster.url(other))/api/v1alpha1/agents/arm-01/actions?wait=5", timeoutSeconds: 10)
                let listed = actions.object?["actions"] as? [[String: Any]]
                #expect(listed?.first?["launch_id"] as? String == id, "\(actions)")
                #expect(listed?.first?["type"] as? String == "launch", "\(actions)")
                #expect((listed?.first?["spec"] as? [String: Any])?["accel"] as? String == "kvm", "\(actions)")

                // An agent that already holds it says so: the poll then waits for something new
                // (here until `wait` passes) and still lists every offered action.
                let started = ContinuousClock.now
                let heldPoll = try await HTTPCall.get(
                    "\(cluster.url(follower))/api/v1alpha1/agents/arm-01/actions?wait=1&held=launch:\(id)",
                    timeoutSeconds: 10)
                #expect(ContinuousClock.now - started >= .milliseconds(900), "answered before wait: \(heldPoll)")
                let stillListed = heldPoll.object?["actions"] as? [[String: Any]]
                #expect(stillListed?.first?["launch_id"] as? String == id, "\(heldPoll)")

                func report(_ state: String, node: String = "arm-01", via: NodeID, extra: String = "") async throws
                    -> HTTPAnswer
                {
                    try await HTTPCall.post(
                        "\(cluster.url(via))/api/v1alpha1/launch/\(id)/transitions",
                        json: "{\"node_id\":\"\(node)\",\"state\":\"\(state)\"\(extra)}")
                }
                for state in ["preparing", "starting", "running"] {
                    let moved = try await report(state, via: follower)
                    #expect(moved.status == 200 && moved.string("state") == state, "\(moved)")
                }
                let twice = try await report("running", via: other)
                #expect(twice.status == 200, "re-acknowledging changes nothing: \(twice)")
                #expect((twice.object?["trace"] as? [Any])?.count == 5, "\(twice)")
                let wrongNode = try await report("terminated", node: "x86-02", via: leader.id)
                #expect(wrongNode.status == 409 && wrongNode.errorCode == "LAUNCH_NOT_ON_NODE", "\(wrongNode)")
                let backwards = try await report("preparing", via: leader.id)
                #expect(backwards.status == 409 && backwards.errorCode == "ILLEGAL_TRANSITION", "\(backwards)")
                let reasonless = try await report("failed", via: leader.id)
                #expect(reasonless.status == 400 && reasonless.errorCode == "FAILURE_REASON_REQUIRED", "\(reasonless)")

                let used = try await HTTPCall.get(
                    "\(cluster.url(other))/api/v1alpha1/nodes/arm-01/explain?consistent=true")
                #expect((used.object?["cpus"] as? [String: Any])?["used"] as? Int == 4, "\(used)")

                let terminate = try await HTTPCall.post(
                    "\(cluster.url(follower))/api/v1alpha1/launch/\(id)/terminate", json: "")
                #expect(terminate.status == 200 && terminate.string("state") == "terminating", "\(terminate)")
                let stop = try await HTTPCall.get("\(cluster.url(leader.id))/api/v1alpha1/agents/arm-01/actions")
                #expect(
                    (stop.object?["actions"] as? [[String: Any]])?.first?["type"] as? String == "terminate", "\(stop)")
                let done = try await report("terminated", via: other)
                #expect(done.string("state") == "terminated", "\(done)")

                for id in cluster.ids {
                    let freed = try await HTTPCall.get(
                        "\(cluster.url(id))/api/v1alpha1/nodes/arm-01/explain?consistent=true")
                    #expect((freed.object?["cpus"] as? [String: Any])?["used"] as? Int == 0, "node \(id): \(freed)")
                    let shown = try await HTTPCall.get(
                        "\(cluster.url(id))/api/v1alpha1/launch/\(created.string("launch_id")!)")
                    #expect(shown.string("state") == "terminated", "node \(id): \(shown)")
                    #expect((shown.object?["trace"] as? [Any])?.count == 7, "node \(id): \(shown)")
                }
            }
        }

        @Test("capacity is accounted: two placements never overcommit; a full fleet says why, or waits")
        func capacity() async throws {
            try await withServerCluster { cluster in
                _ = try await cluster.waitForLeader()
                try await Self.pushFleet(cluster)
                // arm-01 has 30 vCPUs and 61,440 MiB allocatable: seven 4-vCPU, 8-GiB launches fit.
                try await withThrowingTaskGroup(of: HTTPAnswer.self) { group in
                    for n in 0..<7 {
                        let via = cluster.url(cluster.ids[n % cluster.ids.count])
                        group.addTask { try await Self.execute(try Self.executeBody(), via: via) }
                    }
                    for try await answer in group { #expect(answer.status == 201, "\(answer)") }
                }
                let full = try await Self.execute(try Self.executeBody(), via: cluster.url(cluster.ids[1]))
                #expect(full.status == 422 && full.errorCode == "NO_ELIGIBLE_NODE", "\(full)")
                let details = (full.object?["error"] as? [String: Any])?["details"] as? [String: Any]
                let explanation = details?["explanation"] as? [String: Any]
                let armOne =
                    (explanation?["rejected_nodes"] as? [[String: Any]])?
                    .first { $0["node_id"] as? String == "arm-01" }?["reasons"] as? [[String: Any]]
                #expect(
                    Set(armOne?.compactMap { $0["code"] as? String } ?? []).isSubset(of: [
                        "INSUFFICIENT_CPU", "INSUFFICIENT_MEMORY",
                    ]) && armOne?.isEmpty == false, "\(full)")

                let waiting = try await Self.execute(
                    try Self.executeBody(",\"wait_for_capacity\":true"), via: cluster.url(cluster.ids[2]))
                #expect(waiting.status == 201 && waiting.string("state") == "pending", "\(waiting)")
                let shown = try await HTTPCall.get(
                    "\(cluster.url(cluster.ids[0]))/api/v1alpha1/launch/\(waiting.string("launch_id")!)?consistent=true"
                )
                #expect(shown.object?["why_pending"] is [String: Any], "\(shown)")
                let pendingList = try await HTTPCall.get(
                    "\(cluster.url(cluster.ids[0]))/api/v1alpha1/launches?state=pending")
                #expect(pendingList.array?.count == 1, "\(pendingList)")
                let placed = try await HTTPCall.get(
                    "\(cluster.url(cluster.ids[0]))/api/v1alpha1/launches?node=arm-01&page_size=5")
                #expect(placed.array?.count == 5 && placed.header("X-Next-Page-Token") != nil, "\(placed)")

                // One launch ends: the waiting one is placed on the capacity it frees.
                let victim = try #require(placed.array?.first?["launch_id"] as? String)
                let stop = try await HTTPCall.post(
                    "\(cluster.url(cluster.ids[1]))/api/v1alpha1/launch/\(victim)/terminate", json: "")
                #expect(stop.status == 200, "\(stop)")
                let gone = try await HTTPCall.post(
                    "\(cluster.url(cluster.ids[1]))/api/v1alpha1/launch/\(victim)/transitions",
                    json: #"{"node_id":"arm-01","state":"failed","reason":{"code":"KILLED","signal":9}}"#)
                #expect(gone.string("state") == "failed", "\(gone)")
                let waitingID = try #require(waiting.string("launch_id"))
                _ = try await eventually("the waiting launch to be placed", within: 10) { () -> Bool? in
                    let now = try await HTTPCall.get("\(cluster.url(cluster.ids[2]))/api/v1alpha1/launch/\(waitingID)")
                    guard now.string("state") == "validated" else { throw Observation("\(now.string("state") ?? "?")") }
                    #expect(now.string("node_id") == "arm-01", "\(now)")
                    return true
                }
            }
        }

        @Test("plan == run: an execute with a plan's state_index is refused once node truth changed")
        func stalePlan() async throws {
            try await withServerCluster { cluster in
                _ = try await cluster.waitForLeader()
                try await Self.pushFleet(cluster)
                let base = cluster.url(cluster.ids[1])
                let plan = try await HTTPCall.post(
                    "\(base)/api/v1alpha1/plan/launch?consistent=true",
                    json: "{\"intent\":\(try Payments.intent()),\"dry_run\":true}")
                #expect(plan.status == 200 && plan.string("node_id") == "arm-01", "\(plan)")
                let preparation = plan.object?["preparation"] as? [String: Any]
                let action = (preparation?["actions"] as? [[String: Any]])?.first
                #expect(action?["type"] as? String == "PrepareOnNode" && action?["node_id"] as? String == "arm-01")
                #expect((plan.object?["spec"] as? [String: Any])?["node_id"] as? String == "arm-01", "\(plan)")
                let index = try #require(plan.integer("state_index"))

                // A fresh plan executes.
                let ok = try await Self.execute(
                    try Self.executeBody(",\"node_id\":\"arm-01\",\"expect_state_index\":\(index)"), via: base)
                #expect(ok.status == 201, "\(ok)")
                // The fleet changes: the same plan is refused, with the explanation as it is now.
                let nowMs = Int64(Date().timeIntervalSince1970 * 1000)
                let envelopes = try Payments.envelopes(newestAtMs: nowMs).map {
                    $0.replacingOccurrences(of: "\"sequence\":", with: "\"sequence\":1")
                }
                let pushed = try await HTTPCall.post("\(base)/api/v1alpha1/intake/envelope", json: envelopes[1])
                #expect(pushed.status == 200, "\(pushed)")
                let stale = try await Self.execute(
                    try Self.executeBody(",\"node_id\":\"arm-01\",\"expect_state_index\":\(index)"), via: base)
                #expect(stale.status == 409 && stale.errorCode == "PLAN_STALE", "\(stale)")
                let details = (stale.object?["error"] as? [String: Any])?["details"] as? [String: Any]
                #expect(details?["explanation"] is [String: Any], "\(stale)")
            }
        }

        @Test("an execute sent through a follower while the leader is killed is placed exactly once")
        func onceAcrossFailover() async throws {
            try await withServerCluster { cluster in
                let leader = try await cluster.waitForLeader()
                let follower = cluster.ids.first { $0 != leader.id }!
                try await Self.pushFleet(cluster)
                let body = try Self.executeBody()
                async let first = Self.execute(body, via: cluster.url(follower), key: "pay-once")
                try await Task.sleep(for: .milliseconds(2))
                await cluster.stop(leader.id)
                var answers = [try? await first]
                var placedID = answers.last??.status == 201 ? answers.last??.string("launch_id") : nil
                let deadline = Date().addingTimeInterval(20)
                while placedID == nil, Date() < deadline {
                    // The client retries with the same key until it gets an answer.
                    let retry = try? await Self.execute(body, via: cluster.url(follower), key: "pay-once")
                    answers.append(retry)
                    if retry?.status == 201 { placedID = retry?.string("launch_id") }
                    try await Task.sleep(for: .milliseconds(100))
                }
                let id = try #require(placedID, "answers: \(answers.map { $0?.description ?? "none" })")
                try await cluster.start(leader.id)
                _ = try await cluster.waitForLeader()
                for node in cluster.ids {
                    let all = try await HTTPCall.get("\(cluster.url(node))/api/v1alpha1/launches?consistent=true")
                    let ids = all.array?.compactMap { $0["launch_id"] as? String }
                    #expect(ids == [id], "node \(node): \(all)")
                    // Not acknowledged by its agent yet: every server, the new leader included,
                    // still offers the action.
                    let actions = try await HTTPCall.get("\(cluster.url(node))/api/v1alpha1/agents/arm-01/actions")
                    let offered = (actions.object?["actions"] as? [[String: Any]])?.compactMap {
                        $0["launch_id"] as? String
                    }
                    #expect(offered == [id], "node \(node): \(actions)")
                }
            }
        }

        @Test("bad input on every launch endpoint gets a typed 4xx and the node stays up")
        func badInput() async throws {
            try await withServerCluster { cluster in
                let leader = try await cluster.waitForLeader()
                let base = cluster.url(cluster.ids.first { $0 != leader.id }!)
                let cases: [(String, String, String, Int, String)] = [
                    ("POST", "/api/v1alpha1/launch/execute", "{}", 400, "INVALID_ARGUMENT"),
                    ("POST", "/api/v1alpha1/launch/execute", "{\"intent\":{},\"surprise\":1}", 400, "INVALID_ARGUMENT"),
                    ("POST", "/api/v1alpha1/launch/execute", "{\"intent\":{\"name\":\"x\"}}", 400, "INVALID_ARGUMENT"),
                    ("POST", "/api/v1alpha1/launch/execute", "[1", 400, "INVALID_ARGUMENT"),
                    ("POST", "/api/v1alpha1/plan/launch", "{\"intent\":3}", 400, "INVALID_ARGUMENT"),
                    ("GET", "/api/v1alpha1/launch/nope", "", 404, "LAUNCH_NOT_FOUND"),
                    ("GET", "/api/v1alpha1/launches?state=sleeping", "", 400, "INVALID_ARGUMENT"),
                    ("POST", "/api/v1alpha1/launch/nope/terminate", "", 404, "LAUNCH_NOT_FOUND"),
                    (
                        "POST", "/api/v1alpha1/launch/nope/transitions", "{\"node_id\":\"a\",\"state\":\"running\"}",
                        404, "LAUNCH_NOT_FOUND"
                    ),
                    (
                        "POST", "/api/v1alpha1/launch/nope/transitions", "{\"node_id\":\"a\",\"state\":\"asleep\"}",
                        400, "INVALID_ARGUMENT"
                    ),
                    (
                        "POST", "/api/v1alpha1/launch/nope/transitions",
                        "{\"node_id\":\"a\",\"state\":\"failed\",\"reason\":{\"code\":\"??\"}}", 400, "INVALID_ARGUMENT"
                    ),
                    ("GET", "/api/v1alpha1/agents/a/actions?wait=99", "", 400, "INVALID_ARGUMENT"),
                    (
                        "GET", "/api/v1alpha1/agents/a/actions?held=" + String(repeating: "launch:x,", count: 1100),
                        "", 400, "INVALID_ARGUMENT"
                    ),
                ]
                for (method, path, body, status, code) in cases {
                    let answer = try await HTTPCall.send(method, "\(base)\(path)", json: body.isEmpty ? nil : body)
                    #expect(answer.status == status, "\(method) \(path) \(body): \(answer)")
                    #expect(answer.errorCode == code, "\(method) \(path): \(answer)")
                    #expect(answer.isErrorShape, "\(method) \(path): \(answer)")
                }
                for id in cluster.ids {
                    let live = try await HTTPCall.get("\(cluster.url(id))/health/live")
                    #expect(live.status == 200, "node \(id) is still up")
                }
            }
        }
    }
}
