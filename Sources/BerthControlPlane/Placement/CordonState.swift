/// Whether an operator has taken a node out of placement.
enum CordonState: Sendable {
    case schedulable
    case cordoned
    case draining

    init(_ truth: NodeTruth) {
        self = truth.draining ? .draining : (truth.cordoned ? .cordoned : .schedulable)
    }
}
