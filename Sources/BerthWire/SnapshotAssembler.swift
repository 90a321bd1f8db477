/// Puts `SnapshotChunk`s back into one Raft InstallSnapshot (docs/wire-protocol.md §6). Pure: it
/// returns what to do — step a message into the core, send an ack — and its owner does it.
///
/// One assembler per peer connection's receiving side, kept across reconnections so a transfer
/// resumes where it broke. Chunks are taken strictly in order; anything else is answered with an
/// ack naming the offset wanted, so the sender can put it right.
public struct SnapshotAssembler: Equatable, Sendable {
    /// The default bound on a snapshot's total size, in bytes: 4 GiB.
    public static let defaultMaxSnapshotBytes: UInt64 = 4 << 30

    /// Snapshots whose `totalBytes` exceed this are refused before any of their data is kept.
    public let maxSnapshotBytes: UInt64

    /// What makes two chunks parts of the same snapshot.
    private struct StreamID: Equatable, Sendable {
        var from: UInt64
        var to: UInt64
        var term: UInt64
        var metadata: WireSnapshotMetadata
        var totalBytes: UInt64

        init(_ chunk: SnapshotChunk) {
            from = chunk.from
            to = chunk.to
            term = chunk.term
            metadata = chunk.metadata
            totalBytes = chunk.totalBytes
        }
    }

    /// A snapshot being put together.
    private struct Partial: Equatable, Sendable {
        /// Which snapshot.
        var stream: StreamID
        /// Its data received so far: the bytes `[0, data.count)`.
        var data: [UInt8]
    }

    /// The snapshot being put together, if any.
    private var partial: Partial?
    /// The last snapshot completed, so late resends of it are acknowledged, not assembled again.
    private var completed: StreamID?

    public init(maxSnapshotBytes: UInt64 = SnapshotAssembler.defaultMaxSnapshotBytes) {
        self.maxSnapshotBytes = maxSnapshotBytes
    }

    /// The snapshot index being assembled, or nil when none is in progress.
    public var snapshotIndexInProgress: UInt64? { partial?.stream.metadata.index }

    /// Bytes held of the snapshot in progress: the offset the next chunk must start at.
    public var bytesReceived: UInt64 { UInt64(partial?.data.count ?? 0) }

    /// What a chunk did, and what to send back.
    public enum Outcome: Equatable, Sendable {
        /// The chunk extended the snapshot; send `ack`.
        case accepted(ack: SnapshotChunkAck)
        /// The chunk completed the snapshot: step `message` (an InstallSnapshot) into the Raft core,
        /// and send `ack` (its `nextOffset` is the total size) so the sender stops.
        case completed(message: WireMessage, ack: SnapshotChunkAck)
        /// The chunk was not used, for `reason`; send `ack` so the sender resumes where it names.
        case ignored(reason: ChunkRejection, ack: SnapshotChunkAck)

        /// The ack to send back, whatever happened.
        public var ack: SnapshotChunkAck {
            switch self {
            case .accepted(let ack), .completed(_, let ack), .ignored(_, let ack): return ack
            }
        }
    }

    /// Takes one chunk.
    ///
    /// - A chunk at offset 0 of a snapshot other than the one in progress starts that snapshot over
    ///   (the partial one is dropped).
    /// - A chunk at the expected offset is appended; one that overlaps it contributes only its
    ///   new bytes.
    /// - Everything else is ignored with a reason and an ack naming the offset wanted.
    public mutating func receive(_ chunk: SnapshotChunk) -> Outcome {
        let stream = StreamID(chunk)
        let count = UInt64(chunk.data.count)

        guard chunk.totalBytes <= maxSnapshotBytes else {
            return .ignored(
                reason: .tooLarge(totalBytes: chunk.totalBytes, maxSnapshotBytes: maxSnapshotBytes),
                ack: ack(for: chunk, nextOffset: expectedOffset(for: stream) ?? 0)
            )
        }
        guard chunk.offset <= chunk.totalBytes, count <= chunk.totalBytes - chunk.offset,
            chunk.isLast == (chunk.offset + count == chunk.totalBytes)
        else {
            return .ignored(
                reason: .inconsistent(offset: chunk.offset, dataBytes: count, totalBytes: chunk.totalBytes),
                ack: ack(for: chunk, nextOffset: expectedOffset(for: stream) ?? 0)
            )
        }
        if partial?.stream != stream {
            guard chunk.offset == 0 else {
                if completed == stream {
                    return .ignored(reason: .alreadyComplete, ack: ack(for: chunk, nextOffset: chunk.totalBytes))
                }
                return .ignored(reason: .unknownSnapshot(offset: chunk.offset), ack: ack(for: chunk, nextOffset: 0))
            }
            // Offset 0 starts a transfer, even of the snapshot last completed: the sender starts
            // from 0 only when it wants the snapshot delivered (again), and a repeat is harmless
            // to the core, while ignoring it could leave the leader waiting forever.
            partial = Partial(stream: stream, data: [])
        }

        let expected = UInt64(partial!.data.count)
        guard chunk.offset <= expected else {
            return .ignored(
                reason: .gap(offset: chunk.offset, expected: expected),
                ack: ack(for: chunk, nextOffset: expected)
            )
        }
        let end = chunk.offset + count
        // A chunk must bring new bytes, except the single empty chunk of an empty snapshot.
        guard end > expected || chunk.totalBytes == 0 else {
            return .ignored(
                reason: .duplicate(offset: chunk.offset, expected: expected),
                ack: ack(for: chunk, nextOffset: expected)
            )
        }
        partial!.data.append(contentsOf: chunk.data[Int(expected - chunk.offset)...])

        guard chunk.isLast else { return .accepted(ack: ack(for: chunk, nextOffset: end)) }
        let snapshot = WireSnapshot(metadata: stream.metadata, data: partial!.data)
        assert(snapshot.data.count == Int(chunk.totalBytes), "the last chunk ends at the total size")
        partial = nil
        completed = stream
        let message = WireMessage(from: chunk.from, to: chunk.to, term: chunk.term, body: .installSnapshot(snapshot))
        return .completed(message: message, ack: ack(for: chunk, nextOffset: chunk.totalBytes))
    }

    /// Drops any partial snapshot (for example when the node restores one by other means).
    public mutating func reset() {
        partial = nil
        completed = nil
    }

    /// The offset wanted next if `stream` is the one in progress.
    private func expectedOffset(for stream: StreamID) -> UInt64? {
        guard let partial, partial.stream == stream else { return nil }
        return UInt64(partial.data.count)
    }

    private func ack(for chunk: SnapshotChunk, nextOffset: UInt64) -> SnapshotChunkAck {
        SnapshotChunkAck(
            from: chunk.to,
            to: chunk.from,
            term: chunk.term,
            snapshotIndex: chunk.metadata.index,
            nextOffset: nextOffset
        )
    }
}

/// Why a snapshot chunk was not used.
public enum ChunkRejection: Equatable, Hashable, Sendable {
    /// Every byte of the chunk is already held (a resend after a reconnect); `expected` is wanted.
    case duplicate(offset: UInt64, expected: UInt64)
    /// The chunk starts past `expected`: something in between was lost.
    case gap(offset: UInt64, expected: UInt64)
    /// The chunk is mid-stream (not offset 0) of a snapshot not in progress here; send from 0.
    case unknownSnapshot(offset: UInt64)
    /// The chunk contradicts itself: its bytes run past `totalBytes`, or `isLast` does not say
    /// whether they reach it.
    case inconsistent(offset: UInt64, dataBytes: UInt64, totalBytes: UInt64)
    /// The snapshot is larger than this receiver accepts.
    case tooLarge(totalBytes: UInt64, maxSnapshotBytes: UInt64)
    /// The snapshot was already assembled and handed over; this is a late resend of part of it.
    case alreadyComplete
}
