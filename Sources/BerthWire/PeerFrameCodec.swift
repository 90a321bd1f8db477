import NIOCore

/// Frames to bytes and back, without a channel. `PeerFrameEncoder` and `PeerFrameDecoder` wrap
/// these two functions for a NIO pipeline; fuzzers and tests call them directly.
public enum PeerFrameCodec {
    /// Appends `frame`, header and payload, at `buffer`'s writer index.
    ///
    /// Throws `.unencodable` for a Raft InstallSnapshot (send `snapshotChunk` frames instead) or a
    /// field too long for its length prefix, and `.oversized` when the frame would exceed
    /// `maxFrameBytes` — the peer would refuse it anyway. On a throw the buffer is unchanged.
    public static func encode(
        _ frame: PeerFrame,
        into buffer: inout ByteBuffer,
        maxFrameBytes: Int = PeerProtocol.defaultMaxFrameBytes
    ) throws(WireError) {
        guard let type = frame.frameType else { throw .unencodable(.installSnapshotNotChunked) }
        let start = buffer.writerIndex
        buffer.writeBytes(PeerProtocol.magic)
        buffer.writeWire(PeerProtocol.version)
        buffer.writeWire(type.rawValue)
        buffer.writeWire(UInt16(0))  // flags: all reserved
        buffer.writeWire(UInt32(0))  // payload length, set below
        buffer.writeWire(UInt32(0))  // payload CRC32C, set below
        let payloadStart = buffer.writerIndex
        do throws(WireError) {
            try frame.writePayload(into: &buffer)
        } catch {
            buffer.moveWriterIndex(to: start)
            throw error
        }
        let payloadBytes = buffer.writerIndex - payloadStart
        let frameBytes = PeerProtocol.headerBytes + payloadBytes
        guard frameBytes <= maxFrameBytes, let wireLength = UInt32(exactly: payloadBytes) else {
            buffer.moveWriterIndex(to: start)
            throw .oversized(frameBytes: UInt64(frameBytes), maxFrameBytes: maxFrameBytes)
        }
        let checksum = CRC32C.checksum(buffer.getSlice(at: payloadStart, length: payloadBytes)!)
        buffer.setInteger(wireLength, at: start + FrameHeader.Offset.length, endianness: .big)
        buffer.setInteger(checksum, at: start + FrameHeader.Offset.checksum, endianness: .big)
    }

    /// Takes one whole frame from the front of `buffer`.
    ///
    /// Returns nil, leaving the reader index where it was, while the frame is incomplete; header
    /// fields are checked as soon as they arrive, so an oversized length is refused before its
    /// payload is buffered. Throws (reader index unmoved) when the bytes cannot be a valid frame.
    /// On success the reader index moves past exactly that frame.
    public static func decode(
        from buffer: inout ByteBuffer,
        maxFrameBytes: Int = PeerProtocol.defaultMaxFrameBytes
    ) throws(WireError) -> PeerFrame? {
        guard let header = try FrameHeader.peek(in: buffer, maxFrameBytes: maxFrameBytes) else {
            return nil
        }
        guard buffer.readableBytes >= header.frameBytes else { return nil }
        let payload = buffer.getSlice(
            at: buffer.readerIndex + PeerProtocol.headerBytes,
            length: Int(header.payloadBytes)
        )!
        let computed = CRC32C.checksum(payload)
        guard computed == header.checksum else {
            throw .checksumMismatch(type: header.type, header: header.checksum, computed: computed)
        }
        var reader = PayloadReader(payload: payload, frameType: header.type)
        let frame = try PeerFrame.readPayload(from: &reader)
        try reader.finish()
        buffer.moveReaderIndex(forwardBy: header.frameBytes)
        return frame
    }

    /// How many bytes the frame at the front of `buffer` will take, once its header has arrived;
    /// nil before. Throws what `decode` would throw for a bad header.
    public static func frameBytes(
        at buffer: ByteBuffer,
        maxFrameBytes: Int = PeerProtocol.defaultMaxFrameBytes
    ) throws(WireError) -> Int? {
        try FrameHeader.peek(in: buffer, maxFrameBytes: maxFrameBytes)?.frameBytes
    }
}
