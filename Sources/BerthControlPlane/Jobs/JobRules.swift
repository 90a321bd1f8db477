/// The jobs' state machine: what each job command does to a job, given the job as stored (nil
/// when there is none). Values in, decisions out: the times are the leader's, carried in the
/// replicated command, so every server decides the same.
///
/// pending → running (start) → completed | failed (finish); pending or running → cancelled.
/// A job that runs as launches follows its current run instead (`follow`, `JobRuns`); `trigger`
/// starts another run.
public enum JobRules {
    /// Create job `id` with its first run: the job is `pending`, and its run is launch
    /// `JobRuns.runID(jobID: id, number: 1)` (the apply stores the launch, `JobRuns.intent`).
    /// The node that took the request named the job, so a second create of the same id with the
    /// same command, image and backend is that node retrying: it gets the first answer.
    public static func create(
        existing: JobRecord?, id: String, command: String, image: String?, backend: String? = nil,
        maxConcurrentRuns: Int = JobRecord.defaultMaxConcurrentRuns, plan: JobPlan? = nil, atMs: Int64
    ) -> JobDecision {
        guard let existing else {
            // A cron job has no run until its first due time (after its creation).
            if plan?.schedule != nil {
                return .write(
                    JobRecord(
                        id: id, command: command, image: image, status: .pending, createdAtMs: atMs,
                        updatedAtMs: atMs, backend: backend, runID: nil, runCount: 0,
                        maxConcurrentRuns: maxConcurrentRuns, plan: plan, lastDueMs: atMs))
            }
            return .write(
                JobRecord(
                    id: id, command: command, image: image, status: .pending, createdAtMs: atMs, updatedAtMs: atMs,
                    backend: backend, runID: JobRuns.runID(jobID: id, number: 1), runCount: 1,
                    maxConcurrentRuns: maxConcurrentRuns, plan: plan))
        }
        guard existing.command == command, existing.image == image, existing.backend == backend, existing.plan == plan
        else {
            return .refused(.alreadyExists(id: id))
        }
        return .unchanged(existing)
    }

    /// Cancel job `id`, unless it already ended. A cron job never ends by itself: cancelling it
    /// stops its schedule (and its current run), whatever its last run did.
    public static func cancel(existing: JobRecord?, id: String, atMs: Int64) -> JobDecision {
        guard var job = existing else { return .refused(.notFound(id: id)) }
        guard !job.status.isTerminal || (job.isScheduled && job.status != .cancelled) else {
            return .refused(.alreadyTerminal(id: job.id, status: job.status))
        }
        job.status = .cancelled
        job.retryAtMs = nil
        job.updatedAtMs = atMs
        return .write(job)
    }

    /// A worker (`executedBy`) starts job `id`: only a pending job starts.
    public static func start(existing: JobRecord?, id: String, executedBy: String, atMs: Int64) -> JobDecision {
        guard var job = existing else { return .refused(.notFound(id: id)) }
        guard job.status == .pending else {
            return .refused(.illegalTransition(id: job.id, from: job.status, to: .running))
        }
        job.status = .running
        job.executedBy = executedBy
        job.updatedAtMs = atMs
        return .write(job)
    }

    /// Job `id` finished: only a running job finishes, as `completed` or `failed`.
    public static func finish(
        existing: JobRecord?, id: String, succeeded: Bool, output: String?, error: String?, atMs: Int64
    ) -> JobDecision {
        let target: JobStatus = succeeded ? .completed : .failed
        guard var job = existing else { return .refused(.notFound(id: id)) }
        guard job.status == .running else {
            return .refused(.illegalTransition(id: job.id, from: job.status, to: target))
        }
        job.status = target
        job.output = output
        job.error = error
        job.updatedAtMs = atMs
        return .write(job)
    }
}
