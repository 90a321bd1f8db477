import BerthRaft

/// A simulated client: issues one request at a time — a write or a linearizable read — to the
/// node it believes leads, follows `notLeader` hints, and retries a write until a node
/// acknowledges it. A keyed write is retried under the same operation id (its idempotency key:
/// the state machine applies it once however often it commits). A keyless write has no id of
/// its own: the node that takes it gives it an internal key, so a retry after an unknown
/// outcome is a new write, which may take effect besides the first.
struct Client {
    /// Timing and workload knobs, in time units.
    struct Settings {
        /// Operations this client writes over the run.
        var operations = 25
        /// Chance that the next request is a read rather than a write.
        var readChance = 0.3
        /// Chance that a read goes to a random node instead of the believed leader — the way
        /// to meet a deposed leader that has not noticed yet.
        var strayReadChance = 0.5
        /// How long to wait for an acknowledgement before retrying elsewhere.
        var timeout: UInt64 = 300
        /// Pause after an answer before the next request.
        var thinkTime: ClosedRange<UInt64> = 0...30
        /// Pause after a refusal before trying again.
        var backoff: ClosedRange<UInt64> = 5...20
        /// Writes carry no idempotency key.
        var keyless = false
    }

    /// What the client is waiting for.
    enum Request: Equatable {
        /// A write; `op` is its current attempt's operation id (a keyless write's is given by the
        /// node that takes it: nil until then); `awaitingUntil` is set while a node holds it,
        /// nil while it must be (re)sent.
        case write(op: UInt64?, awaitingUntil: UInt64?)
        case read(id: UInt64, deadline: UInt64)
    }

    let id: Int
    let settings: Settings
    /// The node the client sends to next.
    private(set) var target: NodeID
    private(set) var request: Request?
    private var nextActionAt: UInt64 = 0
    private(set) var operationsLeft: Int
    private var rng: SplitMix64

    init(id: Int, settings: Settings, target: NodeID, rng: SplitMix64) {
        self.id = id
        self.settings = settings
        self.target = target
        self.rng = rng
        operationsLeft = settings.operations
    }

    /// The write this client is still trying to get acknowledged, if any, in words.
    var waitingFor: String? {
        guard case .write(let op, _) = request else { return nil }
        return op.map { "op \($0)" } ?? "a keyless write"
    }

    /// The operation id a write attempt that failed or ended unknown is retried under: the
    /// same for a keyed write, none (the next node names a new one) for a keyless write.
    private func retried(_ op: UInt64?) -> UInt64? { settings.keyless ? nil : op }

    /// Does whatever is due: a new request (only when `mayStartNew`), a retry, or giving up on
    /// a read. `nextOp` hands out fresh operation ids.
    mutating func act(on cluster: SimulatedCluster, mayStartNew: Bool, nextOp: inout UInt64) {
        let now = cluster.now
        guard now >= nextActionAt else { return }
        switch request {
        case nil:
            guard mayStartNew, operationsLeft > 0 else { return }
            if rng.chance(settings.readChance) {
                startRead(on: cluster)
            } else {
                if settings.keyless {
                    request = .write(op: nil, awaitingUntil: nil)
                } else {
                    request = .write(op: nextOp, awaitingUntil: nil)
                    nextOp += 1
                }
                operationsLeft -= 1
                send(on: cluster)
            }
        case .write(let op, let awaitingUntil):
            if let awaitingUntil {
                guard now >= awaitingUntil else { return }
                // No answer: the node may be cut off or dead, and the outcome is unknown. Try
                // another one.
                request = .write(op: retried(op), awaitingUntil: nil)
                target = rng.element(of: cluster.nodeIDs)
            }
            send(on: cluster)
        case .read(_, let deadline):
            if now >= deadline { request = nil }
        }
    }

    /// Takes a node's answer addressed to this client.
    mutating func handle(_ outcome: SimulatedCluster.ClientOutcome, in cluster: SimulatedCluster) {
        let now = cluster.now
        switch outcome {
        case .acknowledged(_, let op, _, _):
            guard case .write(op, _) = request else { return }
            request = nil
            nextActionAt = now + rng.time(in: settings.thinkTime)
        case .proposalLost(_, let op, _), .outcomeUnknown(_, let op, _):
            guard case .write(op, .some) = request else { return }
            // Outcome unknown: send the write again, soon (a keyless one as a new write).
            request = .write(op: retried(op), awaitingUntil: nil)
            nextActionAt = now + rng.time(in: settings.backoff)
        case .writeFailed(_, let op, _, let reason):
            guard case .write(op, .some) = request else { return }
            // The leader refused: the write was not proposed. Try again where it points.
            request = .write(op: retried(op), awaitingUntil: nil)
            redirect(after: .refused(reason), in: cluster)
            nextActionAt = now + rng.time(in: settings.backoff)
        case .readServed(_, let readID, _, _), .readFailed(_, let readID, _):
            guard case .read(readID, _) = request else { return }
            request = nil
            nextActionAt = now + rng.time(in: settings.thinkTime)
        }
    }

    private mutating func send(on cluster: SimulatedCluster) {
        guard case .write(let op, _) = request else { return }
        let now = cluster.now
        let write: SimulatedCluster.ClientWrite = op.map { .keyed($0) } ?? .keyless
        switch cluster.submit(write, at: target, client: id) {
        case .success(let assigned):
            request = .write(op: assigned, awaitingUntil: now + settings.timeout)
        case .failure(let error):
            redirect(after: error, in: cluster)
            nextActionAt = now + rng.time(in: settings.backoff)
        }
    }

    private mutating func startRead(on cluster: SimulatedCluster) {
        let now = cluster.now
        let stray = rng.chance(settings.strayReadChance)
        let node = stray ? rng.element(of: cluster.nodeIDs) : target
        switch cluster.read(at: node, client: id) {
        case .success(let readID):
            request = .read(id: readID, deadline: now + settings.timeout)
        case .failure(let error):
            if !stray { redirect(after: error, in: cluster) }
            nextActionAt = now + rng.time(in: settings.backoff)
        }
    }

    /// Picks the next node after a refusal: the hinted leader if there is one, else any node.
    private mutating func redirect(after error: SimulatedCluster.ClientError, in cluster: SimulatedCluster) {
        if case .refused(.notLeader(let hint)) = error, hint != .none {
            target = hint
        } else if case .refused(.notLeader) = error {
            target = rng.element(of: cluster.nodeIDs)
        } else if case .unavailable = error {
            target = rng.element(of: cluster.nodeIDs)
        }
        // Other refusals (transfer under way, not ready, too many pending) come from the
        // leader itself: stay and back off.
    }
}
