import BerthWire
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where a node keeps snapshots it receives: one file per sending peer while it arrives
/// (`from-<peer>.partial`), renamed to `<index>-<term>.db` once whole and fsynced, and removed
/// once the state database has been restored from it. Chunks are written straight to the file
/// as they come, so receiving a snapshot costs memory for one chunk, not for the snapshot.
/// A partial snapshot is dropped when the same peer starts another one, and every leftover is
/// removed when the node starts (`removeLeftovers`).
public final class IncomingSnapshot: @unchecked Sendable {
    /// The directory, beside the state database (same file system, so a restore reads it in place).
    public let directory: String
    public let peer: UInt64
    private var fd: Int32 = -1
    private var path: String { directory + "/from-\(peer).partial" }

    public init(directory: String, peer: UInt64) {
        self.directory = directory
        self.peer = peer
    }

    deinit {
        if fd >= 0 { _ = Glibc.close(fd) }
    }

    /// Writes `store.bytes` at `store.offset`, starting a new file first when the bytes begin a
    /// snapshot.
    public func store(_ store: SnapshotBytes) throws(DurableLogError) {
        if store.startsSnapshot || fd < 0 {
            if fd >= 0 { _ = Glibc.close(fd) }
            try FileIO.makeDirectories(directory)
            fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            if fd < 0 { throw FileIO.fail("open", path) }
        }
        var written = 0
        let count = store.bytes.count
        while written < count {
            let n = store.bytes.withUnsafeBytes { buffer in
                pwrite(fd, buffer.baseAddress! + written, count - written, off_t(store.offset) + off_t(written))
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw FileIO.fail("pwrite", path)
            }
            written += n
        }
    }

    /// The snapshot is whole: fsyncs it and names it for (`index`, `term`). Returns its path.
    public func complete(index: UInt64, term: UInt64) throws(DurableLogError) -> String {
        if fd < 0 {
            // An empty snapshot: no byte ever came.
            try store(SnapshotBytes(startsSnapshot: true, offset: 0, bytes: []))
        }
        if fsync(fd) != 0 { throw FileIO.fail("fsync", path) }
        _ = Glibc.close(fd)
        fd = -1
        let final = Self.path(in: directory, index: index, term: term)
        try FileIO.rename(path, to: final)
        try FileIO.fsyncDirectory(directory)
        return final
    }

    /// Drops the partial file (the peer left the cluster).
    public func discard() {
        if fd >= 0 { _ = Glibc.close(fd) }
        fd = -1
        try? FileIO.unlinkFile(path)
    }

    /// The path of a complete snapshot received for (`index`, `term`).
    public static func path(in directory: String, index: UInt64, term: UInt64) -> String {
        directory + "/" + hex16(index) + "-" + hex16(term) + ".db"
    }

    /// Removes every file in `directory` but `keeping`; returns what was removed.
    @discardableResult
    public static func removeLeftovers(in directory: String, keeping: String? = nil) -> [String] {
        guard let names = try? FileIO.list(directory) else { return [] }
        var removed: [String] = []
        for name in names where directory + "/" + name != keeping {
            try? FileIO.unlinkFile(directory + "/" + name)
            removed.append(directory + "/" + name)
        }
        return removed
    }

    private static func hex16(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}

/// A snapshot to send, read from the copy of the state database a chunk at a time
/// (`SnapshotSource`), never whole. Removes the copy when released.
public final class SnapshotFileSource: SnapshotSource, @unchecked Sendable {
    public let path: String
    public let byteCount: UInt64
    private let fd: Int32

    /// Opens `path`; it is deleted when this source goes away.
    public init(path: String) throws(DurableLogError) {
        self.path = path
        fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw FileIO.fail("open", path) }
        var info = stat()
        if fstat(fd, &info) != 0 {
            _ = Glibc.close(fd)
            throw FileIO.fail("fstat", path)
        }
        byteCount = UInt64(info.st_size)
    }

    deinit {
        _ = Glibc.close(fd)
        try? FileIO.unlinkFile(path)
    }

    public func bytes(at offset: UInt64, count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = bytes.withUnsafeMutableBytes { buffer in
                pread(fd, buffer.baseAddress! + done, count - done, off_t(offset) + off_t(done))
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw FileIO.fail("pread", path)
            }
            if n == 0 { throw DurableLogError.io(operation: "pread", path: path, errno: EIO) }
            done += n
        }
        return bytes
    }
}
