/// One piece of a Raft InstallSnapshot (§7). A snapshot is never sent whole: `SnapshotSender`
/// cuts its data into chunks and `SnapshotAssembler` puts them back together. Every chunk repeats
/// the snapshot's metadata, so any chunk names the stream it belongs to and a transfer can resume
/// at any offset on a new connection.
public struct SnapshotChunk: Equatable, Hashable, Sendable {
    /// The leader sending the snapshot.
    public var from: UInt64
    /// The follower receiving it.
    public var to: UInt64
    /// The leader's term when it sent the InstallSnapshot.
    public var term: UInt64
    /// The snapshot's metadata: last included index and term, and the membership at that index.
    public var metadata: WireSnapshotMetadata
    /// Length of the whole snapshot's data, in bytes.
    public var totalBytes: UInt64
    /// Where `data` starts within the snapshot's data, in bytes.
    public var offset: UInt64
    /// The bytes `[offset, offset + data.count)` of the snapshot's data.
    public var data: [UInt8]
    /// Whether this chunk ends the snapshot: true exactly when `offset + data.count == totalBytes`.
    public var isLast: Bool

    public init(
        from: UInt64,
        to: UInt64,
        term: UInt64,
        metadata: WireSnapshotMetadata,
        totalBytes: UInt64,
        offset: UInt64,
        data: [UInt8],
        isLast: Bool
    ) {
        self.from = from
        self.to = to
        self.term = term
        self.metadata = metadata
        self.totalBytes = totalBytes
        self.offset = offset
        self.data = data
        self.isLast = isLast
    }
}

/// The receiver's answer to a snapshot chunk: "I hold the bytes before `nextOffset`; send from
/// there". Sent for every chunk, used or not, so a sender always learns where to resume.
public struct SnapshotChunkAck: Equatable, Hashable, Sendable {
    /// The follower receiving the snapshot.
    public var from: UInt64
    /// The leader sending it.
    public var to: UInt64
    /// The term of the chunk being acknowledged (echoed, so the leader can match the stream).
    public var term: UInt64
    /// The snapshot's last included index, naming the stream.
    public var snapshotIndex: UInt64
    /// The first byte of the snapshot's data the receiver still needs; `totalBytes` once complete.
    public var nextOffset: UInt64

    public init(from: UInt64, to: UInt64, term: UInt64, snapshotIndex: UInt64, nextOffset: UInt64) {
        self.from = from
        self.to = to
        self.term = term
        self.snapshotIndex = snapshotIndex
        self.nextOffset = nextOffset
    }
}
