/// One launch: the intent it came from, where and how it runs once placed, the explanation it
/// was placed with, and the append-only trace of every state it entered. Values in, values out:
/// the caller supplies every time (the leader's clock, carried in the replicated command).
public struct LaunchRecord: Equatable, Hashable, Sendable {
    /// The launch's id (`id`), chosen by the leader.
    public let id: String
    /// What was asked for (`intent`).
    public private(set) var intent: WorkloadIntent
    /// The hydrated spec (`spec`), once placed.
    public private(set) var spec: LaunchSpec?
    /// Every node's verdict at the moment it was placed (`placement`), kept so the reason for a
    /// past launch can be shown exactly.
    public private(set) var placement: Explanation?
    /// The current state (`state`).
    public private(set) var state: LaunchState
    /// Why it failed (`failure`), once `failed`.
    public private(set) var failure: FailureReason?
    /// Every state entered, oldest first (`trace`); only ever appended to.
    public private(set) var trace: [LaunchTraceEntry]
    /// When it was accepted (`created_at_ms`), ms since the epoch.
    public let createdAtMs: Int64
    /// When it last changed state (`updated_at_ms`), ms since the epoch.
    public private(set) var updatedAtMs: Int64
    /// The launch this one replaces (`replaces`): one lost with its node, or moved off a
    /// draining node.
    public private(set) var replaces: String?
    /// The launch that replaces this one (`replaced_by`), once one was made.
    public private(set) var replacedBy: String?
    /// When the agent of a `lost` launch's node, back again, reported the workload stopped
    /// (`stopped_on_node_at_ms`): until then it is told to stop it.
    public private(set) var stoppedOnNodeAtMs: Int64?

    /// A launch accepted and waiting to be placed (`replaces`: the launch it stands in for).
    public init(id: String, intent: WorkloadIntent, createdAtMs: Int64, note: String? = nil, replaces: String? = nil) {
        self.id = id
        self.intent = intent
        self.state = .pending
        self.trace = [LaunchTraceEntry(atMs: createdAtMs, state: .pending, note: note)]
        self.createdAtMs = createdAtMs
        self.updatedAtMs = createdAtMs
        self.replaces = replaces
    }

    /// The same record with its placement's node lists left out (the evaluation time stays).
    /// Storage keeps the lists apart: they are as large as the fleet, and the record is
    /// re-encoded on every report.
    public func withoutPlacementLists() -> LaunchRecord {
        guard let placement else { return self }
        var light = self
        light.placement = Explanation(evaluatedAtMs: placement.evaluatedAtMs, rankedNodes: [], rejectedNodes: [])
        return light
    }

    /// The node it is placed on (`node_id`), once placed.
    public var nodeID: String? { spec?.nodeID }

    /// What the launch holds on its node while it is placed and not terminal, for the fleet view.
    public var placedLaunch: PlacedLaunch? {
        guard let spec, !state.isTerminal else { return nil }
        return PlacedLaunch(
            launchID: id, workloadName: spec.name, nodeID: spec.nodeID, vcpus: spec.vcpus, memoryMiB: spec.memoryMiB)
    }

    /// Places a pending launch: records its spec and the explanation, and moves it to `validated`.
    public mutating func place(spec: LaunchSpec, placement: Explanation, atMs: Int64) throws(LaunchTransitionError) {
        guard state == .pending else { throw .illegal(from: state, to: .validated) }
        self.spec = spec
        self.placement = placement
        append(LaunchTraceEntry(atMs: atMs, state: .validated))
    }

    /// Moves to `next`, appending to the trace. Reporting the current state again changes nothing
    /// and returns false — an agent that re-acknowledges after a failover (or a repeated failure
    /// report, whose first reason stands) is harmless. Otherwise the move must be in
    /// `LaunchState`'s table, `failed` needs a `reason` and nothing else takes one.
    @discardableResult
    public mutating func transition(
        to next: LaunchState, atMs: Int64, reason: FailureReason? = nil, note: String? = nil
    )
        throws(LaunchTransitionError) -> Bool
    {
        if next == state { return false }
        guard state.canMove(to: next) else { throw .illegal(from: state, to: next) }
        if next == .validated { throw .placementRequired }
        if next == .failed && reason == nil { throw .failureReasonRequired }
        if next != .failed && reason != nil { throw .failureReasonNotAllowed(next) }
        failure = reason
        append(LaunchTraceEntry(atMs: atMs, state: next, reason: reason, note: note))
        return true
    }

    /// Its node was declared lost: the launch ends `lost` with reason NODE_LOST and `note` (how
    /// long the node was silent) in the trace. Only a launch that was placed and not yet ended
    /// can be lost.
    public mutating func markLost(atMs: Int64, detail: String) throws(LaunchTransitionError) {
        guard spec != nil, !state.isTerminal, state != .pending else { throw .illegal(from: state, to: .lost) }
        let reason = FailureReason(code: .nodeLost, detail: detail)
        failure = reason
        append(LaunchTraceEntry(atMs: atMs, state: .lost, reason: reason, note: detail))
    }

    /// Records the launch that replaces this one (and says so in the trace, without a new state).
    public mutating func linkReplacement(_ replacementID: String, atMs: Int64) {
        replacedBy = replacementID
        trace.append(LaunchTraceEntry(atMs: atMs, state: state, note: "replaced by \(replacementID)"))
    }

    /// The agent of a `lost` launch's node came back and reported how the workload ended
    /// (`reported`: `terminated` or `failed`): kept in the trace, the state stays `lost`. Returns
    /// false when it was already recorded.
    @discardableResult
    public mutating func confirmStoppedOnNode(atMs: Int64, reported: LaunchState, note: String?) -> Bool {
        guard state == .lost, stoppedOnNodeAtMs == nil else { return false }
        stoppedOnNodeAtMs = atMs
        let said = note.map { ": \($0)" } ?? ""
        trace.append(
            LaunchTraceEntry(
                atMs: atMs, state: .lost, note: "its agent came back and reported it \(reported.rawValue)\(said)"))
        return true
    }

    private mutating func append(_ entry: LaunchTraceEntry) {
        trace.append(entry)
        state = entry.state
        updatedAtMs = entry.atMs
    }
}

extension LaunchRecord: Codable {
    enum CodingKeys: String, CodingKey {
        case id
        case intent
        case spec
        case nodeID = "node_id"
        case placement
        case state
        case failure
        case trace
        case createdAtMs = "created_at_ms"
        case updatedAtMs = "updated_at_ms"
        case replaces
        case replacedBy = "replaced_by"
        case stoppedOnNodeAtMs = "stopped_on_node_at_ms"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        intent = try container.decode(WorkloadIntent.self, forKey: .intent)
        spec = try container.decodeIfPresent(LaunchSpec.self, forKey: .spec)
        placement = try container.decodeIfPresent(Explanation.self, forKey: .placement)
        state = try container.decode(LaunchState.self, forKey: .state)
        failure = try container.decodeIfPresent(FailureReason.self, forKey: .failure)
        trace = try container.decode([LaunchTraceEntry].self, forKey: .trace)
        createdAtMs = try container.decode(Int64.self, forKey: .createdAtMs)
        updatedAtMs = try container.decode(Int64.self, forKey: .updatedAtMs)
        replaces = try container.decodeIfPresent(String.self, forKey: .replaces)
        replacedBy = try container.decodeIfPresent(String.self, forKey: .replacedBy)
        stoppedOnNodeAtMs = try container.decodeIfPresent(Int64.self, forKey: .stoppedOnNodeAtMs)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(intent, forKey: .intent)
        try container.encodeIfPresent(spec, forKey: .spec)
        try container.encodeIfPresent(nodeID, forKey: .nodeID)
        try container.encodeIfPresent(placement, forKey: .placement)
        try container.encode(state, forKey: .state)
        try container.encodeIfPresent(failure, forKey: .failure)
        try container.encode(trace, forKey: .trace)
        try container.encode(createdAtMs, forKey: .createdAtMs)
        try container.encode(updatedAtMs, forKey: .updatedAtMs)
        try container.encodeIfPresent(replaces, forKey: .replaces)
        try container.encodeIfPresent(replacedBy, forKey: .replacedBy)
        try container.encodeIfPresent(stoppedOnNodeAtMs, forKey: .stoppedOnNodeAtMs)
    }
}
