/// What a launch command does to the state. The fleet view the rule was given has already
/// been changed to match (resources taken by `placed`, given back by a terminal `moved`).
public enum LaunchDecision: Equatable, Hashable, Sendable {
    /// Placed on a node (now `validated`): store it.
    case placed(LaunchRecord)
    /// Accepted with no node that fits, waiting for capacity (`pending`): store it.
    case pending(LaunchRecord)
    /// Moved to a new state (an agent's report, a terminate): store it.
    case moved(LaunchRecord)
    /// Nothing to store; answer with the launch as it stands (a retry, a repeated report).
    case unchanged(LaunchRecord)
    /// Refused; nothing changes.
    case refused(LaunchRefusal)

    /// The record to store, when the command changed one.
    public var recordToWrite: LaunchRecord? {
        switch self {
        case .placed(let record), .pending(let record), .moved(let record): return record
        case .unchanged, .refused: return nil
        }
    }
}
