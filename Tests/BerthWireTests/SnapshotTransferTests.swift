import NIOCore
import NIOEmbedded
import Testing

@testable import BerthWire

/// InstallSnapshot in chunks (§7): `SnapshotSender` cuts, `SnapshotAssembler` says what to store,
/// and a broken connection resumes from the acknowledged offset.
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
        let snapshot = snapshot(bytes: bytes)
        return SnapshotSender(
            from: 1, to: 4, term: 6, metadata: snapshot.metadata, source: snapshot.data, chunkBytes: chunkBytes,
            maxUnacknowledgedChunks: window)
    }

    /// The Raft message the follower's core should be handed.
    private func installMessage(bytes: Int) -> WireMessage {
        WireMessage(from: 1, to: 4, term: 6, body: .installSnapshot(snapshot(bytes: bytes)))
    }

    /// Sends everything `sender` will give through `assembler` into `store`, feeding acks back.
    /// Returns the completed message (its data read back from `store`), if any, and how many
    /// chunks went out.
    private func run(
        _ sender: inout SnapshotSender, into assembler: inout SnapshotAssembler, store: inout StoredSnapshot
    ) throws -> (WireMessage?, Int) {
        var completed: WireMessage?
        var sent = 0
        while let chunk = try sender.nextChunk() {
            sent += 1
            let outcome = assembler.receive(chunk)
            if let message = store.take(outcome) { completed = message }
            sender.receive(outcome.ack)
        }
        return (completed, sent)
    }

    /// `run` into a fresh store.
    private func run(_ sender: inout SnapshotSender, into assembler: inout SnapshotAssembler) throws -> (
        WireMessage?, Int
    ) {
        var store = StoredSnapshot()
        return try run(&sender, into: &assembler, store: &store)
    }

    @Test("a snapshot is cut into ceil(size / chunk) chunks; only the last says so")
    func chunking() throws {
        var sender = sender(bytes: 10_000, chunkBytes: 3_000)
        var chunks: [SnapshotChunk] = []
        while let chunk = try sender.nextChunk() { chunks.append(chunk) }
        #expect(chunks.map(\.offset) == [0, 3_000, 6_000, 9_000])
        #expect(chunks.map(\.data.count) == [3_000, 3_000, 3_000, 1_000])
        #expect(chunks.map(\.isLast) == [false, false, false, true])
        #expect(
            chunks.allSatisfy { $0.totalBytes == 10_000 && $0.metadata == metadata && $0.term == 6 })
        #expect(chunks.flatMap(\.data) == snapshot(bytes: 10_000).data)
    }

    @Test("the default chunk is 1 MiB")
    func defaultChunkSize() throws {
        let snapshot = snapshot(bytes: 3 << 20)
        let sender = SnapshotSender(from: 1, to: 2, term: 1, metadata: snapshot.metadata, source: snapshot.data)
        #expect(sender.chunkBytes == 1 << 20)
        #expect(try sender.chunk(at: 0).data.count == 1 << 20)
        #expect(try sender.chunk(at: 2 << 20).isLast)
    }

    @Test("a sender is made from the core's InstallSnapshot message, and from nothing else")
    func fromMessage() throws {
        let sender = try #require(SnapshotSender(message: installMessage(bytes: 10)))
        #expect(sender.from == 1 && sender.to == 4 && sender.term == 6)
        #expect(sender.metadata == metadata)
        #expect(sender.totalBytes == 10)
        #expect(try sender.source.bytes(at: 0, count: 10) == snapshot(bytes: 10).data)
        #expect(SnapshotSender(message: WireMessage(from: 1, to: 2, term: 1, body: .timeoutNow)) == nil)
    }

    @Test("sender → assembler → store rebuilds exactly the core's message, then both agree it is finished")
    func wholeTransfer() throws {
        for (bytes, chunkBytes) in [(10_000, 3_000), (9_000, 3_000), (1, 1), (5, 100), (64, 1)] {
            var sender = sender(bytes: bytes, chunkBytes: chunkBytes)
            var assembler = SnapshotAssembler()
            let (message, sent) = try run(&sender, into: &assembler)
            #expect(message == installMessage(bytes: bytes))
            #expect(sent == (bytes + chunkBytes - 1) / chunkBytes)
            #expect(sender.isFinished)
            #expect(try sender.nextChunk() == nil)
            #expect(assembler.snapshotIndexInProgress == nil)
        }
    }

    @Test("an empty snapshot is one empty chunk marked last")
    func emptySnapshot() throws {
        var sender = sender(bytes: 0, chunkBytes: 100)
        var assembler = SnapshotAssembler()
        let (message, sent) = try run(&sender, into: &assembler)
        #expect(sent == 1)
        #expect(message == installMessage(bytes: 0))
        #expect(sender.isFinished)
    }

    @Test("the sender stops at its window and moves on as acks arrive")
    func window() throws {
        var sender = sender(bytes: 1_000, chunkBytes: 100, window: 3)
        var assembler = SnapshotAssembler()
        var inFlight: [SnapshotChunk] = []
        while let chunk = try sender.nextChunk() { inFlight.append(chunk) }
        #expect(inFlight.map(\.offset) == [0, 100, 200])
        sender.receive(assembler.receive(inFlight[0]).ack)
        #expect(sender.acknowledgedOffset == 100)
        #expect(try sender.nextChunk()?.offset == 300)
        #expect(try sender.nextChunk() == nil)
    }

    @Test("a broken connection resumes from the acknowledged offset, not from the start")
    func resumeAfterBrokenConnection() throws {
        var sender = sender(bytes: 1_000, chunkBytes: 100, window: 4)
        var assembler = SnapshotAssembler()
        var store = StoredSnapshot()
        // First connection: four chunks go out; the first two arrive and are acked, then the
        // connection breaks, losing the other two and nothing else.
        let first = try (0..<4).compactMap { _ in try sender.nextChunk() }
        for chunk in first.prefix(2) {
            let outcome = assembler.receive(chunk)
            #expect(store.take(outcome) == nil)
            sender.receive(outcome.ack)
        }
        #expect(sender.acknowledgedOffset == 200)
        #expect(assembler.bytesReceived == 200)
        #expect(store.data == Array(snapshot(bytes: 1_000).data.prefix(200)))

        // Second connection.
        sender.rewind()
        #expect(sender.nextOffset == 200)
        var offsets: [UInt64] = []
        var completed: WireMessage?
        while let chunk = try sender.nextChunk() {
            offsets.append(chunk.offset)
            let outcome = assembler.receive(chunk)
            if let message = store.take(outcome) { completed = message }
            sender.receive(outcome.ack)
        }
        #expect(offsets == [200, 300, 400, 500, 600, 700, 800, 900])
        #expect(completed == installMessage(bytes: 1_000))
        #expect(store.data == snapshot(bytes: 1_000).data)
        #expect(sender.isFinished)
    }

    @Test("acks lost with the connection: the receiver's duplicate ack moves the sender forward")
    func lostAcks() throws {
        var sender = sender(bytes: 1_000, chunkBytes: 100, window: 4)
        var assembler = SnapshotAssembler()
        var store = StoredSnapshot()
        // Three chunks arrive, but every ack is lost with the connection.
        for _ in 0..<3 { _ = store.take(assembler.receive(try #require(try sender.nextChunk()))) }
        sender.rewind()
        let resent = try #require(try sender.nextChunk())
        #expect(resent.offset == 0)
        let outcome = assembler.receive(resent)
        #expect(outcome == .ignored(reason: .duplicate(offset: 0, expected: 300), ack: outcome.ack))
        #expect(outcome.ack.nextOffset == 300)
        #expect(sender.receive(outcome.ack) == .progressed)
        // The rest goes on from where the receiver is, and the store ends up whole.
        #expect(try sender.nextChunk()?.offset == 300)
        sender.rewind()
        let (message, sent) = try run(&sender, into: &assembler, store: &store)
        #expect(sent == 7)
        #expect(message == installMessage(bytes: 1_000))
    }

    @Test("a receiver that lost its partial snapshot asks for offset 0 and the sender starts over")
    func receiverLostState() throws {
        var sender = sender(bytes: 500, chunkBytes: 100, window: 2)
        var assembler = SnapshotAssembler()
        var store = StoredSnapshot()
        for _ in 0..<2 {
            let outcome = assembler.receive(try #require(try sender.nextChunk()))
            _ = store.take(outcome)
            sender.receive(outcome.ack)
        }
        #expect(sender.acknowledgedOffset == 200)
        // The follower restarted. A server removes its partial file on restart; this store keeps
        // it, to show the first bytes of the new transfer drop it anyway.
        assembler = SnapshotAssembler()
        let outcome = assembler.receive(try #require(try sender.nextChunk()))
        #expect(outcome == .ignored(reason: .unknownSnapshot(offset: 200), ack: outcome.ack))
        #expect(outcome.ack.nextOffset == 0)
        #expect(sender.receive(outcome.ack) == .rewound)
        let (message, _) = try run(&sender, into: &assembler, store: &store)
        #expect(message == installMessage(bytes: 500))
        #expect(store.starts == 2)
    }

    @Test("a gap is refused and the ack names the offset still wanted")
    func gap() throws {
        let sender = sender(bytes: 1_000, chunkBytes: 100)
        var assembler = SnapshotAssembler()
        _ = assembler.receive(try sender.chunk(at: 0))
        let outcome = assembler.receive(try sender.chunk(at: 200))
        #expect(outcome == .ignored(reason: .gap(offset: 200, expected: 100), ack: outcome.ack))
        #expect(
            outcome.ack == SnapshotChunkAck(from: 4, to: 1, term: 6, snapshotIndex: 500, nextOffset: 100))
        #expect(assembler.bytesReceived == 100)
    }

    @Test("a chunk that overlaps the expected offset contributes only its new bytes")
    func overlap() throws {
        let whole = sender(bytes: 300, chunkBytes: 100)
        let bigger = sender(bytes: 300, chunkBytes: 150)
        let data = snapshot(bytes: 300).data
        var assembler = SnapshotAssembler()
        var store = StoredSnapshot()
        #expect(
            assembler.receive(try whole.chunk(at: 0))
                == .accepted(
                    store: SnapshotBytes(startsSnapshot: true, offset: 0, bytes: data[0..<100]),
                    ack: SnapshotChunkAck(from: 4, to: 1, term: 6, snapshotIndex: 500, nextOffset: 100)))
        store.write(SnapshotBytes(startsSnapshot: true, offset: 0, bytes: data[0..<100]))
        // 150 bytes from offset 0: 50 new, and only they are to be stored.
        let overlapping = assembler.receive(try bigger.chunk(at: 0))
        #expect(
            overlapping
                == .accepted(
                    store: SnapshotBytes(startsSnapshot: false, offset: 100, bytes: data[100..<150]),
                    ack: SnapshotChunkAck(from: 4, to: 1, term: 6, snapshotIndex: 500, nextOffset: 150)))
        #expect(store.take(overlapping) == nil)
        let outcome = assembler.receive(try bigger.chunk(at: 150))
        guard case .completed(_, let bytes, _) = outcome else {
            Issue.record("expected completion, got \(outcome)")
            return
        }
        #expect(bytes == SnapshotBytes(startsSnapshot: false, offset: 150, bytes: data[150..<300]))
        #expect(store.take(outcome) == installMessage(bytes: 300))
        #expect(store.data == data)
    }

    @Test("a different snapshot mid-stream is refused; at offset 0 it replaces the partial one")
    func mismatchedSnapshot() throws {
        let current = sender(bytes: 300, chunkBytes: 100)
        let newer = SnapshotSender(
            from: 1,
            to: 4,
            term: 7,
            metadata: WireSnapshotMetadata(index: 600, term: 7, configuration: metadata.configuration),
            source: [1, 2, 3] as [UInt8],
            chunkBytes: 2
        )
        var assembler = SnapshotAssembler()
        _ = assembler.receive(try current.chunk(at: 0))
        let midStream = assembler.receive(try newer.chunk(at: 2))
        #expect(midStream == .ignored(reason: .unknownSnapshot(offset: 2), ack: midStream.ack))
        #expect(
            midStream.ack == SnapshotChunkAck(from: 4, to: 1, term: 7, snapshotIndex: 600, nextOffset: 0))
        #expect(assembler.snapshotIndexInProgress == 500)

        #expect(
            assembler.receive(try newer.chunk(at: 0))
                == .accepted(
                    store: SnapshotBytes(startsSnapshot: true, offset: 0, bytes: [1, 2]),
                    ack: SnapshotChunkAck(from: 4, to: 1, term: 7, snapshotIndex: 600, nextOffset: 2)))
        #expect(assembler.snapshotIndexInProgress == 600)
        // The old stream's next chunk now belongs to nothing in progress.
        let stale = assembler.receive(try current.chunk(at: 100))
        #expect(stale == .ignored(reason: .unknownSnapshot(offset: 100), ack: stale.ack))
    }

    @Test("a second stream from offset 0 while one is in progress starts the store over")
    func secondStreamStartsOver() throws {
        var current = sender(bytes: 1_000, chunkBytes: 100)
        let newerData: [UInt8] = (0..<250).map { UInt8(truncatingIfNeeded: 255 &- $0) }
        var newer = SnapshotSender(
            from: 1,
            to: 4,
            term: 7,
            metadata: WireSnapshotMetadata(index: 600, term: 7, configuration: metadata.configuration),
            source: newerData,
            chunkBytes: 100
        )
        var assembler = SnapshotAssembler()
        var store = StoredSnapshot()
        for _ in 0..<3 {
            let outcome = assembler.receive(try #require(try current.nextChunk()))
            _ = store.take(outcome)
            current.receive(outcome.ack)
        }
        #expect(store.data.count == 300)
        #expect(store.starts == 1)

        let first = assembler.receive(try #require(try newer.nextChunk()))
        guard case .accepted(let bytes, _) = first else {
            Issue.record("expected the newer stream's first chunk to be accepted, got \(first)")
            return
        }
        #expect(bytes.startsSnapshot)
        #expect(bytes.offset == 0)
        #expect(bytes.bytes.elementsEqual(newerData[0..<100]))
        _ = store.take(first)
        newer.receive(first.ack)
        #expect(store.data == Array(newerData[0..<100]))
        #expect(assembler.bytesReceived == 100)

        // Only the newer snapshot's bytes end up stored, none of the older one's.
        let (message, _) = try run(&newer, into: &assembler, store: &store)
        #expect(
            message
                == WireMessage(
                    from: 1, to: 4, term: 7,
                    body: .installSnapshot(WireSnapshot(metadata: newer.metadata, data: newerData))))
        #expect(store.data == newerData)
        #expect(store.starts == 2)

        // The same stream resent from 0 while in progress is no new start: nothing new, a duplicate.
        var again = SnapshotAssembler()
        _ = again.receive(try current.chunk(at: 0))
        _ = again.receive(try current.chunk(at: 100))
        let resent = again.receive(try current.chunk(at: 0))
        #expect(resent == .ignored(reason: .duplicate(offset: 0, expected: 200), ack: resent.ack))
    }

    @Test("outcomes carry at most the chunk's own new bytes, and bytesReceived is the stored prefix")
    func outcomesHoldOnlyTheChunk() throws {
        // Chunks of three sizes, so resends overlap each other, taken in a scrambled order until
        // the snapshot completes.
        let total = 1_000
        let data = snapshot(bytes: total).data
        var chunks: [SnapshotChunk] = []
        for chunkBytes in [70, 100, 150] {
            let sender = sender(bytes: total, chunkBytes: chunkBytes)
            for offset in stride(from: 0, to: total, by: chunkBytes) {
                chunks.append(try sender.chunk(at: UInt64(offset)))
            }
        }
        var random = SplitMix64(seed: 0x5EED)
        var assembler = SnapshotAssembler()
        var store = StoredSnapshot()
        var message: WireMessage?
        var used = 0
        var steps = 0
        while message == nil && steps < 10_000 {
            steps += 1
            let chunk = chunks[Int(random.next() % UInt64(chunks.count))]
            let before = assembler.bytesReceived
            let storedBefore = store.data
            let outcome = assembler.receive(chunk)
            switch outcome {
            case .accepted(let bytes, _), .completed(_, let bytes, _):
                used += 1
                #expect(bytes.bytes.count <= chunk.data.count)
                #expect(bytes.offset == before)
                #expect(bytes.offset >= chunk.offset)
                #expect(bytes.bytes.elementsEqual(chunk.data[Int(bytes.offset - chunk.offset)...]))
                #expect(bytes.startsSnapshot == (before == 0))
            case .ignored:
                #expect(assembler.bytesReceived == before)
            }
            message = store.take(outcome)
            if message == nil {
                #expect(assembler.bytesReceived == UInt64(store.data.count))
                if case .ignored = outcome { #expect(store.data == storedBefore) }
            }
            #expect(outcome.ack.nextOffset == (message == nil ? assembler.bytesReceived : UInt64(total)))
        }
        #expect(message == installMessage(bytes: total))
        #expect(store.data == data)
        #expect(used >= total / 150)
        // Completed: nothing in progress, nothing held.
        #expect(assembler.bytesReceived == 0)
        #expect(assembler.snapshotIndexInProgress == nil)

        // The assembler holds no data: fed chunks that differ only in their bytes, two assemblers
        // are the same value.
        var a = SnapshotAssembler()
        var b = SnapshotAssembler()
        var other = chunks[0]
        other.data = other.data.map { ~$0 }
        _ = a.receive(chunks[0])
        _ = b.receive(other)
        #expect(a == b)
        #expect(a.bytesReceived == UInt64(chunks[0].data.count))
    }

    @Test("the same index from another term or sender, or with other metadata, is another snapshot")
    func streamIdentity() throws {
        let base = sender(bytes: 200, chunkBytes: 100)
        var assembler = SnapshotAssembler()
        _ = assembler.receive(try base.chunk(at: 0))
        var otherTerm = try base.chunk(at: 100)
        otherTerm.term = 7
        var otherConfiguration = try base.chunk(at: 100)
        otherConfiguration.metadata.configuration = WireConfiguration(voters: [1, 2, 3, 4])
        // The same members, one of them under another incarnation (it lost its disk and rejoined).
        var otherIncarnation = try base.chunk(at: 100)
        otherIncarnation.metadata.configuration.incarnations[4] = 0x4445
        var otherSender = try base.chunk(at: 100)
        otherSender.from = 2
        for chunk in [otherTerm, otherConfiguration, otherIncarnation, otherSender] {
            let outcome = assembler.receive(chunk)
            #expect(outcome == .ignored(reason: .unknownSnapshot(offset: 100), ack: outcome.ack))
            #expect(outcome.ack.nextOffset == 0)
        }
        #expect(assembler.bytesReceived == 100)
    }

    @Test("chunks that contradict themselves are refused and change nothing")
    func inconsistentChunks() throws {
        let base = sender(bytes: 200, chunkBytes: 100)
        var assembler = SnapshotAssembler()
        _ = assembler.receive(try base.chunk(at: 0))
        var pastEnd = try base.chunk(at: 100)
        pastEnd.data += [0]
        var notLast = try base.chunk(at: 100)
        notLast.isLast = false
        var earlyLast = try base.chunk(at: 0)
        earlyLast.isLast = true
        var offsetPastEnd = try base.chunk(at: 100)
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
    func tooLarge() throws {
        var assembler = SnapshotAssembler(maxSnapshotBytes: 150)
        let outcome = assembler.receive(try sender(bytes: 200, chunkBytes: 100).chunk(at: 0))
        #expect(
            outcome
                == .ignored(reason: .tooLarge(totalBytes: 200, maxSnapshotBytes: 150), ack: outcome.ack))
        #expect(assembler.snapshotIndexInProgress == nil)
        #expect(
            assembler.receive(try sender(bytes: 150, chunkBytes: 150).chunk(at: 0)).ack.nextOffset == 150)
    }

    @Test(
        "after completion, a late mid-stream resend is acknowledged as complete; offset 0 delivers again"
    )
    func afterCompletion() throws {
        var sender = sender(bytes: 300, chunkBytes: 100)
        var assembler = SnapshotAssembler()
        var store = StoredSnapshot()
        #expect(try run(&sender, into: &assembler, store: &store).0 == installMessage(bytes: 300))
        let late = assembler.receive(try sender.chunk(at: 100))
        #expect(late == .ignored(reason: .alreadyComplete, ack: late.ack))
        #expect(late.ack.nextOffset == 300)
        #expect(store.take(late) == nil)
        // The leader sending it again from the start means it wants it delivered again: a new
        // store, rebuilt whole.
        var again = StoredSnapshot()
        let restart = assembler.receive(try sender.chunk(at: 0))
        guard case .accepted(let bytes, _) = restart else {
            Issue.record("expected the resend from 0 to be accepted, got \(restart)")
            return
        }
        #expect(bytes.startsSnapshot)
        #expect(again.take(restart) == nil)
        #expect(again.take(assembler.receive(try sender.chunk(at: 100))) == nil)
        let outcome = assembler.receive(try sender.chunk(at: 200))
        #expect(outcome.ack == late.ack)
        #expect(again.take(outcome) == installMessage(bytes: 300))
        #expect(again.data == snapshot(bytes: 300).data)
    }

    @Test("acks for another stream, or past the end, are ignored by the sender")
    func foreignAcks() throws {
        var sender = sender(bytes: 300, chunkBytes: 100)
        _ = try sender.nextChunk()
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

    @Test("a source that fails to read makes nextChunk throw and leaves nextOffset where it was")
    func failingSource() throws {
        let data = snapshot(bytes: 300).data
        let source = RecordingSource(data)
        var sender = SnapshotSender(
            from: 1, to: 4, term: 6, metadata: metadata, source: source, chunkBytes: 100, maxUnacknowledgedChunks: 4)
        #expect(try sender.nextChunk()?.offset == 0)
        source.failing = true
        #expect(throws: RecordingSource.ReadFailed.self) { try sender.nextChunk() }
        #expect(sender.nextOffset == 100)
        #expect(throws: RecordingSource.ReadFailed.self) { try sender.nextChunk() }
        #expect(sender.nextOffset == 100)
        #expect(throws: RecordingSource.ReadFailed.self) { try sender.chunk(at: 0) }
        #expect(!sender.isFinished)

        // Once the source reads again, sending goes on from the same offset and the data arrives whole.
        source.failing = false
        var assembler = SnapshotAssembler()
        var store = StoredSnapshot()
        let first = assembler.receive(try sender.chunk(at: 0))
        _ = store.take(first)
        sender.receive(first.ack)
        let (message, sent) = try run(&sender, into: &assembler, store: &store)
        #expect(sent == 2)
        #expect(message == WireMessage(from: 1, to: 4, term: 6, body: .installSnapshot(snapshot(bytes: 300))))
        #expect(store.data == data)
    }

    @Test("the sender reads only the chunks in its window, never the whole snapshot up front")
    func readsOnlyTheWindow() throws {
        let data = snapshot(bytes: 1_000).data
        let source = RecordingSource(data)
        var sender = SnapshotSender(
            from: 1, to: 4, term: 6, metadata: metadata, source: source, chunkBytes: 100, maxUnacknowledgedChunks: 3)
        #expect(sender.totalBytes == 1_000)
        #expect(source.reads.isEmpty)

        var inFlight: [SnapshotChunk] = []
        while let chunk = try sender.nextChunk() { inFlight.append(chunk) }
        #expect(
            source.reads == [Read(offset: 0, count: 100), Read(offset: 100, count: 100), Read(offset: 200, count: 100)])

        // Each ack lets one more chunk be read; a lost connection re-reads only what was unacked.
        var assembler = SnapshotAssembler()
        var store = StoredSnapshot()
        let outcome = assembler.receive(inFlight[0])
        _ = store.take(outcome)
        sender.receive(outcome.ack)
        #expect(try sender.nextChunk()?.offset == 300)
        #expect(source.reads.count == 4)
        sender.rewind()
        var message: WireMessage?
        while let chunk = try sender.nextChunk() {
            // Every read stays within the window past what the receiver has acknowledged.
            let read = try #require(source.reads.last)
            #expect(read == Read(offset: chunk.offset, count: chunk.data.count))
            #expect(read.offset + UInt64(read.count) - sender.acknowledgedOffset <= 300)
            let outcome = assembler.receive(chunk)
            if let completed = store.take(outcome) { message = completed }
            sender.receive(outcome.ack)
        }
        #expect(message == WireMessage(from: 1, to: 4, term: 6, body: .installSnapshot(snapshot(bytes: 1_000))))
        #expect(store.data == data)
        #expect(source.reads.allSatisfy { $0.count <= 100 })
        #expect(source.reads.dropFirst(4).map(\.offset) == [100, 200, 300, 400, 500, 600, 700, 800, 900])
    }

    @Test("chunks and acks cross real frames: a resumed transfer through two channel pairs")
    func overTheWire() throws {
        var sender = sender(bytes: 50_000, chunkBytes: 4_096, window: 3)
        var assembler = SnapshotAssembler()
        var store = StoredSnapshot()
        var completed: WireMessage?
        for connection in 0..<2 {
            let leader = Fixtures.channel()
            let follower = Fixtures.channel()
            sender.rewind()
            var chunksThisConnection = 0
            pump: while !sender.isFinished {
                while let chunk = try sender.nextChunk() {
                    try leader.writeOutbound(PeerFrame.snapshotChunk(chunk))
                }
                guard let bytes = try leader.readOutbound(as: ByteBuffer.self) else { break }
                try follower.writeInbound(bytes)
                while case .snapshotChunk(let chunk)? = try follower.readInbound(as: PeerFrame.self) {
                    chunksThisConnection += 1
                    let outcome = assembler.receive(chunk)
                    if let message = store.take(outcome) { completed = message }
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
        #expect(store.data == snapshot(bytes: 50_000).data)
        #expect(sender.isFinished)
    }
}

/// Where a test keeps the snapshot being received, as a server keeps it in a file: the
/// assembler's `SnapshotBytes` are written at their offset, and the first bytes of a stream drop
/// whatever was stored before.
private struct StoredSnapshot {
    /// The stored bytes.
    private(set) var data: [UInt8] = []
    /// How many times a stream started over (`startsSnapshot`).
    private(set) var starts = 0

    /// Writes `bytes` at their offset. A write that would leave a hole, or that rewrites stored
    /// bytes with others, is a failure: the assembler must hand over the bytes in order.
    mutating func write(_ bytes: SnapshotBytes) {
        if bytes.startsSnapshot {
            data = []
            starts += 1
        }
        let offset = Int(bytes.offset)
        #expect(offset <= data.count, "a write at \(offset) past the \(data.count) bytes stored leaves a hole")
        if offset > data.count { data += repeatElement(0, count: offset - data.count) }
        let end = offset + bytes.bytes.count
        let overwritten = min(end, data.count) - offset
        if overwritten > 0 {
            #expect(
                data[offset..<offset + overwritten].elementsEqual(bytes.bytes.prefix(overwritten)),
                "stored bytes rewritten with others")
        }
        data.replaceSubrange(offset..<min(end, data.count), with: bytes.bytes)
    }

    /// Does what `outcome` says to the store; on completion returns the InstallSnapshot message
    /// built from the stored data, after checking it is `totalBytes` long.
    mutating func take(_ outcome: SnapshotAssembler.Outcome) -> WireMessage? {
        switch outcome {
        case .accepted(let bytes, _):
            write(bytes)
            return nil
        case .completed(let snapshot, let bytes, _):
            write(bytes)
            #expect(UInt64(data.count) == snapshot.totalBytes)
            return snapshot.message(data: data)
        case .ignored:
            return nil
        }
    }
}

/// One read from a `RecordingSource`.
private struct Read: Equatable {
    var offset: UInt64
    var count: Int
}

/// A `SnapshotSource` that records its reads, and fails them while `failing` is set. The tests
/// touch it from one thread only.
private final class RecordingSource: SnapshotSource, @unchecked Sendable {
    struct ReadFailed: Error {}

    private let data: [UInt8]
    var failing = false
    private(set) var reads: [Read] = []

    init(_ data: [UInt8]) { self.data = data }

    var byteCount: UInt64 { UInt64(data.count) }

    func bytes(at offset: UInt64, count: Int) throws -> [UInt8] {
        if failing { throw ReadFailed() }
        reads.append(Read(offset: offset, count: count))
        return Array(data[Int(offset)..<Int(offset) + count])
    }
}

/// A small seeded generator, so a scrambled order is the same on every run.
private struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
