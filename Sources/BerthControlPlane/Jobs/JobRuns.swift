/// A job's runs are launches (spec §7: "a run is a launch, not a second mechanism"). These are
/// the pure decisions that tie the two: the launch a run is, the job status a launch state
/// means, and what a run's change does to its job.
///
/// Job status from the current run's launch state:
///
/// | launch state                                  | job status  |
/// |-----------------------------------------------|-------------|
/// | `pending`, `validated`                        | `pending`   |
/// | `preparing`, `starting`, `running`, `terminating` | `running` |
/// | `terminated`                                  | `completed` |
/// | `failed`, `lost`                              | `failed`    |
///
/// A cancelled job stays `cancelled` whatever its run does afterwards (a terminate ends as
/// `terminated`, which is not a success).
public enum JobRuns {
    /// vCPUs a process run asks for (capacity is accounted like any launch's).
    public static let processVCPUs = 1
    /// Memory a process run asks for, in MiB.
    public static let processMemoryMiB = 64
    /// Memory a VM run asks for, in MiB.
    public static let virtualMachineMemoryMiB = 512

    /// The launch id of run `number` (1-based) of job `jobID`.
    public static func runID(jobID: String, number: Int) -> String {
        "\(jobID)-run-\(number)"
    }

    /// The launch a run of `job` is. A command runs through the `process` backend with
    /// `/bin/sh -c` (the seed's jobs are shell commands); with an `image` it runs in a VM (any VM
    /// backend, or the one `backend` names) booting `image` as its kernel with the command as
    /// its kernel command line.
    public static func intent(for job: JobRecord) -> WorkloadIntent {
        let backend = job.backend.flatMap(BackendChoice.init(rawValue:))
        if let image = job.image {
            return WorkloadIntent(
                name: "job-\(job.id)", vcpus: processVCPUs, memoryMiB: virtualMachineMemoryMiB,
                backend: backend ?? .any, payload: .image(WorkloadImage(kernel: image, cmdline: job.command)))
        }
        return WorkloadIntent(
            name: "job-\(job.id)", vcpus: processVCPUs, memoryMiB: processMemoryMiB, backend: .process,
            payload: .command(WorkloadCommand(string: job.command, shell: true)))
    }

    /// The launch of task `task` of run `runID` (a DAG job's run): the task's command, as a
    /// process, named after the job and the task. Its id is `<run>.<task>` (`taskLaunchID`).
    public static func taskIntent(for job: JobRecord, task: JobTask) -> WorkloadIntent {
        WorkloadIntent(
            name: "job-\(job.id)-\(task.name)", vcpus: processVCPUs, memoryMiB: processMemoryMiB, backend: .process,
            payload: .command(WorkloadCommand(string: task.command, shell: true)))
    }

    /// Task names hold no `.`, run ids neither: the launch id of a task splits back into both.
    public static func taskLaunchID(runID: String, task: String) -> String { "\(runID).\(task)" }

    /// The run id and task name of a task's launch id; nil for any other launch.
    public static func task(ofLaunch id: String) -> (runID: String, task: String)? {
        guard let dot = id.lastIndex(of: "."), id[..<dot].contains("-run-") else { return nil }
        return (String(id[..<dot]), String(id[id.index(after: dot)...]))
    }

    /// The job status a run in launch state `state` gives its job (the table above).
    public static func status(of state: LaunchState) -> JobStatus {
        switch state {
        case .pending, .validated: return .pending
        case .preparing, .starting, .running, .terminating: return .running
        case .terminated: return .completed
        case .failed, .lost: return .failed
        }
    }
}

extension JobRules {
    /// Launch `launch` (a run of `existing`) changed: the job follows it when it is the current
    /// run — status by `JobRuns.status(of:)`, `executedBy` its node, `error` its failure and
    /// `output` its stdout once reported. A cancelled job, or a launch that is not the current
    /// run, changes nothing.
    public static func follow(existing: JobRecord, launch: LaunchRecord, output: LaunchOutput?) -> JobDecision {
        guard existing.runID == launch.id, existing.status != .cancelled else { return .unchanged(existing) }
        var job = existing
        job.status = JobRuns.status(of: launch.state)
        job.executedBy = launch.nodeID ?? job.executedBy
        job.error = launch.failure?.message
        if let output { job.output = output.stdout }
        // A failed attempt with retries left waits for its next one (the leader starts it at
        // `retryAtMs`, `JobRules.retry`); the job stays pending meanwhile.
        if launch.state == .failed, let plan = job.plan, job.attempt <= plan.retryLimit {
            job.status = .pending
            job.retryAtMs = launch.updatedAtMs + plan.backoffMs
        }
        guard job != existing else { return .unchanged(existing) }
        job.updatedAtMs = launch.updatedAtMs
        return .write(job)
    }

    /// `POST /api/jobs/:id/trigger`: a new run of job `id`, refused when `activeRuns` (runs not
    /// yet terminal) already reach its `max_concurrent_runs`. The job becomes `pending`, its
    /// current run the new one (`runID` of the next number), with no output or error yet.
    /// `unmet` is the first of its `depends_on` jobs that has not succeeded (its id and status,
    /// nil status when there is no such job): 409.
    public static func trigger(
        existing: JobRecord?, id: String, activeRuns: Int, unmet: (id: String, status: JobStatus?)? = nil, atMs: Int64
    ) -> JobDecision {
        guard var job = existing else { return .refused(.notFound(id: id)) }
        if let unmet { return .refused(.dependencyNotSatisfied(id: id, dependency: unmet.id, status: unmet.status)) }
        guard activeRuns < job.maxConcurrentRuns else {
            return .refused(.tooManyRuns(id: id, active: activeRuns, limit: job.maxConcurrentRuns))
        }
        job.attempt = 1
        job.retryAtMs = nil
        return .write(newRun(of: job, atMs: atMs))
    }

    /// The job with a new current run (the next number), pending, with no output or error yet.
    static func newRun(of existing: JobRecord, atMs: Int64) -> JobRecord {
        var job = existing
        job.runCount += 1
        job.runID = JobRuns.runID(jobID: job.id, number: job.runCount)
        job.status = .pending
        job.executedBy = nil
        job.output = nil
        job.error = nil
        job.updatedAtMs = atMs
        return job
    }
}

/// Whether the scheduler places new work (`POST /api/scheduler/pause` and `/resume`). Paused,
/// nothing new is placed; what already runs continues.
public struct SchedulerState: Codable, Equatable, Hashable, Sendable {
    public var paused: Bool
    /// When it last changed, ms since the epoch (leader's clock); 0 when never.
    public var changedAtMs: Int64

    public init(paused: Bool = false, changedAtMs: Int64 = 0) {
        self.paused = paused
        self.changedAtMs = changedAtMs
    }

    /// The state after a pause (`paused` true) or resume: the same state again changes nothing
    /// (nil), so a repeated pause keeps its first time.
    public func setting(paused: Bool, atMs: Int64) -> SchedulerState? {
        guard paused != self.paused else { return nil }
        return SchedulerState(paused: paused, changedAtMs: atMs)
    }

    enum CodingKeys: String, CodingKey {
        case paused
        case changedAtMs = "changed_at_ms"
    }
}
