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

/// Which life of a server's data this is: a random non-zero id chosen when the server's data
/// directory is created, and recorded for every member in the replicated configuration. A
/// server whose disk was lost forgot its votes and its log, so it comes back under a new
/// incarnation, and nothing it says counts until the cluster has admitted that incarnation.
public typealias Incarnation = UInt64

extension Incarnation {
    /// The incarnation members get when a configuration or `RaftConfig` does not name one
    /// (tests and simulations); a server always names its own.
    public static let initial: Incarnation = 1
}
