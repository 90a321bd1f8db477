import BerthControlPlane
import Foundation
import GRDB

/// One run of a job: the launch it is, and its number among the job's runs.
public struct JobRun: Equatable, Sendable {
    public var jobID: String
    /// 1-based.
    public var number: Int
    public var launch: LaunchRecord

    public init(jobID: String, number: Int, launch: LaunchRecord) {
        self.jobID = jobID
        self.number = number
        self.launch = launch
    }
}

/// Jobs that run as launches (spec §7): each run is a launch record whose row names its job
/// (`job_id`, `run_number`; its id is `<job>-run-<n>`), `launch_outputs` keeps what it printed, and the job row follows its current run. The
/// decisions are `JobRules`' and `LaunchRules`'; here rows are read and written.
extension StateStore {
    // MARK: Queries

    /// Runs of job `jobID`, newest first, at most `limit`.
    public func runs(ofJob jobID: String, limit: Int) throws(StateStoreError) -> [JobRun] {
        try Self.wrap {
            try writer.read { db in
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT job_id, run_number, record FROM launches
                        WHERE id > ? AND id < ? AND job_id = ? ORDER BY run_number DESC LIMIT ?
                        """, arguments: [Self.runIDRange(jobID).low, Self.runIDRange(jobID).high, jobID, limit]
                ).map { JobRun(jobID: $0["job_id"], number: $0["run_number"], launch: try Self.decodeLaunch($0)) }
            }
        }
    }

    /// One run by its id (its launch's id), or nil.
    public func run(id: String) throws(StateStoreError) -> JobRun? {
        try Self.wrap {
            try writer.read { db in
                try Row.fetchOne(
                    db,
                    sql: """
                        SELECT job_id, run_number, record FROM launches WHERE id = ? AND job_id IS NOT NULL
                        """, arguments: [id]
                ).map { JobRun(jobID: $0["job_id"], number: $0["run_number"], launch: try Self.decodeLaunch($0)) }
            }
        }
    }

    /// What launch `launchID` printed, once its agent reported it.
    public func launchOutput(id launchID: String) throws(StateStoreError) -> LaunchOutput? {
        try Self.wrap {
            try writer.read { db in
                try Row.fetchOne(
                    db, sql: "SELECT stdout, stderr, truncated FROM launch_outputs WHERE launch_id = ?",
                    arguments: [launchID]
                ).map { LaunchOutput(stdout: $0["stdout"], stderr: $0["stderr"], truncated: $0["truncated"]) }
            }
        }
    }

    /// Whether the scheduler is paused, as replicated.
    public func schedulerState() throws(StateStoreError) -> SchedulerState {
        try Self.wrap { try writer.read { try Self.schedulerState(in: $0) } }
    }

    // MARK: Apply

    /// Stores the launch of `job`'s current run, `pending` until the leader places it, and ties it
    /// to the job.
    static func startRun(of job: JobRecord, atMs: Int64, in db: Database) throws {
        guard let runID = job.runID else { return }
        if let tasks = job.plan?.tasks, !tasks.isEmpty {
            try startDagRun(of: job, runID: runID, tasks: tasks, atMs: atMs, in: db)
            return
        }
        let launch = LaunchRecord(
            id: runID, intent: JobRuns.intent(for: job), createdAtMs: atMs, note: "run \(job.runCount) of job \(job.id)"
        )
        try saveLaunch(launch, run: (jobID: job.id, number: job.runCount), in: db)
    }

    /// Bounds strictly around every id `<jobID>-run-<n>`: `-` is followed by `.` in byte order.
    static func runIDRange(_ jobID: String) -> (low: String, high: String) {
        (jobID + "-run-", jobID + "-run.")
    }

    /// Terminates run `runID` through the launch terminate path, unless it already ended.
    static func terminateRun(_ runID: String, atMs: Int64, in db: Database, fleet: inout FleetSnapshot) throws {
        try cancelDagRun(runID, atMs: atMs, in: db, fleet: &fleet)
        guard let launch = try launch(runID, in: db), !launch.state.isTerminal else { return }
        let decision = LaunchRules.terminate(existing: launch, launchID: runID, atMs: atMs, fleet: &fleet.view)
        _ = try store(decision, in: db, answer: CommandOutcome.launchUpdated)
    }

    /// The job whose run `launch` is follows it (`JobRules.follow`); launches that are no run
    /// change nothing.
    static func followJob(of launch: LaunchRecord, output: LaunchOutput?, in db: Database) throws {
        if let (runID, task) = JobRuns.task(ofLaunch: launch.id) {
            try followTask(runID: runID, task: task, launch: launch, in: db)
            return
        }
        guard
            let jobID = try String.fetchOne(
                db.cachedStatement(sql: "SELECT job_id FROM launches WHERE id = ?"), arguments: [launch.id]),
            let job = try job(jobID, in: db)
        else { return }
        if case .write(let followed) = JobRules.follow(existing: job, launch: launch, output: output) {
            try followed.update(db)
        }
    }

    static func saveOutput(_ output: LaunchOutput, launchID: String, in db: Database) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO launch_outputs (launch_id, stdout, stderr, truncated) VALUES (?, ?, ?, ?)
                ON CONFLICT (launch_id) DO NOTHING
                """
        ).execute(arguments: [launchID, output.stdout, output.stderr, output.truncated])
    }

    /// Runs of job `jobID` not yet terminal.
    static func activeRunCount(_ jobID: String, in db: Database) throws -> Int {
        try Int.fetchOne(
            db,
            sql: """
                SELECT COUNT(*) FROM launches WHERE id > ? AND id < ? AND job_id = ?
                AND state NOT IN ('terminated', 'failed', 'lost')
                """,
            arguments: [Self.runIDRange(jobID).low, Self.runIDRange(jobID).high, jobID]) ?? 0
            + activeDagRunCount(jobID, in: db)
    }

    static func triggerJob(_ trigger: StateCommand.TriggerJob, in db: Database) throws -> CommandOutcome {
        let active = try activeRunCount(trigger.jobID, in: db)
        let existing = try job(trigger.jobID, in: db)
        let unmet = try firstUnmetDependency(existing?.plan?.dependsOn, in: db)
        let decision = JobRules.trigger(
            existing: existing, id: trigger.jobID, activeRuns: active, unmet: unmet, atMs: trigger.atMs)
        switch decision {
        case .write(let job):
            try job.update(db)
            try startRun(of: job, atMs: trigger.atMs, in: db)
            return .jobTriggered(job: job, runID: job.runID ?? "")
        case .unchanged(let job): return .jobTriggered(job: job, runID: job.runID ?? "")
        case .refused(let refusal): return .rejected(CommandRejection(refusal))
        }
    }

    static func setSchedulerPaused(_ set: StateCommand.SetSchedulerPaused, in db: Database) throws -> CommandOutcome {
        let current = try schedulerState(in: db)
        guard let next = current.setting(paused: set.paused, atMs: set.atMs) else {
            return .schedulerChanged(state: current)
        }
        try db.execute(
            sql: "UPDATE scheduler_state SET paused = ?, changed_at_ms = ? WHERE id = 1",
            arguments: [next.paused, next.changedAtMs])
        return .schedulerChanged(state: next)
    }

    static func schedulerState(in db: Database) throws -> SchedulerState {
        guard let row = try Row.fetchOne(db, sql: "SELECT paused, changed_at_ms FROM scheduler_state WHERE id = 1")
        else { return SchedulerState() }
        return SchedulerState(paused: row["paused"], changedAtMs: row["changed_at_ms"])
    }
}
