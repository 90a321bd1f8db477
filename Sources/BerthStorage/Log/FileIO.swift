import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The few POSIX file operations durability rests on, each failure a typed `DurableLogError.io`.
///
/// Rules kept here: a file that must survive a crash is fsynced before anyone relies on it; a
/// new or renamed name is durable only after its directory is fsynced; a whole file is replaced
/// by writing a temporary file, fsyncing it, renaming it over the old one, and fsyncing the
/// directory.
enum FileIO {
    static func fail(_ operation: String, _ path: String) -> DurableLogError {
        .io(operation: operation, path: path, errno: errno)
    }

    /// Whether anything exists at `path`.
    static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    /// Creates a directory (and its parents); fine if it exists.
    static func makeDirectories(_ path: String) throws(DurableLogError) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw .io(operation: "mkdir", path: path, errno: EIO)
        }
    }

    /// Names in a directory (no "." or ".."), sorted.
    static func list(_ path: String) throws(DurableLogError) -> [String] {
        do {
            return try FileManager.default.contentsOfDirectory(atPath: path).sorted()
        } catch {
            throw .io(operation: "readdir", path: path, errno: ENOENT)
        }
    }

    /// Removes a file or a whole directory tree; fine if it is already gone.
    static func removeTree(_ path: String) throws(DurableLogError) {
        guard exists(path) else { return }
        do {
            try FileManager.default.removeItem(atPath: path)
        } catch {
            throw .io(operation: "remove", path: path, errno: EIO)
        }
    }

    /// Removes one file; fine if it is already gone.
    static func unlinkFile(_ path: String) throws(DurableLogError) {
        if unlink(path) != 0 && errno != ENOENT { throw fail("unlink", path) }
    }

    /// Renames `from` over `to` (atomic on POSIX file systems).
    static func rename(_ from: String, to: String) throws(DurableLogError) {
        #if canImport(Darwin)
            let result = Darwin.rename(from, to)
        #else
            let result = Glibc.rename(from, to)
        #endif
        if result != 0 { throw fail("rename to \(to)", from) }
    }

    /// Makes the directory's entries (creations, renames, removals) durable.
    static func fsyncDirectory(_ path: String) throws(DurableLogError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 { throw fail("open directory", path) }
        defer { close(fd) }
        if fsync(fd) != 0 { throw fail("fsync directory", path) }
    }

    /// Flushes a file another component writes (SQLite's database and WAL) to stable storage;
    /// a file that does not exist is nothing to flush.
    static func fsyncFile(_ path: String) throws(DurableLogError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return }
            throw fail("open", path)
        }
        defer { close(fd) }
        if fsync(fd) != 0 { throw fail("fsync", path) }
    }

    /// The whole content of a file, or nil when it does not exist.
    static func readAll(_ path: String) throws(DurableLogError) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw fail("open", path)
        }
        defer { close(fd) }
        var info = stat()
        if fstat(fd, &info) != 0 { throw fail("fstat", path) }
        let size = Int(info.st_size)
        var bytes = [UInt8](repeating: 0, count: size)
        var done = 0
        while done < size {
            let n = bytes.withUnsafeMutableBytes { buffer in
                read(fd, buffer.baseAddress! + done, size - done)
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw fail("read", path)
            }
            if n == 0 { break }  // the file shrank under us: take what is there
            done += n
        }
        return done == size ? bytes : Array(bytes[..<done])
    }

    /// Writes all of `bytes` to `fd`, retrying short writes and EINTR.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(DurableLogError) {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { buffer in
                write(fd, buffer.baseAddress! + done, bytes.count - done)
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw fail("write", path)
            }
            done += n
        }
    }

    /// Replaces `path` with `bytes` so that a crash leaves either the old file or the new one:
    /// temporary file, write, fsync, rename, fsync the directory.
    static func writeAtomically(_ path: String, _ bytes: [UInt8]) throws(DurableLogError) {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if fd < 0 { throw fail("open", temporary) }
        do throws(DurableLogError) {
            try writeAll(fd, bytes, path: temporary)
            if fsync(fd) != 0 { throw fail("fsync", temporary) }
        } catch {
            close(fd)
            try? unlinkFile(temporary)
            throw error
        }
        if close(fd) != 0 { throw fail("close", temporary) }
        try rename(temporary, to: path)
        try fsyncDirectory(directory(of: path))
    }

    /// The directory part of a path ("." when there is none).
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }
}

/// A file open for appending, whose writes become durable at `sync()`: the WAL's writer.
final class AppendOnlyFile {
    let path: String
    private var fd: Int32
    /// Bytes in the file (what was there at open plus everything appended since).
    private(set) var size: Int

    /// Opens an existing file for appending.
    init(path: String) throws(DurableLogError) {
        self.path = path
        fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
        if fd < 0 { throw FileIO.fail("open", path) }
        var info = stat()
        if fstat(fd, &info) != 0 {
            _ = closeDescriptor(fd)
            throw FileIO.fail("fstat", path)
        }
        size = Int(info.st_size)
    }

    deinit {
        if fd >= 0 { _ = closeDescriptor(fd) }
    }

    /// Appends `bytes` (not yet durable).
    func append(_ bytes: [UInt8]) throws(DurableLogError) {
        try FileIO.writeAll(fd, bytes, path: path)
        size += bytes.count
    }

    /// How many times `sync()` fsynced this file (for tests of the group commit).
    private(set) var syncCount = 0

    /// Makes everything appended so far durable.
    func sync() throws(DurableLogError) {
        if fsync(fd) != 0 { throw FileIO.fail("fsync", path) }
        syncCount += 1
    }

    /// Cuts the file back to `length` bytes and makes that durable (dropping a torn tail, or
    /// undoing a failed append).
    func truncate(to length: Int) throws(DurableLogError) {
        if ftruncate(fd, off_t(length)) != 0 { throw FileIO.fail("ftruncate", path) }
        size = length
        try sync()
    }

    func close() {
        if fd >= 0 {
            _ = closeDescriptor(fd)
            fd = -1
        }
    }
}

/// `close(2)`, reachable from a type that has its own `close()`.
private func closeDescriptor(_ fd: Int32) -> Int32 { close(fd) }
