/// A server's identity in the cluster: an integer ≥ 1. Zero means "nobody".
public typealias NodeID = UInt64

/// A Raft term number (§5.1). Zero is the term before any election.
public typealias Term = UInt64

/// A position in the replicated log (§5.3). Index 0 is the empty prefix; the first entry is 1.
public typealias LogIndex = UInt64

extension NodeID {
    /// The absent node: no vote cast, no leader known.
    public static let none: NodeID = 0
}
