/// Why a launch failed: stable codes for the `failed` state.
public enum FailureCode: String, Codable, CaseIterable, Equatable, Hashable, Sendable {
    /// The agent's own checks of the node refused the launch.
    case validationFailed = "VALIDATION_FAILED"
    /// Preparing the runtime failed (a missing disk, a socket path refused).
    case prepareFailed = "PREPARE_FAILED"
    /// The workload could not be started.
    case startFailed = "START_FAILED"
    /// It started but never became ready in time.
    case readinessTimeout = "READINESS_TIMEOUT"
    /// It exited on its own with a non-zero status (`exit_code`).
    case exited = "EXITED"
    /// A signal ended it (`signal`, when known) without anyone asking.
    case killed = "KILLED"
    /// Its node stopped reporting and the launch is presumed gone.
    case nodeLost = "NODE_LOST"
    /// A terminate was asked for and it did not stop in time.
    case terminateTimeout = "TERMINATE_TIMEOUT"
    /// The agent hit an error of its own.
    case agentError = "AGENT_ERROR"
}
