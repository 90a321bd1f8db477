/// Why a launch refused to change state. Nothing changed.
public enum LaunchTransitionError: Error, Equatable, Hashable, Sendable {
    /// `to` is not a successor of `from` in `LaunchState`'s table (HTTP 409).
    case illegal(from: LaunchState, to: LaunchState)
    /// A move to `failed` must say why (HTTP 400).
    case failureReasonRequired
    /// A failure reason was given for a move to `state`, which is not `failed` (HTTP 400).
    case failureReasonNotAllowed(LaunchState)
    /// `validated` is reached only by placing the launch, which records its node and spec (HTTP 409).
    case placementRequired

    /// The stable code.
    public var code: String {
        switch self {
        case .illegal: return "ILLEGAL_TRANSITION"
        case .failureReasonRequired: return "FAILURE_REASON_REQUIRED"
        case .failureReasonNotAllowed: return "FAILURE_REASON_NOT_ALLOWED"
        case .placementRequired: return "PLACEMENT_REQUIRED"
        }
    }

    /// The HTTP status to answer with: a move the table forbids conflicts with the launch's
    /// state (409); a missing or misplaced failure reason is a bad request (400).
    public var httpStatus: Int {
        switch self {
        case .illegal, .placementRequired: return 409
        case .failureReasonRequired, .failureReasonNotAllowed: return 400
        }
    }

    public var message: String {
        switch self {
        case .illegal(let from, let to): return "a launch cannot move from \(from.rawValue) to \(to.rawValue)"
        case .failureReasonRequired: return "a move to failed needs a failure reason"
        case .failureReasonNotAllowed(let state): return "a failure reason is only for failed, not \(state.rawValue)"
        case .placementRequired: return "a launch becomes validated only by being placed on a node"
        }
    }
}
