import NIOCore

/// `PeerFrame`s to bytes in a NIO pipeline: `MessageToByteHandler(PeerFrameEncoder())`.
/// A frame that cannot be encoded fails its write with a `WireError` and puts nothing on the wire;
/// NIO's `MessageToByteHandler` then also fires the error down the pipeline and fails every later
/// write, so treat it as the end of the connection (or check first with `PeerFrameCodec.encode`).
public struct PeerFrameEncoder: MessageToByteEncoder, Sendable {
    public typealias OutboundIn = PeerFrame

    /// The largest frame, header included, this end sends; match the peers' decoder limit.
    public let maxFrameBytes: Int

    public init(maxFrameBytes: Int = PeerProtocol.defaultMaxFrameBytes) {
        precondition(
            (PeerProtocol.headerBytes...PeerProtocol.largestPossibleFrameBytes).contains(maxFrameBytes),
            "maxFrameBytes must leave room for the header and fit the 32-bit length field"
        )
        self.maxFrameBytes = maxFrameBytes
    }

    public func encode(data: PeerFrame, out: inout ByteBuffer) throws {
        try PeerFrameCodec.encode(data, into: &out, maxFrameBytes: maxFrameBytes)
    }
}
