/// One task of a DAG job (`tasks` in `POST /api/jobs`): a command that runs, as a launch of its
/// own, once every task it depends on succeeded.
public struct JobTask: Codable, Equatable, Hashable, Sendable {
    /// Unique in its job: letters, digits, `-` and `_`, at most 64 characters.
    public var name: String
    public var command: String
    /// Names of tasks of the same job.
    public var dependsOn: [String]?

    public init(name: String, command: String, dependsOn: [String]? = nil) {
        self.name = name
        self.command = command
        self.dependsOn = dependsOn
    }

    enum CodingKeys: String, CodingKey {
        case name, command
        case dependsOn = "depends_on"
    }
}

/// Where a task of one run is.
public enum TaskState: String, Codable, CaseIterable, Hashable, Sendable {
    /// Some task it depends on has not succeeded yet.
    case waiting
    /// Its launch exists and waits to be placed or started.
    case pending
    case running
    case succeeded
    case failed
    /// A task it depends on (directly or not) failed or was cancelled: it never runs.
    case upstreamFailed = "upstream_failed"
    /// Its job was cancelled before it ran or while it ran.
    case cancelled

    public var isTerminal: Bool {
        switch self {
        case .waiting, .pending, .running: return false
        case .succeeded, .failed, .upstreamFailed, .cancelled: return true
        }
    }

    /// The task state its launch's state means (as `JobRuns.status(of:)` for a run).
    public static func of(_ launch: LaunchState) -> TaskState {
        switch launch {
        case .pending, .validated: return .pending
        case .preparing, .starting, .running, .terminating: return .running
        case .terminated: return .succeeded
        // A task whose node was lost did not succeed: its dependants must not start.
        case .failed, .lost: return .failed
        }
    }
}

/// One task's progress in one run (`GET /api/runs/:id/tasks`).
public struct TaskProgress: Codable, Equatable, Hashable, Sendable {
    public var name: String
    public var state: TaskState
    /// The task's launch, once it started.
    public var launchID: String?
    /// Why it failed or never ran (typed: `TASK_FAILED`-style codes in `TaskGraph`).
    public var reason: String?
    public var updatedAtMs: Int64

    public init(name: String, state: TaskState, launchID: String? = nil, reason: String? = nil, updatedAtMs: Int64) {
        self.name = name
        self.state = state
        self.launchID = launchID
        self.reason = reason
        self.updatedAtMs = updatedAtMs
    }
}
