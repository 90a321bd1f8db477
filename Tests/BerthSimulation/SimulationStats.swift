/// Counts of what a run exercised, to see that the faults and code paths actually happen
/// (a simulator that never installs a snapshot proves nothing about snapshots).
public struct SimulationStats: Equatable, Sendable {
    /// Times a node became leader.
    public var elections = 0
    public var crashes = 0
    /// Crashes that also lost the node's disk (it came back empty under a new incarnation).
    public var disksLost = 0
    /// Nodes re-admitted under a new incarnation (`ConfigChange.rejoin` accepted by a leader).
    public var rejoins = 0
    /// Crashes that hit a node while it was writing a Ready, losing that write.
    public var unsyncedWritesLost = 0
    /// Power losses that left part of the write in flight durable (a torn write).
    public var tornWrites = 0
    /// Power losses that lost commit-only writes made since the log's last fsync.
    public var unsyncedCommitsLost = 0
    /// Power losses that rolled a state store back to an earlier transaction.
    public var storeRollbacks = 0
    public var restarts = 0
    public var pauses = 0
    /// Partitions and one-way link cuts switched on.
    public var partitions = 0
    public var messagesSent = 0
    /// Messages lost to the loss fault.
    public var messagesLost = 0
    public var messagesDuplicated = 0
    /// Messages dropped because their link was cut or their receiver was down.
    public var messagesDropped = 0
    public var proposals = 0
    public var acknowledged = 0
    /// Proposals whose index ended up holding another entry, or whose node lost track of them.
    public var proposalsLost = 0
    /// Retries that committed twice and were skipped by the state machine.
    public var duplicatesSkipped = 0
    /// Client writes at a follower forwarded to the leader, and what became of them.
    public var forwards = 0
    public var forwardsRefused = 0
    /// Writes whose client was told the outcome is unknown (a forward or its answer lost).
    public var outcomesUnknown = 0
    /// Writes sent without an idempotency key (each got an internal key from its node).
    public var keylessWrites = 0
    public var readsIssued = 0
    /// Reads a follower served through the leader's read index.
    public var followerReads = 0
    public var readsServed = 0
    public var readsFailed = 0
    /// Leader snapshots installed by followers.
    public var snapshotsInstalled = 0
    /// Snapshots nodes took of their own state machine.
    public var compactions = 0
    /// Data-less snapshots sent with a copy of the sender's state newer than the snapshot.
    public var newerSnapshotCopies = 0
    /// Committed entries a node skipped because its state store already held them.
    public var appliesSkipped = 0
    public var transfersRequested = 0
    /// Transfers whose target became leader.
    public var transfersCompleted = 0
    public var transfersAborted = 0
    /// Membership changes accepted by a leader.
    public var configChanges = 0
    /// Ticks from the end of the fault phase until the cluster converged.
    public var healTicks = 0

    public init() {}

    /// Adds `other`'s counts to these (for totals over many seeds).
    public mutating func add(_ other: SimulationStats) {
        elections += other.elections
        crashes += other.crashes
        disksLost += other.disksLost
        rejoins += other.rejoins
        unsyncedWritesLost += other.unsyncedWritesLost
        tornWrites += other.tornWrites
        unsyncedCommitsLost += other.unsyncedCommitsLost
        storeRollbacks += other.storeRollbacks
        restarts += other.restarts
        pauses += other.pauses
        partitions += other.partitions
        messagesSent += other.messagesSent
        messagesLost += other.messagesLost
        messagesDuplicated += other.messagesDuplicated
        messagesDropped += other.messagesDropped
        proposals += other.proposals
        acknowledged += other.acknowledged
        proposalsLost += other.proposalsLost
        duplicatesSkipped += other.duplicatesSkipped
        forwards += other.forwards
        forwardsRefused += other.forwardsRefused
        outcomesUnknown += other.outcomesUnknown
        keylessWrites += other.keylessWrites
        readsIssued += other.readsIssued
        followerReads += other.followerReads
        readsServed += other.readsServed
        readsFailed += other.readsFailed
        snapshotsInstalled += other.snapshotsInstalled
        compactions += other.compactions
        newerSnapshotCopies += other.newerSnapshotCopies
        appliesSkipped += other.appliesSkipped
        transfersRequested += other.transfersRequested
        transfersCompleted += other.transfersCompleted
        transfersAborted += other.transfersAborted
        configChanges += other.configChanges
        healTicks = max(healTicks, other.healTicks)
    }

    /// One line per counter group, for reports.
    public var summary: String {
        """
        elections \(elections), crashes \(crashes) (\(unsyncedWritesLost) mid-write, \(disksLost) losing the disk), \
        restarts \(restarts), pauses \(pauses), partitions \(partitions)
        power losses: \(tornWrites) torn writes, \(unsyncedCommitsLost) unsynced commits lost, \
        \(storeRollbacks) state stores rolled back
        messages \(messagesSent) sent, \(messagesLost) lost, \(messagesDuplicated) duplicated, \
        \(messagesDropped) dropped at cut links or dead nodes
        proposals \(proposals), acknowledged \(acknowledged), lost \(proposalsLost), \
        duplicates skipped \(duplicatesSkipped); \(keylessWrites) keyless writes
        forwards \(forwards) (\(forwardsRefused) refused by the leader), \(outcomesUnknown) outcomes unknown
        reads \(readsIssued) issued (\(followerReads) at followers), \(readsServed) served, \(readsFailed) failed
        snapshots \(snapshotsInstalled) installed (\(newerSnapshotCopies) newer copies sent), \(compactions) compactions, \
        \(appliesSkipped) applies skipped
        transfers \(transfersRequested) requested, \(transfersCompleted) completed, \(transfersAborted) aborted; \
        membership changes \(configChanges)
        """
    }
}
