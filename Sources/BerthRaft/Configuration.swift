/// The cluster membership: who votes and who only receives the log (thesis §4.2.1).
public struct Configuration: Equatable, Hashable, Sendable {
    /// Servers whose votes and acknowledgements count toward a majority.
    public private(set) var voters: Set<NodeID>
    /// Servers that receive the log but neither vote nor count toward commitment.
    public private(set) var learners: Set<NodeID>

    public init(voters: Set<NodeID>, learners: Set<NodeID> = []) {
        precondition(voters.isDisjoint(with: learners), "a server is either a voter or a learner")
        self.voters = voters
        self.learners = learners
    }

    /// Every member, voters and learners.
    public var members: Set<NodeID> { voters.union(learners) }

    /// How many voters make a majority.
    public var quorum: Int { voters.count / 2 + 1 }

    /// Whether `id` is a voter or a learner.
    public func contains(_ id: NodeID) -> Bool { voters.contains(id) || learners.contains(id) }

    /// The configuration that results from applying `change`, or why it cannot be applied.
    /// Returns a new value; the receiver is unchanged.
    public func applying(_ change: ConfigChange) -> Result<Configuration, ConfigChangeError> {
        switch change {
        case .addLearner(let id):
            guard id != .none else { return .failure(.invalidNode(id)) }
            guard !contains(id) else { return .failure(.alreadyMember(id)) }
            var next = self
            next.learners.insert(id)
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
            return .success(next)
        }
    }
}

/// A single-server membership change (thesis §4.1: one server at a time keeps majorities overlapping).
public enum ConfigChange: Equatable, Hashable, Sendable {
    /// Start replicating to `id` without giving it a vote.
    case addLearner(NodeID)
    /// Turn learner `id` into a voter.
    case promote(NodeID)
    /// Take `id` out of the cluster, voter or learner.
    case remove(NodeID)

    /// The server the change is about.
    public var node: NodeID {
        switch self {
        case .addLearner(let id), .promote(let id), .remove(let id): return id
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
}
