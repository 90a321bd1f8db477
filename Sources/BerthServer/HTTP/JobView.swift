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

    enum CodingKeys: String, CodingKey {
        case id, command, image, status, output, error, backend
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
