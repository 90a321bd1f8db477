/// The leader's view of one follower's log (etcd's `Progress`).
struct Progress: Equatable {
    /// How the leader is sending to this follower.
    enum State: String, Equatable, Sendable {
        /// Send one AppendEntries at a time until the match point is found.
        case probe
        /// The match point is known: stream entries, up to the inflight window.
        case replicate
        /// The follower needs a snapshot; wait until it has one.
        case snapshot
    }

    /// Highest index known to match the leader's log.
    var match: LogIndex = 0
    /// Next index to send.
    var next: LogIndex
    var state: State = .probe
    /// Probe state: one message is out; wait for its answer or a heartbeat answer.
    var probeSent = false
    /// Snapshot state: the snapshot index being sent.
    var pendingSnapshot: LogIndex = 0
    /// Leader ticks spent in the snapshot state, to retry a snapshot that was lost.
    var snapshotTicks = 0
    /// Heard from since the last CheckQuorum round.
    var recentActive = false
    var isLearner: Bool
    var inflights: Inflights
    /// The member's incarnation this progress describes.
    let incarnation: Incarnation

    init(next: LogIndex, isLearner: Bool, maxInflight: Int, incarnation: Incarnation) {
        self.next = next
        self.isLearner = isLearner
        self.incarnation = incarnation
        inflights = Inflights(capacity: maxInflight)
    }

    /// Whether the leader should hold back AppendEntries to this follower.
    var isPaused: Bool {
        switch state {
        case .probe: return probeSent
        case .replicate: return inflights.isFull
        case .snapshot: return true
        }
    }

    mutating func becomeProbe() {
        // After a snapshot the follower holds at least the snapshot.
        if state == .snapshot {
            next = max(match + 1, pendingSnapshot + 1)
        } else {
            next = match + 1
        }
        state = .probe
        probeSent = false
        pendingSnapshot = 0
        snapshotTicks = 0
        inflights.reset()
    }

    mutating func becomeReplicate() {
        state = .replicate
        next = match + 1
        probeSent = false
        inflights.reset()
    }

    mutating func becomeSnapshot(at index: LogIndex) {
        state = .snapshot
        pendingSnapshot = index
        snapshotTicks = 0
        inflights.reset()
    }

    /// Records a successful append up to `index`; false when the answer is stale.
    mutating func maybeUpdate(_ index: LogIndex) -> Bool {
        var updated = false
        if match < index {
            match = index
            updated = true
            probeSent = false
        }
        next = max(next, index + 1)
        return updated
    }

    /// Records that an optimistic send went out up to `lastIndex` (replicate state).
    mutating func optimisticallySent(through lastIndex: LogIndex) {
        next = lastIndex + 1
        inflights.add(lastIndex)
    }

    /// Handles a rejection of the AppendEntries whose `prevIndex` was `rejected`: back to probing
    /// from `hint`. False when the rejection is stale (it answers an older message).
    /// `followerLast`, when the rejection says how long the follower's log is, detects a
    /// follower that lost entries it had acknowledged (a wiped data dir): it is probed again
    /// from its real end, and gets a snapshot if that part of the log is compacted. Lowering
    /// `match` is safe: it only delays commitment, and the commit index never moves back.
    mutating func maybeDecrease(rejected: LogIndex, hint: LogIndex, followerLast: LogIndex? = nil) -> Bool {
        if let followerLast, followerLast < match {
            match = followerLast
            state = .probe
            inflights.reset()
            pendingSnapshot = 0
            next = followerLast + 1
            probeSent = false
            return true
        }
        switch state {
        case .replicate:
            guard rejected > match else { return false }
            becomeProbe()
        case .probe:
            guard next - 1 == rejected else { return false }
        case .snapshot:
            return false
        }
        next = max(match + 1, min(rejected, hint))
        probeSent = false
        return true
    }
}
