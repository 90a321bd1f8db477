/// Which faults a randomized run may inject. Each seed then switches a random subset of the
/// allowed faults on, at random rates ("swarm testing"): a run with only message loss finds
/// different bugs than a run with everything at once.
public struct FaultProfile: Equatable, Sendable {
    /// Messages may be lost.
    public var messageLoss: Bool
    /// Messages may be delivered twice.
    public var duplication: Bool
    /// Message delays may grow and vary widely, reordering messages.
    public var delays: Bool
    /// The network may split: random groups, an isolated leader, one-way links.
    public var partitions: Bool
    /// Nodes may crash (also in the middle of writing a Ready) and restart later.
    public var crashes: Bool
    /// Nodes may freeze for a while and then carry on as if nothing happened.
    public var pauses: Bool
    /// Disk writes may take long, widening the window in which a crash loses a write.
    public var slowDisk: Bool
    /// Nodes' clocks may tick a little faster or slower than each other.
    public var clockSkew: Bool
    /// The leader may be asked to hand leadership to another voter.
    public var leadershipTransfers: Bool
    /// A voter may be removed and added back (as a learner, then promoted).
    public var membershipChanges: Bool
    /// A node may lose its disk and come back empty under a new incarnation, to be re-admitted
    /// (`ConfigChange.rejoin`, then `.promote`). At most one voter at a time is without its disk.
    public var diskLoss: Bool
    /// Crashes are power losses: the write in flight leaves any prefix of its records durable
    /// (snapshot, hard state, entries in order), commit-only writes since the last fsync may be
    /// lost, and the state store rolls back to any transaction since its last sync.
    public var tornWrites: Bool
    /// Compaction writes snapshots without data, as the server does (the state store is the
    /// snapshot); a leader that must send one sends a copy of its current state, which may be
    /// newer than the snapshot, and the follower skips the applies it already holds.
    public var dataLessSnapshots: Bool
    /// Followers forward client writes to the leader over the network (lost with the link:
    /// the client hears the outcome is unknown) instead of refusing them.
    public var forwarding: Bool
    /// Followers serve linearizable reads with a read index asked of the leader over the network.
    public var followerReads: Bool
    /// Some clients write without an idempotency key: the node that takes such a write gives it
    /// an internal key, and a client that retries it after an unknown outcome sends a new write.
    public var keylessClients: Bool

    public init(
        messageLoss: Bool, duplication: Bool, delays: Bool, partitions: Bool, crashes: Bool, pauses: Bool,
        slowDisk: Bool, clockSkew: Bool, leadershipTransfers: Bool, membershipChanges: Bool, diskLoss: Bool = false,
        tornWrites: Bool = false, dataLessSnapshots: Bool = false, forwarding: Bool = false,
        followerReads: Bool = false, keylessClients: Bool = false
    ) {
        self.messageLoss = messageLoss
        self.duplication = duplication
        self.delays = delays
        self.partitions = partitions
        self.crashes = crashes
        self.pauses = pauses
        self.slowDisk = slowDisk
        self.clockSkew = clockSkew
        self.leadershipTransfers = leadershipTransfers
        self.membershipChanges = membershipChanges
        self.diskLoss = diskLoss
        self.tornWrites = tornWrites
        self.dataLessSnapshots = dataLessSnapshots
        self.forwarding = forwarding
        self.followerReads = followerReads
        self.keylessClients = keylessClients
    }

    /// Everything may go wrong.
    public static let all = FaultProfile(
        messageLoss: true, duplication: true, delays: true, partitions: true, crashes: true, pauses: true,
        slowDisk: true, clockSkew: true, leadershipTransfers: true, membershipChanges: true, diskLoss: true,
        tornWrites: true, dataLessSnapshots: true, forwarding: true, followerReads: true, keylessClients: true)

    /// A healthy cluster: only the workload runs.
    public static let none = FaultProfile(
        messageLoss: false, duplication: false, delays: false, partitions: false, crashes: false, pauses: false,
        slowDisk: false, clockSkew: false, leadershipTransfers: false, membershipChanges: false)
}
