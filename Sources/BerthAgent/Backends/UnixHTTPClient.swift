import Foundation

/// Why an HTTP exchange on a unix socket failed, before any status could be read.
public enum UnixHTTPError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The path does not fit in `sun_path`.
    case socketPathTooLong(String)
    /// Nobody listens there (yet): ENOENT, ECONNREFUSED, …
    case connect(path: String, reason: String)
    /// Sending the request or reading the answer took longer than the client's timeout.
    case timeout(String)
    /// The server closed the connection before a whole answer.
    case closed(String)
    /// The answer is not HTTP/1.x as the client reads it.
    case malformed(String)

    public var description: String {
        switch self {
        case .socketPathTooLong(let path): return "socket path longer than 107 bytes: \(path)"
        case .connect(let path, let reason): return "connect \(path): \(reason)"
        case .timeout(let what): return "timed out \(what)"
        case .closed(let what): return "connection closed \(what)"
        case .malformed(let what): return "malformed answer: \(what)"
        }
    }
}

/// An HTTP answer.
public struct UnixHTTPResponse: Equatable, Sendable {
    public var status: Int
    public var reason: String
    /// Header names lowercased.
    public var headers: [String: String]
    public var body: [UInt8]

    public var isSuccess: Bool { (200..<300).contains(status) }
}

/// A minimal HTTP/1.1 client on a unix socket, for the REST APIs of Cloud Hypervisor and
/// Firecracker: one request per connection (closed once the answer is read), `Content-Length`
/// (or chunked, or until close) answers, every step bounded by `timeout`. Blocking I/O, like
/// `QMPClient`: the calls are few and short, and each is bounded.
public struct UnixHTTPClient: Sendable {
    public var path: String
    public var timeout: Duration
    /// Answers larger than this are refused (`vm.info` carries the whole config: far below).
    public var maximumResponseBytes = 4 << 20

    public init(path: String, timeout: Duration = .seconds(5)) {
        self.path = path
        self.timeout = timeout
    }

    /// Sends one request and reads its answer. Non-2xx statuses are answers, not errors.
    public func send(_ method: String, _ target: String, body: [UInt8]? = nil) throws(UnixHTTPError)
        -> UnixHTTPResponse
    {
        let deadline = ContinuousClock.now + timeout
        let descriptor = try connect()
        defer { close(descriptor) }
        // The headers curl sends in both projects' documented examples, and no others: their
        // servers (micro_http) know few headers. A call without a body has no Content-Length,
        // as `curl -X PUT` sends it; the answer is read by its length, so the connection can
        // stay open on the server's side.
        var head = "\(method) \(target) HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n"
        if let body {
            head += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n"
        }
        head += "\r\n"
        try write(descriptor, Array(head.utf8) + (body ?? []), deadline: deadline, what: "\(method) \(target)")
        return try readResponse(descriptor, method: method, deadline: deadline, what: "\(method) \(target)")
    }

    /// Whether something accepts connections on `path` now.
    public static func isListening(_ path: String) -> Bool {
        guard let descriptor = try? UnixHTTPClient(path: path).connect() else { return false }
        close(descriptor)
        return true
    }

    func connect() throws(UnixHTTPError) -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw .socketPathTooLong(path) }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw .connect(path: path, reason: String(cString: strerror(errno))) }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            throw .connect(path: path, reason: reason)
        }
        return descriptor
    }

    /// Waits until `descriptor` is ready for `events` or the deadline passes.
    private func wait(_ descriptor: Int32, _ events: Int32, deadline: ContinuousClock.Instant, what: String)
        throws(UnixHTTPError)
    {
        while true {
            let left = deadline - ContinuousClock.now
            guard left > .zero else { throw .timeout("after \(timeout) waiting for \(what)") }
            var polled = pollfd(fd: descriptor, events: Int16(events), revents: 0)
            let milliseconds = Int32(
                max(1, left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000))
            let ready = poll(&polled, 1, milliseconds)
            if ready < 0 && errno == EINTR { continue }
            if ready > 0 { return }
        }
    }

    private func write(_ descriptor: Int32, _ bytes: [UInt8], deadline: ContinuousClock.Instant, what: String)
        throws(UnixHTTPError)
    {
        var offset = 0
        while offset < bytes.count {
            try wait(descriptor, Int32(POLLOUT), deadline: deadline, what: "sending \(what)")
            let sent = bytes[offset...].withUnsafeBytes {
                Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
            }
            if sent < 0 && (errno == EINTR || errno == EAGAIN) { continue }
            guard sent > 0 else { throw .closed("while sending \(what): \(String(cString: strerror(errno)))") }
            offset += sent
        }
    }

    private func readResponse(_ descriptor: Int32, method: String, deadline: ContinuousClock.Instant, what: String)
        throws(UnixHTTPError) -> UnixHTTPResponse
    {
        var buffer: [UInt8] = []
        var finished = false
        /// Reads more into `buffer`; false at the end of the stream.
        func fill() throws(UnixHTTPError) -> Bool {
            guard !finished else { return false }
            try wait(descriptor, Int32(POLLIN), deadline: deadline, what: "the answer to \(what)")
            var chunk = [UInt8](repeating: 0, count: 16384)
            let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if count < 0 && (errno == EINTR || errno == EAGAIN) { return true }
            if count <= 0 {
                finished = true
                return false
            }
            guard buffer.count + count <= maximumResponseBytes else {
                throw .malformed("the answer to \(what) is larger than \(maximumResponseBytes) bytes")
            }
            buffer += chunk[..<count]
            return true
        }
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        var headerEnd: Int?
        while headerEnd == nil {
            if let found = Self.find(separator, in: buffer) {
                headerEnd = found
            } else if try !fill() {
                throw .closed("before the headers of the answer to \(what)")
            }
        }
        let headText = String(decoding: buffer[..<headerEnd!], as: UTF8.self)
        var lines = headText.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst()
        let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
            throw .malformed("status line \(statusLine.prefix(100))")
        }
        var headers: [String: String] = [:]
        for line in lines where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else { throw .malformed("header \(line.prefix(100))") }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                in: .whitespaces)
        }
        var rest = Array(buffer[(headerEnd! + separator.count)...])
        buffer = rest
        let response = { (body: [UInt8]) in
            UnixHTTPResponse(
                status: status, reason: parts.count > 2 ? String(parts[2]) : "", headers: headers, body: body)
        }
        if method == "HEAD" || status == 204 || status == 304 || (100..<200).contains(status) {
            return response([])
        }
        if let length = headers["content-length"] {
            guard let count = Int(length), count >= 0 else { throw .malformed("Content-Length \(length)") }
            while buffer.count < count {
                if try !fill() { throw .closed("after \(buffer.count) of \(count) body bytes of \(what)") }
            }
            return response(Array(buffer[..<count]))
        }
        if headers["transfer-encoding"]?.lowercased().contains("chunked") == true {
            var body: [UInt8] = []
            while true {
                var lineEnd = Self.find(Array("\r\n".utf8), in: buffer)
                while lineEnd == nil {
                    if try !fill() { throw .closed("inside a chunk of \(what)") }
                    lineEnd = Self.find(Array("\r\n".utf8), in: buffer)
                }
                let sizeText = String(decoding: buffer[..<lineEnd!], as: UTF8.self).split(separator: ";").first ?? ""
                guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16), size >= 0 else {
                    throw .malformed("chunk size \(sizeText.prefix(20))")
                }
                rest = Array(buffer[(lineEnd! + 2)...])
                buffer = rest
                if size == 0 { return response(body) }
                while buffer.count < size + 2 {
                    if try !fill() { throw .closed("inside a chunk of \(what)") }
                }
                body += buffer[..<size]
                buffer = Array(buffer[(size + 2)...])
            }
        }
        while try fill() {}
        return response(buffer)
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
            if Array(haystack[start..<(start + needle.count)]) == needle { return start }
        }
        return nil
    }
}
