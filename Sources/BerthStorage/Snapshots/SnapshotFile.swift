import BerthRaft
import BerthWire

/// The on-disk form of a Raft snapshot: one file per snapshot, named for its index and term,
/// checksummed whole.
///
/// Layout (little-endian): magic "BSNP" · version u32 = 2 · index u64 · term u64 · voter count
/// u32 · (voter id u64, incarnation u64)… (ascending ids) · learner count u32 · (learner id u64,
/// incarnation u64)… (ascending ids) · data length u64 · data · crc32c u32 of every byte before it.
enum SnapshotFile {
    static let magic: [UInt8] = Array("BSNP".utf8)
    /// 2: members carry incarnations. Version 1 files are refused.
    static let version: UInt32 = 2
    static let fileExtension = ".snap"

    /// `<index>-<term>.snap`, both as 16 hex digits, so names sort by index.
    static func fileName(index: LogIndex, term: Term) -> String {
        hex16(index) + "-" + hex16(term) + fileExtension
    }

    /// The (index, term) a file name stands for, or nil for names that are not snapshots.
    static func parse(fileName name: String) -> (index: LogIndex, term: Term)? {
        guard name.hasSuffix(fileExtension) else { return nil }
        let parts = name.dropLast(fileExtension.count).split(separator: "-")
        guard parts.count == 2, parts[0].count == 16, parts[1].count == 16,
            let index = UInt64(parts[0], radix: 16), let term = UInt64(parts[1], radix: 16)
        else { return nil }
        return (index, term)
    }

    private static func hex16(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    static func encode(_ snapshot: Snapshot) -> [UInt8] {
        let configuration = snapshot.metadata.configuration
        var writer = ByteWriter(reservingCapacity: 64 + snapshot.data.count)
        writer.write(magic)
        writer.write(version)
        writer.write(snapshot.metadata.index)
        writer.write(snapshot.metadata.term)
        for group in [configuration.voters, configuration.learners] {
            writer.write(UInt32(group.count))
            for id in group.sorted() {
                writer.write(id)
                writer.write(configuration.incarnation(of: id) ?? .initial)
            }
        }
        writer.write(UInt64(snapshot.data.count))
        writer.write(snapshot.data)
        writer.write(CRC32C.checksum(writer.bytes))
        return writer.bytes
    }

    static func decode(_ bytes: [UInt8], path: String) throws(DurableLogError) -> Snapshot {
        func corrupt(_ reason: String) -> DurableLogError {
            .corruptSnapshot(path: path, reason: reason)
        }
        guard bytes.count >= magic.count + 4 + 4 else {
            throw corrupt("file too short (\(bytes.count) bytes)")
        }
        guard Array(bytes[0..<magic.count]) == magic else { throw corrupt("bad magic") }
        let body = bytes[0..<(bytes.count - 4)]
        var trailer = ByteReader(bytes[(bytes.count - 4)...])
        let stored = trailer.readUInt32() ?? 0
        let computed = CRC32C.checksum(body)
        guard stored == computed else {
            throw corrupt("checksum mismatch (stored \(hex(stored)), computed \(hex(computed)))")
        }
        var reader = ByteReader(body)
        _ = reader.readBytes(magic.count)
        guard let fileVersion = reader.readUInt32() else { throw corrupt("truncated header") }
        guard fileVersion == version else {
            throw .unsupportedFormatVersion(path: path, version: fileVersion)
        }
        guard let index = reader.readUInt64(), let term = reader.readUInt64() else {
            throw corrupt("truncated header")
        }
        var incarnations: [NodeID: Incarnation] = [:]
        func readMembers() -> Set<NodeID>? {
            guard let count = reader.readUInt32(), Int(count) <= reader.remaining / 16 else { return nil }
            var ids = Set<NodeID>()
            for _ in 0..<count {
                guard let id = reader.readUInt64(), let incarnation = reader.readUInt64(), incarnation != 0,
                    incarnations.updateValue(incarnation, forKey: id) == nil
                else { return nil }
                ids.insert(id)
            }
            return ids
        }
        guard let voters = readMembers(), let learners = readMembers() else {
            throw corrupt("bad configuration")
        }
        guard let length = reader.readUInt64(), length == UInt64(reader.remaining),
            let data = reader.readBytes(Int(length))
        else { throw corrupt("data length does not match the file size") }
        return Snapshot(
            metadata: SnapshotMetadata(
                index: index, term: term,
                configuration: Configuration(voters: voters, learners: learners, incarnations: incarnations)),
            data: Array(data))
    }

    private static func hex(_ value: UInt32) -> String { "0x" + String(value, radix: 16) }
}
