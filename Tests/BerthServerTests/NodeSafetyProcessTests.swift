import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension ProcessClusterTests {
    /// Issue 10's safety half on real processes: a silent agent's node and launches become lost
    /// and the reschedulable launch runs elsewhere; the agent, back, stops what was replaced; a
    /// drain moves a launch; orphans are reported and killed only on a sweep.
    @Suite("Lost nodes, drains and orphans")
    struct NodeSafety {
        typealias RunningAgent = AgentLaunches.RunningAgent

        static func directory() throws -> String {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent(
                "berth-safety-test-\(UUID().uuidString)"
            ).path
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            return path
        }

        /// A process launch, placed on `nodeID`, that sleeps; `reschedule` sets `on_node_lost`.
        static func sleeper(_ name: String, on nodeID: String, reschedule: Bool) -> String {
            """
            {"node_id": "\(nodeID)", "intent": {"name": "\(name)", "arch": "any", "vcpus": 1, "memory_mib": 16,
              "backend": "process", "labels": {"role": "agent-test"}, "command": ["/bin/sleep", "120"]\
            \(reschedule ? #", "on_node_lost": "reschedule""# : "")}}
            """
        }

        static func waitRegistered(_ nodeIDs: [String], via base: String) async throws {
            for nodeID in nodeIDs {
                _ = try await eventually("\(nodeID) to register", within: 20) { () -> Bool? in
                    try await HTTPCall.get("\(base)/api/v1alpha1/nodes/\(nodeID)").status == 200 ? true : nil
                }
            }
        }

        static func launch(_ id: String, via base: String) async throws -> HTTPAnswer {
            try await HTTPCall.get("\(base)/api/v1alpha1/launch/\(id)?consistent=true")
        }

        static func node(_ id: String, via base: String) async throws -> HTTPAnswer {
            try await HTTPCall.get("\(base)/api/v1alpha1/nodes/\(id)?consistent=true")
        }

        @Test(
            "a silent agent's node and launches become lost, the reschedulable one runs on the other agent, and the agent, resumed, stops what it ran"
        )
        func lostNodeReschedules() async throws {
            let directory = try Self.directory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            try await withServerCluster(extraArguments: ["--node-lost-after", "3"]) { cluster in
                let leader = try await cluster.waitForLeader()
                let base = cluster.url(leader.id)
                let servers = cluster.ids.map { cluster.url($0) }
                let fast = ["--envelope-interval", "1", "--poll-wait", "2"]
                let first = try RunningAgent(servers: servers, nodeID: "agent-1", directory: directory, extra: fast)
                defer { first.stop() }
                let second = try RunningAgent(servers: servers, nodeID: "agent-2", directory: directory, extra: fast)
                defer {
                    kill(second.process.processIdentifier, SIGCONT)
                    second.stop()
                }
                do {
                    try await Self.waitRegistered(["agent-1", "agent-2"], via: base)
                    let moving = try await HTTPCall.post(
                        "\(base)/api/v1alpha1/launch/execute",
                        json: Self.sleeper("mover", on: "agent-2", reschedule: true))
                    let movingID = try #require(moving.string("launch_id"), "\(moving)")
                    let staying = try await HTTPCall.post(
                        "\(base)/api/v1alpha1/launch/execute",
                        json: Self.sleeper("stayer", on: "agent-2", reschedule: false))
                    let stayingID = try #require(staying.string("launch_id"), "\(staying)")
                    for id in [movingID, stayingID] {
                        _ = try await AgentLaunches.waitForState(id, ["running"], via: base)
                    }
                    let movingPID = try #require(second.recordedProcess(movingID))
                    let stayingPID = try #require(second.recordedProcess(stayingID))

                    // The agent goes silent.
                    kill(second.process.processIdentifier, SIGSTOP)
                    let silentAt = Date()
                    let lost = try await eventually("agent-2 to be lost", within: 15) { () -> HTTPAnswer? in
                        let answer = try await Self.node("agent-2", via: base)
                        return answer.object?["lost"] as? Bool == true ? answer : nil
                    }
                    let lostAfter = Date().timeIntervalSince(silentAt)
                    // Its last envelope or poll came up to a second or two before the stop.
                    #expect(lostAfter >= 0.5, "declared lost too early: \(lostAfter) s")
                    #expect((lost.object?["usage"] as? [String: Any])?["active_launches"] as? Int == 0, "\(lost)")
                    let listed = try await BerthCLI.run(["nodes", "list", "--servers", base])
                    #expect(
                        listed.lines.contains { $0.hasPrefix("agent-2") && $0.contains("LOST") }, "\(listed)")
                    let lostMover = try await AgentLaunches.waitForState(movingID, ["lost"], via: base)
                    let failure = lostMover.object?["failure"] as? [String: Any]
                    #expect(failure?["code"] as? String == "NODE_LOST", "\(lostMover)")
                    #expect(AgentLaunches.traceStates(lostMover).contains("lost"))
                    let replacementID = try #require(lostMover.string("replaced_by"), "\(lostMover)")
                    let lostStayer = try await AgentLaunches.waitForState(stayingID, ["lost"], via: base)
                    #expect(lostStayer.object?["replaced_by"] == nil, "\(lostStayer)")

                    // The replacement is placed on the agent that still reports, with an
                    // explanation of its own, and runs there.
                    let replacement = try await AgentLaunches.waitForState(replacementID, ["running"], via: base)
                    let replacedAfter = Date().timeIntervalSince(silentAt)
                    #expect(replacement.string("node_id") == "agent-1", "\(replacement)")
                    #expect(replacement.string("replaces") == movingID)
                    let ranked =
                        (replacement.object?["placement"] as? [String: Any])?["ranked_nodes"] as? [[String: Any]]
                    #expect(ranked?.first?["node_id"] as? String == "agent-1", "\(replacement)")
                    #expect(
                        RunningAgent.isAlive(movingPID.pid, startTime: movingPID.startTime), "still running, unseen")

                    // The agent comes back: the node is no longer lost, and it stops both
                    // workloads the control plane gave up.
                    kill(second.process.processIdentifier, SIGCONT)
                    let resumedAt = Date()
                    _ = try await eventually("agent-2 to stop its given-up workloads", within: 20) { () -> Bool? in
                        let gone =
                            !RunningAgent.isAlive(movingPID.pid, startTime: movingPID.startTime)
                            && !RunningAgent.isAlive(stayingPID.pid, startTime: stayingPID.startTime)
                        return gone ? true : nil
                    }
                    let stoppedAfter = Date().timeIntervalSince(resumedAt)
                    print(
                        "lost node (--node-lost-after 3): declared lost \(lostAfter) s after SIGSTOP, replacement "
                            + "running \(replacedAfter) s after it; workloads stopped \(stoppedAfter) s after SIGCONT")
                    let back = try await Self.node("agent-2", via: base)
                    #expect(back.object?["lost"] as? Bool == false, "\(back)")
                    let confirmed = try await eventually("the stop to be recorded", within: 10) { () -> HTTPAnswer? in
                        let answer = try await Self.launch(movingID, via: base)
                        return answer.object?["stopped_on_node_at_ms"] != nil ? answer : nil
                    }
                    #expect(confirmed.string("state") == "lost", "\(confirmed)")
                    let stillRunning = try await Self.launch(replacementID, via: base)
                    #expect(stillRunning.string("state") == "running", "\(stillRunning)")
                    let healthy = try await Self.node("agent-1", via: base)
                    #expect(
                        healthy.object?["lost"] as? Bool == false, "a reporting agent was declared lost: \(healthy)")
                } catch {
                    throw Observation(
                        "\(error)\nagent-1 log:\n\(first.log.suffix(3000))\nagent-2 log:\n\(second.log.suffix(3000))")
                }
            }
        }

        @Test(
            "after the whole cluster was down longer than --node-lost-after, the new leader gives the agent time to be heard before declaring it lost"
        )
        func graceAfterLeaderChange() async throws {
            let directory = try Self.directory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            try await withServerCluster(extraArguments: ["--node-lost-after", "6"]) { cluster in
                let leader = try await cluster.waitForLeader()
                let base = cluster.url(leader.id)
                let agent = try RunningAgent(
                    servers: cluster.ids.map { cluster.url($0) }, nodeID: "agent-1", directory: directory,
                    extra: ["--envelope-interval", "1", "--poll-wait", "2"])
                defer { agent.stop() }
                do {
                    try await Self.waitRegistered(["agent-1"], via: base)
                    let created = try await HTTPCall.post(
                        "\(base)/api/v1alpha1/launch/execute",
                        json: Self.sleeper("survivor", on: "agent-1", reschedule: false))
                    let id = try #require(created.string("launch_id"), "\(created)")
                    _ = try await AgentLaunches.waitForState(id, ["running"], via: base)
                    for id in cluster.ids { _ = await cluster.stop(id) }
                    // Longer than --node-lost-after: the replicated received_at is stale when
                    // the cluster comes back.
                    try await Task.sleep(for: .seconds(7))
                    for id in cluster.ids { try await cluster.start(id) }
                    let newLeader = try await cluster.waitForLeader()
                    let watchedFrom = Date()
                    var seen = 0
                    while Date().timeIntervalSince(watchedFrom) < 8 {
                        let answer = try await Self.node("agent-1", via: cluster.url(newLeader.id))
                        #expect(answer.object?["lost"] as? Bool == false, "declared lost after a restart: \(answer)")
                        if answer.object?["lost"] as? Bool == false { seen += 1 }
                        try await Task.sleep(for: .milliseconds(250))
                    }
                    #expect(seen > 10)
                    // Declared lost even for a moment, the launch would have ended lost for good.
                    let survivor = try await Self.launch(id, via: cluster.url(newLeader.id))
                    #expect(survivor.string("state") == "running", "\(survivor)")
                } catch {
                    throw Observation("\(error)\nagent log:\n\(agent.log.suffix(3000))")
                }
            }
        }

        @Test(
            "a drain moves a reschedulable launch to another node (replacement first), reports its progress, and can be cancelled"
        )
        func drainMovesLaunch() async throws {
            let directory = try Self.directory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            try await withServerCluster { cluster in
                let leader = try await cluster.waitForLeader()
                let base = cluster.url(leader.id)
                let servers = cluster.ids.map { cluster.url($0) }
                let first = try RunningAgent(servers: servers, nodeID: "agent-1", directory: directory)
                defer { first.stop() }
                let second = try RunningAgent(servers: servers, nodeID: "agent-2", directory: directory)
                defer { second.stop() }
                do {
                    try await Self.waitRegistered(["agent-1", "agent-2"], via: base)
                    let moving = try await HTTPCall.post(
                        "\(base)/api/v1alpha1/launch/execute",
                        json: Self.sleeper("drained", on: "agent-2", reschedule: true))
                    let movingID = try #require(moving.string("launch_id"), "\(moving)")
                    let staying = try await HTTPCall.post(
                        "\(base)/api/v1alpha1/launch/execute",
                        json: Self.sleeper("pinned", on: "agent-2", reschedule: false))
                    let stayingID = try #require(staying.string("launch_id"), "\(staying)")
                    for id in [movingID, stayingID] {
                        _ = try await AgentLaunches.waitForState(id, ["running"], via: base)
                    }
                    let oldPID = try #require(second.recordedProcess(movingID))

                    let drain = try await HTTPCall.post(
                        "\(cluster.url(cluster.ids[1]))/api/v1alpha1/nodes/agent-2/drain", json: "")
                    #expect(drain.status == 200, "\(drain)")
                    #expect(drain.object?["draining"] as? Bool == true && drain.object?["cordoned"] as? Bool == true)
                    let done = try await eventually("the drain to finish", within: 30) { () -> [String: Any]? in
                        let answer = try await Self.node("agent-2", via: base)
                        guard let drain = answer.object?["drain"] as? [String: Any] else {
                            throw Observation("\(answer)")
                        }
                        return drain["done"] as? Bool == true ? drain : nil
                    }
                    #expect(done["moved"] as? [String] == [movingID], "\(done)")
                    #expect(done["staying"] as? [String] == [stayingID], "\(done)")
                    #expect((done["remaining"] as? [String])?.isEmpty == true, "\(done)")
                    let original = try await Self.launch(movingID, via: base)
                    #expect(original.string("state") == "terminated", "\(original)")
                    let replacementID = try #require(original.string("replaced_by"))
                    let replacement = try await Self.launch(replacementID, via: base)
                    #expect(
                        replacement.string("state") == "running" && replacement.string("node_id") == "agent-1",
                        "\(replacement)")
                    // Make before break: the old one was stopped only after the new one ran.
                    let runningAt =
                        ((replacement.object?["trace"] as? [[String: Any]]) ?? [])
                        .first { $0["state"] as? String == "running" }?["at_ms"] as? Int
                    let terminatingAt =
                        ((original.object?["trace"] as? [[String: Any]]) ?? [])
                        .first { $0["state"] as? String == "terminating" }?["at_ms"] as? Int
                    #expect(runningAt != nil && terminatingAt != nil && runningAt! <= terminatingAt!, "\(original)")
                    #expect(!RunningAgent.isAlive(oldPID.pid, startTime: oldPID.startTime))
                    let pinned = try await Self.launch(stayingID, via: base)
                    #expect(pinned.string("state") == "running", "\(pinned)")

                    let shown = try await BerthCLI.run(["nodes", "show", "agent-2", "--servers", base])
                    #expect(shown.status == 0 && shown.stdout.contains("done"), "\(shown)")
                    #expect(shown.stdout.contains(movingID) && shown.stdout.contains(stayingID), "\(shown)")
                    let cancel = try await BerthCLI.run(["nodes", "drain", "agent-2", "--cancel", "--servers", base])
                    #expect(cancel.status == 0 && cancel.stdout.contains("agent-2 cordoned"), "\(cancel)")
                    let after = try await Self.node("agent-2", via: base)
                    #expect(after.object?["draining"] as? Bool == false && after.object?["cordoned"] as? Bool == true)
                    let unknown = try await HTTPCall.post("\(base)/api/v1alpha1/nodes/nope/drain", json: "")
                    #expect(unknown.status == 404, "\(unknown)")
                } catch {
                    throw Observation(
                        "\(error)\nagent-1 log:\n\(first.log.suffix(3000))\nagent-2 log:\n\(second.log.suffix(3000))")
                }
            }
        }

        @Test("a move whose replacement ends without running is shown blocked, and the original keeps running")
        func drainBlocked() async throws {
            let directory = try Self.directory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            try await withServerCluster { cluster in
                let leader = try await cluster.waitForLeader()
                let base = cluster.url(leader.id)
                let servers = cluster.ids.map { cluster.url($0) }
                let first = try RunningAgent(servers: servers, nodeID: "agent-1", directory: directory)
                defer { first.stop() }
                let second = try RunningAgent(servers: servers, nodeID: "agent-2", directory: directory)
                defer { second.stop() }
                do {
                    try await Self.waitRegistered(["agent-1", "agent-2"], via: base)
                    let created = try await HTTPCall.post(
                        "\(base)/api/v1alpha1/launch/execute",
                        json: Self.sleeper("blocked", on: "agent-2", reschedule: true))
                    let id = try #require(created.string("launch_id"), "\(created)")
                    _ = try await AgentLaunches.waitForState(id, ["running"], via: base)
                    // No room elsewhere: the replacement waits, then someone gives it up.
                    let cordon = try await HTTPCall.post("\(base)/api/v1alpha1/nodes/agent-1/cordon", json: "")
                    #expect(cordon.status == 200, "\(cordon)")
                    let drain = try await HTTPCall.post("\(base)/api/v1alpha1/nodes/agent-2/drain", json: "")
                    #expect(drain.status == 200, "\(drain)")
                    let replacementID = try await eventually("a replacement", within: 20) { () -> String? in
                        try await Self.launch(id, via: base).string("replaced_by")
                    }
                    let waiting = try await Self.launch(replacementID, via: base)
                    #expect(waiting.string("state") == "pending" && waiting.object?["why_pending"] != nil, "\(waiting)")
                    let given = try await HTTPCall.post(
                        "\(base)/api/v1alpha1/launch/\(replacementID)/terminate", json: "")
                    #expect(given.status == 200, "\(given)")
                    let blocked = try await eventually("the move to be blocked", within: 20) { () -> [[String: Any]]? in
                        let answer = try await Self.node("agent-2", via: base)
                        let list = (answer.object?["drain"] as? [String: Any])?["blocked"] as? [[String: Any]] ?? []
                        return list.isEmpty ? nil : list
                    }
                    #expect(blocked.first?["launch_id"] as? String == id, "\(blocked)")
                    #expect(blocked.first?["replacement_state"] as? String == "terminated", "\(blocked)")
                    try await Task.sleep(for: .seconds(1))
                    let original = try await Self.launch(id, via: base)
                    #expect(original.string("state") == "running", "\(original)")
                    let shown = try await Self.node("agent-2", via: base)
                    #expect((shown.object?["drain"] as? [String: Any])?["done"] as? Bool == false, "\(shown)")
                } catch {
                    throw Observation(
                        "\(error)\nagent-1 log:\n\(first.log.suffix(3000))\nagent-2 log:\n\(second.log.suffix(3000))")
                }
            }
        }

        @Test("orphans are reported and shown, never killed until a sweep is asked for; the sweep kills them")
        func orphanSweep() async throws {
            let directory = try Self.directory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            try await withServerCluster { cluster in
                let leader = try await cluster.waitForLeader()
                let base = cluster.url(leader.id)
                let agent = try RunningAgent(
                    servers: cluster.ids.map { cluster.url($0) }, nodeID: "agent-1", directory: directory)
                var orphanPID: (pid: Int32, startTime: UInt64)?
                defer {
                    agent.stop()
                    if let orphanPID, RunningAgent.isAlive(orphanPID.pid, startTime: orphanPID.startTime) {
                        kill(-orphanPID.pid, SIGKILL)
                    }
                }
                do {
                    try await Self.waitRegistered(["agent-1"], via: base)
                    let nothing = try await HTTPCall.post("\(base)/api/v1alpha1/nodes/agent-1/orphans/sweep", json: "")
                    #expect(nothing.status == 409 && nothing.body.contains("NO_ORPHANS"), "\(nothing)")
                    let created = try await HTTPCall.post(
                        "\(base)/api/v1alpha1/launch/execute",
                        json: Self.sleeper("orphan", on: "agent-1", reschedule: false))
                    let id = try #require(created.string("launch_id"), "\(created)")
                    _ = try await AgentLaunches.waitForState(id, ["running"], via: base)
                    let workload = try #require(agent.recordedProcess(id))
                    orphanPID = workload
                    // The agent loses its record of the workload: after a restart it is an orphan.
                    try FileManager.default.removeItem(atPath: "\(agent.root)/launches/\(id)")
                    try agent.restart()
                    let reported = try await eventually("the orphan to be reported", within: 20) {
                        () -> [[String: Any]]? in
                        let answer = try await HTTPCall.get(
                            "\(cluster.url(cluster.ids[2]))/api/v1alpha1/nodes/agent-1/orphans?consistent=true")
                        let list = (answer.object?["orphans"] as? [String: Any])?["orphans"] as? [[String: Any]] ?? []
                        return list.isEmpty ? nil : list
                    }
                    #expect(reported.first?["launch_id"] as? String == id, "\(reported)")
                    #expect((reported.first?["pid"] as? NSNumber)?.int32Value == workload.pid, "\(reported)")
                    try await Task.sleep(for: .seconds(1))
                    #expect(RunningAgent.isAlive(workload.pid, startTime: workload.startTime), "killed without a sweep")

                    let listed = try await BerthCLI.run(["nodes", "orphans", "agent-1", "--servers", base])
                    #expect(listed.status == 0 && listed.stdout.contains("pid \(workload.pid)"), "\(listed)")
                    let sweep = try await BerthCLI.run(["nodes", "orphans", "agent-1", "--sweep", "--servers", base])
                    #expect(sweep.status == 0 && sweep.stdout.contains("asked for"), "\(sweep)")
                    _ = try await eventually("the orphan to be killed", within: 20) { () -> Bool? in
                        RunningAgent.isAlive(workload.pid, startTime: workload.startTime) ? nil : true
                    }
                    let after = try await eventually("the sweep to be reported done", within: 20) {
                        () -> [String: Any]? in
                        let answer = try await Self.node("agent-1", via: base)
                        let orphans = answer.object?["orphans"] as? [String: Any]
                        return orphans?["last_sweep"] != nil && orphans?["sweep_requested"] == nil ? orphans : nil
                    }
                    #expect((after["orphans"] as? [Any])?.isEmpty ?? true, "\(after)")
                    #expect(agent.log.contains("orphans swept on request"), "\(agent.log.suffix(2000))")
                } catch {
                    throw Observation("\(error)\nagent log:\n\(agent.log.suffix(4000))")
                }
            }
        }
    }
}
