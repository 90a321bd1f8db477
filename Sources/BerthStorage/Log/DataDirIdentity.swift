import BerthRaft
import BerthWire

/// Who a data directory belongs to and which life of it this is, written once, when the
/// directory is created (`raft/identity`), and never changed.
///
/// The incarnation is what lets the cluster tell a server that kept its disk from one that
/// lost it: a lost disk means a new directory, so a new incarnation, and the replicated
/// configuration still names the old one until the server is re-admitted (docs/storage.md,
/// "Disk loss").
public struct DataDirIdentity: Equatable, Sendable {
    /// The node id the directory was created for; 0 when its creator did not say (tests).
    public var nodeID: NodeID
    /// Random, non-zero, chosen at creation.
    public var incarnation: Incarnation

    public init(nodeID: NodeID, incarnation: Incarnation) {
        precondition(incarnation != 0, "incarnations are non-zero")
        self.nodeID = nodeID
        self.incarnation = incarnation
    }

    /// A new identity for `nodeID` with a fresh random incarnation.
    static func fresh(nodeID: NodeID) -> DataDirIdentity {
        DataDirIdentity(nodeID: nodeID, incarnation: UInt64.random(in: 1...UInt64.max))
    }
}

/// The identity file: magic "BIDN" · version u32 = 1 · node id u64 · incarnation u64 ·
/// crc32c u32 of the 24 bytes before it (little-endian, 28 bytes in all).
enum IdentityFile {
    static let magic: [UInt8] = Array("BIDN".utf8)
    static let version: UInt32 = 1
    static let sizeBytes = 28

    static func encode(_ identity: DataDirIdentity) -> [UInt8] {
        var writer = ByteWriter(reservingCapacity: sizeBytes)
        writer.write(magic)
        writer.write(version)
        writer.write(identity.nodeID)
        writer.write(identity.incarnation)
        writer.write(CRC32C.checksum(writer.bytes))
        return writer.bytes
    }

    static func decode(_ bytes: [UInt8], path: String) throws(DurableLogError) -> DataDirIdentity {
        func corrupt(_ reason: String) -> DurableLogError { .corruptIdentity(path: path, reason: reason) }
        guard bytes.count == sizeBytes else { throw corrupt("\(bytes.count) bytes, expected \(sizeBytes)") }
        guard Array(bytes[0..<4]) == magic else { throw corrupt("bad magic") }
        var trailer = ByteReader(bytes[(sizeBytes - 4)...])
        guard trailer.readUInt32() == CRC32C.checksum(bytes[0..<(sizeBytes - 4)]) else {
            throw corrupt("checksum mismatch")
        }
        var reader = ByteReader(bytes[4..<(sizeBytes - 4)])
        guard let fileVersion = reader.readUInt32() else { throw corrupt("truncated") }
        guard fileVersion == version else { throw .unsupportedFormatVersion(path: path, version: fileVersion) }
        guard let node = reader.readUInt64(), let incarnation = reader.readUInt64() else { throw corrupt("truncated") }
        guard incarnation != 0 else { throw corrupt("incarnation 0") }
        return DataDirIdentity(nodeID: node, incarnation: incarnation)
    }
}
