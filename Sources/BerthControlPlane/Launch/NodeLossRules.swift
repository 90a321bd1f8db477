/// Lost nodes and replacements (spec §6), as pure decisions: which nodes the leader declares
/// lost, what that does to their launches, and how a launch is moved off a draining node. The
/// leader's clock comes in as values; the apply of the replicated command decides the same on
/// every server.
public enum NodeLossRules {
    /// A node whose agent has been silent too long.
    public struct SilentNode: Equatable, Sendable {
        public var nodeID: String
        /// The node's `received_at` as the leader saw it: the apply refuses the command when a
        /// newer envelope landed in between.
        public var receivedAtMs: Int64
        /// How long nothing was heard, by the leader's clock.
        public var silentForMs: Int64
    }

    /// The nodes to declare lost at `nowMs`: not lost yet, and silent for more than `lostAfterMs`
    /// since the latest of their last envelope (`received_at`), anything else the leader heard
    /// from their agent (`heardAtMs`: polls and reports it served), and `graceStartMs` — when
    /// this server became leader, so that a new leader first gives every agent a full period to
    /// be heard instead of counting the time before it led.
    public static func silentNodes(
        in fleet: FleetView, nowMs: Int64, lostAfterMs: Int64, graceStartMs: Int64, heardAtMs: [String: Int64] = [:]
    ) -> [SilentNode] {
        var silent: [SilentNode] = []
        for nodeID in fleet.nodeIDs {
            guard let truth = fleet.truth(of: nodeID), !truth.lost else { continue }
            let lastHeard = max(truth.receivedAtMs, heardAtMs[nodeID] ?? .min, graceStartMs)
            let silentFor = nowMs - lastHeard
            if silentFor > lostAfterMs {
                silent.append(SilentNode(nodeID: nodeID, receivedAtMs: truth.receivedAtMs, silentForMs: silentFor))
            }
        }
        return silent
    }

    /// What declaring a node lost does to its launches.
    public struct Loss: Equatable, Sendable {
        /// The node's launches, now `lost` (with `replaced_by` where a replacement was made).
        public var lost: [LaunchRecord] = []
        /// New `pending` launches standing in for the reschedulable ones.
        public var replacements: [LaunchRecord] = []
    }

    /// Node `nodeID` is lost at `atMs`: each of `launches` (its placed, unfinished launches)
    /// ends `lost` with NODE_LOST and `detail`, and gives its resources back. One whose intent
    /// says `on_node_lost: reschedule` gets a replacement launch of the same intent, `pending`
    /// until the leader places it on another node — unless it was being stopped anyway
    /// (`terminating`) or already has one (a drain was moving it).
    ///
    /// - Parameter taken: whether a launch id is in use (replacement ids must be new).
    public static func loseNode(
        _ nodeID: String, launches: [LaunchRecord], atMs: Int64, detail: String, fleet: inout FleetView,
        taken: (String) -> Bool
    ) -> Loss {
        var loss = Loss()
        var used: Set<String> = []
        for var record in launches.sorted(by: { $0.id < $1.id }) {
            guard record.nodeID == nodeID, !record.state.isTerminal, record.state != .pending else { continue }
            let wasStopping = record.state == .terminating
            do { try record.markLost(atMs: atMs, detail: detail) } catch { continue }
            fleet.releaseLaunch(id: record.id)
            if record.intent.onNodeLost == .reschedule, !wasStopping, record.replacedBy == nil {
                let id = replacementID(of: record.id) { taken($0) || used.contains($0) }
                used.insert(id)
                loss.replacements.append(
                    LaunchRecord(
                        id: id, intent: record.intent, createdAtMs: atMs,
                        note: "replaces \(record.id), lost with node \(nodeID)", replaces: record.id))
                record.linkReplacement(id, atMs: atMs)
            }
            loss.lost.append(record)
        }
        return loss
    }

    /// A draining node's launch moved: a replacement of the same intent is made `pending` (the
    /// leader places it elsewhere) while the launch itself keeps running; it is terminated once
    /// its replacement runs (`handoverDue`). Nil when the launch cannot move: not running or
    /// about to, not reschedulable, or already replaced.
    public static func move(_ record: LaunchRecord, atMs: Int64, reason: String, taken: (String) -> Bool) -> (
        moved: LaunchRecord, replacement: LaunchRecord
    )? {
        guard isMovable(record), record.replacedBy == nil else { return nil }
        var moved = record
        let id = replacementID(of: record.id, taken: taken)
        let replacement = LaunchRecord(
            id: id, intent: record.intent, createdAtMs: atMs, note: "replaces \(record.id): \(reason)",
            replaces: record.id)
        moved.linkReplacement(id, atMs: atMs)
        return (moved, replacement)
    }

    /// Whether a drain moves this launch: placed, not ending, and its intent allows running it
    /// elsewhere (`on_node_lost: reschedule`).
    public static func isMovable(_ record: LaunchRecord) -> Bool {
        record.intent.onNodeLost == .reschedule && [.validated, .preparing, .starting, .running].contains(record.state)
    }

    /// Whether a moved launch should now be stopped: its replacement is `running`, or the
    /// replacement was never going to run (it ended) — then the original keeps running and
    /// this answers false.
    public static func handoverDue(original: LaunchRecord, replacement: LaunchRecord?) -> Bool {
        guard let replacement, original.replacedBy == replacement.id, !original.state.isTerminal,
            original.state != .terminating
        else { return false }
        return replacement.state == .running
    }

    /// The id of a launch replacing `launchID`: `<id>-r1`, and `<base>-r<n+1>` for a launch that
    /// is itself the n-th replacement, skipping ids `taken`.
    public static func replacementID(of launchID: String, taken: (String) -> Bool) -> String {
        var base = launchID
        var number = 1
        if let dash = launchID.lastIndex(of: "-") {
            let suffix = launchID[launchID.index(after: dash)...]
            if suffix.first == "r", let previous = Int(suffix.dropFirst()), previous > 0,
                suffix.dropFirst().allSatisfy(\.isASCII)
            {
                base = String(launchID[..<dash])
                number = previous + 1
            }
        }
        while taken("\(base)-r\(number)") { number += 1 }
        return "\(base)-r\(number)"
    }
}
