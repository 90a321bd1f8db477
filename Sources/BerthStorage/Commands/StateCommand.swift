import BerthControlPlane
import Foundation

/// A change to the replicated state, proposed by the leader and applied by every node once
/// committed. Everything an apply needs is inside it — ids and timestamps included, stamped by
/// the leader — so applying is deterministic: no node reads its own clock or random source.
public enum StateCommand: Equatable, Sendable {
    /// A client submitted a job (`POST /api/jobs`).
    case createJob(CreateJob)
    /// A client cancelled a job (`DELETE /api/jobs/:id`).
    case cancelJob(CancelJob)
    /// A worker started running a pending job.
    case startJob(StartJob)
    /// A running job finished, successfully or not.
    case finishJob(FinishJob)
    /// Records (or updates) a server's addresses.
    case setMember(MemberRecord)
    /// An agent's SchedulerEnvelope (`POST /api/v1alpha1/intake/envelope`), validated by the
    /// node that took it and stamped with the leader's clock.
    case recordEnvelope(RecordEnvelope)
    /// `POST /api/v1alpha1/nodes/:id/cordon` and `/uncordon`.
    case cordonNode(CordonNode)
    /// `POST /api/v1alpha1/launch/execute` (`LaunchCommands.swift`).
    case executeLaunch(ExecuteLaunch)
    /// An agent's report of a launch's new state.
    case reportLaunch(ReportLaunch)
    /// `POST /api/v1alpha1/launch/:id/terminate`.
    case terminateLaunch(TerminateLaunch)
    /// `POST /api/jobs/:id/trigger`: a new run of a job.
    case triggerJob(TriggerJob)
    /// `POST /api/scheduler/pause` and `/resume`.
    case setSchedulerPaused(SetSchedulerPaused)
    /// The leader fires a cron job's due time (`JobScheduleCommands.swift`).
    case fireJob(FireJob)
    /// The leader starts a failed run's retry.
    case retryJob(RetryJob)
    /// Changes nothing but the applied index (a probe, or a barrier).
    case noop
    /// The leader declares a silent node lost (`NodeSafetyCommands.swift`).
    case markNodeLost(MarkNodeLost)
    /// A drain makes a replacement for one of the node's launches.
    case moveLaunch(MoveLaunch)
    /// `POST`/`DELETE /api/v1alpha1/nodes/:id/drain`.
    case drainNode(DrainNode)
    /// An agent's orphans.
    case reportOrphans(ReportOrphans)
    /// `POST /api/v1alpha1/nodes/:id/orphans/sweep`.
    case sweepOrphans(SweepOrphans)

    /// `POST /api/jobs`.
    public struct CreateJob: Codable, Equatable, Sendable {
        /// The new job's id, chosen by the leader.
        public var id: String
        public var command: String
        public var image: String?
        /// The backend asked for (nil: `process` for a command, any VM backend for an image).
        public var backend: String?
        /// The job's `max_concurrent_runs` (nil: the default).
        public var maxConcurrentRuns: Int?
        /// Schedule, retries, dependencies (nil: none).
        public var plan: JobPlan?
        /// The leader's clock when it accepted the request, in milliseconds since the epoch.
        public var createdAtMs: Int64
        /// The client's `Idempotency-Key`, or the one the node that took the request gave it.
        public var idempotencyKey: String?
        /// The fingerprint of the request the key was sent with (`RequestFingerprint`); a key
        /// reused for another request is refused. 0 means "not checked" (older entries).
        public var requestHash: UInt64

        public init(
            id: String, command: String, image: String? = nil, backend: String? = nil, maxConcurrentRuns: Int? = nil,
            plan: JobPlan? = nil, createdAtMs: Int64, idempotencyKey: String? = nil, requestHash: UInt64 = 0
        ) {
            self.id = id
            self.command = command
            self.image = image
            self.backend = backend
            self.maxConcurrentRuns = maxConcurrentRuns
            self.plan = plan
            self.createdAtMs = createdAtMs
            self.idempotencyKey = idempotencyKey
            self.requestHash = requestHash
        }

        enum CodingKeys: String, CodingKey {
            case id, command, image, backend, plan
            case maxConcurrentRuns = "max_concurrent_runs"
            case createdAtMs = "created_at_ms"
            case idempotencyKey = "idempotency_key"
            case requestHash = "request_hash"
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            id = try container.decode(String.self, forKey: .id)
            command = try container.decode(String.self, forKey: .command)
            image = try container.decodeIfPresent(String.self, forKey: .image)
            backend = try container.decodeIfPresent(String.self, forKey: .backend)
            maxConcurrentRuns = try container.decodeIfPresent(Int.self, forKey: .maxConcurrentRuns)
            plan = try container.decodeIfPresent(JobPlan.self, forKey: .plan)
            createdAtMs = try container.decode(Int64.self, forKey: .createdAtMs)
            idempotencyKey = try container.decodeIfPresent(String.self, forKey: .idempotencyKey)
            requestHash = try container.decodeIfPresent(UInt64.self, forKey: .requestHash) ?? 0
        }
    }

    /// `DELETE /api/jobs/:id`.
    public struct CancelJob: Codable, Equatable, Sendable {
        public var id: String
        /// The leader's clock when it accepted the request, in milliseconds since the epoch.
        public var atMs: Int64
        public var idempotencyKey: String?
        /// As `CreateJob.requestHash`.
        public var requestHash: UInt64

        public init(id: String, atMs: Int64, idempotencyKey: String? = nil, requestHash: UInt64 = 0) {
            self.id = id
            self.atMs = atMs
            self.idempotencyKey = idempotencyKey
            self.requestHash = requestHash
        }

        enum CodingKeys: String, CodingKey {
            case id
            case atMs = "at_ms"
            case idempotencyKey = "idempotency_key"
            case requestHash = "request_hash"
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            id = try container.decode(String.self, forKey: .id)
            atMs = try container.decode(Int64.self, forKey: .atMs)
            idempotencyKey = try container.decodeIfPresent(String.self, forKey: .idempotencyKey)
            requestHash = try container.decodeIfPresent(UInt64.self, forKey: .requestHash) ?? 0
        }
    }

    /// A worker took a pending job.
    public struct StartJob: Codable, Equatable, Sendable {
        public var id: String
        /// The node running it.
        public var executedBy: String
        /// When it started, in milliseconds since the epoch (leader's clock).
        public var atMs: Int64

        public init(id: String, executedBy: String, atMs: Int64) {
            self.id = id
            self.executedBy = executedBy
            self.atMs = atMs
        }

        enum CodingKeys: String, CodingKey {
            case id
            case executedBy = "executed_by"
            case atMs = "at_ms"
        }
    }

    /// A running job ended.
    public struct FinishJob: Codable, Equatable, Sendable {
        public var id: String
        /// Whether the command succeeded (`completed`) or not (`failed`).
        public var succeeded: Bool
        public var output: String?
        public var error: String?
        /// When it ended, in milliseconds since the epoch (leader's clock).
        public var atMs: Int64

        public init(
            id: String, succeeded: Bool, output: String? = nil, error: String? = nil, atMs: Int64
        ) {
            self.id = id
            self.succeeded = succeeded
            self.output = output
            self.error = error
            self.atMs = atMs
        }

        enum CodingKeys: String, CodingKey {
            case id, succeeded, output, error
            case atMs = "at_ms"
        }
    }

    /// `POST /api/v1alpha1/intake/envelope`: the newest truth of one node.
    public struct RecordEnvelope: Codable, Equatable, Sendable {
        public var envelope: SchedulerEnvelope
        /// The leader's clock when it accepted the envelope: staleness is judged on it.
        public var receivedAtMs: Int64
        public var idempotencyKey: String?
        /// As `CreateJob.requestHash`.
        public var requestHash: UInt64

        public init(
            envelope: SchedulerEnvelope, receivedAtMs: Int64, idempotencyKey: String? = nil, requestHash: UInt64 = 0
        ) {
            self.envelope = envelope
            self.receivedAtMs = receivedAtMs
            self.idempotencyKey = idempotencyKey
            self.requestHash = requestHash
        }

        enum CodingKeys: String, CodingKey {
            case envelope
            case receivedAtMs = "received_at_ms"
            case idempotencyKey = "idempotency_key"
            case requestHash = "request_hash"
        }
    }

    /// Takes a node out of placement (`cordoned`, perhaps `draining`) or puts it back.
    public struct CordonNode: Codable, Equatable, Sendable {
        public var nodeID: String
        public var cordoned: Bool
        public var draining: Bool
        /// The leader's clock when it accepted the request.
        public var atMs: Int64
        public var idempotencyKey: String?
        public var requestHash: UInt64

        public init(
            nodeID: String, cordoned: Bool, draining: Bool = false, atMs: Int64, idempotencyKey: String? = nil,
            requestHash: UInt64 = 0
        ) {
            self.nodeID = nodeID
            self.cordoned = cordoned
            self.draining = draining
            self.atMs = atMs
            self.idempotencyKey = idempotencyKey
            self.requestHash = requestHash
        }

        enum CodingKeys: String, CodingKey {
            case nodeID = "node_id"
            case cordoned, draining
            case atMs = "at_ms"
            case idempotencyKey = "idempotency_key"
            case requestHash = "request_hash"
        }
    }

    /// `POST /api/jobs/:id/trigger`: a new run of job `jobID` (its launch id follows from the
    /// job's run count, so the apply names it).
    public struct TriggerJob: Codable, Equatable, Sendable {
        public var jobID: String
        public var atMs: Int64
        public var idempotencyKey: String?
        public var requestHash: UInt64

        public init(jobID: String, atMs: Int64, idempotencyKey: String? = nil, requestHash: UInt64 = 0) {
            self.jobID = jobID
            self.atMs = atMs
            self.idempotencyKey = idempotencyKey
            self.requestHash = requestHash
        }

        enum CodingKeys: String, CodingKey {
            case jobID = "job_id"
            case atMs = "at_ms"
            case idempotencyKey = "idempotency_key"
            case requestHash = "request_hash"
        }
    }

    /// `POST /api/scheduler/pause` (`paused` true) and `/resume`.
    public struct SetSchedulerPaused: Codable, Equatable, Sendable {
        public var paused: Bool
        public var atMs: Int64
        public var idempotencyKey: String?
        public var requestHash: UInt64

        public init(paused: Bool, atMs: Int64, idempotencyKey: String? = nil, requestHash: UInt64 = 0) {
            self.paused = paused
            self.atMs = atMs
            self.idempotencyKey = idempotencyKey
            self.requestHash = requestHash
        }

        enum CodingKeys: String, CodingKey {
            case paused
            case atMs = "at_ms"
            case idempotencyKey = "idempotency_key"
            case requestHash = "request_hash"
        }
    }

    /// The fingerprint of the request behind the idempotency key (0: unchecked).
    public var requestHash: UInt64 {
        switch self {
        case .createJob(let create): return create.requestHash
        case .cancelJob(let cancel): return cancel.requestHash
        case .recordEnvelope(let record): return record.requestHash
        case .cordonNode(let cordon): return cordon.requestHash
        case .executeLaunch(let execute): return execute.requestHash
        case .terminateLaunch(let terminate): return terminate.requestHash
        case .triggerJob(let trigger): return trigger.requestHash
        case .setSchedulerPaused(let set): return set.requestHash
        case .drainNode(let drain): return drain.requestHash
        case .sweepOrphans(let sweep): return sweep.requestHash
        default: return 0
        }
    }

    /// The client's idempotency key, for the commands that carry one.
    public var idempotencyKey: String? {
        switch self {
        case .createJob(let create): return create.idempotencyKey
        case .cancelJob(let cancel): return cancel.idempotencyKey
        case .recordEnvelope(let record): return record.idempotencyKey
        case .cordonNode(let cordon): return cordon.idempotencyKey
        case .executeLaunch(let execute): return execute.idempotencyKey
        case .terminateLaunch(let terminate): return terminate.idempotencyKey
        case .triggerJob(let trigger): return trigger.idempotencyKey
        case .setSchedulerPaused(let set): return set.idempotencyKey
        case .drainNode(let drain): return drain.idempotencyKey
        case .sweepOrphans(let sweep): return sweep.idempotencyKey
        case .startJob, .finishJob, .setMember, .noop, .reportLaunch, .markNodeLost, .moveLaunch, .reportOrphans, .fireJob,
            .retryJob:
            return nil
        }
    }

    /// The leader's timestamp inside the command, if it has one.
    public var timestampMs: Int64? {
        switch self {
        case .createJob(let create): return create.createdAtMs
        case .cancelJob(let cancel): return cancel.atMs
        case .startJob(let start): return start.atMs
        case .finishJob(let finish): return finish.atMs
        case .recordEnvelope(let record): return record.receivedAtMs
        case .cordonNode(let cordon): return cordon.atMs
        case .executeLaunch(let execute): return execute.atMs
        case .reportLaunch(let report): return report.atMs
        case .terminateLaunch(let terminate): return terminate.atMs
        case .triggerJob(let trigger): return trigger.atMs
        case .setSchedulerPaused(let set): return set.atMs
        case .fireJob(let fire): return fire.atMs
        case .retryJob(let retry): return retry.atMs
        case .setMember, .noop: return nil
        case .markNodeLost(let mark): return mark.atMs
        case .moveLaunch(let move): return move.atMs
        case .drainNode(let drain): return drain.atMs
        case .reportOrphans(let report): return report.atMs
        case .sweepOrphans(let sweep): return sweep.atMs
        }
    }
}

// MARK: - Encoding in log entries

extension StateCommand: Codable {
    /// The `type` field naming the case in the encoded form.
    enum Kind: String, Codable {
        case createJob = "create_job"
        case cancelJob = "cancel_job"
        case startJob = "start_job"
        case finishJob = "finish_job"
        case setMember = "set_member"
        case recordEnvelope = "record_envelope"
        case cordonNode = "cordon_node"
        case executeLaunch = "execute_launch"
        case reportLaunch = "report_launch"
        case terminateLaunch = "terminate_launch"
        case triggerJob = "trigger_job"
        case setSchedulerPaused = "set_scheduler_paused"
        case noop
        case markNodeLost = "mark_node_lost"
        case moveLaunch = "move_launch"
        case drainNode = "drain_node"
        case reportOrphans = "report_orphans"
        case sweepOrphans = "sweep_orphans"
        case fireJob = "fire_job"
        case retryJob = "retry_job"
    }

    enum CodingKeys: String, CodingKey {
        case type
        case body
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        switch try container.decode(Kind.self, forKey: .type) {
        case .createJob: self = .createJob(try container.decode(CreateJob.self, forKey: .body))
        case .cancelJob: self = .cancelJob(try container.decode(CancelJob.self, forKey: .body))
        case .startJob: self = .startJob(try container.decode(StartJob.self, forKey: .body))
        case .finishJob: self = .finishJob(try container.decode(FinishJob.self, forKey: .body))
        case .setMember: self = .setMember(try container.decode(MemberRecord.self, forKey: .body))
        case .recordEnvelope: self = .recordEnvelope(try container.decode(RecordEnvelope.self, forKey: .body))
        case .cordonNode: self = .cordonNode(try container.decode(CordonNode.self, forKey: .body))
        case .executeLaunch: self = .executeLaunch(try container.decode(ExecuteLaunch.self, forKey: .body))
        case .reportLaunch: self = .reportLaunch(try container.decode(ReportLaunch.self, forKey: .body))
        case .terminateLaunch: self = .terminateLaunch(try container.decode(TerminateLaunch.self, forKey: .body))
        case .triggerJob: self = .triggerJob(try container.decode(TriggerJob.self, forKey: .body))
        case .setSchedulerPaused:
            self = .setSchedulerPaused(try container.decode(SetSchedulerPaused.self, forKey: .body))
        case .noop: self = .noop
        case .markNodeLost: self = .markNodeLost(try container.decode(MarkNodeLost.self, forKey: .body))
        case .moveLaunch: self = .moveLaunch(try container.decode(MoveLaunch.self, forKey: .body))
        case .drainNode: self = .drainNode(try container.decode(DrainNode.self, forKey: .body))
        case .reportOrphans: self = .reportOrphans(try container.decode(ReportOrphans.self, forKey: .body))
        case .sweepOrphans: self = .sweepOrphans(try container.decode(SweepOrphans.self, forKey: .body))
        case .fireJob: self = .fireJob(try container.decode(FireJob.self, forKey: .body))
        case .retryJob: self = .retryJob(try container.decode(RetryJob.self, forKey: .body))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .createJob(let body):
            try container.encode(Kind.createJob, forKey: .type)
            try container.encode(body, forKey: .body)
        case .cancelJob(let body):
            try container.encode(Kind.cancelJob, forKey: .type)
            try container.encode(body, forKey: .body)
        case .startJob(let body):
            try container.encode(Kind.startJob, forKey: .type)
            try container.encode(body, forKey: .body)
        case .finishJob(let body):
            try container.encode(Kind.finishJob, forKey: .type)
            try container.encode(body, forKey: .body)
        case .setMember(let body):
            try container.encode(Kind.setMember, forKey: .type)
            try container.encode(body, forKey: .body)
        case .recordEnvelope(let body):
            try container.encode(Kind.recordEnvelope, forKey: .type)
            try container.encode(body, forKey: .body)
        case .cordonNode(let body):
            try container.encode(Kind.cordonNode, forKey: .type)
            try container.encode(body, forKey: .body)
        case .executeLaunch(let body):
            try container.encode(Kind.executeLaunch, forKey: .type)
            try container.encode(body, forKey: .body)
        case .reportLaunch(let body):
            try container.encode(Kind.reportLaunch, forKey: .type)
            try container.encode(body, forKey: .body)
        case .terminateLaunch(let body):
            try container.encode(Kind.terminateLaunch, forKey: .type)
            try container.encode(body, forKey: .body)
        case .triggerJob(let body):
            try container.encode(Kind.triggerJob, forKey: .type)
            try container.encode(body, forKey: .body)
        case .setSchedulerPaused(let body):
            try container.encode(Kind.setSchedulerPaused, forKey: .type)
            try container.encode(body, forKey: .body)
        case .noop:
            try container.encode(Kind.noop, forKey: .type)
        case .markNodeLost(let body):
            try container.encode(Kind.markNodeLost, forKey: .type)
            try container.encode(body, forKey: .body)
        case .moveLaunch(let body):
            try container.encode(Kind.moveLaunch, forKey: .type)
            try container.encode(body, forKey: .body)
        case .drainNode(let body):
            try container.encode(Kind.drainNode, forKey: .type)
            try container.encode(body, forKey: .body)
        case .reportOrphans(let body):
            try container.encode(Kind.reportOrphans, forKey: .type)
            try container.encode(body, forKey: .body)
        case .sweepOrphans(let body):
            try container.encode(Kind.sweepOrphans, forKey: .type)
            try container.encode(body, forKey: .body)
        case .fireJob(let body):
            try container.encode(Kind.fireJob, forKey: .type)
            try container.encode(body, forKey: .body)
        case .retryJob(let body):
            try container.encode(Kind.retryJob, forKey: .type)
            try container.encode(body, forKey: .body)
        }
    }

    /// JSON `{"type": …, "body": {…}}` with sorted keys: the form entries had before the binary
    /// encoding, still read from older logs and snapshots and handy in tests and tools.
    public func jsonEncoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // Encoding plain strings, integers and booleans cannot fail.
        return Array(try! encoder.encode(self))
    }

    /// Decodes the JSON form; nil when the bytes are not a `StateCommand`.
    public init?(json bytes: [UInt8]) {
        guard let command = try? JSONDecoder().decode(StateCommand.self, from: Data(bytes)) else {
            return nil
        }
        self = command
    }
}
