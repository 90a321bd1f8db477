/// The jobs' state machine: what each job command does to a job, given the job as stored (nil
/// when there is none). Values in, decisions out: the times are the leader's, carried in the
/// replicated command, so every server decides the same.
///
/// pending → running (start) → completed | failed (finish); pending or running → cancelled.
public enum JobRules {
    /// Create job `id`. The node that took the request named the job, so a second create of the
    /// same id with the same command and image is that node retrying: it gets the first answer.
    public static func create(
        existing: JobRecord?, id: String, command: String, image: String?, atMs: Int64
    ) -> JobDecision {
        guard let existing else {
            return .write(
                JobRecord(
                    id: id, command: command, image: image, status: .pending, createdAtMs: atMs, updatedAtMs: atMs))
        }
        guard existing.command == command, existing.image == image else { return .refused(.alreadyExists(id: id)) }
        return .unchanged(existing)
    }

    /// Cancel job `id`, unless it already ended.
    public static func cancel(existing: JobRecord?, id: String, atMs: Int64) -> JobDecision {
        guard var job = existing else { return .refused(.notFound(id: id)) }
        guard !job.status.isTerminal else { return .refused(.alreadyTerminal(id: job.id, status: job.status)) }
        job.status = .cancelled
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
