/// What a job command does to the state.
public enum JobDecision: Equatable, Hashable, Sendable {
    /// Store this record: the job as it is after the command.
    case write(JobRecord)
    /// Nothing to store; answer with the job as it stands (a retried create).
    case unchanged(JobRecord)
    /// Refused; nothing changes.
    case refused(JobRefusal)
}
