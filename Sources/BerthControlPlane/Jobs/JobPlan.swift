/// What a job asks for beyond its command (`POST /api/jobs`): a cron schedule, retries, and
/// other jobs it depends on. Stored with the job (the `plan` column, as JSON); nil fields take
/// their defaults.
public struct JobPlan: Codable, Equatable, Hashable, Sendable {
    /// A cron expression (`CronSchedule`): the job recurs instead of running once now.
    public var schedule: String?
    /// The IANA zone the schedule's wall clock is read in (default UTC).
    public var timeZone: String?
    /// What a leader does with due times nobody fired (default `run_once`).
    public var missedRuns: MissedRunsPolicy?
    /// How many times a failed run is tried again (default 0).
    public var retries: Int?
    /// How long after a failure the next attempt starts (default 0).
    public var backoffSeconds: Int?
    /// Jobs that must have succeeded (their current run `completed`) before a run of this one
    /// starts.
    public var dependsOn: [String]?
    /// A DAG: each run runs these tasks, each as a launch, in dependency order (the job's
    /// `command` only describes it).
    public var tasks: [JobTask]?

    public init(
        schedule: String? = nil, timeZone: String? = nil, missedRuns: MissedRunsPolicy? = nil, retries: Int? = nil,
        backoffSeconds: Int? = nil, dependsOn: [String]? = nil, tasks: [JobTask]? = nil
    ) {
        self.schedule = schedule
        self.timeZone = timeZone
        self.missedRuns = missedRuns
        self.retries = retries
        self.backoffSeconds = backoffSeconds
        self.dependsOn = dependsOn
        self.tasks = tasks
    }

    public var retryLimit: Int { retries ?? 0 }
    public var backoffMs: Int64 { Int64(backoffSeconds ?? 0) * 1000 }
    public var missedRunsPolicy: MissedRunsPolicy { missedRuns ?? .runOnce }

    enum CodingKeys: String, CodingKey {
        case schedule
        case timeZone = "time_zone"
        case missedRuns = "missed_runs"
        case retries
        case backoffSeconds = "backoff_seconds"
        case dependsOn = "depends_on"
        case tasks
    }
}

/// Due times of a cron job that passed with no leader to fire them (a failover, a pause, a
/// cluster down), found by the next leader.
public enum MissedRunsPolicy: String, Codable, CaseIterable, Hashable, Sendable {
    /// None of them runs; only a due time within the grace period of now still fires.
    case skip
    /// One run, for the latest missed due time (the others are counted, not run).
    case runOnce = "run_once"
}
