import Foundation

/// Writes that survive a crash whole or not at all: a temporary file in the same directory,
/// fsync, rename over the target, then fsync of the directory so the rename itself is durable.
public enum AtomicFile {
    public struct Failure: Error, CustomStringConvertible {
        public var path: String
        public var step: String
        public var errno: Int32
        public var description: String { "\(step) \(path): \(String(cString: strerror(errno)))" }
    }

    public static func write(_ bytes: some Collection<UInt8>, to path: String) throws(Failure) {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else { throw Failure(path: temporary, step: "open", errno: errno) }
        let data = Array(bytes)
        var offset = 0
        while offset < data.count {
            let written = data.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, data.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                let error = errno
                close(fd)
                throw Failure(path: temporary, step: "write", errno: error)
            }
            offset += written
        }
        if fsync(fd) != 0 {
            let error = errno
            close(fd)
            throw Failure(path: temporary, step: "fsync", errno: error)
        }
        close(fd)
        guard rename(temporary, path) == 0 else { throw Failure(path: path, step: "rename", errno: errno) }
        let directory = (path as NSString).deletingLastPathComponent
        let dirfd = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirfd >= 0 {
            defer { close(dirfd) }
            guard fsync(dirfd) == 0 else { throw Failure(path: directory, step: "fsync", errno: errno) }
        }
    }
}
