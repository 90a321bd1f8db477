import BerthControlPlane
import Testing

/// The launches' state machine at apply, without a database: placement, waiting, stale plans
/// and placements, reports and terminates, and what the fleet view holds after each.
@Suite struct LaunchRulesTests {
    /// Two aarch64 nodes with 4 vCPUs each, and an x86_64 one.
    func fleet() -> FleetView {
        Build.fleet([
            Build.envelope("n1", cpus: 4), Build.envelope("n2", cpus: 4), Build.envelope("n3", arch: .x86_64),
        ])
    }

    let intent = Build.vm(arch: .aarch64, vcpus: 3)

    /// What a view holds: the placed launches and every node's usage.
    struct Holdings: Equatable {
        let launches: [String: PlacedLaunch]
        let usage: [NodeUsage?]

        init(_ view: FleetView) {
            launches = view.placedLaunches
            usage = view.nodeIDs.map { view.usage(of: $0) }
        }
    }

    func execute(
        _ fleet: inout FleetView, id: String = "l1", existing: LaunchRecord? = nil, intent: WorkloadIntent? = nil,
        on nodeID: String?, atMs: Int64 = Build.now, expect: UInt64? = nil, wait: Bool = false,
        changedIndex: UInt64 = 5
    ) throws -> LaunchDecision {
        try LaunchRules.execute(
            existing: existing, launchID: id, intent: intent ?? self.intent, nodeID: nodeID, atMs: atMs,
            expectStateIndex: expect, waitForCapacity: wait, policy: .standard, fleet: &fleet,
            fleetChangedIndex: changedIndex)
    }

    func placed(_ fleet: inout FleetView, id: String = "l1", on nodeID: String = "n1") throws -> LaunchRecord {
        guard case .placed(let record) = try execute(&fleet, id: id, on: nodeID) else {
            Issue.record("not placed")
            return LaunchRecord(id: id, intent: intent, createdAtMs: 0)
        }
        return record
    }

    @Test("paused, nothing new is placed: a launch that may wait stays pending, another is refused")
    func pausedPlacesNothing() throws {
        var view = fleet()
        let before = view.placedLaunches
        let waiting = try LaunchRules.execute(
            existing: nil, launchID: "l1", intent: intent, nodeID: "n1", atMs: Build.now, expectStateIndex: nil,
            waitForCapacity: true, policy: .standard, fleet: &view, fleetChangedIndex: 5, paused: true)
        guard case .pending(let record) = waiting else {
            Issue.record("expected pending, got \(waiting)")
            return
        }
        #expect(record.state == .pending && record.nodeID == nil)
        let refused = try LaunchRules.execute(
            existing: nil, launchID: "l2", intent: intent, nodeID: "n1", atMs: Build.now, expectStateIndex: nil,
            waitForCapacity: false, policy: .standard, fleet: &view, fleetChangedIndex: 5, paused: true)
        #expect(refused == .refused(.schedulerPaused(launchID: "l2")))
        #expect(view.placedLaunches == before)
        // Resumed, the waiting launch is placed.
        let placed = try LaunchRules.execute(
            existing: record, launchID: "l1", intent: intent, nodeID: "n1", atMs: Build.now, expectStateIndex: nil,
            waitForCapacity: true, policy: .standard, fleet: &view, fleetChangedIndex: 5, paused: false)
        guard case .placed = placed else {
            Issue.record("expected placed, got \(placed)")
            return
        }
    }

    @Test("execute places the launch on the chosen node when it fits, and the view counts it")
    func placeWhenFits() throws {
        var view = fleet()
        let decision = try execute(&view, on: "n1")
        guard case .placed(let record) = decision else {
            Issue.record("expected placed, got \(decision)")
            return
        }
        #expect(record.state == .validated && record.nodeID == "n1")
        #expect(record.trace.map(\.state) == [.pending, .validated])
        #expect(record.placement?.rankedNodes.map(\.nodeID).sorted() == ["n1", "n2"])
        #expect(record.placement?.rejectedNodes.map(\.nodeID) == ["n3"])
        #expect(decision.recordToWrite == record)
        #expect(view.usage(of: "n1") == NodeUsage(usedCPUs: 3, usedMemoryMiB: 2_048, activeLaunches: 1))
        #expect(view.placedLaunches["l1"]?.nodeID == "n1")
    }

    @Test("execute refuses a node that no longer fits, with its reasons, and changes nothing")
    func placementStaleWhenFull() throws {
        var view = fleet()
        _ = try placed(&view, id: "l0", on: "n1")
        let before = Holdings(view)
        #expect(try execute(&view, on: "n1") == .refused(.placementStale(nodeID: "n1", reasons: ["INSUFFICIENT_CPU"])))
        #expect(Holdings(view) == before)
    }

    @Test("execute refuses a node that cannot run the intent, or that is unknown")
    func placementStaleWrongNode() throws {
        var view = fleet()
        #expect(try execute(&view, on: "n3") == .refused(.placementStale(nodeID: "n3", reasons: ["ARCH_MISMATCH"])))
        #expect(try execute(&view, on: "n9") == .refused(.placementStale(nodeID: "n9", reasons: ["NODE_NOT_FOUND"])))
        #expect(view.placedLaunches.isEmpty)
    }

    @Test("execute with no node refuses when a node fits now: the leader decides again")
    func noNodeButOneFits() throws {
        var view = fleet()
        #expect(try execute(&view, on: nil) == .refused(.placementStale(nodeID: "", reasons: [])))
        #expect(try execute(&view, on: nil, wait: true) == .refused(.placementStale(nodeID: "", reasons: [])))
    }

    @Test("a plan made before node truth changed is stale; one made at or after it holds")
    func stalePlan() throws {
        var view = fleet()
        #expect(
            try execute(&view, on: "n1", expect: 4, changedIndex: 5) == .refused(.planStale(expected: 4, changedAt: 5)))
        #expect(view.placedLaunches.isEmpty)
        guard case .placed = try execute(&view, on: "n1", expect: 5, changedIndex: 5) else {
            Issue.record("a plan at the changed index holds")
            return
        }
    }

    @Test("no node fits: refused, or pending with wait_for_capacity")
    func noEligibleNodeOrPending() throws {
        var view = fleet()
        let huge = Build.vm(arch: .aarch64, vcpus: 64)
        #expect(try execute(&view, intent: huge, on: nil) == .refused(.noEligibleNode(launchID: "l1")))
        let decision = try execute(&view, intent: huge, on: nil, wait: true)
        #expect(decision == .pending(LaunchRecord(id: "l1", intent: huge, createdAtMs: Build.now)))
        #expect(view.placedLaunches.isEmpty)
    }

    @Test("a pending launch is placed once a node fits, keeping its creation time")
    func pendingThenPlaced() throws {
        var view = fleet()
        let first = try placed(&view, id: "l0", on: "n1")
        _ = try placed(&view, id: "l2", on: "n2")
        guard case .pending(let waiting) = try execute(&view, on: nil, atMs: Build.now + 1, wait: true) else {
            Issue.record("expected pending")
            return
        }
        // A retry of the waiting execute answers with the record as it stands.
        #expect(try execute(&view, existing: waiting, on: nil, atMs: Build.now + 2, wait: true) == .unchanged(waiting))
        // While both nodes are full, the leader's pick is refused.
        #expect(
            try execute(&view, existing: waiting, on: "n1", atMs: Build.now + 2)
                == .refused(.placementStale(nodeID: "n1", reasons: ["INSUFFICIENT_CPU"])))
        // l0 fails on n1, which frees it.
        _ = LaunchRules.report(
            existing: first, launchID: "l0", reporter: "n1", state: .failed, reason: FailureReason(code: .agentError),
            note: nil, atMs: Build.now + 3, fleet: &view)
        guard case .placed(let record) = try execute(&view, existing: waiting, on: "n1", atMs: Build.now + 4) else {
            Issue.record("expected placed")
            return
        }
        #expect(record.createdAtMs == Build.now + 1 && record.updatedAtMs == Build.now + 4)
        #expect(record.trace.map(\.state) == [.pending, .validated])
        #expect(view.placedLaunches["l1"]?.nodeID == "n1")
    }

    @Test("execute of an existing launch: another intent is refused; a placed one answers as it stands")
    func existingLaunch() throws {
        var view = fleet()
        let record = try placed(&view)
        #expect(
            try execute(&view, existing: record, intent: Build.vm(arch: .aarch64, vcpus: 1), on: "n1")
                == .refused(.exists(id: "l1")))
        let before = Holdings(view)
        #expect(try execute(&view, existing: record, on: "n2") == .unchanged(record))
        #expect(Holdings(view) == before)
    }

    @Test("an agent's report moves the launch; re-reporting the same state changes nothing")
    func reportIdempotent() throws {
        var view = fleet()
        let record = try placed(&view)
        let decision = LaunchRules.report(
            existing: record, launchID: "l1", reporter: "n1", state: .preparing, reason: nil, note: "took it",
            atMs: Build.now + 5, fleet: &view)
        guard case .moved(let preparing) = decision else {
            Issue.record("expected moved, got \(decision)")
            return
        }
        #expect(preparing.state == .preparing && preparing.updatedAtMs == Build.now + 5)
        let again = LaunchRules.report(
            existing: preparing, launchID: "l1", reporter: "n1", state: .preparing, reason: nil, note: nil,
            atMs: Build.now + 9, fleet: &view)
        #expect(again == .unchanged(preparing))
        #expect(again.recordToWrite == nil)
        #expect(view.placedLaunches["l1"] != nil)
    }

    @Test("a report from another node, or on an unplaced or missing launch, is refused")
    func reportWrongNode() throws {
        var view = fleet()
        let record = try placed(&view)
        #expect(
            LaunchRules.report(
                existing: record, launchID: "l1", reporter: "n2", state: .preparing, reason: nil, note: nil, atMs: 1,
                fleet: &view) == .refused(.notOnNode(id: "l1", nodeID: "n1", reporter: "n2")))
        let pending = LaunchRecord(id: "l2", intent: intent, createdAtMs: 0)
        #expect(
            LaunchRules.report(
                existing: pending, launchID: "l2", reporter: "n1", state: .preparing, reason: nil, note: nil, atMs: 1,
                fleet: &view) == .refused(.notOnNode(id: "l2", nodeID: "(none)", reporter: "n1")))
        #expect(
            LaunchRules.report(
                existing: nil, launchID: "l9", reporter: "n1", state: .preparing, reason: nil, note: nil, atMs: 1,
                fleet: &view) == .refused(.notFound(id: "l9")))
    }

    @Test("an illegal report is refused with the state machine's error and its status")
    func reportIllegal() throws {
        var view = fleet()
        let record = try placed(&view)
        let decision = LaunchRules.report(
            existing: record, launchID: "l1", reporter: "n1", state: .running, reason: nil, note: nil, atMs: 1,
            fleet: &view)
        #expect(decision == .refused(.transitionRefused(id: "l1", .illegal(from: .validated, to: .running))))
        #expect(LaunchTransitionError.illegal(from: .validated, to: .running).httpStatus == 409)
        let noReason = LaunchRules.report(
            existing: record, launchID: "l1", reporter: "n1", state: .failed, reason: nil, note: nil, atMs: 1,
            fleet: &view)
        #expect(noReason == .refused(.transitionRefused(id: "l1", .failureReasonRequired)))
        #expect(LaunchTransitionError.failureReasonRequired.httpStatus == 400)
    }

    @Test("a reported failure ends the launch and gives its resources back")
    func reportFailureReleases() throws {
        var view = fleet()
        let record = try placed(&view)
        let decision = LaunchRules.report(
            existing: record, launchID: "l1", reporter: "n1", state: .failed,
            reason: FailureReason(code: .prepareFailed), note: nil, atMs: 1, fleet: &view)
        guard case .moved(let failed) = decision else {
            Issue.record("expected moved, got \(decision)")
            return
        }
        #expect(failed.state == .failed && failed.failure == FailureReason(code: .prepareFailed))
        #expect(view.placedLaunches.isEmpty)
        #expect(view.usage(of: "n1") == NodeUsage())
    }

    @Test("terminate: a pending launch ends at once, a placed one is terminating and keeps its node")
    func terminatePendingAndPlaced() throws {
        var view = fleet()
        let pending = LaunchRecord(id: "l2", intent: intent, createdAtMs: 0)
        guard case .moved(let ended) = LaunchRules.terminate(existing: pending, launchID: "l2", atMs: 7, fleet: &view)
        else {
            Issue.record("expected moved")
            return
        }
        #expect(ended.state == .terminated && ended.trace.last?.note == "terminate requested")
        let record = try placed(&view)
        guard case .moved(let stopping) = LaunchRules.terminate(existing: record, launchID: "l1", atMs: 8, fleet: &view)
        else {
            Issue.record("expected moved")
            return
        }
        #expect(stopping.state == .terminating)
        #expect(view.placedLaunches["l1"] != nil)
        // Terminating again changes nothing; the agent's report that it stopped frees the node.
        #expect(
            LaunchRules.terminate(existing: stopping, launchID: "l1", atMs: 9, fleet: &view) == .unchanged(stopping))
        guard
            case .moved(let stopped) = LaunchRules.report(
                existing: stopping, launchID: "l1", reporter: "n1", state: .terminated, reason: nil, note: nil,
                atMs: 10, fleet: &view)
        else {
            Issue.record("expected moved")
            return
        }
        #expect(stopped.state == .terminated)
        #expect(view.placedLaunches.isEmpty)
    }

    @Test("terminate of a terminal or missing launch is refused")
    func terminateTerminal() throws {
        var view = fleet()
        var record = LaunchRecord(id: "l1", intent: intent, createdAtMs: 0)
        try record.transition(to: .terminated, atMs: 1)
        #expect(
            LaunchRules.terminate(existing: record, launchID: "l1", atMs: 2, fleet: &view)
                == .refused(.transitionRefused(id: "l1", .illegal(from: .terminated, to: .terminating))))
        #expect(
            LaunchRules.terminate(existing: nil, launchID: "l9", atMs: 2, fleet: &view) == .refused(.notFound(id: "l9"))
        )
    }
}
