/// Why the launch rules refused a command. Nothing changes; the stored and answered form (code,
/// message, HTTP status) is `BerthStorage`'s `CommandRejection`, which has one case for each.
public enum LaunchRefusal: Error, Equatable, Hashable, Sendable {
    /// No launch has this id.
    case notFound(id: String)
    /// The launch id is taken by a launch of another intent.
    case exists(id: String)
    /// Node truth changed at log index `changedAt`, after the plan's `state_index` (`expected`).
    case planStale(expected: UInt64, changedAt: UInt64)
    /// The node chosen for the launch no longer fits, for `reasons` (rejection codes); an empty
    /// `nodeID` means a node fits now although the leader found none: it decides again.
    case placementStale(nodeID: String, reasons: [String])
    /// No node can run the launch now, and it was not asked to wait for capacity.
    case noEligibleNode(launchID: String)
    /// The launch's state machine refused the move.
    case transitionRefused(id: String, LaunchTransitionError)
    /// An agent of `reporter` reported on a launch placed on `nodeID` ("(none)" when unplaced).
    case notOnNode(id: String, nodeID: String, reporter: String)
    /// The scheduler is paused and the launch was not asked to wait for capacity.
    case schedulerPaused(launchID: String)
}
