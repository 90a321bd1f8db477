/// Why the fleet view refused a change.
public enum FleetError: Error, Equatable, Hashable, Sendable {
    /// No envelope was ever accepted for this node id (HTTP 404 `NODE_NOT_FOUND`).
    case unknownNode(String)
    /// A launch with this id is already placed with different resources or on another node
    /// (HTTP 409 `LAUNCH_CONFLICT`); placing the same launch twice is not an error.
    case launchConflict(String)

    /// The stable code.
    public var code: String {
        switch self {
        case .unknownNode: return "NODE_NOT_FOUND"
        case .launchConflict: return "LAUNCH_CONFLICT"
        }
    }

    public var message: String {
        switch self {
        case .unknownNode(let id): return "node \(id) is not known"
        case .launchConflict(let id): return "launch \(id) is already placed differently"
        }
    }
}
