import BerthRaft  // SplitMix64, the seeded generator the tests share
import NIOCore
import NIOEmbedded
import Testing

@testable import BerthWire

/// TCP delivers a byte stream, not frames: however it is cut, the same frames come out.
@Suite struct StreamingTests {
    /// Every fixture, back to back.
    private var stream: [UInt8] { Fixtures.frames.flatMap(Fixtures.frameBytes) }

    @Test("all frames back to back in one buffer decode in order")
    func backToBack() throws {
        let channel = Fixtures.channel()
        try Fixtures.feed(channel, stream)
        #expect(try Fixtures.readAll(channel) == Fixtures.frames)
        #expect(try channel.finish().isClean)
    }

    @Test("bytes fed one at a time decode to the same frames")
    func oneByteAtATime() throws {
        let frames = Fixtures.smallFrames
        let channel = Fixtures.channel()
        var decoded: [PeerFrame] = []
        for byte in frames.flatMap(Fixtures.frameBytes) {
            try Fixtures.feed(channel, [byte])
            decoded += try Fixtures.readAll(channel)
        }
        #expect(decoded == frames)
        #expect(try channel.finish().isClean)
    }

    @Test("a frame appears exactly when its last byte arrives", arguments: [UInt64(1), 2, 3])
    func frameAppearsOnLastByte(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        let frame = Fixtures.smallFrames[random.int(below: Fixtures.smallFrames.count)]
        let bytes = Fixtures.frameBytes(frame)
        let channel = Fixtures.channel()
        try Fixtures.feed(channel, bytes.dropLast())
        #expect(try channel.readInbound(as: PeerFrame.self) == nil)
        try Fixtures.feed(channel, bytes.suffix(1))
        #expect(try channel.readInbound(as: PeerFrame.self) == frame)
        #expect(try channel.finish().isClean)
    }

    @Test("seeded random splits of the whole stream decode to the same frames", arguments: 1...20)
    func randomSplits(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        let bytes = stream
        let channel = Fixtures.channel()
        var decoded: [PeerFrame] = []
        var position = 0
        while position < bytes.count {
            // Mostly small pieces, sometimes large ones, so splits land inside headers, inside
            // length prefixes and across several frames at once.
            let limit = random.next() % 4 == 0 ? 70_000 : 40
            let length = min(bytes.count - position, 1 + Int(random.next() % UInt64(limit)))
            try Fixtures.feed(channel, bytes[position..<(position + length)])
            decoded += try Fixtures.readAll(channel)
            position += length
        }
        #expect(decoded == Fixtures.frames, "seed \(seed)")
        #expect(try channel.finish().isClean)
    }

    @Test("the plain decode function, called in a loop, takes frames one by one from a shared buffer")
    func plainLoop() throws {
        var buffer = ByteBuffer(bytes: stream)
        var decoded: [PeerFrame] = []
        while let frame = try PeerFrameCodec.decode(from: &buffer) {
            decoded.append(frame)
        }
        #expect(decoded == Fixtures.frames)
        #expect(buffer.readableBytes == 0)
    }
}
