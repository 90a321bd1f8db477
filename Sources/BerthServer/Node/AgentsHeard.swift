import NIOConcurrencyHelpers

/// When this server last heard from each node's agent (an action poll or a report it served),
/// on its wall clock. Only the leader's counts, and only as a hint on top of the replicated
/// `received_at`: polls may go to any server, envelopes always reach the leader.
final class AgentsHeard: Sendable {
    private let heard = NIOLockedValueBox<[String: Int64]>([:])

    func record(_ nodeID: String, atMs: Int64) {
        heard.withLockedValue { $0[nodeID] = max($0[nodeID] ?? .min, atMs) }
    }

    var snapshot: [String: Int64] { heard.withLockedValue { $0 } }
}
