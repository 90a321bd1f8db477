import BerthControlPlane

/// One state change the agent made happen, to be reported to the control plane in order.
public struct LocalTransition: Codable, Equatable, Sendable {
    public var state: LaunchState
    public var reason: FailureReason?
    public var note: String?

    public init(state: LaunchState, reason: FailureReason? = nil, note: String? = nil) {
        self.state = state
        self.reason = reason
        self.note = note
    }
}

/// What the agent records about a launch it carries out (one JSON file per launch under the
/// root), so a restarted agent knows what it runs, re-attaches to it, and finishes reporting.
public struct LocalLaunch: Codable, Equatable, Sendable {
    public var launchID: String
    public var spec: LaunchSpec
    /// The state the agent has brought it to.
    public var state: LaunchState
    /// The process, once started.
    public var process: ProcessHandle?
    /// Every transition the agent made, in order; `reported` of them have been acknowledged.
    public var transitions: [LocalTransition]
    public var reported: Int
    /// A terminate was asked for: its ending is `terminated`, whatever the exit status.
    public var stopRequested: Bool

    public init(launchID: String, spec: LaunchSpec) {
        self.launchID = launchID
        self.spec = spec
        self.state = .validated
        self.transitions = []
        self.reported = 0
        self.stopRequested = false
    }

    /// Moves to `next` and queues its report.
    public mutating func move(to next: LaunchState, reason: FailureReason? = nil, note: String? = nil) {
        guard next != state else { return }
        state = next
        transitions.append(LocalTransition(state: next, reason: reason, note: note))
    }

    /// The reports not yet acknowledged, oldest first.
    public var unreported: ArraySlice<LocalTransition> { transitions[min(reported, transitions.count)...] }

    /// Done: terminal, and the control plane knows.
    public var isSettled: Bool { state.isTerminal && unreported.isEmpty }

    enum CodingKeys: String, CodingKey {
        case launchID = "launch_id"
        case spec, state, process, transitions, reported
        case stopRequested = "stop_requested"
    }
}
