/// The cluster membership: who votes and who only receives the log (thesis §4.2.1).
public struct Configuration: Equatable, Hashable, Sendable {
    /// Servers whose votes and acknowledgements count toward a majority.
    public private(set) var voters: Set<NodeID>
    /// Servers that receive the log but neither vote nor count toward commitment.
    public private(set) var learners: Set<NodeID>
    /// The incarnation each member was admitted with. Messages from any other incarnation of a
    /// member are not that member's: its votes and acknowledgements count only under this one.
    public private(set) var incarnations: [NodeID: Incarnation]

    /// Members missing from `incarnations` get `Incarnation.initial`.
    public init(voters: Set<NodeID>, learners: Set<NodeID> = [], incarnations: [NodeID: Incarnation] = [:]) {
        precondition(voters.isDisjoint(with: learners), "a server is either a voter or a learner")
        precondition(!incarnations.values.contains(0), "incarnations are non-zero")
        self.voters = voters
        self.learners = learners
        var recorded: [NodeID: Incarnation] = [:]
        for member in voters.union(learners) { recorded[member] = incarnations[member] ?? .initial }
        self.incarnations = recorded
    }

    /// Every member, voters and learners.
    public var members: Set<NodeID> { voters.union(learners) }

    /// How many voters make a majority.
    public var quorum: Int { voters.count / 2 + 1 }

    /// Whether `id` is a voter or a learner.
    public func contains(_ id: NodeID) -> Bool { voters.contains(id) || learners.contains(id) }

    /// The incarnation member `id` was admitted with, or nil when it is not a member.
    public func incarnation(of id: NodeID) -> Incarnation? { incarnations[id] }

    /// The configuration that results from applying `change`, or why it cannot be applied.
    /// Returns a new value; the receiver is unchanged.
    public func applying(_ change: ConfigChange) -> Result<Configuration, ConfigChangeError> {
        switch change {
        case .addLearner(let id, let incarnation):
            guard id != .none else { return .failure(.invalidNode(id)) }
            guard incarnation != 0 else { return .failure(.invalidIncarnation(id)) }
            guard !contains(id) else { return .failure(.alreadyMember(id)) }
            var next = self
            next.learners.insert(id)
            next.incarnations[id] = incarnation
            return .success(next)
        case .rejoin(let id, let incarnation):
            guard incarnation != 0 else { return .failure(.invalidIncarnation(id)) }
            guard let current = incarnations[id] else { return .failure(.notAMember(id)) }
            guard current != incarnation else { return .failure(.incarnationUnchanged(id)) }
            if voters.contains(id) && voters.count == 1 {
                return .failure(.lastVoter(id))
            }
            var next = self
            next.voters.remove(id)
            next.learners.insert(id)
            next.incarnations[id] = incarnation
            return .success(next)
        case .promote(let id):
            guard learners.contains(id) else { return .failure(.notALearner(id)) }
            var next = self
            next.learners.remove(id)
            next.voters.insert(id)
            return .success(next)
        case .remove(let id):
            guard contains(id) else { return .failure(.notAMember(id)) }
            if voters.contains(id) && voters.count == 1 {
                return .failure(.lastVoter(id))
            }
            var next = self
            next.learners.remove(id)
            next.voters.remove(id)
            next.incarnations[id] = nil
            return .success(next)
        }
    }
}

/// A single-server membership change (thesis §4.1: one server at a time keeps majorities overlapping).
public enum ConfigChange: Equatable, Hashable, Sendable {
    /// Start replicating to `id`, under `incarnation`, without giving it a vote.
    case addLearner(NodeID, incarnation: Incarnation)
    /// Member `id` came back with a new disk under `incarnation`: it forgot its votes and its
    /// log, so it becomes a learner under the new incarnation (a voter is demoted, which is a
    /// single-server change) and is promoted again once it has caught up.
    case rejoin(NodeID, incarnation: Incarnation)
    /// Turn learner `id` into a voter.
    case promote(NodeID)
    /// Take `id` out of the cluster, voter or learner.
    case remove(NodeID)

    /// The server the change is about.
    public var node: NodeID {
        switch self {
        case .addLearner(let id, _), .rejoin(let id, _), .promote(let id), .remove(let id): return id
        }
    }
}

/// Why a membership change cannot be applied to a configuration.
public enum ConfigChangeError: Error, Equatable, Hashable, Sendable {
    /// Node ids start at 1.
    case invalidNode(NodeID)
    /// The server is already a voter or learner.
    case alreadyMember(NodeID)
    /// Only a learner can be promoted.
    case notALearner(NodeID)
    /// The server is not in the configuration.
    case notAMember(NodeID)
    /// Removing the only voter would leave nobody to commit.
    case lastVoter(NodeID)
    /// Incarnations are non-zero.
    case invalidIncarnation(NodeID)
    /// A rejoin must name a new incarnation; this one is already the member's.
    case incarnationUnchanged(NodeID)
    /// The leader cannot be re-admitted under another incarnation: it is running under its own,
    /// so another process claims its id.
    case rejoinOfLeader(NodeID)
}
