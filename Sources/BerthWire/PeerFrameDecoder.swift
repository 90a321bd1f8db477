import NIOCore

/// Bytes to `PeerFrame`s in a NIO pipeline: `ByteToMessageHandler(PeerFrameDecoder())`.
///
/// Returns nil until a whole frame has arrived and never moves the reader index on a partial one.
/// A `WireError` is fired down the pipeline for anything that cannot be a valid frame (the
/// connection's owner logs it and closes), and, when the connection ends inside a frame,
/// `WireError.truncatedFrame`.
public struct PeerFrameDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = PeerFrame

    /// The largest frame, header included, that this end accepts, in bytes.
    public let maxFrameBytes: Int

    /// - Parameter maxFrameBytes: frames longer than this (header included) are refused as soon as
    ///   their length field arrives; between 16 and 16 + 2³² − 1.
    public init(maxFrameBytes: Int = PeerProtocol.defaultMaxFrameBytes) {
        precondition(
            (PeerProtocol.headerBytes...PeerProtocol.largestPossibleFrameBytes).contains(maxFrameBytes),
            "maxFrameBytes must leave room for the header and fit the 32-bit length field"
        )
        self.maxFrameBytes = maxFrameBytes
    }

    public mutating func decode(buffer: inout ByteBuffer) throws -> PeerFrame? {
        try PeerFrameCodec.decode(from: &buffer, maxFrameBytes: maxFrameBytes)
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> PeerFrame? {
        if let frame = try PeerFrameCodec.decode(from: &buffer, maxFrameBytes: maxFrameBytes) {
            return frame
        }
        guard buffer.readableBytes == 0 else {
            throw WireError.truncatedFrame(
                bufferedBytes: buffer.readableBytes,
                frameBytes: try PeerFrameCodec.frameBytes(at: buffer, maxFrameBytes: maxFrameBytes)
            )
        }
        return nil
    }
}
