import Foundation

/// A QMP failure: the socket, the protocol, or an error QEMU answered.
public struct QMPError: Error, Equatable, Sendable, CustomStringConvertible {
    public var detail: String
    public var description: String { "QMP: \(detail)" }
    public init(_ detail: String) { self.detail = detail }
}

/// A minimal client of QEMU's Machine Protocol on a unix socket: newline-delimited JSON. The
/// server speaks first (`{"QMP": …}`), then the client must send `qmp_capabilities` before any
/// command; each command gets one `return` or `error`, and asynchronous `event`s may come
/// between, which are kept in `events`. Blocking I/O, each read bounded by `timeout`.
public final class QMPClient {
    private var descriptor: Int32
    private var buffer: [UInt8] = []
    public let timeout: Duration
    /// The events received while waiting for answers (`{"event": "POWERDOWN", …}`), by name.
    public private(set) var events: [String] = []
    /// The greeting's QEMU version (`major.minor.micro`), when it said.
    public private(set) var version: String?

    /// Connects to `path` and completes the handshake: the greeting, then `qmp_capabilities`.
    public init(path: String, timeout: Duration = .seconds(2)) throws(QMPError) {
        self.timeout = timeout
        descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw QMPError("socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity else {
            close(descriptor)
            descriptor = -1
            throw QMPError("socket path longer than \(capacity - 1) bytes: \(path)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            descriptor = -1
            throw QMPError("connect \(path): \(reason)")
        }
        do throws(QMPError) {
            let greeting = try readMessage()
            guard let qmp = greeting["QMP"] as? [String: Any] else {
                throw QMPError("expected the greeting, got \(greeting)")
            }
            if let qemu = (qmp["version"] as? [String: Any])?["qemu"] as? [String: Any],
                let major = qemu["major"], let minor = qemu["minor"], let micro = qemu["micro"]
            {
                version = "\(major).\(minor).\(micro)"
            }
            _ = try execute("qmp_capabilities")
        } catch {
            close(descriptor)
            descriptor = -1
            throw error
        }
    }

    // A failed init runs deinit too: the descriptor is -1 then, already closed.
    deinit { if descriptor >= 0 { close(descriptor) } }

    /// Sends `command` and returns its `return` value; an `error` answer throws.
    @discardableResult
    public func execute(_ command: String, arguments: [String: Any]? = nil) throws(QMPError) -> Any {
        var message: [String: Any] = ["execute": command]
        if let arguments { message["arguments"] = arguments }
        guard let data = try? JSONSerialization.data(withJSONObject: message) else {
            throw QMPError("cannot encode \(command)")
        }
        try send(Array(data) + [UInt8(ascii: "\n")])
        while true {
            let answer = try readMessage()
            if let event = answer["event"] as? String {
                events.append(event)
                continue
            }
            if let error = answer["error"] as? [String: Any] {
                throw QMPError("\(command): \(error["class"] ?? "error"): \(error["desc"] ?? "")")
            }
            if let value = answer["return"] { return value }
            throw QMPError("\(command): unexpected answer \(answer)")
        }
    }

    /// `query-status`'s `status` (`running`, `paused`, `shutdown`, …).
    public func status() throws(QMPError) -> String {
        guard let answer = try execute("query-status") as? [String: Any], let status = answer["status"] as? String
        else { throw QMPError("query-status: no status") }
        return status
    }

    private func send(_ bytes: [UInt8]) throws(QMPError) {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes {
                Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            if sent < 0 && errno == EINTR { continue }
            guard sent > 0 else { throw QMPError("send: \(String(cString: strerror(errno)))") }
            offset += sent
        }
    }

    /// One JSON object: the next non-empty line.
    private func readMessage() throws(QMPError) -> [String: Any] {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = buffer[..<newline]
                buffer.removeSubrange(...newline)
                let trimmed = line.filter { $0 != UInt8(ascii: "\r") && $0 != UInt8(ascii: " ") }
                if trimmed.isEmpty { continue }
                guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else {
                    throw QMPError("unreadable message: \(String(decoding: line.prefix(200), as: UTF8.self))")
                }
                return object
            }
            let left = deadline - ContinuousClock.now
            guard left > .zero else { throw QMPError("no answer within \(timeout)") }
            var polled = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let milliseconds = Int32(
                max(1, left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000))
            let ready = poll(&polled, 1, milliseconds)
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count < 0 && (errno == EINTR || errno == EAGAIN) { continue }
            guard count > 0 else { throw QMPError("connection closed") }
            guard buffer.count + count <= 1 << 20 else { throw QMPError("message longer than 1 MiB") }
            buffer += chunk[..<count]
        }
    }
}
