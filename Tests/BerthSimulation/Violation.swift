import BerthRaft

/// A broken invariant: what must hold, when it was seen not to, and the evidence.
public struct Violation: Error, Equatable, Sendable, CustomStringConvertible {
    /// The invariants the checkers watch.
    public enum Invariant: String, Equatable, Sendable {
        /// At most one leader per term; a server votes once per term (§5.2).
        case electionSafety = "election safety"
        /// Two logs with an entry of the same index and term agree up to it (§5.3).
        case logMatching = "log matching"
        /// A leader holds every entry committed before its term (§5.4).
        case leaderCompleteness = "leader completeness"
        /// Every node applies the same entry at each index, in order (§5.4.3).
        case stateMachineSafety = "state machine safety"
        /// An acknowledged operation is applied exactly once and never lost.
        case durability = "durability"
        /// The client history — writes, including those of unknown outcome, and reads, with
        /// their real-time order — has a linearization (Herlihy & Wing; thesis §6.4).
        case linearizability = "linearizability"
        /// After the faults stop, the cluster elects a leader and finishes all work in bounded time.
        case liveness = "liveness"
        /// The core handed out a `Ready` that cannot be carried out as documented.
        case readyContract = "Ready contract"
    }

    /// Which invariant broke.
    public var invariant: Invariant
    /// The simulated time at which it was detected, in time units.
    public var time: UInt64
    /// What was seen, in words.
    public var detail: String

    public init(invariant: Invariant, time: UInt64, detail: String) {
        self.invariant = invariant
        self.time = time
        self.detail = detail
    }

    public var description: String { "\(invariant.rawValue) violated at t=\(time): \(detail)" }
}
