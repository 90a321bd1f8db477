import BerthWire

/// Reads a WAL file's bytes into records and decides what a damaged spot means.
///
/// The rule (docs/storage.md, "Recovery"): records are read in order until the first one that
/// is not whole and valid. If no valid record can be found anywhere after that spot, the damage
/// is a torn tail — the last write of a crashed process, never fsynced, never acknowledged —
/// and the file is cut back to the last whole record. If a valid record does follow, the damage
/// is in the middle of acknowledged data and opening fails with `corruptRecord`: dropping what
/// follows would silently lose entries.
struct WALScanner {
    /// A record read from the file and the byte offset of its frame.
    struct Located: Equatable {
        var offset: Int
        var record: WALRecord
    }

    /// What scanning found.
    struct Result {
        var records: [Located]
        /// Bytes from the start of the file through the last whole record.
        var validBytes: Int
        /// The damaged tail to cut off, if any.
        var tornTail: TornTail?
    }

    let path: String
    let bytes: [UInt8]

    /// Whether a whole, checksummed frame of a known type starts at `offset`, and its body.
    private enum Frame {
        case valid(body: ArraySlice<UInt8>, end: Int)
        /// Too few bytes left for the header, or a length that runs past the end of the file.
        case incomplete
        /// A length of zero or over the limit, an unknown type, or a checksum mismatch.
        case damaged
    }

    private func frame(at offset: Int) -> Frame {
        var reader = ByteReader(bytes[offset...])
        guard let length = reader.readUInt32(), let crc = reader.readUInt32() else {
            return .incomplete
        }
        guard length >= 1, Int(length) <= WALFormat.maxRecordBytes else { return .damaged }
        guard let body = reader.readBytes(Int(length)) else { return .incomplete }
        guard WALFormat.RecordType(rawValue: body[body.startIndex]) != nil else { return .damaged }
        guard CRC32C.checksum(body) == crc else { return .damaged }
        return .valid(body: body, end: offset + WALFormat.frameHeaderBytes + Int(length))
    }

    /// The offset of the first valid frame strictly after `offset`, if any.
    private func nextValidFrame(after offset: Int) -> Int? {
        var candidate = offset + 1
        while candidate + WALFormat.frameHeaderBytes < bytes.count {
            if case .valid = frame(at: candidate) { return candidate }
            candidate += 1
        }
        return nil
    }

    func scan() throws(DurableLogError) -> Result {
        guard bytes.count >= WALFormat.fileHeaderBytes,
            Array(bytes[0..<WALFormat.magic.count]) == WALFormat.magic
        else { throw .badWALHeader(path: path) }
        var header = ByteReader(bytes[WALFormat.magic.count..<WALFormat.fileHeaderBytes])
        let version = header.readUInt32() ?? 0
        guard version == WALFormat.version else {
            throw .unsupportedFormatVersion(path: path, version: version)
        }

        var records: [Located] = []
        var offset = WALFormat.fileHeaderBytes
        while offset < bytes.count {
            switch frame(at: offset) {
            case .valid(let body, let end):
                guard let record = WALFormat.decode(body: body) else {
                    throw .invalidRecord(
                        path: path, offset: offset, reason: "checksum matches but the payload does not decode")
                }
                records.append(Located(offset: offset, record: record))
                offset = end
            case .incomplete, .damaged:
                if let next = nextValidFrame(after: offset) {
                    throw .corruptRecord(path: path, offset: offset, nextValidOffset: next)
                }
                return Result(
                    records: records, validBytes: offset,
                    tornTail: TornTail(
                        offset: offset, droppedBytes: bytes.count - offset, reason: tailReason(at: offset)))
            }
        }
        return Result(records: records, validBytes: offset, tornTail: nil)
    }

    private func tailReason(at offset: Int) -> TornTail.Reason {
        if bytes[offset...].allSatisfy({ $0 == 0 }) { return .trailingZeros }
        if case .incomplete = frame(at: offset) { return .partialRecord }
        return .checksumMismatch
    }
}

/// A damaged end of the WAL that recovery cut off: the unacknowledged last write of a crash.
public struct TornTail: Equatable, Sendable {
    /// Why the tail was judged torn.
    public enum Reason: String, Equatable, Sendable {
        /// The last record's header or body runs past the end of the file.
        case partialRecord = "partial_record"
        /// The last record is whole but its checksum (or length or type) is wrong.
        case checksumMismatch = "checksum_mismatch"
        /// The file ends in zero bytes (space allocated, data never written).
        case trailingZeros = "trailing_zeros"
    }

    /// Byte offset where the file was cut (the end of the last whole record).
    public var offset: Int
    /// How many bytes were dropped.
    public var droppedBytes: Int
    public var reason: Reason
}
