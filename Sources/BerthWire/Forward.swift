/// A client write that a follower forwards to the leader (spec §2). The payload is opaque here:
/// the leader's HTTP layer reads it exactly as the follower received it.
public struct ForwardRequest: Equatable, Hashable, Sendable {
    /// Chosen by the forwarding follower, unique among its outstanding forwards on this connection;
    /// echoed in the `ForwardResponse`.
    public var requestID: UInt64
    /// The client's request, as the follower received it.
    public var payload: [UInt8]

    public init(requestID: UInt64, payload: [UInt8]) {
        self.requestID = requestID
        self.payload = payload
    }
}

/// The leader's answer to a forwarded write, which the follower hands back to its client unchanged.
public struct ForwardResponse: Equatable, Hashable, Sendable {
    /// The `requestID` of the `ForwardRequest` this answers.
    public var requestID: UInt64
    /// The leader's HTTP status code (200, 429, 503, 504, …).
    public var status: UInt16
    /// The leader's response body.
    public var payload: [UInt8]

    public init(requestID: UInt64, status: UInt16, payload: [UInt8]) {
        self.requestID = requestID
        self.status = status
        self.payload = payload
    }
}
