import BerthControlPlane
import Testing

/// Lost nodes, replacements and drains as pure rules: which nodes are silent, what a loss does
/// to launches and capacity, how a drain moves a launch and reports its progress.
@Suite struct NodeLossRulesTests {
    /// Two aarch64 nodes with 4 vCPUs each.
    func fleet(receivedAtMs: Int64 = Build.now) -> FleetView {
        Build.fleet([Build.envelope("n1", cpus: 4), Build.envelope("n2", cpus: 4)], receivedAtMs: receivedAtMs)
    }

    func intent(_ policy: NodeLossPolicy, name: String = "web") -> WorkloadIntent {
        var intent = Build.vm(name, arch: .aarch64, vcpus: 2)
        intent.onNodeLost = policy
        return intent
    }

    /// A launch placed on `nodeID` and moved on to `state`.
    func launch(
        _ id: String, on nodeID: String, policy: NodeLossPolicy, state: LaunchState = .running, view: inout FleetView
    ) throws -> LaunchRecord {
        let decision = try LaunchRules.execute(
            existing: nil, launchID: id, intent: intent(policy), nodeID: nodeID, atMs: Build.now,
            expectStateIndex: nil, waitForCapacity: false, policy: .standard, fleet: &view, fleetChangedIndex: 0)
        guard case .placed(var record) = decision else {
            Issue.record("not placed: \(decision)")
            return LaunchRecord(id: id, intent: intent(policy), createdAtMs: 0)
        }
        let path: [LaunchState] = [.preparing, .starting, .running, .terminating]
        for next in path.prefix(while: { _ in record.state != state }) {
            try record.transition(to: next, atMs: Build.now)
            if record.state == state { break }
        }
        return record
    }

    // MARK: Silence

    @Test("a node is silent past the limit after its last envelope, and not before")
    func silence() {
        let view = fleet()
        #expect(
            NodeLossRules.silentNodes(in: view, nowMs: Build.now + 3_000, lostAfterMs: 3_000, graceStartMs: 0).isEmpty)
        let silent = NodeLossRules.silentNodes(in: view, nowMs: Build.now + 3_001, lostAfterMs: 3_000, graceStartMs: 0)
        #expect(silent.map(\.nodeID) == ["n1", "n2"])
        #expect(silent.first?.silentForMs == 3_001)
        #expect(silent.first?.receivedAtMs == Build.now)
    }

    @Test("a new leader gives every agent a full period: time before it led does not count")
    func graceAfterLeadershipChange() {
        let view = fleet()
        let leaderSince = Build.now + 60_000
        #expect(
            NodeLossRules.silentNodes(
                in: view, nowMs: leaderSince + 2_000, lostAfterMs: 3_000, graceStartMs: leaderSince
            )
            .isEmpty)
        #expect(
            NodeLossRules.silentNodes(
                in: view, nowMs: leaderSince + 3_500, lostAfterMs: 3_000, graceStartMs: leaderSince
            )
            .count == 2)
    }

    @Test("anything else heard from an agent (a poll, a report) keeps its node alive")
    func heardKeepsAlive() {
        let view = fleet()
        let silent = NodeLossRules.silentNodes(
            in: view, nowMs: Build.now + 5_000, lostAfterMs: 3_000, graceStartMs: 0,
            heardAtMs: ["n1": Build.now + 4_000])
        #expect(silent.map(\.nodeID) == ["n2"])
    }

    @Test("a lost node is not declared again, takes no placement, and a fresh envelope brings it back")
    func lostNodeLifecycle() throws {
        var view = fleet()
        let truth = try view.markLost("n1", atMs: Build.now + 4_000)
        #expect(truth.lost && truth.lostAtMs == Build.now + 4_000)
        #expect(
            NodeLossRules.silentNodes(in: view, nowMs: Build.now + 9_000, lostAfterMs: 3_000, graceStartMs: 0).map(
                \.nodeID) == ["n2"])
        let explanation = view.evaluate(intent(.fail), atMs: Build.now)
        #expect(explanation.rankedNodes.map(\.nodeID) == ["n2"])
        let reasons = explanation.reasons(for: "n1") ?? []
        #expect(reasons.map(\.code) == [.nodeUnhealthy])
        #expect(reasons.first?.available == .string("lost"))
        let back = try view.upsert(Build.envelope("n1", sequence: 2, cpus: 4), receivedAtMs: Build.now + 10_000)
        #expect(!back.lost)
        #expect(view.evaluate(intent(.fail), atMs: Build.now + 10_000).rankedNodes.count == 2)
    }

    // MARK: Loss

    @Test("a loss ends the node's launches lost, frees their capacity, and replaces the reschedulable ones")
    func lossMarksAndReplaces() throws {
        var view = fleet()
        let keep = try launch("a", on: "n1", policy: .fail, view: &view)
        let move = try launch("b", on: "n1", policy: .reschedule, state: .starting, view: &view)
        let stopping = try launch("c", on: "n2", policy: .reschedule, view: &view)
        #expect(view.usage(of: "n1")?.usedCPUs == 4)
        let loss = NodeLossRules.loseNode(
            "n1", launches: [move, keep, stopping], atMs: Build.now + 5_000, detail: "silent for 5 s",
            fleet: &view, taken: { _ in false })
        #expect(loss.lost.map(\.id) == ["a", "b"])
        #expect(loss.lost.allSatisfy { $0.state == .lost && $0.failure?.code == .nodeLost })
        #expect(loss.lost[0].replacedBy == nil)
        #expect(loss.lost[1].replacedBy == "b-r1")
        #expect(loss.lost[1].trace.last?.note == "replaced by b-r1")
        #expect(loss.lost[0].trace.last?.note == "silent for 5 s")
        #expect(view.usage(of: "n1")?.usedCPUs == 0)
        #expect(view.usage(of: "n2")?.usedCPUs == 2)
        #expect(loss.replacements.count == 1)
        let replacement = try #require(loss.replacements.first)
        #expect(replacement.id == "b-r1" && replacement.state == .pending && replacement.replaces == "b")
        #expect(replacement.intent == move.intent)
        #expect(replacement.trace.first?.note == "replaces b, lost with node n1")
    }

    @Test("a launch being stopped is lost but not replaced")
    func terminatingIsNotReplaced() throws {
        var view = fleet()
        let record = try launch("t", on: "n1", policy: .reschedule, state: .terminating, view: &view)
        let loss = NodeLossRules.loseNode(
            "n1", launches: [record], atMs: Build.now, detail: "x", fleet: &view, taken: { _ in false })
        #expect(loss.lost.map(\.state) == [.lost])
        #expect(loss.replacements.isEmpty)
    }

    @Test("replacement ids: -r1, then -r2 for a replacement's replacement, skipping ids in use")
    func replacementIDs() {
        #expect(NodeLossRules.replacementID(of: "abc", taken: { _ in false }) == "abc-r1")
        #expect(NodeLossRules.replacementID(of: "abc-r1", taken: { _ in false }) == "abc-r2")
        #expect(NodeLossRules.replacementID(of: "abc", taken: { $0 == "abc-r1" }) == "abc-r2")
        #expect(NodeLossRules.replacementID(of: "job-run-3", taken: { _ in false }) == "job-run-3-r1")
    }

    @Test("the agent back on a lost node reports the workload stopped: kept in the trace, still lost")
    func confirmStopped() throws {
        var view = fleet()
        let record = try launch("a", on: "n1", policy: .fail, view: &view)
        let loss = NodeLossRules.loseNode(
            "n1", launches: [record], atMs: Build.now, detail: "x", fleet: &view, taken: { _ in false })
        let lost = try #require(loss.lost.first)
        let wrongState = LaunchRules.report(
            existing: lost, launchID: "a", reporter: "n1", state: .running, reason: nil, note: nil, atMs: Build.now,
            fleet: &view)
        guard case .refused = wrongState else {
            Issue.record("a lost launch cannot run again: \(wrongState)")
            return
        }
        let stopped = LaunchRules.report(
            existing: lost, launchID: "a", reporter: "n1", state: .terminated, reason: nil, note: "stopped",
            atMs: Build.now + 1, fleet: &view)
        guard case .moved(let confirmed) = stopped else {
            Issue.record("expected the stop recorded, got \(stopped)")
            return
        }
        #expect(confirmed.state == .lost && confirmed.stoppedOnNodeAtMs == Build.now + 1)
        #expect(confirmed.trace.last?.note == "its agent came back and reported it terminated: stopped")
        let again = LaunchRules.report(
            existing: confirmed, launchID: "a", reporter: "n1", state: .terminated, reason: nil, note: nil,
            atMs: Build.now + 2, fleet: &view)
        guard case .unchanged = again else {
            Issue.record("a second stop report changes nothing: \(again)")
            return
        }
    }

    @Test("on_node_lost is fail by default, reschedule when asked, and anything else is refused")
    func intentField() throws {
        let base = #"{"name":"w","arch":"any","vcpus":1,"memory_mib":16,"command":["/bin/true"]"#
        #expect(try WorkloadIntent.parse(json: Array((base + "}").utf8)).onNodeLost == .fail)
        let rescheduled = try WorkloadIntent.parse(json: Array((base + #","on_node_lost":"reschedule"}"#).utf8))
        #expect(rescheduled.onNodeLost == .reschedule)
        #expect(JSON.object(rescheduled)["on_node_lost"] as? String == "reschedule")
        #expect(JSON.object(Build.process())["on_node_lost"] == nil)
        #expect(throws: ValidationFailure.self) {
            try WorkloadIntent.parse(json: Array((base + #","on_node_lost":"migrate"}"#).utf8))
        }
    }

    // MARK: Drain

    @Test("a drain moves a reschedulable launch: replacement first, the original stopped once it runs")
    func drainMove() throws {
        var view = fleet()
        let record = try launch("m", on: "n1", policy: .reschedule, view: &view)
        let fixed = try launch("f", on: "n1", policy: .fail, view: &view)
        #expect(NodeLossRules.move(fixed, atMs: Build.now, reason: "drain", taken: { _ in false }) == nil)
        let (moved, replacement) = try #require(
            NodeLossRules.move(record, atMs: Build.now, reason: "node n1 is draining", taken: { _ in false }))
        #expect(moved.state == .running && moved.replacedBy == "m-r1")
        #expect(NodeLossRules.move(moved, atMs: Build.now, reason: "again", taken: { _ in false }) == nil)
        #expect(replacement.replaces == "m" && replacement.state == .pending)
        #expect(!NodeLossRules.handoverDue(original: moved, replacement: replacement))
        var running = replacement
        let placed = try LaunchRules.execute(
            existing: running, launchID: running.id, intent: running.intent, nodeID: "n2", atMs: Build.now,
            expectStateIndex: nil, waitForCapacity: true, policy: .standard, fleet: &view, fleetChangedIndex: 0)
        guard case .placed(let onN2) = placed else {
            Issue.record("replacement not placed: \(placed)")
            return
        }
        running = onN2
        for next: LaunchState in [.preparing, .starting, .running] { try running.transition(to: next, atMs: Build.now) }
        #expect(NodeLossRules.handoverDue(original: moved, replacement: running))

        var progress = DrainProgress(launches: [moved, fixed, running], nodeID: "n1", sinceMs: Build.now)
        #expect(progress.moving == ["m"] && progress.staying == ["f"] && progress.remaining.isEmpty && !progress.done)
        var stopped = moved
        try stopped.transition(to: .terminating, atMs: Build.now + 1)
        try stopped.transition(to: .terminated, atMs: Build.now + 2)
        progress = DrainProgress(launches: [stopped, fixed], nodeID: "n1", sinceMs: Build.now)
        #expect(progress.moved == ["m"] && progress.done)
        progress = DrainProgress(launches: [record, fixed], nodeID: "n1", sinceMs: Build.now)
        #expect(progress.remaining == ["m"] && !progress.done)
    }
}
