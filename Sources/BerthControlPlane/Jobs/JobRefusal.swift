/// Why the job rules refused a command. Nothing changes; the stored and answered form (code,
/// message, HTTP status) is `BerthStorage`'s `CommandRejection`, which has one case for each.
public enum JobRefusal: Error, Equatable, Hashable, Sendable {
    /// No job has this id.
    case notFound(id: String)
    /// A job with this id exists already, for another command or image.
    case alreadyExists(id: String)
    /// The job already finished or was cancelled.
    case alreadyTerminal(id: String, status: JobStatus)
    /// The job cannot go from `from` to `to`.
    case illegalTransition(id: String, from: JobStatus, to: JobStatus)
    /// A new run would exceed the job's `max_concurrent_runs` (`active` runs are not terminal).
    case tooManyRuns(id: String, active: Int, limit: Int)
    /// A job in `depends_on` has not succeeded (`status` nil: there is no such job).
    case dependencyNotSatisfied(id: String, dependency: String, status: JobStatus?)
}
