/// What happens to a launch when its node is declared lost (`on_node_lost`, spec §6).
public enum NodeLossPolicy: String, Codable, CaseIterable, Equatable, Hashable, Sendable {
    /// The launch ends `lost` with reason NODE_LOST (the default: a workload that must not run
    /// twice, or whose state lives on that node, is not started elsewhere behind anyone's back).
    case fail
    /// The launch ends `lost` and a replacement launch of the same intent is placed on another
    /// node (and drains move it).
    case reschedule
}
