import NIOCore
import NIOEmbedded
import Testing

@testable import BerthWire

/// InstallSnapshot in chunks (§7): `SnapshotSender` cuts, `SnapshotAssembler` reassembles, and a
/// broken connection resumes from the acknowledged offset.
@Suite struct SnapshotTransferTests {
    private let metadata = WireSnapshotMetadata(
        index: 500,
        term: 4,
        configuration: WireConfiguration(voters: [1, 2, 3], learners: [4], incarnations: [2: 0x2222, 4: 0x4444])
    )

    private func snapshot(bytes: Int) -> WireSnapshot {
        WireSnapshot(metadata: metadata, data: (0..<bytes).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 1) })
    }

    private func sender(bytes: Int, chunkBytes: Int, window: Int = 1_000) -> SnapshotSender {
        SnapshotSender(
            from: 1, to: 4, term: 6, snapshot: snapshot(bytes: bytes), chunkBytes: chunkBytes,
            maxUnacknowledgedChunks: window)
    }

    /// The Raft message the follower's core should be handed.
    private func installMessage(bytes: Int) -> WireMessage {
        WireMessage(from: 1, to: 4, term: 6, body: .installSnapshot(snapshot(bytes: bytes)))
    }

    /// Sends everything `sender` will give through `assembler`, feeding acks back. Returns the
    /// completed message, if any, and how many chunks went out.
    private func run(_ sender: inout SnapshotSender, into assembler: inout SnapshotAssembler) -> (
        WireMessage?, Int
    ) {
        var completed: WireMessage?
        var sent = 0
        while let chunk = sender.nextChunk() {
            sent += 1
            let outcome = assembler.receive(chunk)
            if case .completed(let message, _) = outcome { completed = message }
            sender.receive(outcome.ack)
        }
        return (completed, sent)
    }

    @Test("a snapshot is cut into ceil(size / chunk) chunks; only the last says so")
    func chunking() {
        var sender = sender(bytes: 10_000, chunkBytes: 3_000)
        var chunks: [SnapshotChunk] = []
        while let chunk = sender.nextChunk() { chunks.append(chunk) }
        #expect(chunks.map(\.offset) == [0, 3_000, 6_000, 9_000])
        #expect(chunks.map(\.data.count) == [3_000, 3_000, 3_000, 1_000])
        #expect(chunks.map(\.isLast) == [false, false, false, true])
        #expect(
            chunks.allSatisfy { $0.totalBytes == 10_000 && $0.metadata == metadata && $0.term == 6 })
        #expect(chunks.flatMap(\.data) == snapshot(bytes: 10_000).data)
    }

    @Test("the default chunk is 1 MiB")
    func defaultChunkSize() {
        let sender = SnapshotSender(from: 1, to: 2, term: 1, snapshot: snapshot(bytes: 3 << 20))
        #expect(sender.chunkBytes == 1 << 20)
        #expect(sender.chunk(at: 0).data.count == 1 << 20)
        #expect(sender.chunk(at: 2 << 20).isLast)
    }

    @Test("a sender is made from the core's InstallSnapshot message, and from nothing else")
    func fromMessage() {
        #expect(SnapshotSender(message: installMessage(bytes: 10))?.snapshot == snapshot(bytes: 10))
        #expect(SnapshotSender(message: WireMessage(from: 1, to: 2, term: 1, body: .timeoutNow)) == nil)
    }

    @Test("sender → assembler rebuilds exactly the core's message, then both agree it is finished")
    func wholeTransfer() {
        for (bytes, chunkBytes) in [(10_000, 3_000), (9_000, 3_000), (1, 1), (5, 100), (64, 1)] {
            var sender = sender(bytes: bytes, chunkBytes: chunkBytes)
            var assembler = SnapshotAssembler()
            let (message, sent) = run(&sender, into: &assembler)
            #expect(message == installMessage(bytes: bytes))
            #expect(sent == (bytes + chunkBytes - 1) / chunkBytes)
            #expect(sender.isFinished)
            #expect(sender.nextChunk() == nil)
            #expect(assembler.snapshotIndexInProgress == nil)
        }
    }

    @Test("an empty snapshot is one empty chunk marked last")
    func emptySnapshot() {
        var sender = sender(bytes: 0, chunkBytes: 100)
        var assembler = SnapshotAssembler()
        let (message, sent) = run(&sender, into: &assembler)
        #expect(sent == 1)
        #expect(message == installMessage(bytes: 0))
        #expect(sender.isFinished)
    }

    @Test("the sender stops at its window and moves on as acks arrive")
    func window() {
        var sender = sender(bytes: 1_000, chunkBytes: 100, window: 3)
        var assembler = SnapshotAssembler()
        var inFlight: [SnapshotChunk] = []
        while let chunk = sender.nextChunk() { inFlight.append(chunk) }
        #expect(inFlight.map(\.offset) == [0, 100, 200])
        sender.receive(assembler.receive(inFlight[0]).ack)
        #expect(sender.acknowledgedOffset == 100)
        #expect(sender.nextChunk()?.offset == 300)
        #expect(sender.nextChunk() == nil)
    }

    @Test("a broken connection resumes from the acknowledged offset, not from the start")
    func resumeAfterBrokenConnection() {
        var sender = sender(bytes: 1_000, chunkBytes: 100, window: 4)
        var assembler = SnapshotAssembler()
        // First connection: four chunks go out; the first two arrive and are acked, then the
        // connection breaks, losing the other two and nothing else.
        let first = (0..<4).compactMap { _ in sender.nextChunk() }
        for chunk in first.prefix(2) { sender.receive(assembler.receive(chunk).ack) }
        #expect(sender.acknowledgedOffset == 200)
        #expect(assembler.bytesReceived == 200)

        // Second connection.
        sender.rewind()
        #expect(sender.nextOffset == 200)
        var offsets: [UInt64] = []
        var completed: WireMessage?
        while let chunk = sender.nextChunk() {
            offsets.append(chunk.offset)
            let outcome = assembler.receive(chunk)
            if case .completed(let message, _) = outcome { completed = message }
            sender.receive(outcome.ack)
        }
        #expect(offsets == [200, 300, 400, 500, 600, 700, 800, 900])
        #expect(completed == installMessage(bytes: 1_000))
        #expect(sender.isFinished)
    }

    @Test("acks lost with the connection: the receiver's duplicate ack moves the sender forward")
    func lostAcks() {
        var sender = sender(bytes: 1_000, chunkBytes: 100, window: 4)
        var assembler = SnapshotAssembler()
        // Three chunks arrive, but every ack is lost with the connection.
        for _ in 0..<3 { _ = assembler.receive(sender.nextChunk()!) }
        sender.rewind()
        let resent = sender.nextChunk()!
        #expect(resent.offset == 0)
        let outcome = assembler.receive(resent)
        #expect(outcome == .ignored(reason: .duplicate(offset: 0, expected: 300), ack: outcome.ack))
        #expect(outcome.ack.nextOffset == 300)
        #expect(sender.receive(outcome.ack) == .progressed)
        #expect(sender.nextChunk()?.offset == 300)
    }

    @Test("a receiver that lost its partial snapshot asks for offset 0 and the sender starts over")
    func receiverLostState() {
        var sender = sender(bytes: 500, chunkBytes: 100, window: 2)
        var assembler = SnapshotAssembler()
        for _ in 0..<2 {
            let chunk = sender.nextChunk()!
            sender.receive(assembler.receive(chunk).ack)
        }
        #expect(sender.acknowledgedOffset == 200)
        assembler = SnapshotAssembler()  // the follower restarted
        let outcome = assembler.receive(sender.nextChunk()!)
        #expect(outcome == .ignored(reason: .unknownSnapshot(offset: 200), ack: outcome.ack))
        #expect(outcome.ack.nextOffset == 0)
        #expect(sender.receive(outcome.ack) == .rewound)
        let (message, _) = run(&sender, into: &assembler)
        #expect(message == installMessage(bytes: 500))
    }

    @Test("a gap is refused and the ack names the offset still wanted")
    func gap() {
        let sender = sender(bytes: 1_000, chunkBytes: 100)
        var assembler = SnapshotAssembler()
        _ = assembler.receive(sender.chunk(at: 0))
        let outcome = assembler.receive(sender.chunk(at: 200))
        #expect(outcome == .ignored(reason: .gap(offset: 200, expected: 100), ack: outcome.ack))
        #expect(
            outcome.ack == SnapshotChunkAck(from: 4, to: 1, term: 6, snapshotIndex: 500, nextOffset: 100))
        #expect(assembler.bytesReceived == 100)
    }

    @Test("a chunk that overlaps the expected offset contributes only its new bytes")
    func overlap() {
        let whole = sender(bytes: 300, chunkBytes: 100)
        let bigger = sender(bytes: 300, chunkBytes: 150)
        var assembler = SnapshotAssembler()
        _ = assembler.receive(whole.chunk(at: 0))
        // 150 bytes from offset 0: 50 new.
        #expect(assembler.receive(bigger.chunk(at: 0)).ack.nextOffset == 150)
        let outcome = assembler.receive(bigger.chunk(at: 150))
        #expect(outcome == .completed(message: installMessage(bytes: 300), ack: outcome.ack))
    }

    @Test("a different snapshot mid-stream is refused; at offset 0 it replaces the partial one")
    func mismatchedSnapshot() {
        let current = sender(bytes: 300, chunkBytes: 100)
        let newer = SnapshotSender(
            from: 1,
            to: 4,
            term: 7,
            snapshot: WireSnapshot(
                metadata: WireSnapshotMetadata(index: 600, term: 7, configuration: metadata.configuration),
                data: [1, 2, 3]),
            chunkBytes: 2
        )
        var assembler = SnapshotAssembler()
        _ = assembler.receive(current.chunk(at: 0))
        let midStream = assembler.receive(newer.chunk(at: 2))
        #expect(midStream == .ignored(reason: .unknownSnapshot(offset: 2), ack: midStream.ack))
        #expect(
            midStream.ack == SnapshotChunkAck(from: 4, to: 1, term: 7, snapshotIndex: 600, nextOffset: 0))
        #expect(assembler.snapshotIndexInProgress == 500)

        #expect(
            assembler.receive(newer.chunk(at: 0))
                == .accepted(
                    ack: SnapshotChunkAck(from: 4, to: 1, term: 7, snapshotIndex: 600, nextOffset: 2)))
        #expect(assembler.snapshotIndexInProgress == 600)
        // The old stream's next chunk now belongs to nothing in progress.
        let stale = assembler.receive(current.chunk(at: 100))
        #expect(stale == .ignored(reason: .unknownSnapshot(offset: 100), ack: stale.ack))
    }

    @Test("the same index from another term or sender, or with other metadata, is another snapshot")
    func streamIdentity() {
        let base = sender(bytes: 200, chunkBytes: 100)
        var assembler = SnapshotAssembler()
        _ = assembler.receive(base.chunk(at: 0))
        var otherTerm = base.chunk(at: 100)
        otherTerm.term = 7
        var otherConfiguration = base.chunk(at: 100)
        otherConfiguration.metadata.configuration = WireConfiguration(voters: [1, 2, 3, 4])
        // The same members, one of them under another incarnation (it lost its disk and rejoined).
        var otherIncarnation = base.chunk(at: 100)
        otherIncarnation.metadata.configuration.incarnations[4] = 0x4445
        var otherSender = base.chunk(at: 100)
        otherSender.from = 2
        for chunk in [otherTerm, otherConfiguration, otherIncarnation, otherSender] {
            let outcome = assembler.receive(chunk)
            #expect(outcome == .ignored(reason: .unknownSnapshot(offset: 100), ack: outcome.ack))
            #expect(outcome.ack.nextOffset == 0)
        }
        #expect(assembler.bytesReceived == 100)
    }

    @Test("chunks that contradict themselves are refused and change nothing")
    func inconsistentChunks() {
        let base = sender(bytes: 200, chunkBytes: 100)
        var assembler = SnapshotAssembler()
        _ = assembler.receive(base.chunk(at: 0))
        var pastEnd = base.chunk(at: 100)
        pastEnd.data += [0]
        var notLast = base.chunk(at: 100)
        notLast.isLast = false
        var earlyLast = base.chunk(at: 0)
        earlyLast.isLast = true
        var offsetPastEnd = base.chunk(at: 100)
        offsetPastEnd.offset = .max
        for chunk in [pastEnd, notLast, earlyLast, offsetPastEnd] {
            let outcome = assembler.receive(chunk)
            guard case .ignored(.inconsistent, let ack) = outcome else {
                Issue.record("expected inconsistent, got \(outcome)")
                continue
            }
            #expect(ack.nextOffset == 100)
        }
        #expect(assembler.bytesReceived == 100)
    }

    @Test("a snapshot over the size limit is refused before any of it is kept")
    func tooLarge() {
        var assembler = SnapshotAssembler(maxSnapshotBytes: 150)
        let outcome = assembler.receive(sender(bytes: 200, chunkBytes: 100).chunk(at: 0))
        #expect(
            outcome
                == .ignored(reason: .tooLarge(totalBytes: 200, maxSnapshotBytes: 150), ack: outcome.ack))
        #expect(assembler.snapshotIndexInProgress == nil)
        #expect(
            assembler.receive(sender(bytes: 150, chunkBytes: 150).chunk(at: 0)).ack.nextOffset == 150)
    }

    @Test(
        "after completion, a late mid-stream resend is acknowledged as complete; offset 0 delivers again"
    )
    func afterCompletion() {
        var sender = sender(bytes: 300, chunkBytes: 100)
        var assembler = SnapshotAssembler()
        _ = run(&sender, into: &assembler)
        let late = assembler.receive(sender.chunk(at: 100))
        #expect(late == .ignored(reason: .alreadyComplete, ack: late.ack))
        #expect(late.ack.nextOffset == 300)
        // The leader sending it again from the start means it wants it delivered again.
        _ = assembler.receive(sender.chunk(at: 0))
        _ = assembler.receive(sender.chunk(at: 100))
        #expect(
            assembler.receive(sender.chunk(at: 200))
                == .completed(message: installMessage(bytes: 300), ack: late.ack))
    }

    @Test("acks for another stream, or past the end, are ignored by the sender")
    func foreignAcks() {
        var sender = sender(bytes: 300, chunkBytes: 100)
        _ = sender.nextChunk()
        let good = SnapshotChunkAck(from: 4, to: 1, term: 6, snapshotIndex: 500, nextOffset: 100)
        var other = good
        other.snapshotIndex = 499
        #expect(sender.receive(other) == .ignored)
        other = good
        other.from = 3
        #expect(sender.receive(other) == .ignored)
        other = good
        other.term = 5
        #expect(sender.receive(other) == .ignored)
        other = good
        other.nextOffset = 301
        #expect(sender.receive(other) == .ignored)
        #expect(sender.acknowledgedOffset == 0)
        #expect(sender.receive(good) == .progressed)
    }

    @Test("chunks and acks cross real frames: a resumed transfer through two channel pairs")
    func overTheWire() throws {
        var sender = sender(bytes: 50_000, chunkBytes: 4_096, window: 3)
        var assembler = SnapshotAssembler()
        var completed: WireMessage?
        for connection in 0..<2 {
            let leader = Fixtures.channel()
            let follower = Fixtures.channel()
            sender.rewind()
            var chunksThisConnection = 0
            pump: while !sender.isFinished {
                while let chunk = sender.nextChunk() {
                    try leader.writeOutbound(PeerFrame.snapshotChunk(chunk))
                }
                guard let bytes = try leader.readOutbound(as: ByteBuffer.self) else { break }
                try follower.writeInbound(bytes)
                while case .snapshotChunk(let chunk)? = try follower.readInbound(as: PeerFrame.self) {
                    chunksThisConnection += 1
                    let outcome = assembler.receive(chunk)
                    if case .completed(let message, _) = outcome { completed = message }
                    try follower.writeOutbound(PeerFrame.snapshotChunkAck(outcome.ack))
                }
                // The first connection breaks after five chunks, losing whatever is in flight.
                if connection == 0 && chunksThisConnection == 5 { break pump }
                while let ackBytes = try follower.readOutbound(as: ByteBuffer.self) {
                    try leader.writeInbound(ackBytes)
                    while case .snapshotChunkAck(let ack)? = try leader.readInbound(as: PeerFrame.self) {
                        sender.receive(ack)
                    }
                }
            }
            _ = try leader.finish(acceptAlreadyClosed: true)
            _ = try follower.finish(acceptAlreadyClosed: true)
        }
        #expect(completed == installMessage(bytes: 50_000))
        #expect(sender.isFinished)
    }
}
