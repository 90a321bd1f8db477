import BerthControlPlane
import Foundation
import GRDB

/// Cron jobs, retries and dependencies (issue 11): the rows behind `JobRules.fire`,
/// `JobRules.retry` and `depends_on`, and what the leader's job ticker reads.
extension StateStore {
    // MARK: Queries

    /// Cron jobs still scheduled (not cancelled), for the leader's ticker.
    public func scheduledJobs() throws(StateStoreError) -> [JobRecord] {
        try Self.wrap {
            try writer.read { db in
                try JobRecord.fetchAll(
                    db, sql: "SELECT * FROM jobs WHERE last_due_ms IS NOT NULL AND status != 'cancelled'")
            }
        }
    }

    /// Jobs owed a retry at or before `atMs`.
    public func jobsAwaitingRetry(dueBy atMs: Int64) throws(StateStoreError) -> [JobRecord] {
        try Self.wrap {
            try writer.read { db in
                try JobRecord.fetchAll(
                    db, sql: "SELECT * FROM jobs WHERE retry_at_ms IS NOT NULL AND retry_at_ms <= ?",
                    arguments: [atMs])
            }
        }
    }

    /// The due times recorded for cron job `jobID`, newest first, at most `limit`.
    public func fires(ofJob jobID: String, limit: Int) throws(StateStoreError) -> [JobFire] {
        try Self.wrap {
            try writer.read { db in
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT due_ms, at_ms, missed, outcome, run_id FROM job_fires WHERE job_id = ?
                        ORDER BY due_ms DESC LIMIT ?
                        """, arguments: [jobID, limit]
                ).map { row in
                    JobFire(
                        jobID: jobID, dueMs: row["due_ms"], atMs: row["at_ms"], missed: row["missed"],
                        outcome: FireOutcome(rawValue: row["outcome"]) ?? .started, runID: row["run_id"])
                }
            }
        }
    }

    // MARK: Apply

    /// The first job of `dependsOn` that has not succeeded (its current run `completed`), with
    /// its status (nil: no such job).
    static func firstUnmetDependency(_ dependsOn: [String]?, in db: Database) throws -> (
        id: String, status: JobStatus?
    )? {
        for id in dependsOn ?? [] {
            let dependency = try job(id, in: db)
            if dependency?.status != .completed { return (id, dependency?.status) }
        }
        return nil
    }

    static func fireJob(_ fire: StateCommand.FireJob, in db: Database) throws -> CommandOutcome {
        let existing = try job(fire.jobID, in: db)
        let decision = JobRules.fire(
            existing: existing, id: fire.jobID, dueMs: fire.dueMs, runs: fire.runs,
            activeRuns: try activeRunCount(fire.jobID, in: db),
            dependenciesMet: try firstUnmetDependency(existing?.plan?.dependsOn, in: db) == nil,
            paused: try schedulerState(in: db).paused, atMs: fire.atMs)
        switch decision {
        case .ignored(let reason):
            return .fireIgnored(reason: reason)
        case .recorded(let job, let outcome):
            try job.update(db)
            if outcome == .started { try startRun(of: job, atMs: fire.atMs, in: db) }
            let record = JobFire(
                jobID: job.id, dueMs: fire.dueMs, atMs: fire.atMs, missed: fire.missed, outcome: outcome,
                runID: outcome == .started ? job.runID : nil)
            // The primary key (job, due time) is a second guard: the rules never record a due
            // time twice, and if they did this insert would fail the apply loudly.
            try db.execute(
                sql: "INSERT INTO job_fires (job_id, due_ms, at_ms, missed, outcome, run_id) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [record.jobID, record.dueMs, record.atMs, record.missed, outcome.rawValue, record.runID])
            return .jobFired(fire: record)
        }
    }

    static func retryJob(_ retry: StateCommand.RetryJob, in db: Database) throws -> CommandOutcome {
        let decision = JobRules.retry(
            existing: try job(retry.jobID, in: db), id: retry.jobID, runNumber: retry.runNumber, atMs: retry.atMs)
        switch decision {
        case .write(let job):
            try job.update(db)
            try startRun(of: job, atMs: retry.atMs, in: db)
            return .jobUpdated(job: job)
        case .unchanged(let job): return .jobUpdated(job: job)
        case .refused(let refusal): return .rejected(CommandRejection(refusal))
        }
    }
}
