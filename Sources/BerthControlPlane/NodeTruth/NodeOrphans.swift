/// A workload an agent found carrying its root's marker that no launch record of the agent owns
/// (spec §6). Reported, shown, and killed only on an explicit sweep.
public struct OrphanProcess: Codable, Equatable, Hashable, Sendable {
    /// The launch id its marker names (`launch_id`).
    public var launchID: String
    public var pid: Int32
    /// Its start time in clock ticks since boot (`/proc/<pid>/stat` field 22), so a reused pid is
    /// never mistaken for it (`start_time`).
    public var startTime: UInt64

    public init(launchID: String, pid: Int32, startTime: UInt64) {
        self.launchID = launchID
        self.pid = pid
        self.startTime = startTime
    }

    enum CodingKeys: String, CodingKey {
        case launchID = "launch_id"
        case pid
        case startTime = "start_time"
    }
}

/// What the control plane holds about a node's orphans: the agent's last list, and a sweep an
/// operator asked for that the agent has not carried out yet.
public struct NodeOrphans: Codable, Equatable, Hashable, Sendable {
    /// The agent's last report (`orphans`).
    public var orphans: [OrphanProcess] = []
    /// When that report was applied (`reported_at_ms`), leader's clock; nil before any.
    public var reportedAtMs: Int64?
    /// The sweep asked for and not yet done (`sweep_requested`): its id and the orphans it
    /// covers — the ones listed when it was asked for, so one found later is not killed unseen.
    public var pendingSweep: Sweep?
    /// The last sweep the agent carried out (`last_sweep`).
    public var lastSweep: Sweep?

    public struct Sweep: Codable, Equatable, Hashable, Sendable {
        /// Unique per node: the log index of the command that asked for it.
        public var id: UInt64
        public var requestedAtMs: Int64
        public var orphans: [OrphanProcess]
        /// When the agent reported it done (only for `lastSweep`).
        public var doneAtMs: Int64?

        public init(id: UInt64, requestedAtMs: Int64, orphans: [OrphanProcess], doneAtMs: Int64? = nil) {
            self.id = id
            self.requestedAtMs = requestedAtMs
            self.orphans = orphans
            self.doneAtMs = doneAtMs
        }

        enum CodingKeys: String, CodingKey {
            case id
            case requestedAtMs = "requested_at_ms"
            case orphans
            case doneAtMs = "done_at_ms"
        }
    }

    public init() {}

    public var isEmpty: Bool { self == NodeOrphans() }

    /// The agent reported its orphans now (`swept`: the sweep it has just carried out, if any).
    public mutating func report(_ orphans: [OrphanProcess], atMs: Int64, swept: UInt64?) {
        self.orphans = orphans
        reportedAtMs = atMs
        if let swept, var sweep = pendingSweep, sweep.id == swept {
            sweep.doneAtMs = atMs
            lastSweep = sweep
            pendingSweep = nil
        }
    }

    /// An operator asked for the orphans listed now to be killed; false (nothing asked) when
    /// there are none.
    public mutating func requestSweep(id: UInt64, atMs: Int64) -> Bool {
        guard !orphans.isEmpty else { return false }
        pendingSweep = Sweep(id: id, requestedAtMs: atMs, orphans: orphans)
        return true
    }

    enum CodingKeys: String, CodingKey {
        case orphans
        case reportedAtMs = "reported_at_ms"
        case pendingSweep = "sweep_requested"
        case lastSweep = "last_sweep"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        orphans = try container.decodeIfPresent([OrphanProcess].self, forKey: .orphans) ?? []
        reportedAtMs = try container.decodeIfPresent(Int64.self, forKey: .reportedAtMs)
        pendingSweep = try container.decodeIfPresent(Sweep.self, forKey: .pendingSweep)
        lastSweep = try container.decodeIfPresent(Sweep.self, forKey: .lastSweep)
    }
}
