import BerthControlPlane

/// One entry of `GET /api/v1alpha1/agents/:node/actions`.
struct AgentAction: Decodable, Sendable {
    /// `launch` (prepare, start and report a placed launch), `terminate` (stop a launch that
    /// is `terminating`), `abandon` (the launch was lost while this node was silent, perhaps
    /// `replaced_by` another: stop it) or `sweep_orphans` (kill the listed orphans). Kept as text
    /// so a type a newer server adds is skipped, not fatal.
    var type: String
    /// The launch; for a sweep, `sweep-<sweep_id>`.
    var launchID: String
    var state: LaunchState?
    var spec: LaunchSpec?
    var replacedBy: String?
    var sweepID: UInt64?
    var orphans: [OrphanProcess]?

    enum CodingKeys: String, CodingKey {
        case type
        case launchID = "launch_id"
        case state
        case spec
        case replacedBy = "replaced_by"
        case sweepID = "sweep_id"
        case orphans
    }
}

/// The whole answer. Each action is read on its own: one this agent cannot read (a spec from a
/// newer server) is counted and skipped instead of hiding every other action.
struct AgentActions: Decodable, Sendable {
    var actions: [AgentAction]
    var unreadable = 0

    enum CodingKeys: String, CodingKey {
        case actions
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        var list = try container.nestedUnkeyedContainer(forKey: .actions)
        actions = []
        while !list.isAtEnd {
            if let action = try? list.decode(AgentAction.self) {
                actions.append(action)
            } else {
                // A failed decode does not move past the element; reading it as any JSON does.
                _ = try list.decode(JSONValue.self)
                unreadable += 1
            }
        }
    }
}
