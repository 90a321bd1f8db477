import BerthControlPlane
import BerthStorage

/// A client request that only the leader can carry out. A follower forwards it over the peer
/// protocol (in a `forward` frame, `ClientRequest+Forward.swift`) and returns the leader's
/// answer unchanged.
enum ClientRequest: Codable, Equatable, Sendable {
    /// `POST /api/jobs`. The node that took the request names the job (`jobID`, a UUIDv7): a
    /// retry of the same create finds the job by that name and answers as the first time, so
    /// the node's own retries never create twice, key or not. `idempotencyKey` is the client's
    /// `Idempotency-Key`; `requestHash` binds it to the request.
    case createJob(
        jobID: String, command: String, image: String?, backend: String?, maxConcurrentRuns: Int?,
        idempotencyKey: String?, requestHash: UInt64)
    /// `DELETE /api/jobs/:id`. The key is the client's `Idempotency-Key` or one the node that
    /// took the request made up (`RequestFingerprint.internalKey`).
    case cancelJob(id: String, idempotencyKey: String?, requestHash: UInt64)
    /// `POST /api/cluster/transfer-leadership`.
    case transferLeadership(target: UInt64)
    /// `POST /api/cluster/members`: add a learner (or re-admit a member that lost its disk under
    /// its new incarnation), promote it once caught up. Without an incarnation, the leader
    /// uses the one the node's hello gave.
    case addMember(nodeID: UInt64, peerAddress: String, httpAddress: String, incarnation: UInt64?)
    /// `DELETE /api/cluster/members/:id`.
    case removeMember(nodeID: UInt64)
    /// A follower's linearizable read asks the leader for a confirmed read index.
    case readIndex
    /// `POST /api/v1alpha1/intake/envelope`, validated by the node that took it. The leader
    /// stamps its clock into the command (telemetry age is judged on the leader's clock).
    case recordEnvelope(envelope: SchedulerEnvelope, idempotencyKey: String?, requestHash: UInt64)
    /// `POST /api/v1alpha1/nodes/:id/cordon` (`cordoned`, perhaps `draining`) and `/uncordon`.
    case cordonNode(nodeID: String, cordoned: Bool, draining: Bool, idempotencyKey: String?, requestHash: UInt64)
    /// `POST /api/v1alpha1/launch/execute`. `nodeID` is a plan's node (with its
    /// `expectStateIndex`); without one the leader chooses. The node that took the request names
    /// the launch, so its own retries find it instead of launching twice.
    case executeLaunch(
        launchID: String, intent: WorkloadIntent, nodeID: String?, expectStateIndex: UInt64?, waitForCapacity: Bool,
        idempotencyKey: String?, requestHash: UInt64)
    /// `POST /api/v1alpha1/launch/:id/transitions`: an agent's report.
    case reportLaunch(
        launchID: String, nodeID: String, state: LaunchState, reason: FailureReason?, note: String?,
        output: LaunchOutput?)
    /// `POST /api/v1alpha1/launch/:id/terminate`.
    case terminateLaunch(launchID: String, idempotencyKey: String?, requestHash: UInt64)
    /// `POST /api/jobs/:id/trigger`: a new run.
    case triggerJob(jobID: String, idempotencyKey: String?, requestHash: UInt64)
    /// `POST /api/scheduler/pause` (`paused` true) and `/resume`.
    case setSchedulerPaused(paused: Bool, idempotencyKey: String?, requestHash: UInt64)
    /// `POST /api/v1alpha1/nodes/:id/drain` (`draining` true) and `DELETE` (false).
    case drainNode(nodeID: String, draining: Bool, idempotencyKey: String?, requestHash: UInt64)
    /// `PUT /api/v1alpha1/agents/:node/orphans`: an agent's orphans (and the sweep it just did).
    case reportOrphans(nodeID: String, orphans: [OrphanProcess], swept: UInt64?)
    /// `POST /api/v1alpha1/nodes/:id/orphans/sweep`.
    case sweepOrphans(nodeID: String, idempotencyKey: String?, requestHash: UInt64)
    /// `POST /api/jobs` with a schedule, retries or `depends_on` (the plain create keeps its
    /// compact forward form).
    case createPlannedJob(
        jobID: String, command: String, image: String?, backend: String?, maxConcurrentRuns: Int?, plan: JobPlan,
        idempotencyKey: String?, requestHash: UInt64)
}

/// What the leader answered: an HTTP status and a JSON body.
struct ClientAnswer: Equatable, Sendable {
    var status: Int
    var body: [UInt8]
    /// Seconds to wait before retrying, for 429 and 503 answers.
    var retryAfterSeconds: Int?

    init(status: Int, body: [UInt8], retryAfterSeconds: Int? = nil) {
        self.status = status
        self.body = body
        self.retryAfterSeconds = retryAfterSeconds
    }

    /// A leader's answer as a `forwardResponse` carries it: the status and the body. Its
    /// `Retry-After` is not carried: the leader sets it to 1 s on every 429 and 503, and so does
    /// this side (docs/wire-protocol.md §7).
    init(forwardedStatus status: UInt16, body: [UInt8]) {
        self.init(status: Int(status), body: body, retryAfterSeconds: status == 429 || status == 503 ? 1 : nil)
    }

    init(_ error: APIError) {
        self.init(status: Int(error.status.code), body: error.jsonBody, retryAfterSeconds: error.retryAfterSeconds)
    }
}
