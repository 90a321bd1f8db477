/// One job: a command to run once (the Raft scheduler seed's job). A value; where it is stored
/// (the `jobs` table) is `BerthStorage`'s business, and its coding keys are the column names.
public struct JobRecord: Codable, Equatable, Hashable, Sendable {
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

    enum CodingKeys: String, CodingKey {
        case id, command, image, status
        case createdAtMs = "created_at_ms"
        case updatedAtMs = "updated_at_ms"
        case executedBy = "executed_by"
        case output, error
    }
}
