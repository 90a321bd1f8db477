import BerthRaft

/// The network between simulated nodes: every message gets a random delay (so messages
/// reorder), may be lost or duplicated, and is dropped if its link is cut when it would arrive.
///
/// Links are directed, so a partition can be asymmetric (A → B cut while B → A works).
/// Messages wait in buckets keyed by delivery time and leave in the order they were sent
/// within a bucket, so delivery order depends only on the seed.
public final class SimulatedNetwork {
    /// A message on its way, stamped with the lives (crash counts) of the nodes it was sent
    /// between: a crash drops everything in flight to the crashed node, and a restarted sender
    /// is not asked about snapshots its previous life sent.
    struct InFlight {
        /// What travels.
        enum Payload {
            case raft(Message)
            case request(from: NodeID, to: NodeID, NodeRequest)
        }

        var payload: Payload
        var senderLife: Int
        var targetLife: Int
        /// A copy made by the duplication fault (transports report snapshots once, for the original).
        var isDuplicate: Bool
        /// A snapshot the loss fault ate: it is not delivered, but when it would have arrived the
        /// sender's transport learns that streaming it failed.
        var isLost = false
    }

    /// A directed link.
    struct Link: Hashable {
        var from: NodeID
        var to: NodeID
    }

    /// Chance that a message is lost, 0 ... 1.
    public private(set) var lossProbability = 0.0
    /// Chance that a message is delivered twice, 0 ... 1.
    public private(set) var duplicateProbability = 0.0
    /// Message delay range, in time units.
    public private(set) var delay: ClosedRange<UInt64>
    /// Extra delay for a snapshot, which is large and streamed, in time units.
    let snapshotExtraDelay: UInt64 = 10

    private var rng: SplitMix64
    private var buckets: [UInt64: [InFlight]] = [:]
    private var blocked: Set<Link> = []
    /// Messages handed to the network, lost to the loss fault, and extra copies made.
    private(set) var sentCount = 0
    private(set) var lostCount = 0
    private(set) var duplicatedCount = 0
    /// Messages waiting for delivery (copies included).
    private(set) var inFlightCount = 0

    init(rng: SplitMix64, delay: ClosedRange<UInt64>) {
        precondition(delay.lowerBound >= 1, "a message takes at least one time unit")
        self.rng = rng
        self.delay = delay
    }

    /// Whether any link is cut.
    public var isPartitioned: Bool { !blocked.isEmpty }

    /// Whether messages from `from` to `to` are currently dropped.
    public func isBlocked(from: NodeID, to: NodeID) -> Bool {
        !blocked.isEmpty && blocked.contains(Link(from: from, to: to))
    }

    func setQuality(loss: Double, duplicate: Double, delay: ClosedRange<UInt64>) {
        precondition(delay.lowerBound >= 1)
        lossProbability = loss
        duplicateProbability = duplicate
        self.delay = delay
    }

    /// Cuts every link between different groups, both ways. Nodes in no group keep their links.
    func partition(_ groups: [[NodeID]]) {
        blocked = []
        for (i, group) in groups.enumerated() {
            for (j, other) in groups.enumerated() where i != j {
                for a in group {
                    for b in other { blocked.insert(Link(from: a, to: b)) }
                }
            }
        }
    }

    /// Cuts the link from `from` to `to` only.
    func block(from: NodeID, to: NodeID) {
        blocked.insert(Link(from: from, to: to))
    }

    /// Restores every link.
    func heal() {
        blocked = []
    }

    /// Puts `message` on the wire at `now`.
    func send(_ message: Message, now: UInt64, senderLife: Int, targetLife: Int) {
        sentCount += 1
        var flight = InFlight(
            payload: .raft(message), senderLife: senderLife, targetLife: targetLife, isDuplicate: false)
        if rng.chance(lossProbability) {
            lostCount += 1
            guard case .installSnapshot = message.body else { return }
            flight.isLost = true
            enqueue(flight, at: now + travelTime(of: message))
            return
        }
        enqueue(flight, at: now + travelTime(of: message))
        if rng.chance(duplicateProbability) {
            duplicatedCount += 1
            var copy = flight
            copy.isDuplicate = true
            enqueue(copy, at: now + travelTime(of: message))
        }
    }

    /// Puts a node-to-node client request on the wire at `now`. It may be lost or delayed (a
    /// connection that drops), never duplicated: the server's peer links are TCP, and its
    /// forwards are never re-sent.
    func send(
        _ request: NodeRequest, from: NodeID, to: NodeID, now: UInt64, senderLife: Int, targetLife: Int
    ) {
        sentCount += 1
        if rng.chance(lossProbability) {
            lostCount += 1
            return
        }
        let flight = InFlight(
            payload: .request(from: from, to: to, request), senderLife: senderLife, targetLife: targetLife,
            isDuplicate: false)
        enqueue(flight, at: now + rng.time(in: delay))
    }

    /// Takes the messages due at `now`, in the order they were queued.
    func takeDue(at now: UInt64) -> [InFlight] {
        guard let due = buckets.removeValue(forKey: now) else { return [] }
        inFlightCount -= due.count
        return due
    }

    /// Holds `flight` until `time` (its receiver is paused).
    func requeue(_ flight: InFlight, at time: UInt64) {
        enqueue(flight, at: time)
    }

    private func enqueue(_ flight: InFlight, at time: UInt64) {
        buckets[time, default: []].append(flight)
        inFlightCount += 1
    }

    private func travelTime(of message: Message) -> UInt64 {
        var time = rng.time(in: delay)
        if case .installSnapshot = message.body { time += snapshotExtraDelay }
        return time
    }
}
