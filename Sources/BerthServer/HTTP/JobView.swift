import BerthControlPlane
import BerthStorage
import Foundation

/// A job as the API shows it (the Raft scheduler seed's shape).
struct JobView: Codable, Equatable, Sendable {
    var id: String
    var command: String
    var image: String?
    var status: String
    /// The node that ran the job, if it ran.
    var executedBy: String?
    var output: String?
    var error: String?
    /// RFC 3339.
    var createdAt: String
    /// RFC 3339, once the job is terminal.
    var completedAt: String?
    var backend: String?
    /// The current run (its launch id), and how many runs the job has had.
    var runID: String?
    var runCount: Int
    var maxConcurrentRuns: Int
    var schedule: String?
    var timeZone: String?
    var missedRuns: String?
    var retries: Int?
    var backoffSeconds: Int?
    var dependsOn: [String]?
    var tasks: [JobTask]?
    /// The current run's attempt (1, then one more per retry).
    var attempt: Int
    /// When the owed retry starts (RFC 3339), while one is owed.
    var retryAt: String?
    /// A cron job's last due time recorded as fired (its creation time before the first).
    var lastDueAt: String?

    enum CodingKeys: String, CodingKey {
        case id, command, image, status, output, error, backend, schedule, retries, attempt
        case timeZone = "time_zone"
        case missedRuns = "missed_runs"
        case backoffSeconds = "backoff_seconds"
        case dependsOn = "depends_on"
        case tasks
        case retryAt = "retry_at"
        case lastDueAt = "last_due_at"
        case executedBy = "executed_by"
        case createdAt = "created_at"
        case completedAt = "completed_at"
        case runID = "run_id"
        case runCount = "run_count"
        case maxConcurrentRuns = "max_concurrent_runs"
    }

    init(_ job: JobRecord) {
        id = job.id
        command = job.command
        image = job.image
        status = job.status.rawValue
        executedBy = job.executedBy
        output = job.output
        error = job.error
        createdAt = Self.rfc3339(job.createdAtMs)
        completedAt = job.status.isTerminal ? Self.rfc3339(job.updatedAtMs) : nil
        backend = job.backend
        runID = job.runID
        runCount = job.runCount
        maxConcurrentRuns = job.maxConcurrentRuns
        schedule = job.plan?.schedule
        timeZone = job.plan?.schedule == nil ? nil : job.plan?.timeZone ?? "UTC"
        missedRuns = job.plan?.schedule == nil ? nil : job.plan?.missedRunsPolicy.rawValue
        retries = job.plan?.retries
        backoffSeconds = job.plan?.backoffSeconds
        dependsOn = job.plan?.dependsOn
        tasks = job.plan?.tasks
        attempt = job.attempt
        retryAt = job.retryAtMs.map(Self.rfc3339)
        lastDueAt = job.lastDueMs.map(Self.rfc3339)
    }

    static func rfc3339(_ milliseconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
    }
}

/// `GET /api/jobs/:id/output`: what the job's current run printed, bounded
/// (`LaunchOutput.reportLimitBytes` per stream) with a `truncated` flag. `available` is false
/// until the run's agent reported it (the run has not finished, or it printed nothing it kept).
struct JobOutputView: Encodable, Sendable {
    var jobID: String
    var runID: String?
    var status: String
    var available: Bool
    /// The same as `stdout` (the seed's `output`).
    var output: String
    var stdout: String
    var stderr: String
    var truncated: Bool

    init(job: JobRecord, output: LaunchOutput?) {
        jobID = job.id
        runID = job.runID
        status = job.status.rawValue
        available = output != nil
        self.output = output?.stdout ?? ""
        stdout = output?.stdout ?? ""
        stderr = output?.stderr ?? ""
        truncated = output?.truncated ?? false
    }

    enum CodingKeys: String, CodingKey {
        case jobID = "job_id"
        case runID = "run_id"
        case status, available, output, stdout, stderr, truncated
    }
}

/// One run (`GET /api/runs/:id`, `GET /api/jobs/:id/runs`): the launch it is, with the job status
/// its launch state means (`JobRuns.status(of:)`).
struct RunView: Encodable, Sendable {
    var runID: String
    var jobID: String
    var number: Int
    var status: String
    var launchState: String
    var executedBy: String?
    var error: String?
    var exitCode: Int32?
    var createdAt: String
    var updatedAt: String
    var completedAt: String?

    init(_ run: JobRun) {
        runID = run.launch.id
        jobID = run.jobID
        number = run.number
        status = JobRuns.status(of: run.launch.state).rawValue
        launchState = run.launch.state.rawValue
        executedBy = run.launch.nodeID
        error = run.launch.failure?.message
        exitCode = run.launch.failure?.exitCode
        createdAt = JobView.rfc3339(run.launch.createdAtMs)
        updatedAt = JobView.rfc3339(run.launch.updatedAtMs)
        completedAt = run.launch.state.isTerminal ? JobView.rfc3339(run.launch.updatedAtMs) : nil
    }

    /// A DAG job's run: no launch of its own, its tasks each have one
    /// (`GET /api/runs/:id/tasks`).
    init(_ run: DagRun) {
        runID = run.runID
        jobID = run.jobID
        number = run.number
        status = run.status.rawValue
        launchState = "dag"
        executedBy = nil
        error = run.tasks.first(where: { $0.state == .failed }).map { "task \($0.name) failed" }
        exitCode = nil
        createdAt = JobView.rfc3339(run.createdAtMs)
        updatedAt = JobView.rfc3339(run.updatedAtMs)
        completedAt = run.status.isTerminal ? JobView.rfc3339(run.updatedAtMs) : nil
    }

    enum CodingKeys: String, CodingKey {
        case runID = "run_id"
        case jobID = "job_id"
        case number, status, error
        case launchState = "launch_state"
        case executedBy = "executed_by"
        case exitCode = "exit_code"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
        case completedAt = "completed_at"
    }
}

/// One task of a DAG run (`GET /api/runs/:id/tasks`), with what its launch printed.
struct TaskView: Encodable, Sendable {
    var name: String
    var state: String
    var launchID: String?
    var reason: String?
    var updatedAt: String
    var stdout: String?
    var truncated: Bool?

    init(_ task: TaskProgress, output: LaunchOutput?) {
        name = task.name
        state = task.state.rawValue
        launchID = task.launchID
        reason = task.reason
        updatedAt = JobView.rfc3339(task.updatedAtMs)
        stdout = output?.stdout
        truncated = output?.truncated
    }

    enum CodingKeys: String, CodingKey {
        case name, state, reason, stdout, truncated
        case launchID = "launch_id"
        case updatedAt = "updated_at"
    }
}

/// One recorded cron due time (`GET /api/jobs/:id/fires`).
struct FireView: Encodable, Sendable {
    var fire: JobFire

    init(_ fire: JobFire) { self.fire = fire }

    enum CodingKeys: String, CodingKey {
        case dueAt = "due_at"
        case firedAt = "fired_at"
    }

    func encode(to encoder: any Encoder) throws {
        try fire.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(JobView.rfc3339(fire.dueMs), forKey: .dueAt)
        try container.encode(JobView.rfc3339(fire.atMs), forKey: .firedAt)
    }
}

/// `GET /api/scheduler/state` and the answer of pause and resume.
struct SchedulerStateView: Encodable, Sendable {
    var state: String
    var paused: Bool
    var changedAt: String?

    init(_ scheduler: SchedulerState) {
        state = scheduler.paused ? "paused" : "running"
        paused = scheduler.paused
        changedAt = scheduler.changedAtMs > 0 ? JobView.rfc3339(scheduler.changedAtMs) : nil
    }

    enum CodingKeys: String, CodingKey {
        case state, paused
        case changedAt = "changed_at"
    }
}
