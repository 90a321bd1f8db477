import BerthControlPlane

/// One entry of `GET /api/v1alpha1/agents/:node/actions`.
struct AgentAction: Decodable, Sendable {
    /// `launch` (prepare, start and report a placed launch) or `terminate` (stop a launch that
    /// is `terminating`). Kept as text so a type a newer server adds is skipped, not fatal.
    var type: String
    var launchID: String
    var state: LaunchState
    var spec: LaunchSpec?

    enum CodingKeys: String, CodingKey {
        case type
        case launchID = "launch_id"
        case state
        case spec
    }
}

/// The whole answer.
struct AgentActions: Decodable, Sendable {
    var actions: [AgentAction]
}
