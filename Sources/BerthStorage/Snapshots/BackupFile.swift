import BerthRaft
import BerthWire
import Foundation

/// A whole-cluster backup (`berth snapshot save`): one consistent copy of the state machine,
/// taken through the leader, with where it stands in the log and a checksum.
///
/// Format (little-endian): magic `BBAK` · version u32 = 1 · applied index u64 · applied term u64 ·
/// created at (ms since the Unix epoch) u64 · cluster id length u32, cluster id (UTF-8) · payload
/// length u64, payload (an SQLite database, as `StateStore.snapshotData()` makes it) · crc32c u32
/// of every byte before it.
public struct BackupFile: Equatable, Sendable {
    public static let magic: [UInt8] = Array("BBAK".utf8)
    public static let version: UInt32 = 1

    public var applied: AppliedPosition
    public var clusterID: String
    public var createdAtMs: UInt64
    /// The state database.
    public var payload: [UInt8]

    public init(applied: AppliedPosition, clusterID: String, createdAtMs: UInt64, payload: [UInt8]) {
        self.applied = applied
        self.clusterID = clusterID
        self.createdAtMs = createdAtMs
        self.payload = payload
    }

    public func encode() -> [UInt8] {
        var writer = ByteWriter(reservingCapacity: payload.count + 64 + clusterID.utf8.count)
        writer.write(Self.magic)
        writer.write(Self.version)
        writer.write(applied.index)
        writer.write(applied.term)
        writer.write(createdAtMs)
        writer.write(UInt32(clusterID.utf8.count))
        writer.write(Array(clusterID.utf8))
        writer.write(UInt64(payload.count))
        writer.write(payload)
        writer.write(CRC32C.checksum(writer.bytes))
        return writer.bytes
    }

    /// Decodes and verifies a backup: its magic, version, structure and checksum.
    public static func decode(_ bytes: [UInt8]) throws(BackupError) -> BackupFile {
        guard bytes.count >= 4 + 4 + 24 + 4 + 8 + 4 else { throw .corrupt(reason: "\(bytes.count) bytes: too short") }
        guard Array(bytes[0..<4]) == magic else { throw .corrupt(reason: "not a Berth backup (bad magic)") }
        var trailer = ByteReader(bytes[(bytes.count - 4)...])
        let stored = trailer.readUInt32() ?? 0
        let computed = CRC32C.checksum(bytes[0..<(bytes.count - 4)])
        guard stored == computed else {
            throw .checksumMismatch(stored: stored, computed: computed)
        }
        var reader = ByteReader(bytes[4..<(bytes.count - 4)])
        guard let fileVersion = reader.readUInt32() else { throw .corrupt(reason: "truncated") }
        guard fileVersion == version else { throw .unsupportedVersion(fileVersion) }
        guard let index = reader.readUInt64(), let term = reader.readUInt64(), let created = reader.readUInt64(),
            let idLength = reader.readUInt32(), let idBytes = reader.readBytes(Int(idLength)),
            let clusterID = String(bytes: idBytes, encoding: .utf8),
            let payloadLength = reader.readUInt64(), payloadLength <= UInt64(Int.max),
            let payload = reader.readBytes(Int(payloadLength))
        else { throw .corrupt(reason: "truncated") }
        guard reader.readRest().isEmpty else { throw .corrupt(reason: "bytes after the payload") }
        return BackupFile(
            applied: AppliedPosition(index: index, term: term), clusterID: clusterID, createdAtMs: created,
            payload: Array(payload))
    }

    /// Writes `bytes` to `path` atomically: a temporary file beside it, fsync, rename, fsync of
    /// the directory. An existing file at `path` is replaced only once the new one is whole.
    public static func writeAtomically(_ bytes: [UInt8], to path: String) throws(BackupError) {
        do throws(DurableLogError) {
            try FileIO.writeAtomically(path, bytes)
        } catch {
            throw .io(path: path, reason: error.message)
        }
    }
}

/// Why a backup could not be made, read or restored. Stable codes.
public enum BackupError: Error, Equatable, Sendable, CustomStringConvertible {
    case corrupt(reason: String)
    case checksumMismatch(stored: UInt32, computed: UInt32)
    case unsupportedVersion(UInt32)
    case dataDirNotEmpty(path: String, entries: [String])
    case io(path: String, reason: String)
    case restoreFailed(reason: String)

    public var code: String {
        switch self {
        case .corrupt: return "BACKUP_CORRUPT"
        case .checksumMismatch: return "BACKUP_CHECKSUM_MISMATCH"
        case .unsupportedVersion: return "BACKUP_UNSUPPORTED_VERSION"
        case .dataDirNotEmpty: return "DATA_DIR_NOT_EMPTY"
        case .io: return "BACKUP_IO"
        case .restoreFailed: return "RESTORE_FAILED"
        }
    }

    public var message: String {
        switch self {
        case .corrupt(let reason): return "the backup file is damaged: \(reason)"
        case .checksumMismatch(let stored, let computed):
            return "the backup file is damaged: checksum 0x\(String(computed, radix: 16)) "
                + "does not match the recorded 0x\(String(stored, radix: 16))"
        case .unsupportedVersion(let version): return "backup format version \(version) is not one this build reads"
        case .dataDirNotEmpty(let path, let entries):
            return "\(path) is not empty (\(entries.prefix(5).joined(separator: ", "))): "
                + "a restore only builds a new data directory"
        case .io(let path, let reason): return "\(path): \(reason)"
        case .restoreFailed(let reason): return "restore failed: \(reason)"
        }
    }

    public var description: String { "\(code): \(message)" }
}

/// Builds a new cluster's data directory from a backup (`berth snapshot restore`).
///
/// The result is a brand-new data directory, like one `berth server` creates, except that it
/// starts from the backup's state: a fresh identity (a new random incarnation), an empty
/// membership, a base Raft snapshot at the backup's applied index and term with no data (the
/// state database is the snapshot), and the state database restored from the backup with its
/// recorded member addresses forgotten. Started with `--peers`, the lowest id founds the cluster
/// at that index and the others join it one at a time — the same bootstrap as an empty cluster,
/// so nothing of the old cluster's votes or incarnations is reused (docs/storage.md, "Disk loss").
public enum ClusterRestore {
    public struct Report: Sendable {
        public var applied: AppliedPosition
        public var clusterID: String
        public var incarnation: Incarnation
    }

    public static func restore(_ backup: BackupFile, dataDirectory: String, nodeID: NodeID) throws(BackupError)
        -> Report
    {
        let layout = StorageLayout(dataDirectory: dataDirectory)
        if FileIO.exists(dataDirectory) {
            let entries = (try? FileIO.list(dataDirectory)) ?? ["?"]
            guard entries.isEmpty else { throw .dataDirNotEmpty(path: dataDirectory, entries: entries.sorted()) }
        }
        do {
            // The state first: a data dir whose raft/ exists but whose state is missing refuses
            // to start (restoreIfBehind), never starts empty.
            let restored = try restoreState(backup, layout: layout)
            let identity = try DurableLogStorage.createRestored(
                dataDirectory: dataDirectory, nodeID: nodeID, index: backup.applied.index, term: backup.applied.term)
            return Report(applied: restored, clusterID: backup.clusterID, incarnation: identity.incarnation)
        } catch let error as BackupError {
            throw error
        } catch {
            throw .restoreFailed(reason: "\(error)")
        }
    }

    /// The state database, closed when this returns.
    private static func restoreState(_ backup: BackupFile, layout: StorageLayout) throws -> AppliedPosition {
        let state = try StateStore(layout: layout)
        let restored = try state.restore(from: backup.payload)
        guard restored == backup.applied else {
            throw BackupError.restoreFailed(
                reason: "the payload holds applied \(restored.index)/\(restored.term), the header says "
                    + "\(backup.applied.index)/\(backup.applied.term)")
        }
        try state.forgetMembersForRestore()
        try state.syncToDisk()
        return restored
    }
}
