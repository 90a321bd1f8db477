import Metrics

/// What a node reports at `GET /metrics` about its Raft loop (spec §8), through swift-metrics
/// so that the backend is the process's choice (`berth server` bootstraps Prometheus). All of
/// it is updated once per `Ready`, never per write, to keep the write path as cheap as it is.
struct NodeMetrics: Sendable {
    let term = Gauge(label: "berth_raft_term")
    let commitIndex = Gauge(label: "berth_raft_commit_index")
    let appliedIndex = Gauge(label: "berth_raft_applied_index")
    /// 1 while this node leads, else 0.
    let isLeader = Gauge(label: "berth_raft_is_leader")
    let leaderChanges = Counter(label: "berth_raft_leader_changes_total")
    let readies = Counter(label: "berth_raft_ready_total")
    let entriesApplied = Counter(label: "berth_raft_entries_applied_total")
    let proposalsFailed = Counter(label: "berth_raft_proposals_failed_total")
    /// Peer messages dropped because the Raft loop's inbox was full.
    let inboxDropped = Counter(label: "berth_raft_inbox_dropped_total")
    /// Peer messages the core dropped because no correct peer sends them.
    let refusedMessages = Counter(label: "berth_raft_refused_messages_total")
    /// The log write and its fsync, per `Ready`.
    let persistDuration = Timer(label: "berth_raft_persist_seconds", preferredDisplayUnit: .seconds)
    /// One SQLite apply transaction, per `Ready` with committed entries.
    let applyDuration = Timer(label: "berth_raft_apply_seconds", preferredDisplayUnit: .seconds)
    let logCompactions = Counter(label: "berth_raft_log_compactions_total")
    let snapshotsInstalled = Counter(label: "berth_raft_snapshots_installed_total")

    /// Frames a peer link dropped because its queue was full.
    static func droppedFrames(peer: UInt64) -> Counter {
        Counter(label: "berth_peer_frames_dropped_total", dimensions: [("peer", "\(peer)")])
    }

    /// Snapshots streamed to a peer, by outcome.
    static func snapshotsSent(peer: UInt64, succeeded: Bool) -> Counter {
        Counter(
            label: "berth_peer_snapshots_sent_total",
            dimensions: [("peer", "\(peer)"), ("result", succeeded ? "ok" : "failed")])
    }

    /// Well-framed peer messages refused because they make no sense (`WireMessage.senseProblem`).
    static var nonsenseMessages: Counter { Counter(label: "berth_peer_nonsense_messages_total") }
}
