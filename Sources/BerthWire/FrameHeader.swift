import NIOCore

/// The fixed 16-byte header in front of every payload (docs/wire-protocol.md §2).
struct FrameHeader: Equatable, Sendable {
    /// What the payload holds.
    var type: FrameType
    /// Payload length in bytes, not counting the header.
    var payloadBytes: UInt32
    /// CRC32C of the payload.
    var checksum: UInt32

    /// Header plus payload, in bytes.
    var frameBytes: Int { PeerProtocol.headerBytes + Int(payloadBytes) }

    /// Byte offsets of the header fields.
    enum Offset {
        static let magic = 0
        static let version = 4
        static let type = 5
        static let flags = 6
        static let length = 8
        static let checksum = 12
    }

    /// Validates the header at `buffer`'s reader index without consuming anything.
    ///
    /// Fields are checked as soon as their bytes have arrived — magic byte by byte, then version,
    /// type, flags and length — so garbage and oversized frames are refused before more is read.
    /// Returns nil while the 16 header bytes are not all there.
    static func peek(in buffer: ByteBuffer, maxFrameBytes: Int) throws(WireError) -> FrameHeader? {
        let start = buffer.readerIndex
        let available = buffer.readableBytes

        let magicBytes = min(available, PeerProtocol.magic.count)
        for i in 0..<magicBytes
        where buffer.getInteger(at: start + i, as: UInt8.self) != PeerProtocol.magic[i] {
            throw .badMagic(found: buffer.getBytes(at: start, length: magicBytes)!)
        }

        guard available > Offset.version else { return nil }
        let version = buffer.getInteger(at: start + Offset.version, as: UInt8.self)!
        guard version == PeerProtocol.version else { throw .unsupportedVersion(version) }

        guard available > Offset.type else { return nil }
        let typeByte = buffer.getInteger(at: start + Offset.type, as: UInt8.self)!
        guard let type = FrameType(rawValue: typeByte) else { throw .unknownFrameType(typeByte) }

        guard available >= Offset.flags + 2 else { return nil }
        let flags = buffer.getInteger(at: start + Offset.flags, endianness: .big, as: UInt16.self)!
        guard flags == 0 else { throw .reservedFlagsSet(flags) }

        guard available >= Offset.length + 4 else { return nil }
        let payloadBytes = buffer.getInteger(
            at: start + Offset.length, endianness: .big, as: UInt32.self)!
        let frameBytes = UInt64(PeerProtocol.headerBytes) + UInt64(payloadBytes)
        guard frameBytes <= UInt64(maxFrameBytes) else {
            throw .oversized(frameBytes: frameBytes, maxFrameBytes: maxFrameBytes)
        }

        guard available >= PeerProtocol.headerBytes else { return nil }
        let checksum = buffer.getInteger(
            at: start + Offset.checksum, endianness: .big, as: UInt32.self)!
        return FrameHeader(type: type, payloadBytes: payloadBytes, checksum: checksum)
    }
}
