/// Where a launch is in its life (spec §6). The legal moves, and why each exists:
///
/// | from          | to            | when                                                        |
/// |---------------|---------------|-------------------------------------------------------------|
/// | `pending`     | `validated`   | the leader placed it on a node that passed every check      |
/// | `pending`     | `terminated`  | cancelled before it was placed, so nothing ran to stop      |
/// | `validated`   | `preparing`   | the agent took the action and is preparing the runtime      |
/// | `preparing`   | `starting`    | the runtime is ready; the agent is starting the workload    |
/// | `starting`    | `running`     | the readiness probe passed                                  |
/// | `running`     | `terminated`  | the workload exited on its own with status 0                |
/// | `validated`, `preparing`, `starting`, `running` | `terminating` | a terminate was asked for  |
/// | `terminating` | `terminated`  | it stopped                                                  |
/// | any non-terminal | `failed`   | something went wrong; a `FailureReason` says what           |
/// | `validated` … `terminating` | `lost` | its node went silent (`LaunchRecord.markLost`, never a report) |
///
/// `terminated`, `failed` and `lost` are terminal. A `lost` launch holds nothing on its node; when
/// the node's agent comes back it is told to stop the workload, and its report of the ending is
/// recorded in the trace without leaving `lost` (`LaunchRecord.confirmStoppedOnNode`). Every other pair is illegal, and reporting the state a
/// launch is already in is not a move at all (see `LaunchRecord.transition`).
public enum LaunchState: String, Codable, CaseIterable, Equatable, Hashable, Sendable {
    /// Accepted, not yet placed (no node fits yet, or the leader has not decided).
    case pending
    /// Placed on a node; the action waits for its agent.
    case validated
    /// The agent is preparing the runtime (sockets, disks, binaries).
    case preparing
    /// The agent started the workload and waits for readiness.
    case starting
    /// Ready and running.
    case running
    /// Being stopped at someone's request.
    case terminating
    /// Stopped; terminal.
    case terminated
    /// Failed; terminal, with a reason.
    case failed
    /// Its node was declared lost (silent past `--node-lost-after`); terminal, reason NODE_LOST.
    case lost

    /// Whether the launch can no longer change (and holds no resources).
    public var isTerminal: Bool {
        self == .terminated || self == .failed || self == .lost
    }

    /// The states this one may move to.
    public var successors: Set<LaunchState> {
        switch self {
        case .pending: return [.validated, .terminated, .failed]
        case .validated: return [.preparing, .terminating, .failed]
        case .preparing: return [.starting, .terminating, .failed]
        case .starting: return [.running, .terminating, .failed]
        case .running: return [.terminating, .terminated, .failed]
        case .terminating: return [.terminated, .failed]
        case .terminated, .failed, .lost: return []
        }
    }

    /// Whether moving from this state to `next` is legal.
    public func canMove(to next: LaunchState) -> Bool {
        successors.contains(next)
    }
}
