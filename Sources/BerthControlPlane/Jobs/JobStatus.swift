/// Where a job is in its life. `completed`, `failed` and `cancelled` are terminal.
public enum JobStatus: String, Codable, CaseIterable, Equatable, Hashable, Sendable {
    /// Accepted and committed, waiting for a worker.
    case pending
    /// A worker (`executed_by`) is running it.
    case running
    /// Ran and exited successfully; `output` holds what it printed.
    case completed
    /// Ran and failed; `error` says why.
    case failed
    /// Cancelled by a client before it finished.
    case cancelled

    /// Whether the job can no longer change.
    public var isTerminal: Bool {
        switch self {
        case .pending, .running: return false
        case .completed, .failed, .cancelled: return true
        }
    }
}
