/// Puts `SnapshotChunk`s back into one Raft InstallSnapshot (docs/wire-protocol.md §6). Pure: it
/// returns what to do — store these bytes at this offset, step the snapshot into the core, send
/// an ack — and its owner does it.
///
/// It holds no snapshot data itself, only how far the stream got: the owner writes each chunk's
/// new bytes where it keeps the snapshot (a file, for a server), so memory is bounded by the
/// chunks in flight, not by the snapshot's size. One assembler per sending peer, kept across
/// reconnections so a transfer resumes where it broke. Chunks are taken strictly in order;
/// anything else is answered with an ack naming the offset wanted, so the sender can put it
/// right.
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
        /// How many of its bytes the owner has stored: the bytes `[0, received)`.
        var received: UInt64
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

    /// Bytes stored of the snapshot in progress: the offset the next chunk must start at.
    public var bytesReceived: UInt64 { partial?.received ?? 0 }

    /// What a chunk did, and what to send back.
    public enum Outcome: Equatable, Sendable {
        /// The chunk extended the snapshot: store `store`, then send `ack`.
        case accepted(store: SnapshotBytes, ack: SnapshotChunkAck)
        /// The chunk completed the snapshot: store `store`, make the whole durable, step
        /// `snapshot` into the Raft core with the stored data, and send `ack` (its `nextOffset`
        /// is the total size) so the sender stops.
        case completed(snapshot: AssembledSnapshot, store: SnapshotBytes, ack: SnapshotChunkAck)
        /// The chunk was not used, for `reason`; send `ack` so the sender resumes where it names.
        case ignored(reason: ChunkRejection, ack: SnapshotChunkAck)

        /// The ack to send back, whatever happened.
        public var ack: SnapshotChunkAck {
            switch self {
            case .accepted(_, let ack), .completed(_, _, let ack), .ignored(_, let ack): return ack
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
            partial = Partial(stream: stream, received: 0)
        }

        let expected = partial!.received
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
        let store = SnapshotBytes(
            startsSnapshot: expected == 0, offset: expected, bytes: chunk.data[Int(expected - chunk.offset)...])
        partial!.received = end

        guard chunk.isLast else { return .accepted(store: store, ack: ack(for: chunk, nextOffset: end)) }
        partial = nil
        completed = stream
        let snapshot = AssembledSnapshot(
            from: chunk.from, to: chunk.to, term: chunk.term, metadata: stream.metadata, totalBytes: chunk.totalBytes)
        return .completed(snapshot: snapshot, store: store, ack: ack(for: chunk, nextOffset: chunk.totalBytes))
    }

    /// Drops any partial snapshot (for example when the node restores one by other means).
    public mutating func reset() {
        partial = nil
        completed = nil
    }

    /// The offset wanted next if `stream` is the one in progress.
    private func expectedOffset(for stream: StreamID) -> UInt64? {
        guard let partial, partial.stream == stream else { return nil }
        return partial.received
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

/// Bytes of a snapshot for the assembler's owner to store.
public struct SnapshotBytes: Equatable, Sendable {
    /// These are the first bytes of a snapshot: drop whatever partial snapshot was stored from
    /// this peer and start over.
    public var startsSnapshot: Bool
    /// Where in the snapshot's data they go.
    public var offset: UInt64
    public var bytes: ArraySlice<UInt8>

    public init(startsSnapshot: Bool, offset: UInt64, bytes: ArraySlice<UInt8>) {
        self.startsSnapshot = startsSnapshot
        self.offset = offset
        self.bytes = bytes
    }
}

/// A snapshot whose bytes have all been stored: what the InstallSnapshot message carries but its
/// data, which the owner holds.
public struct AssembledSnapshot: Equatable, Sendable {
    public var from: UInt64
    public var to: UInt64
    public var term: UInt64
    public var metadata: WireSnapshotMetadata
    /// Length of the stored data.
    public var totalBytes: UInt64

    public init(from: UInt64, to: UInt64, term: UInt64, metadata: WireSnapshotMetadata, totalBytes: UInt64) {
        self.from = from
        self.to = to
        self.term = term
        self.metadata = metadata
        self.totalBytes = totalBytes
    }

    /// The InstallSnapshot message, with `data` standing for the stored bytes.
    public func message(data: [UInt8]) -> WireMessage {
        WireMessage(
            from: from, to: to, term: term, body: .installSnapshot(WireSnapshot(metadata: metadata, data: data)))
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
