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
