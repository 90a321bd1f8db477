/// Cuts one Raft InstallSnapshot into `SnapshotChunk`s and tracks how far the receiver has got,
/// so a transfer survives a broken connection (docs/wire-protocol.md §6). Pure: it neither sends
/// nor waits; its owner puts the chunks it returns on the wire and feeds it the acks that come back.
///
/// The usual loop: `while let chunk = try sender.nextChunk() { send(chunk) }`; on every ack,
/// `sender.receive(ack)` and loop again; on a new connection, `sender.rewind()` and loop again;
/// stop when `isFinished`, then wait for the follower's Raft answer (an appendEntriesResponse).
public struct SnapshotSender: Sendable {
    /// The default chunk size: 1 MiB of snapshot data per frame.
    public static let defaultChunkBytes = 1 << 20
    /// The default window: chunks sent but not yet acknowledged.
    public static let defaultMaxUnacknowledgedChunks = 4

    /// The leader sending the snapshot.
    public let from: UInt64
    /// The follower receiving it.
    public let to: UInt64
    /// The leader's term when the core asked for the InstallSnapshot.
    public let term: UInt64
    /// What is being sent: the snapshot's metadata, and where its bytes are read from.
    public let metadata: WireSnapshotMetadata
    public let source: any SnapshotSource
    /// WireSnapshot data per chunk, in bytes.
    public let chunkBytes: Int
    /// At most this many chunks' worth of bytes are in flight beyond the acknowledged offset.
    public let maxUnacknowledgedChunks: Int

    /// The first byte the next chunk carries.
    public private(set) var nextOffset: UInt64 = 0
    /// The receiver has acknowledged every byte before this.
    public private(set) var acknowledgedOffset: UInt64 = 0
    /// Whether the receiver has acknowledged the whole snapshot.
    public private(set) var isFinished = false
    /// Whether the chunk with `isLast` has been handed out since the last rewind.
    private var sentLast = false

    /// - Parameters:
    ///   - chunkBytes: snapshot data per chunk, ≥ 1; keep it well under the peer's frame limit
    ///     (a chunk frame adds 85 bytes plus 16 per member to the data).
    ///   - maxUnacknowledgedChunks: the send window, ≥ 1.
    public init(
        from: UInt64,
        to: UInt64,
        term: UInt64,
        metadata: WireSnapshotMetadata,
        source: any SnapshotSource,
        chunkBytes: Int = SnapshotSender.defaultChunkBytes,
        maxUnacknowledgedChunks: Int = SnapshotSender.defaultMaxUnacknowledgedChunks
    ) {
        precondition(chunkBytes >= 1, "a chunk carries at least one byte")
        precondition(maxUnacknowledgedChunks >= 1, "the window holds at least one chunk")
        self.from = from
        self.to = to
        self.term = term
        self.metadata = metadata
        self.source = source
        self.chunkBytes = chunkBytes
        self.maxUnacknowledgedChunks = maxUnacknowledgedChunks
    }

    /// A sender for a core message whose body is `.installSnapshot`; nil for any other message.
    public init?(
        message: WireMessage,
        chunkBytes: Int = SnapshotSender.defaultChunkBytes,
        maxUnacknowledgedChunks: Int = SnapshotSender.defaultMaxUnacknowledgedChunks
    ) {
        guard case .installSnapshot(let snapshot) = message.body else { return nil }
        self.init(
            from: message.from,
            to: message.to,
            term: message.term,
            metadata: snapshot.metadata,
            source: snapshot.data,
            chunkBytes: chunkBytes,
            maxUnacknowledgedChunks: maxUnacknowledgedChunks
        )
    }

    /// Length of the snapshot's data, in bytes.
    public var totalBytes: UInt64 { source.byteCount }

    /// The next chunk to send, or nil when everything is sent or the window is full (wait for an
    /// ack). Advances `nextOffset`. Throws what reading the source threw.
    public mutating func nextChunk() throws -> SnapshotChunk? {
        guard !isFinished, !sentLast else { return nil }
        let (window, overflow) = UInt64(chunkBytes).multipliedReportingOverflow(by: UInt64(maxUnacknowledgedChunks))
        guard overflow || nextOffset - acknowledgedOffset < window else { return nil }
        let chunk = try self.chunk(at: nextOffset)
        nextOffset += UInt64(chunk.data.count)
        sentLast = chunk.isLast
        return chunk
    }

    /// The chunk that starts at `offset` (≤ `totalBytes`), whatever has been sent. An empty
    /// snapshot is one empty chunk with `isLast` set.
    public func chunk(at offset: UInt64) throws -> SnapshotChunk {
        precondition(
            offset <= totalBytes, "offset \(offset) is past the snapshot's \(totalBytes) bytes")
        let count = Int(min(UInt64(chunkBytes), totalBytes - offset))
        let data = try source.bytes(at: offset, count: count)
        return SnapshotChunk(
            from: from,
            to: to,
            term: term,
            metadata: metadata,
            totalBytes: totalBytes,
            offset: offset,
            data: data,
            isLast: offset + UInt64(count) == totalBytes
        )
    }

    /// What an ack did to the sender.
    public enum AckOutcome: Equatable, Hashable, Sendable {
        /// Not for this stream (other nodes, term or snapshot index), or an offset past the end: ignored.
        case ignored
        /// The receiver holds more; the window moved on.
        case progressed
        /// The receiver holds less than it once acknowledged (it lost its partial snapshot):
        /// sending starts again from its offset.
        case rewound
        /// The receiver holds the whole snapshot; nothing more to send.
        case finished
    }

    /// Takes the receiver's ack into account. The receiver is the authority on what it holds: its
    /// `nextOffset` becomes the acknowledged offset, and sending moves on from there if it is
    /// ahead of what was sent.
    @discardableResult
    public mutating func receive(_ ack: SnapshotChunkAck) -> AckOutcome {
        guard ack.from == to, ack.to == from, ack.term == term, ack.snapshotIndex == metadata.index,
            ack.nextOffset <= totalBytes, !isFinished
        else { return .ignored }
        // An ack of the whole snapshot is only sent once the receiver has assembled it (for an
        // empty snapshot too: the receiver acks 0 of 0 only after taking the single chunk).
        if ack.nextOffset == totalBytes && (sentLast || totalBytes > 0) {
            acknowledgedOffset = totalBytes
            nextOffset = totalBytes
            isFinished = true
            return .finished
        }
        if ack.nextOffset < acknowledgedOffset {
            acknowledgedOffset = ack.nextOffset
            nextOffset = ack.nextOffset
            sentLast = false
            return .rewound
        }
        acknowledgedOffset = ack.nextOffset
        if ack.nextOffset > nextOffset {
            nextOffset = ack.nextOffset
            sentLast = false
        }
        return .progressed
    }

    /// Forgets what was sent but not acknowledged; call on a new connection. The next chunk starts
    /// at `acknowledgedOffset`, and the receiver's first ack corrects it if it holds more or less.
    public mutating func rewind() {
        guard !isFinished else { return }
        nextOffset = acknowledgedOffset
        sentLast = false
    }
}

/// Where a `SnapshotSender` reads a snapshot's bytes: memory, or (for a server) the file the
/// state was copied to, read a chunk at a time so a large snapshot never sits in memory whole.
public protocol SnapshotSource: Sendable {
    /// Length of the data, in bytes.
    var byteCount: UInt64 { get }
    /// `count` bytes from `offset` (both within the data).
    func bytes(at offset: UInt64, count: Int) throws -> [UInt8]
}

extension Array: SnapshotSource where Element == UInt8 {
    public var byteCount: UInt64 { UInt64(count) }

    public func bytes(at offset: UInt64, count: Int) throws -> [UInt8] {
        Array(self[Int(offset)..<Int(offset) + count])
    }
}
