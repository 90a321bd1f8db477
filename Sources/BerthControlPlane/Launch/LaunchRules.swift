/// The launches' state machine (spec §6) at apply: what each launch command does, given the
/// launch as stored (nil when there is none) and the fleet view it applies to. Values in,
/// decisions out: the times are the leader's, carried in the replicated command, so every
/// server decides the same and never overcommits a node.
public enum LaunchRules {
    /// `launch/execute`: place launch `launchID` of `intent` on `nodeID`, which the leader (or a
    /// plan) chose. The intent is evaluated again against `fleet` as it is now, and the launch
    /// is placed only if that node still fits, with the whole explanation stored in the record.
    /// With no node (`nodeID` nil, none fitted when the leader looked) it waits as `pending` if
    /// `waitForCapacity`, and is refused otherwise. While the scheduler is `paused` nothing new
    /// is placed: the launch waits as `pending` with `waitForCapacity` (the leader places it after
    /// the resume) and is refused otherwise.
    ///
    /// - Parameter fleetChangedIndex: the log index of the last command that changed node truth;
    ///   a plan made at `expectStateIndex` before it is stale.
    /// - Throws: only when an invariant is broken (a pending record refusing its placement, or
    ///   the view refusing a launch on a node it has just ranked): the apply must fail, not
    ///   answer.
    public static func execute(
        existing: LaunchRecord?, launchID: String, intent: WorkloadIntent, nodeID: String?, atMs: Int64,
        expectStateIndex: UInt64?, waitForCapacity: Bool, policy: PlacementPolicy, fleet: inout FleetView,
        fleetChangedIndex: UInt64, paused: Bool = false
    ) throws -> LaunchDecision {
        var record: LaunchRecord
        if let existing {
            // The same launch again: the node that took the request retrying, or the leader
            // placing a launch that waited for capacity.
            guard existing.intent == intent else { return .refused(.exists(id: launchID)) }
            guard existing.state == .pending, nodeID != nil else { return .unchanged(existing) }
            record = existing
        } else {
            record = LaunchRecord(id: launchID, intent: intent, createdAtMs: atMs)
        }
        if paused {
            guard waitForCapacity else { return .refused(.schedulerPaused(launchID: launchID)) }
            return existing == nil ? .pending(record) : .unchanged(record)
        }
        if let expected = expectStateIndex, fleetChangedIndex > expected {
            return .refused(.planStale(expected: expected, changedAt: fleetChangedIndex))
        }
        let explanation = fleet.evaluate(intent, atMs: atMs, policy: policy)
        guard let nodeID else {
            guard explanation.rankedNodes.isEmpty else {
                // A node fits now although none did when the leader looked: it decides again.
                return .refused(.placementStale(nodeID: "", reasons: []))
            }
            guard waitForCapacity else { return .refused(.noEligibleNode(launchID: launchID)) }
            return .pending(record)
        }
        guard explanation.rankedNodes.contains(where: { $0.nodeID == nodeID }), let truth = fleet.truth(of: nodeID)
        else {
            let reasons = explanation.reasons(for: nodeID)?.map(\.code.rawValue) ?? ["NODE_NOT_FOUND"]
            return .refused(.placementStale(nodeID: nodeID, reasons: reasons))
        }
        let spec: LaunchSpec
        do {
            spec = try LaunchSpec.hydrate(intent, on: truth)
        } catch {
            return .refused(.placementStale(nodeID: nodeID, reasons: error.reasons.map(\.code.rawValue)))
        }
        try record.place(spec: spec, placement: explanation, atMs: atMs)
        if let placed = record.placedLaunch { try fleet.placeLaunch(placed) }
        return .placed(record)
    }

    /// `launch/:id/transitions`: the agent of `reporter` reports that the launch entered `state`.
    /// Only the launch's own node may move it; reporting the current state again is harmless.
    public static func report(
        existing: LaunchRecord?, launchID: String, reporter: String, state: LaunchState, reason: FailureReason?,
        note: String?, atMs: Int64, fleet: inout FleetView
    ) -> LaunchDecision {
        guard let record = existing else { return .refused(.notFound(id: launchID)) }
        guard record.nodeID == reporter else {
            return .refused(.notOnNode(id: launchID, nodeID: record.nodeID ?? "(none)", reporter: reporter))
        }
        if record.state == .lost, state == .terminated || state == .failed {
            // The node came back and its agent stopped (or saw the end of) the workload: kept in
            // the trace; the launch stays lost and is no longer offered to the agent.
            var confirmed = record
            guard confirmed.confirmStoppedOnNode(atMs: atMs, reported: state, note: note) else {
                return .unchanged(record)
            }
            return .moved(confirmed)
        }
        return move(record, to: state, atMs: atMs, reason: reason, note: note, fleet: &fleet)
    }

    /// `launch/:id/terminate`. Nothing runs for a launch that was never placed, so a pending one
    /// is terminated at once; anything else is `terminating` until its agent stops it.
    public static func terminate(
        existing: LaunchRecord?, launchID: String, atMs: Int64, note: String? = nil, fleet: inout FleetView
    )
        -> LaunchDecision
    {
        guard let record = existing else { return .refused(.notFound(id: launchID)) }
        let next: LaunchState = record.state == .pending ? .terminated : .terminating
        return move(record, to: next, atMs: atMs, reason: nil, note: note ?? "terminate requested", fleet: &fleet)
    }

    /// One move of the record's state machine; a launch that ends gives its node's resources back.
    private static func move(
        _ record: LaunchRecord, to next: LaunchState, atMs: Int64, reason: FailureReason?, note: String?,
        fleet: inout FleetView
    ) -> LaunchDecision {
        var record = record
        let changed: Bool
        do {
            changed = try record.transition(to: next, atMs: atMs, reason: reason, note: note)
        } catch {
            return .refused(.transitionRefused(id: record.id, error))
        }
        guard changed else { return .unchanged(record) }
        if record.state.isTerminal { fleet.releaseLaunch(id: record.id) }
        return .moved(record)
    }
}
