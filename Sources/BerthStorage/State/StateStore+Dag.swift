import BerthControlPlane
import Foundation
import GRDB

/// One run of a DAG job: its tasks' progress (`run_tasks`; each started task is a launch
/// `<run>.<task>`, `JobRuns.taskLaunchID`).
public struct DagRun: Equatable, Sendable {
    public var jobID: String
    public var runID: String
    public var number: Int
    /// In the job's task order.
    public var tasks: [TaskProgress]

    public var status: JobStatus { TaskGraph.runStatus(tasks.map(\.state)) }
    public var createdAtMs: Int64 { tasks.map(\.updatedAtMs).min() ?? 0 }
    public var updatedAtMs: Int64 { tasks.map(\.updatedAtMs).max() ?? 0 }
}

/// DAG runs applied: a run's tasks are rows of `run_tasks`; a task starts (its launch is
/// stored, pending until the leader places it) only when `TaskGraph.advance` says its
/// dependencies succeeded, and a failed task fails its dependants with `UPSTREAM_FAILED`. All of
/// it happens in the apply of the command that changed a task (the run's start, a task
/// launch's report, a cancel), so every node holds the same task states.
extension StateStore {
    // MARK: Queries

    /// The tasks of run `runID` (nil when it is not a DAG run).
    public func dagRun(id runID: String) throws(StateStoreError) -> DagRun? {
        try Self.wrap { try writer.read { try Self.dagRun(runID, in: $0) } }
    }

    /// The DAG runs of job `jobID`, newest first, at most `limit`.
    public func dagRuns(ofJob jobID: String, limit: Int) throws(StateStoreError) -> [DagRun] {
        try Self.wrap {
            try writer.read { db in
                let ids = try String.fetchAll(
                    db, sql: "SELECT DISTINCT run_id FROM run_tasks WHERE job_id = ?", arguments: [jobID])
                return try ids.compactMap { try Self.dagRun($0, in: db) }.sorted { $0.number > $1.number }
                    .prefix(limit).map { $0 }
            }
        }
    }

    static func dagRun(_ runID: String, in db: Database) throws -> DagRun? {
        let rows = try Row.fetchAll(
            db,
            sql: """
                SELECT name, job_id, state, launch_id, reason, updated_at_ms FROM run_tasks WHERE run_id = ?
                ORDER BY position
                """, arguments: [runID])
        guard let first = rows.first else { return nil }
        let number = runID.range(of: "-run-", options: .backwards).flatMap { Int(runID[$0.upperBound...]) } ?? 0
        return DagRun(
            jobID: first["job_id"], runID: runID, number: number,
            tasks: rows.map { row in
                TaskProgress(
                    name: row["name"], state: TaskState(rawValue: row["state"]) ?? .waiting, launchID: row["launch_id"],
                    reason: row["reason"], updatedAtMs: row["updated_at_ms"])
            })
    }

    // MARK: Apply

    static func activeDagRunCount(_ jobID: String, in db: Database) throws -> Int {
        try Int.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT COUNT(DISTINCT run_id) FROM run_tasks WHERE job_id = ?
                    AND state IN ('waiting', 'pending', 'running')
                    """), arguments: [jobID]) ?? 0
    }

    /// Every task of the new run, waiting; then the ones without dependencies start.
    static func startDagRun(of job: JobRecord, runID: String, tasks: [JobTask], atMs: Int64, in db: Database) throws {
        for (position, task) in tasks.enumerated() {
            try db.execute(
                sql: """
                    INSERT INTO run_tasks (run_id, name, job_id, position, state, updated_at_ms)
                    VALUES (?, ?, ?, ?, 'waiting', ?)
                    """, arguments: [runID, task.name, job.id, position, atMs])
        }
        try advanceDagRun(runID, job: job, atMs: atMs, in: db)
    }

    /// A task's launch changed: the task follows it (unless it already ended, e.g. cancelled),
    /// and the run advances.
    static func followTask(runID: String, task: String, launch: LaunchRecord, in db: Database) throws {
        guard
            let row = try Row.fetchOne(
                db, sql: "SELECT job_id, state FROM run_tasks WHERE run_id = ? AND name = ?", arguments: [runID, task]),
            let current = TaskState(rawValue: row["state"]), !current.isTerminal
        else { return }
        let next = TaskState.of(launch.state)
        guard next != current else { return }
        try db.execute(
            sql: "UPDATE run_tasks SET state = ?, reason = ?, updated_at_ms = ? WHERE run_id = ? AND name = ?",
            arguments: [
                next.rawValue, next == .failed ? "TASK_FAILED: \(launch.failure?.message ?? "failed")" : nil,
                launch.updatedAtMs, runID, task,
            ])
        guard let job = try job(row["job_id"], in: db) else { return }
        try advanceDagRun(runID, job: job, atMs: launch.updatedAtMs, in: db)
    }

    /// Starts the tasks that may start, fails those after a failure (`TaskGraph.advance`), and
    /// sets the job's status from the run's when it is the job's current run.
    static func advanceDagRun(_ runID: String, job: JobRecord, atMs: Int64, in db: Database) throws {
        guard let tasks = job.plan?.tasks, var run = try dagRun(runID, in: db) else { return }
        let states = Dictionary(uniqueKeysWithValues: run.tasks.map { ($0.name, $0.state) })
        for (name, (state, reason)) in TaskGraph.advance(tasks, states: states) {
            var launchID: String?
            if state == .pending, let task = tasks.first(where: { $0.name == name }) {
                let id = JobRuns.taskLaunchID(runID: runID, task: name)
                let launch = LaunchRecord(
                    id: id, intent: JobRuns.taskIntent(for: job, task: task), createdAtMs: atMs,
                    note: "task \(name) of run \(runID)")
                try saveLaunch(launch, in: db)
                launchID = id
            }
            try db.execute(
                sql: """
                    UPDATE run_tasks SET state = ?, reason = ?, launch_id = COALESCE(?, launch_id), updated_at_ms = ?
                    WHERE run_id = ? AND name = ?
                    """, arguments: [state.rawValue, reason, launchID, atMs, runID, name])
            if let index = run.tasks.firstIndex(where: { $0.name == name }) { run.tasks[index].state = state }
        }
        guard job.runID == runID, job.status != .cancelled else { return }
        var followed = job
        followed.status = run.status
        followed.error = run.tasks.first(where: { $0.state == .failed })
            .map { "task \($0.name) failed" }
        if followed.status == .failed, let plan = job.plan, job.attempt <= plan.retryLimit {
            followed.status = .pending
            followed.retryAtMs = atMs + plan.backoffMs
        }
        guard followed != job else { return }
        followed.updatedAtMs = atMs
        try followed.update(db)
    }

    /// A cancel: tasks not yet ended are cancelled, and running task launches terminated.
    static func cancelDagRun(_ runID: String, atMs: Int64, in db: Database, fleet: inout FleetSnapshot) throws {
        guard let run = try dagRun(runID, in: db) else { return }
        for task in run.tasks where !task.state.isTerminal {
            try db.execute(
                sql: "UPDATE run_tasks SET state = 'cancelled', updated_at_ms = ? WHERE run_id = ? AND name = ?",
                arguments: [atMs, runID, task.name])
            if let launchID = task.launchID, let launch = try launch(launchID, in: db), !launch.state.isTerminal {
                let decision = LaunchRules.terminate(
                    existing: launch, launchID: launchID, atMs: atMs, fleet: &fleet.view)
                _ = try store(decision, in: db, answer: CommandOutcome.launchUpdated)
            }
        }
    }
}
