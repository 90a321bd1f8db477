import BerthRaft  // SplitMix64, the seeded generator the tests share
import NIOCore
import NIOEmbedded
import Testing

@testable import BerthWire

/// Seeded random inputs and mutations of valid frames: the decoder never crashes or hangs, and
/// every outcome is a frame, a wait for more bytes, or a `WireError`. Any frame it does accept
/// re-encodes to exactly the bytes it came from (the encoding is canonical), so garbage can
/// never be accepted as a *different* frame than its bytes say.
@Suite(.timeLimit(.minutes(1))) struct FuzzTests {
    /// What happened to one input.
    private struct Outcome {
        var frames = 0
        var error: WireError?
        var waiting = false
    }

    /// Decodes `bytes` with the plain function until it stops, checking the invariants on the way.
    private func decodeAll(_ bytes: [UInt8], seed: UInt64) -> Outcome {
        var buffer = ByteBuffer(bytes: bytes)
        var outcome = Outcome()
        // A frame takes at least 16 bytes, so this bound can never be what stops a correct decoder.
        for _ in 0...(bytes.count / PeerProtocol.headerBytes) {
            let before = buffer.readerIndex
            do {
                guard let frame = try PeerFrameCodec.decode(from: &buffer) else {
                    #expect(buffer.readerIndex == before, "seed \(seed)")
                    outcome.waiting = buffer.readableBytes > 0
                    return outcome
                }
                #expect(buffer.readerIndex - before >= PeerProtocol.headerBytes, "seed \(seed)")
                #expect(
                    Fixtures.frameBytes(frame) == Array(bytes[before..<buffer.readerIndex]), "seed \(seed)")
                outcome.frames += 1
            } catch {
                // `error` is a WireError: decode's typed throws guarantees nothing else escapes.
                #expect(buffer.readerIndex == before, "seed \(seed)")
                outcome.error = error
                return outcome
            }
        }
        Issue.record("decoding did not stop (seed \(seed))")
        return outcome
    }

    /// A mutation of `bytes`: bit flips, a truncation, an insertion, a deletion or a repeat.
    private func mutate(_ bytes: [UInt8], _ random: inout SplitMix64) -> [UInt8] {
        var bytes = bytes
        for _ in 0...(random.int(below: 3)) {
            let position = random.int(below: bytes.count + 1)
            switch random.int(below: 5) {
            case 0:
                if position < bytes.count { bytes[position] ^= UInt8(1) << UInt8(random.int(below: 8)) }
            case 1:
                bytes.removeLast(bytes.count - position)
            case 2:
                bytes.insert(contentsOf: random.bytes(count: 1 + random.int(below: 8)), at: position)
            case 3:
                bytes.removeSubrange(position..<min(bytes.count, position + 1 + random.int(below: 8)))
            default:
                let end = min(bytes.count, position + 1 + random.int(below: 16))
                bytes.insert(contentsOf: bytes[position..<end], at: end)
            }
        }
        return bytes
    }

    @Test("5,000 random byte strings, half of them behind a valid magic and version")
    func randomBytes() {
        var random = SplitMix64(seed: 0xF022_0001)
        var errors: [WireError.Code: Int] = [:]
        for i in 0..<5_000 {
            var bytes = random.bytes(count: random.int(below: 200))
            if i % 2 == 1 { bytes = PeerProtocol.magic + [PeerProtocol.version] + bytes }
            let outcome = decodeAll(bytes, seed: UInt64(i))
            if let error = outcome.error { errors[error.code, default: 0] += 1 }
        }
        #expect(errors[.badMagic, default: 0] > 0)
        #expect(errors[.unknownFrameType, default: 0] > 0)
    }

    @Test("5,000 random payloads behind a valid header and checksum reach the payload parser")
    func randomSealedPayloads() {
        var random = SplitMix64(seed: 0xF022_0002)
        var frames = 0
        var malformed = 0
        for i in 0..<5_000 {
            let type = FrameType.allCases[random.int(below: FrameType.allCases.count)]
            let payload = random.bytes(count: random.int(below: 120))
            let header = PeerProtocol.magic + [PeerProtocol.version, type.rawValue, 0, 0]
            let outcome = decodeAll(Fixtures.resealed(header: header, payload: payload), seed: UInt64(i))
            frames += outcome.frames
            if outcome.error?.code == .malformedPayload { malformed += 1 }
            #expect(
                outcome.frames + (outcome.error == nil ? 0 : 1) == 1, "seed \(i): one frame or one error")
        }
        #expect(frames > 0)
        #expect(malformed > 0)
    }

    @Test(
        "10,000 mutations of valid frames: raw (the checksum catches most) and re-sealed (the parser must)"
    )
    func mutatedFrames() {
        var random = SplitMix64(seed: 0xF022_0003)
        let valid = Fixtures.smallFrames.map(Fixtures.frameBytes)
        var errors: [WireError.Code: Int] = [:]
        for i in 0..<10_000 {
            let original = valid[random.int(below: valid.count)]
            let bytes: [UInt8]
            if i % 2 == 0 {
                bytes = mutate(original, &random)
            } else {
                bytes = Fixtures.resealed(
                    header: original, payload: mutate(Array(original[16...]), &random))
            }
            let outcome = decodeAll(bytes, seed: UInt64(i))
            if let error = outcome.error { errors[error.code, default: 0] += 1 }
        }
        #expect(errors[.checksumMismatch, default: 0] > 0)
        #expect(errors[.malformedPayload, default: 0] > 0)
    }

    @Test("1,000 mutated streams through EmbeddedChannel in random splits: only WireErrors surface")
    func mutatedStreamsThroughChannel() throws {
        var random = SplitMix64(seed: 0xF022_0004)
        let valid = Fixtures.smallFrames.map(Fixtures.frameBytes)
        for i in 0..<1_000 {
            var stream: [UInt8] = []
            for _ in 0..<(1 + random.int(below: 4)) { stream += valid[random.int(below: valid.count)] }
            if i % 3 != 0 { stream = mutate(stream, &random) }
            let channel = Fixtures.channel()
            var failed = false
            var position = 0
            while position < stream.count && !failed {
                let length = min(stream.count - position, 1 + random.int(below: 64))
                do {
                    try Fixtures.feed(channel, stream[position..<(position + length)])
                } catch {
                    #expect(error is WireError, "seed \(i): \(error)")
                    failed = true
                }
                position += length
            }
            _ = try Fixtures.readAll(channel)
            do {
                _ = try channel.finish()
            } catch {
                // Only a frame cut off by the end of the stream is reported at close.
                #expect((error as? WireError)?.code == .truncatedFrame, "seed \(i): \(error)")
            }
            if i % 3 == 0 { #expect(!failed, "seed \(i): an unmutated stream must decode") }
        }
    }
}

extension SplitMix64 {
    /// A number in `0..<bound` (the modulo bias is irrelevant at these sizes).
    mutating func int(below bound: Int) -> Int {
        Int(next() % UInt64(bound))
    }

    /// `count` random bytes.
    mutating func bytes(count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8(truncatingIfNeeded: next()) }
    }
}
