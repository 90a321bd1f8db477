import BerthRaft
import BerthWire

/// One record of the write-ahead log. On disk each is framed as
/// `[length u32][crc32c u32][type u8][payload]` (little-endian; `length` counts the type byte
/// and the payload; the CRC covers the same bytes). See docs/storage.md.
enum WALRecord: Equatable {
    /// Replaces the hard state (term, vote, commit).
    case hardState(HardState)
    /// One log entry. An index at or below the log's current last index truncates the log
    /// from that index first (a leader overwrote a conflicting suffix).
    case entry(Entry)
    /// The log restarts here: the base snapshot is now `snapshot`, and the log holds nothing
    /// after `logStart` (the entries that follow in the file fill it again).
    case snapshotMarker(SnapshotMarker)
}

/// Where the log stands relative to its snapshot: written first in every WAL file, and again
/// each time a follower installs a snapshot from its leader.
struct SnapshotMarker: Equatable {
    /// The snapshot's last included index, and its term: names the snapshot file.
    var snapshotIndex: LogIndex
    var snapshotTerm: Term
    /// The index just before the first entry kept in the log (≤ `snapshotIndex`: compaction
    /// keeps a tail of entries the snapshot also covers), and its term.
    var logStartIndex: LogIndex
    var logStartTerm: Term
}

/// The byte layout of the WAL file and its records.
enum WALFormat {
    /// The file starts with these 8 bytes, then the format version (u32).
    static let magic: [UInt8] = Array("BERTHWAL".utf8)
    /// 2: membership changes carry incarnations. Version 1 files are refused.
    static let version: UInt32 = 2
    /// Magic plus version.
    static let fileHeaderBytes = 12
    /// `length` plus `crc32c`.
    static let frameHeaderBytes = 8
    /// The largest `length` a record may claim; anything larger is damage, not data.
    static let maxRecordBytes = 64 << 20

    enum RecordType: UInt8 {
        case hardState = 1
        case entry = 2
        case snapshotMarker = 3
    }

    /// Entry payload kinds inside an entry record.
    enum PayloadKind: UInt8 {
        case empty = 0
        case command = 1
        case configChange = 2
    }

    /// Configuration change kinds inside a `configChange` payload.
    enum ChangeKind: UInt8 {
        case addLearner = 1
        case promote = 2
        case remove = 3
        case rejoin = 4
    }

    static func fileHeader() -> [UInt8] {
        var writer = ByteWriter(reservingCapacity: fileHeaderBytes)
        writer.write(magic)
        writer.write(version)
        return writer.bytes
    }

    /// Appends the framed record to `writer`.
    static func append(_ record: WALRecord, to writer: inout ByteWriter) {
        var body = ByteWriter(reservingCapacity: 64)
        switch record {
        case .hardState(let state):
            body.write(RecordType.hardState.rawValue)
            body.write(state.term)
            body.write(state.vote)
            body.write(state.commit)
        case .entry(let entry):
            body.write(RecordType.entry.rawValue)
            body.write(entry.term)
            body.write(entry.index)
            switch entry.payload {
            case .empty:
                body.write(PayloadKind.empty.rawValue)
            case .command(let bytes):
                body.write(PayloadKind.command.rawValue)
                body.write(bytes)
            case .configChange(let change):
                body.write(PayloadKind.configChange.rawValue)
                switch change {
                case .addLearner(let id, let incarnation):
                    body.write(ChangeKind.addLearner.rawValue)
                    body.write(id)
                    body.write(incarnation)
                case .rejoin(let id, let incarnation):
                    body.write(ChangeKind.rejoin.rawValue)
                    body.write(id)
                    body.write(incarnation)
                case .promote(let id):
                    body.write(ChangeKind.promote.rawValue)
                    body.write(id)
                case .remove(let id):
                    body.write(ChangeKind.remove.rawValue)
                    body.write(id)
                }
            }
        case .snapshotMarker(let marker):
            body.write(RecordType.snapshotMarker.rawValue)
            body.write(marker.snapshotIndex)
            body.write(marker.snapshotTerm)
            body.write(marker.logStartIndex)
            body.write(marker.logStartTerm)
        }
        writer.write(UInt32(body.bytes.count))
        writer.write(CRC32C.checksum(body.bytes))
        writer.write(body.bytes)
    }

    /// Decodes a record body (type byte and payload) whose checksum already matched; nil when
    /// the structure is wrong.
    static func decode(body: ArraySlice<UInt8>) -> WALRecord? {
        var reader = ByteReader(body)
        guard let rawType = reader.readUInt8(), let type = RecordType(rawValue: rawType) else {
            return nil
        }
        switch type {
        case .hardState:
            guard let term = reader.readUInt64(), let vote = reader.readUInt64(),
                let commit = reader.readUInt64(),
                reader.remaining == 0
            else { return nil }
            return .hardState(HardState(term: term, vote: vote, commit: commit))
        case .entry:
            guard let term = reader.readUInt64(), let index = reader.readUInt64(),
                let rawKind = reader.readUInt8(), let kind = PayloadKind(rawValue: rawKind)
            else { return nil }
            let payload: EntryPayload
            switch kind {
            case .empty:
                guard reader.remaining == 0 else { return nil }
                payload = .empty
            case .command:
                payload = .command(Array(reader.readRest()))
            case .configChange:
                guard let rawChange = reader.readUInt8(), let change = ChangeKind(rawValue: rawChange),
                    let node = reader.readUInt64()
                else { return nil }
                switch change {
                case .addLearner, .rejoin:
                    guard let incarnation = reader.readUInt64(), incarnation != 0, reader.remaining == 0 else {
                        return nil
                    }
                    payload = .configChange(
                        change == .addLearner
                            ? .addLearner(node, incarnation: incarnation) : .rejoin(node, incarnation: incarnation))
                case .promote, .remove:
                    guard reader.remaining == 0 else { return nil }
                    payload = .configChange(change == .promote ? .promote(node) : .remove(node))
                }
            }
            return .entry(Entry(term: term, index: index, payload: payload))
        case .snapshotMarker:
            guard let snapshotIndex = reader.readUInt64(), let snapshotTerm = reader.readUInt64(),
                let startIndex = reader.readUInt64(), let startTerm = reader.readUInt64(),
                reader.remaining == 0
            else { return nil }
            return .snapshotMarker(
                SnapshotMarker(
                    snapshotIndex: snapshotIndex, snapshotTerm: snapshotTerm, logStartIndex: startIndex,
                    logStartTerm: startTerm))
        }
    }
}
