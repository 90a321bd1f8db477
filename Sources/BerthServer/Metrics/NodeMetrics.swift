import BerthControlPlane
import BerthStorage
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
    /// The WAL's fsync alone, per `Ready` that needed one.
    let fsyncDuration = Timer(label: "berth_wal_fsync_seconds", preferredDisplayUnit: .seconds)
    /// Elections this node started as a candidate (a pre-vote that failed is not counted).
    let electionsStarted = Counter(label: "berth_raft_elections_started_total")
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

    /// A launch placement the leader proposed, by outcome: `placed` on a node, `pending` (waits
    /// for capacity), or refused, by the refusal's code (`berth_placement_rejections_total`).
    static func countPlacement(_ outcome: CommandOutcome) {
        switch outcome {
        case .launchCreated(let record):
            Counter(
                label: "berth_placements_total",
                dimensions: [("result", record.state == .pending ? "pending" : "placed")]
            ).increment()
        case .rejected(let rejection):
            Counter(label: "berth_placement_rejections_total", dimensions: [("code", rejection.code)]).increment()
        default:
            break
        }
    }

    /// A node the leader declared lost, with how many launches it had and how many of them got
    /// a replacement.
    static func countNodeLost(launches: Int, rescheduled: Int) {
        Counter(label: "berth_nodes_lost_total").increment()
        Counter(label: "berth_launches_lost_total").increment(by: launches)
        Counter(label: "berth_launches_rescheduled_total", dimensions: [("cause", "node_lost")]).increment(
            by: rescheduled)
    }

    /// A drain made a replacement for one of its node's launches.
    static func countDrainMove() {
        Counter(label: "berth_launches_rescheduled_total", dimensions: [("cause", "drain")]).increment()
    }

    /// Gauges computed when `/metrics` is scraped, never on the write path.
    static func refreshScrapeGauges(node: BerthNode) async {
        let (checks, status) = await HealthRoutes(node: node).checks()
        Gauge(label: "berth_ready").record(checks.allSatisfy(\.ok) ? 1 : 0)
        guard let status else { return }
        Gauge(label: "berth_raft_has_leader").record(status.leader == .none ? 0 : 1)
        Gauge(label: "berth_raft_last_index").record(Int64(status.lastIndex))
        for peer in status.configuration.members.sorted() where peer != node.config.nodeID {
            let connected = await node.transport.isConnected(peer)
            Gauge(label: "berth_peer_connected", dimensions: [("peer", "\(peer)")]).record(connected ? 1 : 0)
            let lag: Int64
            if status.role == .leader, let progress = status.progress[peer] {
                lag = Int64(status.lastIndex) - Int64(min(progress.match, status.lastIndex))
            } else {
                lag = 0
            }
            Gauge(label: "berth_raft_follower_lag_entries", dimensions: [("peer", "\(peer)")]).record(lag)
        }
        let view = node.raft.state.fleet().view
        Gauge(label: "berth_nodes_lost").record(view.nodeIDs.filter { view.truth(of: $0)?.lost == true }.count)
        if let counts = try? node.raft.state.launchCounts() {
            for state in LaunchState.allCases {
                Gauge(label: "berth_launches", dimensions: [("state", state.rawValue)]).record(
                    counts[state.rawValue] ?? 0)
            }
        }
    }
}
