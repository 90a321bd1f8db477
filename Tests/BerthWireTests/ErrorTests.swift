import NIOCore
import NIOEmbedded
import Testing

@testable import BerthWire

/// Every way a frame can be wrong produces its own `WireError`, from the plain function (reader
/// index unmoved) and from the channel (the error surfaces from `writeInbound`).
@Suite struct ErrorTests {
    private let heartbeat = PeerFrame.raft(
        WireMessage(from: 1, to: 2, term: 3, body: .heartbeat(WireHeartbeat(commit: 7))))

    /// Checks that `bytes` fail with `error` both ways, then that the channel stays failed.
    private func expectFailure(
        _ bytes: [UInt8], _ error: WireError, maxFrameBytes: Int = PeerProtocol.defaultMaxFrameBytes
    )
        throws
    {
        var buffer = ByteBuffer(bytes: bytes)
        #expect(throws: error) {
            try PeerFrameCodec.decode(from: &buffer, maxFrameBytes: maxFrameBytes)
        }
        #expect(buffer.readerIndex == 0)

        let channel = Fixtures.channel(maxFrameBytes: maxFrameBytes)
        #expect(throws: error) { try Fixtures.feed(channel, bytes) }
        #expect(try channel.readInbound(as: PeerFrame.self) == nil)
        // The decoder is done with this connection: later bytes are refused, not decoded.
        #expect(throws: ByteToMessageDecoderError.self) {
            try Fixtures.feed(channel, Fixtures.frameBytes(heartbeat))
        }
        #expect(try channel.readInbound(as: PeerFrame.self) == nil)
        // Closing runs no further decoding, so nothing new is raised.
        #expect(try channel.finish().isClean)
    }

    /// `heartbeat`'s bytes with `edit` applied.
    private func heartbeatBytes(_ edit: (inout [UInt8]) -> Void) -> [UInt8] {
        var bytes = Fixtures.frameBytes(heartbeat)
        edit(&bytes)
        return bytes
    }

    @Test("a frame that does not start with BRTH: bad magic")
    func badMagic() throws {
        try expectFailure(heartbeatBytes { $0[0] = 0x58 }, .badMagic(found: [0x58, 0x52, 0x54, 0x48]))
        try expectFailure(heartbeatBytes { $0[3] = 0x00 }, .badMagic(found: [0x42, 0x52, 0x54, 0x00]))
    }

    @Test("bad magic is refused from its first wrong byte, without waiting for a whole header")
    func badMagicEarly() throws {
        try expectFailure(Array("G".utf8), .badMagic(found: [0x47]))
        try expectFailure(Array("GET / HTTP/1.1\r\n".utf8), .badMagic(found: Array("GET ".utf8)))
        try expectFailure([0x42, 0x52, 0x00], .badMagic(found: [0x42, 0x52, 0x00]))
    }

    @Test("a version other than 2: unsupported version")
    func badVersion() throws {
        #expect(Fixtures.frameBytes(heartbeat)[4] == 2)
        try expectFailure(heartbeatBytes { $0[4] = 1 }, .unsupportedVersion(1))
        try expectFailure(heartbeatBytes { $0[4] = 3 }, .unsupportedVersion(3))
        try expectFailure(heartbeatBytes { $0[4] = 0 }, .unsupportedVersion(0))
        try expectFailure(Array(Fixtures.frameBytes(heartbeat).prefix(4)) + [9], .unsupportedVersion(9))
    }

    @Test("an undefined type byte: unknown frame type")
    func unknownType() throws {
        for byte: UInt8 in [0x00, 0x03, 0x17, 0x7F, 0xFF] {
            try expectFailure(heartbeatBytes { $0[5] = byte }, .unknownFrameType(byte))
        }
    }

    @Test("any reserved flag set: refused")
    func reservedFlags() throws {
        try expectFailure(heartbeatBytes { $0[7] = 1 }, .reservedFlagsSet(1))
        try expectFailure(heartbeatBytes { $0[6] = 0x80 }, .reservedFlagsSet(0x8000))
    }

    @Test(
        "a length over the limit is refused as soon as the length field arrives, before any payload")
    func oversizedBeforePayload() throws {
        var header = Array(Fixtures.frameBytes(heartbeat).prefix(12))
        header[8...11] = [0xFF, 0xFF, 0xFF, 0xFF]
        try expectFailure(header, .oversized(frameBytes: 16 + 0xFFFF_FFFF, maxFrameBytes: 16 << 20))
        // Exactly one byte over the default 16 MiB.
        let overByOne = UInt32((16 << 20) - 16 + 1)
        header[8...11] = [
            UInt8(overByOne >> 24), UInt8(overByOne >> 16 & 0xFF), UInt8(overByOne >> 8 & 0xFF),
            UInt8(overByOne & 0xFF),
        ]
        try expectFailure(header, .oversized(frameBytes: (16 << 20) + 1, maxFrameBytes: 16 << 20))
    }

    @Test("the frame limit is configurable and counts the header")
    func configurableLimit() throws {
        let bytes = Fixtures.frameBytes(heartbeat)  // 16 + 40 = 56 bytes
        #expect(bytes.count == 56)
        try expectFailure(bytes, .oversized(frameBytes: 56, maxFrameBytes: 55), maxFrameBytes: 55)
        var buffer = ByteBuffer(bytes: bytes)
        #expect(try PeerFrameCodec.decode(from: &buffer, maxFrameBytes: 56) == heartbeat)
    }

    @Test("a damaged payload byte: checksum mismatch")
    func corruptedPayload() throws {
        let good = Fixtures.frameBytes(heartbeat)
        let header =
            UInt32(good[12]) << 24 | UInt32(good[13]) << 16 | UInt32(good[14]) << 8 | UInt32(good[15])
        var bad = good
        bad[40] ^= 0x01
        let computed = CRC32C.checksum(bad[16...])
        try expectFailure(bad, .checksumMismatch(type: .heartbeat, header: header, computed: computed))
    }

    @Test("a damaged checksum field: checksum mismatch")
    func corruptedChecksum() throws {
        let good = Fixtures.frameBytes(heartbeat)
        let computed = CRC32C.checksum(good[16...])
        try expectFailure(
            heartbeatBytes { $0[15] ^= 0xFF },
            .checksumMismatch(type: .heartbeat, header: computed ^ 0xFF, computed: computed)
        )
    }

    @Test("the connection ends inside a frame: finish() reports a truncated frame")
    func truncatedAtEOF() throws {
        let bytes = Fixtures.frameBytes(heartbeat)
        for (cut, frameBytes) in [(30, Optional(56)), (16, 56), (5, nil), (1, nil)] {
            let channel = Fixtures.channel()
            try Fixtures.feed(channel, bytes.prefix(cut))
            #expect(try channel.readInbound(as: PeerFrame.self) == nil)
            #expect(throws: WireError.truncatedFrame(bufferedBytes: cut, frameBytes: frameBytes)) {
                _ = try channel.finish()
            }
        }
    }

    @Test("whole frames before the connection ends are delivered; only the partial one is reported")
    func framesBeforeTruncation() throws {
        let channel = Fixtures.channel()
        try Fixtures.feed(
            channel, Fixtures.frameBytes(heartbeat) + Fixtures.frameBytes(heartbeat).prefix(20))
        #expect(try channel.readInbound(as: PeerFrame.self) == heartbeat)
        #expect(throws: WireError.truncatedFrame(bufferedBytes: 20, frameBytes: 56)) {
            _ = try channel.finish()
        }
    }

    @Test("a connection that ends between frames finishes cleanly")
    func cleanEOF() throws {
        let channel = Fixtures.channel()
        try Fixtures.feed(channel, Fixtures.frameBytes(heartbeat))
        #expect(try channel.readInbound(as: PeerFrame.self) == heartbeat)
        #expect(try channel.finish().isClean)
    }

    // MARK: - Malformed payloads (checksum right, content wrong)

    /// A frame of `type` around `payload`, with a correct length and checksum.
    private func sealed(_ type: FrameType, _ payload: [UInt8]) -> [UInt8] {
        Fixtures.resealed(
            header: PeerProtocol.magic + [PeerProtocol.version, type.rawValue, 0, 0], payload: payload)
    }

    private func u64(_ value: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * $0)) }
    }
    private func u32(_ value: UInt32) -> [UInt8] {
        (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * $0)) }
    }
    private func u16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }
    private var fromToTerm: [UInt8] { u64(1) + u64(2) + u64(3) }

    @Test("a payload cut short inside a field: truncated, naming the field")
    func payloadCutShort() throws {
        let hello = Array(
            Fixtures.frameBytes(
                .hello(Hello(clusterID: "berth", nodeID: 1, httpAddress: "127.0.0.1:8101")))[16...])
        // version 1 + node 8 + incarnation 8 + hasLog 1 + (2 + 5) + (2 + 14) = 41 bytes; the
        // address starts at 27.
        #expect(hello.count == 41)
        try expectFailure(
            sealed(.hello, Array(hello.dropLast())),
            .malformedPayload(
                type: .hello, offset: 27,
                problem: .truncated(field: "httpAddress", neededBytes: 14, remainingBytes: 13))
        )
        // Cut inside the incarnation, and right before hasLog.
        try expectFailure(
            sealed(.hello, Array(hello.prefix(13))),
            .malformedPayload(
                type: .hello, offset: 9,
                problem: .truncated(field: "incarnation", neededBytes: 8, remainingBytes: 4))
        )
        try expectFailure(
            sealed(.hello, Array(hello.prefix(17))),
            .malformedPayload(
                type: .hello, offset: 17,
                problem: .truncated(field: "hasLog", neededBytes: 1, remainingBytes: 0))
        )
        try expectFailure(
            sealed(.heartbeat, fromToTerm + [0, 0]),
            .malformedPayload(
                type: .heartbeat, offset: 24,
                problem: .truncated(field: "commit", neededBytes: 8, remainingBytes: 2))
        )
        try expectFailure(
            sealed(.timeoutNow, []),
            .malformedPayload(
                type: .timeoutNow, offset: 0,
                problem: .truncated(field: "from", neededBytes: 8, remainingBytes: 0))
        )
    }

    @Test("bytes after the last field: trailing bytes")
    func trailingBytes() throws {
        try expectFailure(
            sealed(.timeoutNow, fromToTerm + [0]),
            .malformedPayload(type: .timeoutNow, offset: 24, problem: .trailingBytes(count: 1))
        )
    }

    @Test("a count or length that points past the end is refused before anything is allocated")
    func hugeCounts() throws {
        let appendHeader = fromToTerm + u64(0) + u64(0) + u64(0)
        try expectFailure(
            sealed(.appendEntries, appendHeader + u32(.max)),
            .malformedPayload(
                type: .appendEntries,
                offset: 52,
                problem: .truncated(
                    field: "entries", neededBytes: UInt64(UInt32.max) * 17, remainingBytes: 0)
            )
        )
        try expectFailure(
            sealed(.forward, u64(1) + u32(.max) + [1, 2, 3]),
            .malformedPayload(
                type: .forward, offset: 12,
                problem: .truncated(field: "payload", neededBytes: 0xFFFF_FFFF, remainingBytes: 3))
        )
        let chunkHeader = fromToTerm + u64(1) + u64(1) + u64(0) + u64(0) + [1]
        try expectFailure(
            sealed(.snapshotChunk, chunkHeader + u32(0x1000_0000)),
            .malformedPayload(
                type: .snapshotChunk,
                offset: 61,
                problem: .truncated(field: "voters", neededBytes: 0x1000_0000 * 8, remainingBytes: 0)
            )
        )
    }

    @Test("a boolean byte other than 0 or 1: invalid bool")
    func invalidBool() throws {
        try expectFailure(
            sealed(.appendEntriesResponse, fromToTerm + [2] + u64(0) + u64(0) + u64(0)),
            .malformedPayload(
                type: .appendEntriesResponse, offset: 24, problem: .invalidBool(field: "success", value: 2))
        )
        try expectFailure(
            sealed(.requestVote, fromToTerm + u64(0) + u64(0) + [0, 0xFF]),
            .malformedPayload(
                type: .requestVote, offset: 41,
                problem: .invalidBool(field: "leadershipTransfer", value: 0xFF))
        )
        try expectFailure(
            sealed(.hello, [2] + u64(1) + u64(1) + [2] + u16(0) + u16(0)),
            .malformedPayload(type: .hello, offset: 17, problem: .invalidBool(field: "hasLog", value: 2))
        )
    }

    @Test("an entry payload tag or change kind with no meaning: invalid tag")
    func invalidTags() throws {
        let appendHeader = fromToTerm + u64(0) + u64(0) + u64(0) + u32(1)
        try expectFailure(
            sealed(.appendEntries, appendHeader + u64(1) + u64(1) + [3]),
            .malformedPayload(
                type: .appendEntries, offset: 68, problem: .invalidTag(field: "entry.payloadTag", value: 3))
        )
        // 3 is rejoin now; 4 is the first change kind with no meaning.
        for kind: UInt8 in [4, 0xFF] {
            try expectFailure(
                sealed(.appendEntries, appendHeader + u64(1) + u64(1) + [2, kind] + u64(4) + u64(7)),
                .malformedPayload(
                    type: .appendEntries, offset: 69, problem: .invalidTag(field: "entry.changeKind", value: kind))
            )
        }
    }

    @Test("an addLearner or rejoin under incarnation 0, or without one, is malformed")
    func changeIncarnation() throws {
        let appendHeader = fromToTerm + u64(0) + u64(0) + u64(0) + u32(1)
        // The entry starts at 52: term, index, tag 2 at 68, kind at 69, node at 70, incarnation at 78.
        for kind: UInt8 in [0, 3] {
            try expectFailure(
                sealed(.appendEntries, appendHeader + u64(1) + u64(1) + [2, kind] + u64(4) + u64(0)),
                .malformedPayload(
                    type: .appendEntries, offset: 78,
                    problem: .zeroIncarnation(field: "entry.changeIncarnation"))
            )
            // The version-1 layout, which ended at the node.
            try expectFailure(
                sealed(.appendEntries, appendHeader + u64(1) + u64(1) + [2, kind] + u64(4)),
                .malformedPayload(
                    type: .appendEntries, offset: 78,
                    problem: .truncated(field: "entry.changeIncarnation", neededBytes: 8, remainingBytes: 0))
            )
        }
        // promote and remove carry no incarnation: eight more bytes are trailing.
        for kind: UInt8 in [1, 2] {
            try expectFailure(
                sealed(.appendEntries, appendHeader + u64(1) + u64(1) + [2, kind] + u64(4) + u64(7)),
                .malformedPayload(type: .appendEntries, offset: 78, problem: .trailingBytes(count: 8))
            )
        }
    }

    @Test("a string that is not UTF-8: invalid UTF-8")
    func invalidUTF8() throws {
        try expectFailure(
            sealed(.hello, [2] + u64(1) + u64(1) + [1] + u16(2) + [0xC3, 0x28] + u16(0)),
            .malformedPayload(type: .hello, offset: 20, problem: .invalidUTF8(field: "clusterID"))
        )
    }

    @Test("node sets must be strictly ascending, and voters and learners disjoint")
    func configurationRules() throws {
        let chunkHeader = fromToTerm + u64(1) + u64(1) + u64(0) + u64(0) + [1]
        try expectFailure(
            sealed(.snapshotChunk, chunkHeader + u32(2) + u64(2) + u64(1) + u32(0) + u32(0)),
            .malformedPayload(
                type: .snapshotChunk, offset: 69, problem: .setNotAscending(field: "voters"))
        )
        try expectFailure(
            sealed(.snapshotChunk, chunkHeader + u32(2) + u64(1) + u64(1) + u32(0) + u32(0)),
            .malformedPayload(
                type: .snapshotChunk, offset: 69, problem: .setNotAscending(field: "voters"))
        )
        // The core cannot hold a server as both voter and learner; the decoder refuses it first,
        // naming the configuration's offset.
        try expectFailure(
            sealed(.snapshotChunk, chunkHeader + u32(1) + u64(5) + u32(1) + u64(5) + u64(1) + u64(1) + u32(0)),
            .malformedPayload(type: .snapshotChunk, offset: 57, problem: .voterIsLearner(5))
        )
    }

    @Test("a configuration holds one non-zero incarnation per member, voters then learners")
    func configurationIncarnations() throws {
        let chunkHeader = fromToTerm + u64(1) + u64(1) + u64(0) + u64(0) + [1]
        // voters {1, 2} at 57 (4 + 16), learners {3} at 77 (4 + 8), incarnations at 89, 97, 105.
        let sets = u32(2) + u64(1) + u64(2) + u32(1) + u64(3)
        var buffer = ByteBuffer(
            bytes: sealed(.snapshotChunk, chunkHeader + sets + u64(7) + u64(8) + u64(9) + u32(0)))
        guard case .snapshotChunk(let chunk)? = try PeerFrameCodec.decode(from: &buffer) else {
            Issue.record("a valid chunk must decode")
            return
        }
        #expect(chunk.metadata.configuration.incarnations == [1: 7, 2: 8, 3: 9])
        for zeroAt in 0..<3 {
            let incarnations = (0..<3).map { $0 == zeroAt ? u64(0) : u64(7) }.flatMap { $0 }
            try expectFailure(
                sealed(.snapshotChunk, chunkHeader + sets + incarnations + u32(0)),
                .malformedPayload(
                    type: .snapshotChunk, offset: 89 + 8 * zeroAt, problem: .zeroIncarnation(field: "incarnations"))
            )
        }
        // The version-1 layout, with no incarnations: the data length is read as one.
        try expectFailure(
            sealed(.snapshotChunk, chunkHeader + sets + u32(0)),
            .malformedPayload(
                type: .snapshotChunk, offset: 89,
                problem: .truncated(field: "incarnations", neededBytes: 8, remainingBytes: 4))
        )
        // An empty configuration has no incarnations at all.
        var empty = ByteBuffer(bytes: sealed(.snapshotChunk, chunkHeader + u32(0) + u32(0) + u32(0)))
        guard case .snapshotChunk(let emptyChunk)? = try PeerFrameCodec.decode(from: &empty) else {
            Issue.record("a chunk with no members must decode")
            return
        }
        #expect(emptyChunk.metadata.configuration.incarnations.isEmpty)
    }

    @Test("error codes and names are stable; the description carries both and the evidence")
    func stableCodes() {
        let expected: [(WireError.Code, UInt16, String)] = [
            (.badMagic, 1, "wire.bad_magic"),
            (.unsupportedVersion, 2, "wire.unsupported_version"),
            (.unknownFrameType, 3, "wire.unknown_frame_type"),
            (.reservedFlagsSet, 4, "wire.reserved_flags_set"),
            (.oversized, 5, "wire.oversized"),
            (.checksumMismatch, 6, "wire.checksum_mismatch"),
            (.truncatedFrame, 7, "wire.truncated_frame"),
            (.malformedPayload, 8, "wire.malformed_payload"),
            (.unencodable, 9, "wire.unencodable"),
        ]
        #expect(expected.count == WireError.Code.allCases.count)
        for (code, raw, name) in expected {
            #expect(code.rawValue == raw)
            #expect(code.name == name)
        }
        let error = WireError.unknownFrameType(0x7F)
        #expect(
            error.description
                == "wire.unknown_frame_type (3): frame type 0x7f is not defined in protocol version 2")
        let malformed = WireError.malformedPayload(
            type: .hello, offset: 18, problem: .trailingBytes(count: 2))
        #expect(
            malformed.description
                == "wire.malformed_payload (8): hello payload is malformed at byte 18: 2 bytes follow the last field"
        )
        let zero = WireError.malformedPayload(
            type: .snapshotChunk, offset: 89, problem: .zeroIncarnation(field: "incarnations"))
        #expect(
            zero.description
                == "wire.malformed_payload (8): snapshotChunk payload is malformed at byte 89: incarnations is 0, which is not an incarnation"
        )
        #expect(WireError.unsupportedVersion(1).reason == "frame is protocol version 1; this node speaks version 2")
    }
}
