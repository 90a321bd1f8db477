import BerthControlPlane
import BerthRaft

/// What applying a command did: the answer the server gives the client that proposed it.
/// Stored, JSON-encoded, as the first answer for an idempotency key.
public enum CommandOutcome: Codable, Equatable, Sendable {
    /// The job was created.
    case jobCreated(job: JobRecord)
    /// The job was cancelled.
    case jobCancelled(job: JobRecord)
    /// The job moved on (started or finished).
    case jobUpdated(job: JobRecord)
    /// The command was refused, deterministically, on every node.
    case rejected(CommandRejection)
    /// Nothing to change (a `noop`, an empty or configuration entry).
    /// A server's addresses were recorded.
    case memberRecorded(member: MemberRecord)
    case noop
    /// A node's envelope was accepted: its truth as now held.
    case nodeRecorded(truth: NodeTruth)
    /// A node was cordoned or uncordoned: its truth as now held.
    case nodeCordoned(truth: NodeTruth)
    /// A launch was accepted (placed, or pending until a node fits).
    case launchCreated(record: LaunchRecord)
    /// A launch moved (an agent's report, a terminate).
    case launchUpdated(record: LaunchRecord)
    /// A job got a new run (`POST /api/jobs/:id/trigger`): the job, and the run's launch id.
    case jobTriggered(job: JobRecord, runID: String)
    /// The scheduler was paused or resumed: its state as now held.
    case schedulerChanged(state: SchedulerState)
    /// A node's orphans were reported, or a sweep asked for: its truth as now held.
    case orphansChanged(truth: NodeTruth)
    /// A cron due time was recorded as fired (and perhaps started a run).
    case jobFired(fire: JobFire)
    /// A `fireJob` changed nothing (already fired, paused, cancelled…).
    case fireIgnored(reason: FireIgnored)

    /// The HTTP status this outcome answers with.
    public var httpStatus: Int {
        switch self {
        case .jobCreated, .jobCancelled, .jobUpdated, .memberRecorded, .noop, .nodeRecorded, .nodeCordoned,
            .launchUpdated, .schedulerChanged, .orphansChanged, .jobFired, .fireIgnored:
            return 200
        case .launchCreated, .jobTriggered: return 201
        case .rejected(let rejection): return rejection.httpStatus
        }
    }
}

/// Why the state machine refused a committed command. Stable codes; the message derives from
/// the case.
public enum CommandRejection: Error, Codable, Equatable, Sendable {
    /// No job has this id.
    case jobNotFound(id: String)
    /// A job with this id exists already.
    case jobAlreadyExists(id: String)
    /// The job already finished or was cancelled (`DELETE` answers 400, as in the seed).
    case jobAlreadyTerminal(id: String, status: JobStatus)
    /// The job cannot go from `from` to `to`.
    case illegalTransition(id: String, from: JobStatus, to: JobStatus)
    /// The entry's bytes are not a `StateCommand` (skipped identically on every node).
    case malformedCommand
    /// The idempotency key was first used for a different request (method, path or body): 422,
    /// as in the IETF Idempotency-Key draft. Nothing is applied and the first answer stays.
    case idempotencyKeyReused(key: String)
    /// The envelope's sequence is not newer than the one held for its node: nothing changed.
    case staleSequence(nodeID: String, stored: UInt64, offered: UInt64)
    /// No envelope was ever accepted for this node id.
    case nodeNotFound(id: String)
    /// No launch has this id.
    case launchNotFound(id: String)
    /// The launch id is taken by a launch of another intent.
    case launchExists(id: String)
    /// Node truth changed after the plan this execute came from (`expect_state_index`).
    case planStale(expected: LogIndex, changedAt: LogIndex)
    /// The node chosen for the launch no longer fits (capacity taken, truth changed): decide again.
    case placementStale(nodeID: String, reasons: [String])
    /// No node can run the launch now (and it was not asked to wait for capacity).
    case noEligibleNode(launchID: String)
    /// The launch cannot make this move (`code` from `LaunchTransitionError`).
    case launchTransitionRefused(id: String, code: String, message: String, status: Int)
    /// An agent reported on a launch placed on another node.
    case launchNotOnNode(id: String, nodeID: String, reporter: String)
    /// A new run of job `id` would exceed its `max_concurrent_runs`.
    case tooManyRuns(id: String, active: Int, limit: Int)
    /// The scheduler is paused: nothing new is placed (`POST /api/scheduler/resume`).
    case schedulerPaused(launchID: String)
    /// A `depends_on` job of job `id` has not succeeded (`status` nil: no such job).
    case dependencyNotSatisfied(id: String, dependency: String, status: JobStatus?)

    /// A stable, machine-readable code.
    public var code: String {
        switch self {
        case .jobNotFound: return "JOB_NOT_FOUND"
        case .jobAlreadyExists: return "JOB_ALREADY_EXISTS"
        case .jobAlreadyTerminal: return "JOB_ALREADY_TERMINAL"
        case .illegalTransition: return "ILLEGAL_TRANSITION"
        case .malformedCommand: return "MALFORMED_COMMAND"
        case .idempotencyKeyReused: return "IDEMPOTENCY_KEY_REUSED"
        case .staleSequence: return StaleSequence.code
        case .nodeNotFound: return "NODE_NOT_FOUND"
        case .launchNotFound: return "LAUNCH_NOT_FOUND"
        case .launchExists: return "LAUNCH_EXISTS"
        case .planStale: return "PLAN_STALE"
        case .placementStale: return "PLACEMENT_STALE"
        case .noEligibleNode: return "NO_ELIGIBLE_NODE"
        case .launchTransitionRefused(_, let code, _, _): return code
        case .launchNotOnNode: return "LAUNCH_NOT_ON_NODE"
        case .tooManyRuns: return "MAX_CONCURRENT_RUNS_EXCEEDED"
        case .schedulerPaused: return "SCHEDULER_PAUSED"
        case .dependencyNotSatisfied: return "DEPENDENCY_NOT_SATISFIED"
        }
    }

    /// What happened, for people.
    public var message: String {
        switch self {
        case .jobNotFound(let id): return "job \(id) not found"
        case .jobAlreadyExists(let id): return "job \(id) already exists"
        case .jobAlreadyTerminal(_, let status): return "job is already \(status.rawValue)"
        case .illegalTransition(let id, let from, let to):
            return "job \(id) cannot go from \(from.rawValue) to \(to.rawValue)"
        case .malformedCommand: return "the log entry does not hold a valid command"
        case .idempotencyKeyReused(let key):
            return "Idempotency-Key \"\(key)\" was used for a different request; use a new key for a new request"
        case .staleSequence(let nodeID, let stored, let offered):
            return StaleSequence(nodeID: nodeID, storedSequence: stored, offeredSequence: offered).message
        case .nodeNotFound(let id): return "node \(id) not found: no envelope was accepted for it"
        case .launchNotFound(let id): return "launch \(id) not found"
        case .launchExists(let id): return "launch \(id) already exists with another intent"
        case .planStale(let expected, let changedAt):
            return "node truth changed at index \(changedAt), after the plan's state_index \(expected): plan again"
        case .placementStale(let nodeID, let reasons):
            return "node \(nodeID) no longer fits" + (reasons.isEmpty ? "" : " (\(reasons.joined(separator: ", ")))")
        case .noEligibleNode(let id): return "no node can run launch \(id) now"
        case .launchTransitionRefused(_, _, let message, _): return message
        case .tooManyRuns(let id, let active, let limit):
            return "job \(id) has \(active) active runs; max_concurrent_runs is \(limit)"
        case .schedulerPaused(let id):
            return "the scheduler is paused: launch \(id) is not placed (wait_for_capacity keeps it pending)"
        case .launchNotOnNode(let id, let nodeID, let reporter):
            return "launch \(id) is placed on \(nodeID), not on \(reporter)"
        case .dependencyNotSatisfied(let id, let dependency, let status):
            return "job \(id) depends on job \(dependency), which "
                + (status.map { "is \($0.rawValue), not completed" } ?? "does not exist")
        }
    }

    /// The HTTP status to answer with.
    public var httpStatus: Int {
        switch self {
        case .jobNotFound, .nodeNotFound, .launchNotFound: return 404
        case .jobAlreadyExists, .illegalTransition, .staleSequence, .launchExists, .planStale, .placementStale,
            .launchNotOnNode:
            return 409
        case .noEligibleNode: return 422
        case .launchTransitionRefused(_, _, _, let status): return status
        case .jobAlreadyTerminal, .malformedCommand: return 400
        case .idempotencyKeyReused: return 422
        case .tooManyRuns: return 429
        case .schedulerPaused: return 409
        case .dependencyNotSatisfied: return 409
        }
    }

    /// Evidence for the error's `details`.
    public var details: [String: String] {
        switch self {
        case .staleSequence(let nodeID, let stored, let offered):
            let stale = StaleSequence(nodeID: nodeID, storedSequence: stored, offeredSequence: offered)
            return [
                "node_id": nodeID, "stored_sequence": "\(stored)", "offered_sequence": "\(offered)",
                "needed": stale.needed.text, "available": stale.available.text,
            ]
        case .nodeNotFound(let id), .jobNotFound(let id), .launchNotFound(let id), .launchExists(let id):
            return ["id": id]
        case .planStale(let expected, let changedAt):
            return ["expect_state_index": "\(expected)", "changed_at_index": "\(changedAt)"]
        case .placementStale(let nodeID, let reasons):
            return ["node_id": nodeID, "reasons": reasons.joined(separator: ",")]
        case .launchNotOnNode(let id, let nodeID, let reporter):
            return ["id": id, "node_id": nodeID, "reporter": reporter]
        case .dependencyNotSatisfied(let id, let dependency, let status):
            return ["id": id, "dependency": dependency, "dependency_status": status?.rawValue ?? "missing"]
        default: return [:]
        }
    }
}

/// What `StateStore.apply` did with one log entry.
public enum ApplyResult: Equatable, Sendable {
    /// Applied now; `outcome` is the answer.
    case applied(index: LogIndex, outcome: CommandOutcome)
    /// The command's idempotency key was used within the window: nothing was applied again and
    /// `outcome` is the first answer. The entry still counts as applied.
    case replayed(index: LogIndex, outcome: CommandOutcome)
    /// `index` was at or below the applied index already (a restart replaying the log): nothing
    /// was done.
    case alreadyApplied(index: LogIndex)

    /// The log index of the entry.
    public var index: LogIndex {
        switch self {
        case .applied(let index, _), .replayed(let index, _), .alreadyApplied(let index): return index
        }
    }

    /// The answer for the client, unless the entry had been applied before.
    public var outcome: CommandOutcome? {
        switch self {
        case .applied(_, let outcome), .replayed(_, let outcome): return outcome
        case .alreadyApplied: return nil
        }
    }
}
