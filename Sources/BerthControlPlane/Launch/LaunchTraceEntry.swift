/// One step in a launch's append-only history.
public struct LaunchTraceEntry: Codable, Equatable, Hashable, Sendable {
    /// When the launch entered `state` (`at_ms`), ms since the epoch, on the clock of the leader
    /// that committed the step.
    public var atMs: Int64
    /// The state entered.
    public var state: LaunchState
    /// Why, when `state` is `failed`.
    public var reason: FailureReason?
    /// Free text from whoever caused the step (`note`), e.g. "cancelled by alice".
    public var note: String?

    public init(atMs: Int64, state: LaunchState, reason: FailureReason? = nil, note: String? = nil) {
        self.atMs = atMs
        self.state = state
        self.reason = reason
        self.note = note
    }

    enum CodingKeys: String, CodingKey {
        case atMs = "at_ms"
        case state
        case reason
        case note
    }
}
