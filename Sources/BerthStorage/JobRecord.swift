import GRDB

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

/// One row of `jobs`: a command to run once (the Raft scheduler seed's job).
public struct JobRecord: Codable, Equatable, Hashable, Sendable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "jobs"

    /// The job's id (a UUID string chosen by the leader).
    public var id: String
    /// The shell command to run.
    public var command: String
    /// The container or VM image to run it in, when not the server default.
    public var image: String?
    public var status: JobStatus
    /// When the leader accepted the job, in milliseconds since the Unix epoch.
    public var createdAtMs: Int64
    /// When the job last changed, in milliseconds since the Unix epoch.
    public var updatedAtMs: Int64
    /// The node that ran (or runs) it.
    public var executedBy: String?
    /// What the command printed, once finished.
    public var output: String?
    /// Why it failed, once failed.
    public var error: String?

    public init(
        id: String, command: String, image: String? = nil, status: JobStatus, createdAtMs: Int64,
        updatedAtMs: Int64,
        executedBy: String? = nil, output: String? = nil, error: String? = nil
    ) {
        self.id = id
        self.command = command
        self.image = image
        self.status = status
        self.createdAtMs = createdAtMs
        self.updatedAtMs = updatedAtMs
        self.executedBy = executedBy
        self.output = output
        self.error = error
    }

    enum CodingKeys: String, CodingKey, ColumnExpression {
        case id, command, image, status
        case createdAtMs = "created_at_ms"
        case updatedAtMs = "updated_at_ms"
        case executedBy = "executed_by"
        case output, error
    }
}
