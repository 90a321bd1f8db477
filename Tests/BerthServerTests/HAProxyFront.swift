import BerthServer
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A real HAProxy (Debian's `haproxy` package) running `deploy/haproxy/haproxy.cfg` itself —
/// not a copy — with its addresses given through the environment variables the file reads.
final class HAProxyFront: @unchecked Sendable {
    /// The `haproxy` executable, if installed.
    static let binary: String? = {
        var candidates = ["/usr/sbin/haproxy", "/usr/bin/haproxy", "/usr/local/sbin/haproxy"]
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        candidates += path.split(separator: ":").map { "\($0)/haproxy" }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    /// `deploy/<relative>` in this package, found by walking up from this source file.
    static func deployFile(_ relative: String, testFile: String = #filePath) throws -> String {
        var directory = URL(fileURLWithPath: testFile).deletingLastPathComponent()
        while directory.path != "/" {
            let candidate = directory.appendingPathComponent("deploy/\(relative)").path
            if FileManager.default.fileExists(atPath: candidate) { return candidate }
            directory.deleteLastPathComponent()
        }
        throw Observation("deploy/\(relative) not found above \(testFile)")
    }

    let port: Int
    let statsPort: Int
    let logPath: String
    private let process = Process()

    var url: String { "http://127.0.0.1:\(port)" }

    /// Starts HAProxy in the foreground (`-db`) with `servers` (HOST:PORT of each node's HTTP
    /// API) as n1, n2, n3.
    init(servers: [String]) throws {
        guard let binary = Self.binary else { throw Observation("haproxy is not installed") }
        port = try freeLoopbackPort()
        statsPort = try freeLoopbackPort()
        logPath = NSTemporaryDirectory() + "berth-haproxy-\(UUID().uuidString.prefix(8)).log"
        FileManager.default.createFile(atPath: logPath, contents: nil)
        var environment = ProcessInfo.processInfo.environment
        environment["BERTH_LB_BIND"] = "127.0.0.1:\(port)"
        environment["BERTH_LB_STATS"] = "127.0.0.1:\(statsPort)"
        for (index, server) in servers.enumerated() { environment["BERTH_SERVER_\(index + 1)"] = server }
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["-db", "-f", try Self.deployFile("haproxy/haproxy.cfg")]
        process.environment = environment
        let log = FileHandle(forWritingAtPath: logPath)
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    deinit { stop() }

    /// Kills HAProxy and waits for it; safe to call twice.
    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: logPath)
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// One backend server as the stats page shows it.
    struct Server: CustomStringConvertible {
        var status: String
        /// Sessions (requests, here) ever sent to it: it stops growing once the server is down.
        var sessions: Int
        var description: String { "\(status) (\(sessions) sessions)" }
    }

    /// The `berth` backend's servers by name (`n1`…), from `/stats;csv`.
    func servers() async throws -> [String: Server] {
        guard process.isRunning else { throw Observation("haproxy exited; its log:\n\(log)") }
        let answer = try await HTTPCall.get("http://127.0.0.1:\(statsPort)/stats;csv", timeoutSeconds: 2)
        let lines = answer.body.split(separator: "\n")
        guard answer.status == 200, let header = lines.first, header.hasPrefix("# ") else {
            throw UnexpectedAnswer(context: "GET /stats;csv", answer: answer)
        }
        let columns = header.dropFirst(2).split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard let name = columns.firstIndex(of: "svname"), let status = columns.firstIndex(of: "status"),
            let sessions = columns.firstIndex(of: "stot")
        else { throw Observation("unexpected stats header: \(header)") }
        var servers: [String: Server] = [:]
        for line in lines.dropFirst() {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard fields.count > max(name, status, sessions), fields[0] == "berth",
                !["FRONTEND", "BACKEND"].contains(fields[name])
            else { continue }
            servers[fields[name]] = Server(status: fields[status], sessions: Int(fields[sessions]) ?? 0)
        }
        return servers
    }

    /// Waits until server `name` shows `status` (`UP`, `DOWN`); returns how long it took.
    @discardableResult
    func wait(_ name: String, toBe status: String, within seconds: Double = 10) async throws -> Double {
        let started = Date()
        _ = try await eventually("haproxy to mark \(name) \(status)", within: seconds, every: .milliseconds(20)) {
            () -> Bool? in
            let servers = try await servers()
            guard servers[name]?.status == status else { throw Observation("\(servers)") }
            return true
        }
        return secondsSince(started)
    }
}
