/// One job: a command to run (the Raft scheduler seed's job). Each execution is a run, and a run
/// is a launch (spec §6): `runID` names the launch of the current run, and the job's `status`,
/// `executedBy`, `output` and `error` follow that launch (`JobRules.follow`). A value; where it
/// is stored (the `jobs` table) is `BerthStorage`'s business, and its coding keys are the column
/// names.
public struct JobRecord: Codable, Equatable, Hashable, Sendable {
    /// The job's id (a UUID string chosen by the leader).
    public var id: String
    /// The shell command to run.
    public var command: String
    /// The VM image to run it in, when not a plain process.
    public var image: String?
    public var status: JobStatus
    /// When the leader accepted the job, in milliseconds since the Unix epoch.
    public var createdAtMs: Int64
    /// When the job last changed, in milliseconds since the Unix epoch.
    public var updatedAtMs: Int64
    /// The node that ran (or runs) the current run.
    public var executedBy: String?
    /// What the current run printed on stdout, once finished (bounded; see `LaunchOutput`).
    public var output: String?
    /// Why the current run failed, once failed.
    public var error: String?
    /// The backend asked for (`process`, a VM backend, or nil: `process` for a command,
    /// any VM backend for an image).
    public var backend: String?
    /// The launch id of the current run; nil for jobs recorded before jobs ran.
    public var runID: String?
    /// How many runs the job has had (the current run's number).
    public var runCount: Int
    /// How many of its runs may be active at once (`POST /api/jobs/:id/trigger` answers 429
    /// beyond).
    public var maxConcurrentRuns: Int
    /// Schedule, retries and dependencies (nil: a one-off job with none).
    public var plan: JobPlan?
    /// A cron job's last due time recorded as fired (its creation time before the first), ms
    /// since the epoch; nil for a job without a schedule. `fireJob` only ever moves it forward.
    public var lastDueMs: Int64?
    /// When the current run failed and a retry is owed: the leader starts the next attempt at
    /// this time (leader's clock, ms since the epoch).
    public var retryAtMs: Int64?
    /// The current run's attempt (1 for a first try; each retry adds one).
    public var attempt: Int

    /// The default of `max_concurrent_runs`.
    public static let defaultMaxConcurrentRuns = 1

    public init(
        id: String, command: String, image: String? = nil, status: JobStatus, createdAtMs: Int64,
        updatedAtMs: Int64,
        executedBy: String? = nil, output: String? = nil, error: String? = nil, backend: String? = nil,
        runID: String? = nil, runCount: Int = 0, maxConcurrentRuns: Int = JobRecord.defaultMaxConcurrentRuns,
        plan: JobPlan? = nil, lastDueMs: Int64? = nil, retryAtMs: Int64? = nil, attempt: Int = 1
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
        self.backend = backend
        self.runID = runID
        self.runCount = runCount
        self.maxConcurrentRuns = maxConcurrentRuns
        self.plan = plan
        self.lastDueMs = lastDueMs
        self.retryAtMs = retryAtMs
        self.attempt = attempt
    }

    /// Whether the job recurs on a cron schedule.
    public var isScheduled: Bool { plan?.schedule != nil }

    enum CodingKeys: String, CodingKey {
        case id, command, image, status
        case createdAtMs = "created_at_ms"
        case updatedAtMs = "updated_at_ms"
        case executedBy = "executed_by"
        case output, error, backend
        case runID = "run_id"
        case runCount = "run_count"
        case maxConcurrentRuns = "max_concurrent_runs"
        case plan
        case lastDueMs = "last_due_ms"
        case retryAtMs = "retry_at_ms"
        case attempt
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        command = try container.decode(String.self, forKey: .command)
        image = try container.decodeIfPresent(String.self, forKey: .image)
        status = try container.decode(JobStatus.self, forKey: .status)
        createdAtMs = try container.decode(Int64.self, forKey: .createdAtMs)
        updatedAtMs = try container.decode(Int64.self, forKey: .updatedAtMs)
        executedBy = try container.decodeIfPresent(String.self, forKey: .executedBy)
        output = try container.decodeIfPresent(String.self, forKey: .output)
        error = try container.decodeIfPresent(String.self, forKey: .error)
        backend = try container.decodeIfPresent(String.self, forKey: .backend)
        runID = try container.decodeIfPresent(String.self, forKey: .runID)
        runCount = try container.decodeIfPresent(Int.self, forKey: .runCount) ?? 0
        maxConcurrentRuns =
            try container.decodeIfPresent(Int.self, forKey: .maxConcurrentRuns) ?? Self.defaultMaxConcurrentRuns
        plan = try container.decodeIfPresent(JobPlan.self, forKey: .plan)
        lastDueMs = try container.decodeIfPresent(Int64.self, forKey: .lastDueMs)
        retryAtMs = try container.decodeIfPresent(Int64.self, forKey: .retryAtMs)
        attempt = try container.decodeIfPresent(Int.self, forKey: .attempt) ?? 1
    }
}
