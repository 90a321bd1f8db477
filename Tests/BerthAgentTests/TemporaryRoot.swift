import Foundation

@testable import BerthAgent

/// A fresh directory under the system's temporary directory, removed by `remove()`.
struct TemporaryRoot {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("berth-agent-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// Polls `condition` until it holds or `seconds` pass.
func eventually(within seconds: Double = 5, _ condition: () async -> Bool) async -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return await condition()
}

/// Kills a test's workload and waits (at most 3 s) for its keeper to write the exit record, so
/// the keeper does not write into a temporary root that is being removed.
func killAndReap(_ handle: ProcessHandle) {
    kill(-handle.workload.pid, SIGKILL)
    let deadline = Date().addingTimeInterval(3)
    while Date() < deadline, !FileManager.default.fileExists(atPath: handle.statusPath) { usleep(10_000) }
}

/// Writes an executable script through a close-on-exec descriptor. The tests fork and exec
/// concurrently: a descriptor open for writing that a child inherits (Foundation's writes do not
/// set close-on-exec) makes exec of the script fail with ETXTBSY ("text file busy").
func writeExecutable(_ text: String, to path: String) throws {
    let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o755)
    guard descriptor >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    defer { close(descriptor) }
    let bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
        let written = bytes[offset...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        guard written > 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        offset += written
    }
    fchmod(descriptor, 0o755)
}
