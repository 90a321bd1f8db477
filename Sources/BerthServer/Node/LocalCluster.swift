import BerthRaft
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Real `berth server` child processes on free loopback ports with throwaway data dirs: what
/// `berth demo` and the multi-process tests run. Every process is killed and every directory
/// removed by `shutdown()` (and on deinit), so nothing outlives its owner.
public final class LocalCluster: @unchecked Sendable {
    public struct Member: Sendable {
        public let id: NodeID
        public let peerPort: Int
        public let httpPort: Int
        public let dataDir: String
        public let logPath: String
        /// `https` when the cluster's nodes serve the API over TLS.
        public var scheme = "http"
        public var httpURL: String { "\(scheme)://127.0.0.1:\(httpPort)" }
    }

    public let binary: String
    public let baseDir: String
    public let clusterID: String
    public private(set) var members: [NodeID: Member] = [:]
    private var processes: [NodeID: Process] = [:]
    private let lock = NSLock()

    /// Prepares `size` members (ids 1…size); nothing runs until `start`.
    /// `https`: the nodes will be started with TLS flags, so their URLs are `https://`.
    public init(
        binary: String, size: Int, clusterID: String = "berth", https: Bool = false, ports: () throws -> Int
    ) throws {
        self.binary = binary
        self.clusterID = clusterID
        baseDir = NSTemporaryDirectory() + "berth-cluster-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: baseDir, withIntermediateDirectories: true)
        // The kernel may hand the same free port out twice in a row (nothing holds it in
        // between): seen as two members on one port, and one of them failing to bind.
        var taken: Set<Int> = []
        func distinctPort() throws -> Int {
            for _ in 0..<100 {
                let port = try ports()
                if taken.insert(port).inserted { return port }
            }
            throw POSIXError(.EADDRINUSE)
        }
        for id in 1...NodeID(size) {
            members[id] = Member(
                id: id, peerPort: try distinctPort(), httpPort: try distinctPort(), dataDir: "\(baseDir)/n\(id)",
                logPath: "\(baseDir)/n\(id).log", scheme: https ? "https" : "http")
        }
    }

    deinit {
        shutdown()
    }

    /// `ID=127.0.0.1:PORT,…` for the initial voters.
    public var peersFlag: String {
        members.keys.sorted().map { "\($0)=127.0.0.1:\(members[$0]!.peerPort)" }.joined(separator: ",")
    }

    /// Adds a member that is not an initial voter (for joins).
    public func addMember(id: NodeID, ports: () throws -> Int) throws -> Member {
        let member = Member(
            id: id, peerPort: try ports(), httpPort: try ports(), dataDir: "\(baseDir)/n\(id)",
            logPath: "\(baseDir)/n\(id).log")
        lock.withLock { members[id] = member }
        return member
    }

    /// Starts member `id` (again) with `extraArguments` appended.
    public func start(
        _ id: NodeID, clusterID override: String? = nil, peers: String? = nil, extraArguments: [String] = [],
        environment: [String: String] = [:]
    )
        throws
    {
        guard let member = members[id] else { return }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments =
            [
                "server", "--node-id", "\(id)", "--data-dir", member.dataDir,
                "--peer-listen", "127.0.0.1:\(member.peerPort)", "--http-listen", "127.0.0.1:\(member.httpPort)",
                "--peers", peers ?? peersFlag, "--cluster-id", override ?? clusterID,
            ] + extraArguments
        if !FileManager.default.fileExists(atPath: member.logPath) {
            FileManager.default.createFile(atPath: member.logPath, contents: nil)
        }
        let log = FileHandle(forWritingAtPath: member.logPath)
        log?.seekToEndOfFile()
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        }
        try process.run()
        lock.withLock { processes[id] = process }
    }

    public func startAll() throws {
        for id in members.keys.sorted() { try start(id) }
    }

    /// Sends `signal` to member `id` and waits for it to exit; returns its exit status.
    @discardableResult
    public func stop(_ id: NodeID, signal: Int32 = SIGKILL) -> Int32? {
        guard let process = lock.withLock({ processes.removeValue(forKey: id) }) else { return nil }
        if process.isRunning { kill(process.processIdentifier, signal) }
        process.waitUntilExit()
        return process.terminationStatus
    }

    public func isRunning(_ id: NodeID) -> Bool {
        lock.withLock { processes[id]?.isRunning ?? false }
    }

    /// Removes member `id`'s data dir (it must be stopped).
    public func wipe(_ id: NodeID) {
        guard let member = members[id] else { return }
        try? FileManager.default.removeItem(atPath: member.dataDir)
    }

    /// The last `lines` lines of member `id`'s log.
    public func logTail(_ id: NodeID, lines: Int = 20) -> String {
        guard let member = members[id], let text = try? String(contentsOfFile: member.logPath, encoding: .utf8) else {
            return ""
        }
        return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }

    /// Kills every process and removes the data.
    public func shutdown() {
        let running = lock.withLock { () -> [Process] in
            defer { processes = [:] }
            return Array(processes.values)
        }
        for process in running where process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: baseDir)
    }
}
