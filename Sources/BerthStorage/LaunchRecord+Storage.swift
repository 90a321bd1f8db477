import BerthControlPlane

/// How a launch record is kept: the record itself is small and changes with every agent
/// report, while its placement explanation (every node of the fleet, ranked or rejected) can be
/// megabytes and never changes. Encoding or decoding that explanation on every apply stalled the
/// Raft loop long enough to cost elections with a 10,000-node fleet, so the row keeps it apart
/// (`launches.placement`, written once with the explanation's own JSON writer) and the record in
/// the state machine carries its placement without the node lists.
extension LaunchRecord {
    /// The same record with its placement's node lists left out (the evaluation time stays).
    public func withoutPlacementLists() -> LaunchRecord {
        guard let placement, !(placement.rankedNodes.isEmpty && placement.rejectedNodes.isEmpty) else {
            return self
        }
        var light = LaunchRecord(id: id, intent: intent, createdAtMs: createdAtMs, note: trace.first?.note)
        let emptied = Explanation(evaluatedAtMs: placement.evaluatedAtMs, rankedNodes: [], rejectedNodes: [])
        // Replaying the trace rebuilds every field exactly: state, failure, updated time, notes.
        for entry in trace.dropFirst() {
            if entry.state == .validated, let spec {
                try? light.place(spec: spec, placement: emptied, atMs: entry.atMs)
            } else {
                _ = try? light.transition(to: entry.state, atMs: entry.atMs, reason: entry.reason, note: entry.note)
            }
        }
        assert(light.trace == trace && light.state == state, "replaying a launch's trace rebuilds it")
        return light
    }
}
