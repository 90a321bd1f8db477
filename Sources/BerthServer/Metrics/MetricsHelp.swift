/// `# HELP` lines for `/metrics`. Metrics are made through swift-metrics, which carries no help
/// text, and Prometheus's own linter (`promtool check metrics`) wants one for every metric, so
/// the scrape gets them inserted before each `# TYPE` line.
enum MetricsHelp {
    static let texts: [String: String] = [
        "berth_http_request_duration_seconds": "HTTP API answers by route pattern, method and status code.",
        "berth_http_errors_total": "HTTP API error answers by route, method and status.",
        "berth_launches": "Launches in each state.",
        "berth_peer_connected": "1 while the outbound link to the peer is up.",
        "berth_peer_frames_dropped_total": "Frames to a peer dropped because its send queue was full.",
        "berth_peer_nonsense_messages_total": "Well-framed peer messages refused because they make no sense.",
        "berth_peer_snapshots_sent_total": "Snapshots streamed to a peer, by result.",
        "berth_peer_tls_handshake_failures_total":
            "Peer connections refused at the TLS handshake, by direction and reason.",
        "berth_placement_rejections_total": "Launch placements refused, by refusal code.",
        "berth_nodes_lost": "Nodes currently declared lost (their agent silent past --node-lost-after).",
        "berth_nodes_lost_total": "Nodes the leader declared lost.",
        "berth_launches_lost_total": "Launches that ended lost with their node.",
        "berth_launches_rescheduled_total": "Replacement launches made, by cause (node_lost or drain).",
        "berth_placements_total": "Launch placements the leader proposed, by result (placed or pending).",
        "berth_raft_applied_index": "The last log index applied to the state machine.",
        "berth_raft_apply_seconds": "One SQLite apply transaction, per Ready with committed entries.",
        "berth_raft_commit_index": "The highest log index known to be committed.",
        "berth_raft_elections_started_total": "Elections this node started as a candidate.",
        "berth_raft_entries_applied_total": "Log entries applied to the state machine.",
        "berth_raft_follower_lag_entries": "On the leader: its last log index minus the follower's match index.",
        "berth_raft_has_leader": "1 while this node knows a leader.",
        "berth_raft_inbox_dropped_total": "Peer messages dropped because the Raft loop's inbox was full.",
        "berth_raft_is_leader": "1 while this node leads.",
        "berth_raft_last_index": "The last index in this node's log.",
        "berth_raft_leader_changes_total": "Times this node saw a new leader.",
        "berth_raft_log_compactions_total": "Log compactions.",
        "berth_raft_persist_seconds": "The Raft log write (and its fsync) per Ready.",
        "berth_raft_proposals_failed_total": "Proposals that failed (not leader, timeouts, lost in a leader change).",
        "berth_raft_ready_total": "Readys the Raft loop handled.",
        "berth_raft_refused_messages_total": "Peer messages the Raft core refused because no correct peer sends them.",
        "berth_raft_snapshots_installed_total": "Snapshots installed from the leader.",
        "berth_raft_term": "The current Raft term.",
        "berth_ready": "1 while /health/ready passes.",
        "berth_wal_fsync_seconds": "The WAL fsync, per Ready that needed one.",
    ]

    /// `exposition` with a `# HELP` line before every `# TYPE` line that has none.
    static func addHelp(to exposition: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(exposition.count + 4096)
        let typePrefix = Array("# TYPE ".utf8)
        var lineStart = 0
        while lineStart < exposition.count {
            var lineEnd = lineStart
            while lineEnd < exposition.count, exposition[lineEnd] != UInt8(ascii: "\n") { lineEnd += 1 }
            let line = exposition[lineStart..<lineEnd]
            if line.starts(with: typePrefix) {
                let rest = line.dropFirst(typePrefix.count)
                let name = String(decoding: rest.prefix { $0 != UInt8(ascii: " ") }, as: UTF8.self)
                let help = texts[name] ?? "Berth metric \(name)."
                out += Array("# HELP \(name) \(help)\n".utf8)
            }
            out += line
            out.append(UInt8(ascii: "\n"))
            lineStart = lineEnd + 1
        }
        return out
    }
}
