import BerthControlPlane

/// The cron and retry commands (issue 11). Only the leader proposes them, stamped with its
/// clock; the apply decides from replicated state alone (`JobRules.fire`, `JobRules.retry`),
/// so a due time fires once and a retry starts once whatever the leaders in between did.
extension StateCommand {
    /// The leader fires due time `dueMs` of cron job `jobID` (`CronFiring`).
    public struct FireJob: Codable, Equatable, Sendable {
        public var jobID: String
        public var dueMs: Int64
        /// Earlier due times the leader passed over (missed while nobody could fire them).
        public var missed: Int
        /// False: record the due time without a run (`missed_runs: skip` of a late one).
        public var runs: Bool
        /// The leader's clock when it proposed.
        public var atMs: Int64

        public init(jobID: String, dueMs: Int64, missed: Int, runs: Bool, atMs: Int64) {
            self.jobID = jobID
            self.dueMs = dueMs
            self.missed = missed
            self.runs = runs
            self.atMs = atMs
        }

        enum CodingKeys: String, CodingKey {
            case jobID = "job_id"
            case dueMs = "due_ms"
            case missed, runs
            case atMs = "at_ms"
        }
    }

    /// The leader starts the retry owed after run `runNumber` of job `jobID` failed.
    public struct RetryJob: Codable, Equatable, Sendable {
        public var jobID: String
        public var runNumber: Int
        public var atMs: Int64

        public init(jobID: String, runNumber: Int, atMs: Int64) {
            self.jobID = jobID
            self.runNumber = runNumber
            self.atMs = atMs
        }

        enum CodingKeys: String, CodingKey {
            case jobID = "job_id"
            case runNumber = "run_number"
            case atMs = "at_ms"
        }
    }
}

/// One recorded due time of a cron job (`job_fires`; `GET /api/jobs/:id/fires`).
public struct JobFire: Codable, Equatable, Sendable {
    public var jobID: String
    public var dueMs: Int64
    /// When the leader fired it.
    public var atMs: Int64
    public var missed: Int
    public var outcome: FireOutcome
    /// The run it started, when `outcome` is `started`.
    public var runID: String?

    public init(jobID: String, dueMs: Int64, atMs: Int64, missed: Int, outcome: FireOutcome, runID: String?) {
        self.jobID = jobID
        self.dueMs = dueMs
        self.atMs = atMs
        self.missed = missed
        self.outcome = outcome
        self.runID = runID
    }

    enum CodingKeys: String, CodingKey {
        case jobID = "job_id"
        case dueMs = "due_ms"
        case atMs = "at_ms"
        case missed, outcome
        case runID = "run_id"
    }
}
