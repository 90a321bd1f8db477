import NIOCore
import NIOEmbedded
import Testing

@testable import BerthWire

/// Every frame type survives encode → decode unchanged, with and without a channel.
@Suite struct RoundTripTests {
    @Test("the fixtures cover every frame type")
    func fixturesCoverEveryType() {
        let covered = Set(Fixtures.frames.compactMap(\.frameType))
        #expect(covered == Set(FrameType.allCases))
    }

    @Test("every frame round-trips through the plain functions, consuming exactly its own bytes")
    func plainRoundTrip() throws {
        for frame in Fixtures.frames {
            var buffer = ByteBuffer()
            try PeerFrameCodec.encode(frame, into: &buffer)
            let length = buffer.readableBytes
            #expect(buffer.getInteger(at: 8, endianness: .big, as: UInt32.self) == UInt32(length - 16))
            buffer.writeBytes([0xAA])  // the next frame's first byte must be left alone
            let decoded = try PeerFrameCodec.decode(from: &buffer)
            #expect(decoded == frame)
            #expect(buffer.readableBytes == 1)
        }
    }

    @Test("every frame round-trips through EmbeddedChannel: encoder out, decoder in")
    func channelRoundTrip() throws {
        let sender = Fixtures.channel()
        let receiver = Fixtures.channel()
        for frame in Fixtures.frames {
            try sender.writeOutbound(frame)
            let bytes = try #require(try sender.readOutbound(as: ByteBuffer.self))
            #expect(Array(bytes.readableBytesView) == Fixtures.frameBytes(frame))
            try receiver.writeInbound(bytes)
            #expect(try receiver.readInbound(as: PeerFrame.self) == frame)
        }
        #expect(try sender.finish().isClean)
        #expect(try receiver.finish().isClean)
    }

    @Test("decode then encode gives back the same bytes: the encoding is canonical")
    func canonical() throws {
        for frame in Fixtures.frames {
            let bytes = Fixtures.frameBytes(frame)
            var buffer = ByteBuffer(bytes: bytes)
            let decoded = try #require(try PeerFrameCodec.decode(from: &buffer))
            #expect(Fixtures.frameBytes(decoded) == bytes)
        }
    }

    @Test("node sets are written in ascending order whatever the Set's order")
    func setsAreSorted() throws {
        let voters: Set<UInt64> = Set((1...40).map { UInt64($0 * 7919 % 1000) })
        let chunk = SnapshotChunk(
            from: 1,
            to: 2,
            term: 1,
            metadata: WireSnapshotMetadata(index: 5, term: 1, configuration: WireConfiguration(voters: voters)),
            totalBytes: 0,
            offset: 0,
            data: [],
            isLast: true
        )
        var buffer = ByteBuffer(bytes: Fixtures.frameBytes(.snapshotChunk(chunk)))
        #expect(try PeerFrameCodec.decode(from: &buffer) == .snapshotChunk(chunk))
    }

    @Test("a configuration's incarnations round-trip, one u64 per member: voters then learners, each ascending")
    func configurationIncarnations() throws {
        let configuration = WireConfiguration(
            voters: [30, 10, 20], learners: [25, 5],
            incarnations: [10: 0x1010, 20: .max, 30: 0x3030, 5: 0x0505, 25: 0x2525])
        let chunk = SnapshotChunk(
            from: 1,
            to: 2,
            term: 1,
            metadata: WireSnapshotMetadata(index: 5, term: 1, configuration: configuration),
            totalBytes: 0,
            offset: 0,
            data: [],
            isLast: true
        )
        let bytes = Fixtures.frameBytes(.snapshotChunk(chunk))
        var buffer = ByteBuffer(bytes: bytes)
        guard case .snapshotChunk(let decoded)? = try PeerFrameCodec.decode(from: &buffer) else {
            Issue.record("a chunk must decode as a chunk")
            return
        }
        #expect(decoded == chunk)
        #expect(decoded.metadata.configuration.incarnations == configuration.incarnations)
        // Header 16 + 57 fixed bytes, voters 4 + 24, learners 4 + 16, then the incarnations.
        let incarnations = Fixtures.hex(Array(bytes[(16 + 57 + 28 + 20)..<(16 + 57 + 28 + 20 + 40)]))
        #expect(
            incarnations
                == "0000000000001010" + "ffffffffffffffff" + "0000000000003030"  // voters 10, 20, 30
                + "0000000000000505" + "0000000000002525"  // learners 5, 25
        )
    }

    @Test("WireConfiguration records an incarnation for every member and no one else")
    func configurationDefaults() {
        let configuration = WireConfiguration(voters: [1, 2], learners: [3], incarnations: [2: 9, 7: 4])
        #expect(configuration.incarnations == [1: 1, 2: 9, 3: 1])
        #expect(WireConfiguration(voters: [4]).incarnations == [4: 1])
        #expect(WireConfiguration(voters: []).incarnations.isEmpty)
        // Two memberships that differ only in an incarnation are different memberships.
        #expect(
            WireConfiguration(voters: [1, 2], incarnations: [2: 9])
                != WireConfiguration(voters: [1, 2], incarnations: [2: 10]))
    }

    @Test("the rejoin change round-trips: tag 3, the node, its new incarnation")
    func rejoinChange() throws {
        let cases: [(node: UInt64, incarnation: UInt64)] = [(3, 0x9D04_E6B1_C2A8_5F37), (.max, 1), (1, .max)]
        for (node, incarnation) in cases {
            let entry = WireEntry(term: 4, index: 10, payload: .configChange(.rejoin(node, incarnation: incarnation)))
            let frame = PeerFrame.raft(
                WireMessage(
                    from: 1, to: 2, term: 4,
                    body: .appendEntries(WireAppendEntries(prevIndex: 9, prevTerm: 4, entries: [entry], commit: 9))))
            let bytes = Fixtures.frameBytes(frame)
            var buffer = ByteBuffer(bytes: bytes)
            #expect(try PeerFrameCodec.decode(from: &buffer) == frame)
            // The entry is the last 34 bytes: term, index, tag 2, kind 3, node, incarnation.
            var tail = ByteBuffer(bytes: bytes.suffix(34))
            #expect(tail.readInteger(endianness: .big, as: UInt64.self) == 4)
            #expect(tail.readInteger(endianness: .big, as: UInt64.self) == 10)
            #expect(tail.readBytes(length: 2) == [2, 3])
            #expect(tail.readInteger(endianness: .big, as: UInt64.self) == node)
            #expect(tail.readInteger(endianness: .big, as: UInt64.self) == incarnation)
        }
        // addLearner carries an incarnation the same way, under tag 0.
        let add = PeerFrame.raft(
            WireMessage(
                from: 1, to: 2, term: 4,
                body: .appendEntries(
                    WireAppendEntries(
                        prevIndex: 0, prevTerm: 0,
                        entries: [
                            WireEntry(term: 4, index: 1, payload: .configChange(.addLearner(6, incarnation: 42)))
                        ],
                        commit: 0))))
        let addBytes = Fixtures.frameBytes(add)
        #expect(Fixtures.hex(Array(addBytes.suffix(18))) == "0200" + "0000000000000006" + "000000000000002a")
        var addBuffer = ByteBuffer(bytes: addBytes)
        #expect(try PeerFrameCodec.decode(from: &addBuffer) == add)
    }

    @Test("a header-only or partial frame decodes to nil and never moves the reader index")
    func partialFramesWait() throws {
        for frame in Fixtures.smallFrames {
            let bytes = Fixtures.frameBytes(frame)
            for cut in 0..<bytes.count {
                var buffer = ByteBuffer(bytes: bytes[..<cut])
                let before = buffer.readerIndex
                #expect(try PeerFrameCodec.decode(from: &buffer) == nil)
                #expect(buffer.readerIndex == before)
                #expect(buffer.readableBytes == cut)
            }
        }
    }

    @Test("an InstallSnapshot is never framed whole; the buffer is left as it was")
    func installSnapshotIsRefused() throws {
        let snapshot = WireSnapshot(
            metadata: WireSnapshotMetadata(index: 1, term: 1, configuration: WireConfiguration(voters: [1])),
            data: [1]
        )
        let frame = PeerFrame.raft(WireMessage(from: 1, to: 2, term: 1, body: .installSnapshot(snapshot)))
        #expect(frame.frameType == nil)
        var buffer = ByteBuffer(bytes: [9, 9])
        #expect(throws: WireError.unencodable(.installSnapshotNotChunked)) {
            try PeerFrameCodec.encode(frame, into: &buffer)
        }
        #expect(Array(buffer.readableBytesView) == [9, 9])

        // Through a pipeline the write fails, nothing reaches the wire, and the error also travels
        // the pipeline: NIO's MessageToByteHandler latches it, so the connection is done.
        let channel = Fixtures.channel()
        #expect(throws: WireError.unencodable(.installSnapshotNotChunked)) {
            try channel.writeOutbound(frame)
        }
        #expect(throws: WireError.unencodable(.installSnapshotNotChunked)) {
            try channel.throwIfErrorCaught()
        }
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        #expect(throws: WireError.unencodable(.installSnapshotNotChunked)) {
            try channel.writeOutbound(Fixtures.frames[0])
        }
        _ = try? channel.throwIfErrorCaught()
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        #expect(try channel.finish().isClean)
    }

    @Test("a string over 65,535 UTF-8 bytes cannot be encoded; the buffer is left as it was")
    func longStringIsRefused() {
        let frame = PeerFrame.hello(
            Hello(clusterID: "berth", nodeID: 1, httpAddress: String(repeating: "a", count: 65_536)))
        var buffer = ByteBuffer()
        #expect(throws: WireError.unencodable(.stringTooLong(field: "httpAddress", bytes: 65_536))) {
            try PeerFrameCodec.encode(frame, into: &buffer)
        }
        #expect(buffer.readableBytes == 0)
        let longest = PeerFrame.hello(
            Hello(clusterID: "berth", nodeID: 1, httpAddress: String(repeating: "a", count: 65_535)))
        #expect(throws: Never.self) { try PeerFrameCodec.encode(longest, into: &buffer) }
    }

    @Test("the encoder refuses a frame over its limit instead of sending what the peer would refuse")
    func encoderRefusesOversized() {
        let frame = PeerFrame.forward(
            ForwardRequest(requestID: 1, payload: [UInt8](repeating: 7, count: 100)))
        // Header 16 + request id 8 + length 4 + 100 bytes = 128.
        var buffer = ByteBuffer()
        #expect(throws: WireError.oversized(frameBytes: 128, maxFrameBytes: 127)) {
            try PeerFrameCodec.encode(frame, into: &buffer, maxFrameBytes: 127)
        }
        #expect(buffer.readableBytes == 0)
        #expect(throws: Never.self) {
            try PeerFrameCodec.encode(frame, into: &buffer, maxFrameBytes: 128)
        }
        #expect(buffer.readableBytes == 128)
    }
}
