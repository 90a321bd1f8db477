/// An envelope was refused because its `sequence` is not newer than the one already stored for
/// its node: a late or replayed report must never roll a node's truth back (HTTP 409).
public struct StaleSequence: Error, Codable, Equatable, Hashable, Sendable {
    /// The node the envelope is for.
    public var nodeID: String
    /// The sequence already stored.
    public var storedSequence: UInt64
    /// The sequence the refused envelope carried.
    public var offeredSequence: UInt64

    public init(nodeID: String, storedSequence: UInt64, offeredSequence: UInt64) {
        self.nodeID = nodeID
        self.storedSequence = storedSequence
        self.offeredSequence = offeredSequence
    }

    /// The stable code of the refusal.
    public static let code = "STALE_SEQUENCE"

    /// The smallest sequence that would have been accepted.
    public var needed: Evidence { .int(Int64(clamping: storedSequence &+ 1)) }
    /// The sequence that was offered.
    public var available: Evidence { .int(Int64(clamping: offeredSequence)) }

    public var message: String {
        "envelope sequence \(offeredSequence) for node \(nodeID) is not newer than the stored \(storedSequence)"
    }
}
