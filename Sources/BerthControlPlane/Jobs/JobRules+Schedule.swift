/// What recording a cron due time did (`JobRules.fire`).
public enum FireDecision: Equatable, Hashable, Sendable {
    /// The due time is recorded as fired; the job is as after (with a new run when `outcome`
    /// is `started`).
    case recorded(JobRecord, FireOutcome)
    /// Nothing changes: the due time is not after the last one recorded (a second leader's
    /// proposal, a retried one), the job is gone, cancelled or not a cron job, or the
    /// scheduler is paused (its due times are then missed, and the missed-runs policy decides).
    case ignored(FireIgnored)
}

/// Why a fired due time started no run, or that it did.
public enum FireOutcome: String, Codable, Hashable, Sendable {
    case started
    /// Late under `missed_runs: skip`.
    case skippedLate = "skipped_late"
    /// The job already has `max_concurrent_runs` active runs.
    case skippedConcurrency = "skipped_max_concurrent_runs"
    /// A `depends_on` job has not succeeded.
    case skippedDependency = "skipped_dependency"
}

/// Why a `fireJob` changed nothing.
public enum FireIgnored: String, Codable, Hashable, Sendable {
    case notFound = "not_found"
    case notScheduled = "not_scheduled"
    case cancelled
    case alreadyFired = "already_fired"
    case paused
}

extension JobRules {
    /// The leader fires due time `dueMs` of job `id` (`CronFiring`). Exactly once: a due time
    /// at or before the job's `lastDueMs` is ignored, so two leaders (or one retrying) can
    /// propose the same due time and only the first committed counts. `max_concurrent_runs`
    /// and `depends_on` are checked here, at apply, against replicated state — they hold
    /// across failover — and a due time they stop is still recorded (it is not owed later).
    public static func fire(
        existing: JobRecord?, id: String, dueMs: Int64, runs: Bool, activeRuns: Int, dependenciesMet: Bool,
        paused: Bool, atMs: Int64
    ) -> FireDecision {
        guard var job = existing else { return .ignored(.notFound) }
        guard job.isScheduled, let lastDueMs = job.lastDueMs else { return .ignored(.notScheduled) }
        guard job.status != .cancelled else { return .ignored(.cancelled) }
        guard dueMs > lastDueMs else { return .ignored(.alreadyFired) }
        guard !paused else { return .ignored(.paused) }
        job.lastDueMs = dueMs
        job.updatedAtMs = atMs
        let outcome: FireOutcome
        if !runs {
            outcome = .skippedLate
        } else if !dependenciesMet {
            outcome = .skippedDependency
        } else if activeRuns >= job.maxConcurrentRuns {
            outcome = .skippedConcurrency
        } else {
            outcome = .started
            job.attempt = 1
            job.retryAtMs = nil
            job = newRun(of: job, atMs: atMs)
        }
        return .recorded(job, outcome)
    }

    /// The leader starts the retry owed after run `runNumber` of job `id` failed (its
    /// `retryAtMs` has come). Only the retry of that very run starts, once: a second proposal
    /// finds the run count moved on (or no retry owed) and changes nothing.
    public static func retry(existing: JobRecord?, id: String, runNumber: Int, atMs: Int64) -> JobDecision {
        guard let job = existing else { return .refused(.notFound(id: id)) }
        guard let retryAtMs = job.retryAtMs, job.runCount == runNumber, job.status != .cancelled, atMs >= retryAtMs
        else { return .unchanged(job) }
        var next = newRun(of: job, atMs: atMs)
        next.attempt = job.attempt + 1
        next.retryAtMs = nil
        return .write(next)
    }
}
