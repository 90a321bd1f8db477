import BerthRaft
import BerthServer
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Real `berth server` processes (a `LocalCluster`: loopback, free ports, temporary data dirs)
/// and the questions tests ask them. Every restart passes the same tuning flags.
final class ServerCluster: Sendable {
    let local: LocalCluster
    /// Flags appended to every `berth server` this cluster starts (tuning for a test).
    let extraArguments: [String]
    /// Environment variables every `berth server` this cluster starts gets on top of ours.
    let environment: [String: String]
    /// Flags for one node only (its own TLS certificate).
    let nodeArguments: @Sendable (NodeID) -> [String]

    init(
        size: Int, extraArguments: [String] = [], environment: [String: String] = [:], https: Bool = false,
        nodeArguments: @escaping @Sendable (NodeID) -> [String] = { _ in [] }
    ) throws {
        local = try LocalCluster(binary: try BerthBinary.path(), size: size, https: https, ports: freeLoopbackPort)
        self.extraArguments = extraArguments
        self.environment = environment
        self.nodeArguments = nodeArguments
    }

    var ids: [NodeID] { local.members.keys.sorted() }

    func url(_ id: NodeID) -> String { local.members[id]!.httpURL }

    func member(_ id: NodeID) -> LocalCluster.Member { local.members[id]! }

    // MARK: - Processes

    /// Starts (or restarts) node `id` and waits until its HTTP port answers `/health/live`.
    func start(
        _ id: NodeID, clusterID: String? = nil, peers: String? = nil, extraArguments more: [String] = []
    ) async throws {
        try local.start(
            id, clusterID: clusterID, peers: peers, extraArguments: extraArguments + nodeArguments(id) + more,
            environment: environment)
        try await waitLive(id)
    }

    /// Starts every node and waits until the cluster has formed: the lowest id founds it and
    /// admits the others one at a time, so "live" is not yet "all voters".
    func startAll() async throws {
        for id in ids {
            try local.start(id, extraArguments: extraArguments + nodeArguments(id), environment: environment)
        }
        for id in ids { try await waitLive(id) }
        try await waitFormed()
    }

    /// Waits until every node is a voter in the configuration its leader applied.
    func waitFormed(within seconds: Double = 20) async throws {
        let all = Set(ids)
        _ = try await eventually("every node to be a voter", within: seconds) { () -> Bool? in
            for id in ids {
                let view = try await status(id)
                guard let leader = view.leaderID, view.nodeID == leader else { continue }
                let voters = Set(view.nodes.filter(\.voter).map(\.nodeID))
                guard voters == all else { throw Observation("voters \(voters.sorted())") }
                return true
            }
            throw Observation("no node leads yet")
        }
    }

    func waitLive(_ id: NodeID, within seconds: Double = 20) async throws {
        _ = try await eventually("node \(id) to answer /health/live", within: seconds) { () -> Bool? in
            guard local.isRunning(id) else {
                throw ProcessExited(id: id, log: local.logTail(id))
            }
            let answer = try await HTTPCall.get("\(url(id))/health/live", timeoutSeconds: 2)
            return answer.status == 200 ? true : nil
        }
    }

    /// Sends `signal` and waits (off the cooperative pool) for the process to exit; its status.
    @discardableResult
    func stop(_ id: NodeID, signal: Int32 = SIGKILL) async -> Int32? {
        let local = self.local
        return await offPool { local.stop(id, signal: signal) }
    }

    /// Sends `signal` without waiting (SIGSTOP and SIGCONT freeze and resume a node).
    func send(_ signal: Int32, to id: NodeID) throws {
        guard let pid = pid(of: id) else { throw NoProcess(id: id) }
        guard kill(pid, signal) == 0 else { throw POSIXError(.ESRCH) }
    }

    /// The pid of node `id`'s `berth server`, a child of this process, found by its unique data dir.
    func pid(of id: NodeID) -> pid_t? {
        let dataDir = member(id).dataDir
        let me = getpid()
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return nil }
        for entry in entries {
            guard let pid = pid_t(entry),
                let cmdline = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"),
                let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
            else { continue }
            let arguments = cmdline.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            guard let flag = arguments.firstIndex(of: "--data-dir"), flag + 1 < arguments.count,
                arguments[flag + 1] == dataDir
            else { continue }
            // stat: "pid (comm) state ppid …"; comm may hold spaces, so read after the last ')'.
            let afterComm = stat[stat.index(after: stat.lastIndex(of: ")")!)...].split(separator: " ")
            if afterComm.count > 1, pid_t(afterComm[1]) == me { return pid }
        }
        return nil
    }

    func wipe(_ id: NodeID) { local.wipe(id) }

    func shutdown() { local.shutdown() }

    /// Node `id`'s whole log.
    func log(_ id: NodeID) -> String {
        (try? String(contentsOfFile: member(id).logPath, encoding: .utf8)) ?? ""
    }

    /// How many lines of node `id`'s log contain `text`.
    func logCount(_ id: NodeID, _ text: String) -> Int {
        log(id).split(separator: "\n").filter { $0.contains(text) }.count
    }

    /// The tail of every node's log, for failure messages.
    func diagnostics(lines: Int = 25) -> String {
        ids.map { "--- node \($0) log (last \(lines) lines) ---\n\(local.logTail($0, lines: lines))" }
            .joined(separator: "\n")
    }

    /// Copies every node's log out of the data directory (which `shutdown` removes), for a
    /// failed test; returns the directory.
    func keepLogs() -> String? {
        let directory = NSTemporaryDirectory() + "berth-test-logs-\(UUID().uuidString.prefix(8))"
        guard (try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)) != nil
        else { return nil }
        for id in ids {
            try? FileManager.default.copyItem(atPath: member(id).logPath, toPath: "\(directory)/n\(id).log")
        }
        return directory
    }

    // MARK: - Cluster state

    func status(_ id: NodeID, timeoutSeconds: Int64 = 2) async throws -> ClusterStatus {
        let answer = try await HTTPCall.get("\(url(id))/api/cluster", timeoutSeconds: timeoutSeconds)
        guard answer.status == 200 else { throw UnexpectedAnswer(context: "GET /api/cluster on \(id)", answer: answer) }
        return try JSONDecoder().decode(ClusterStatus.self, from: Data(answer.body.utf8))
    }

    /// Waits until every node in `among` answers with the same leader and term, that leader is one
    /// of them (not `excluding`) and calls itself leader.
    func waitForLeader(
        among nodes: [NodeID]? = nil, excluding: NodeID? = nil, within seconds: Double = 15,
        every interval: Duration = .milliseconds(20)
    ) async throws -> LeaderView {
        let nodes = nodes ?? ids
        return try await eventually(
            "nodes \(nodes) to agree on one leader" + (excluding.map { " other than \($0)" } ?? ""),
            within: seconds, every: interval
        ) { () -> LeaderView? in
            var views: [NodeID: ClusterStatus] = [:]
            for id in nodes { views[id] = try await status(id) }
            let seen = Set(views.values.map { LeaderView(id: $0.leaderID ?? .none, term: $0.currentTerm) })
            guard seen.count == 1, let view = seen.first, view.id != .none, view.id != excluding,
                views[view.id]?.role == "leader"
            else {
                throw Observation(
                    views.keys.sorted().map {
                        "n\($0): \(views[$0]!.role) leader=\(views[$0]!.leaderID ?? 0) term=\(views[$0]!.currentTerm)"
                    }
                    .joined(separator: ", "))
            }
            return view
        }
    }

    /// Waits until node `id` has applied everything node `leader` has committed.
    func waitCaughtUp(_ id: NodeID, to leader: NodeID, within seconds: Double = 15) async throws {
        let target = try await status(leader).commitIndex
        _ = try await eventually("node \(id) to apply index \(target)", within: seconds) { () -> Bool? in
            let view = try await status(id)
            guard view.lastApplied >= target else { throw Observation("applied \(view.lastApplied)") }
            return true
        }
    }

    // MARK: - Jobs

    /// `POST /api/jobs` on node `id`.
    func createJob(
        via id: NodeID, command: String, idempotencyKey: String? = nil, timeoutSeconds: Int64 = 10
    ) async throws -> HTTPAnswer {
        try await HTTPCall.post(
            "\(url(id))/api/jobs", json: "{\"command\":\(jsonString(command))}",
            headers: idempotencyKey.map { ["Idempotency-Key": $0] } ?? [:], timeoutSeconds: timeoutSeconds)
    }

    /// Creates a job through node `id` and requires 201; returns its id. Retries answers that ask
    /// for a retry (503, 429, 504) with the same Idempotency-Key, a bounded number of times.
    func createAcknowledgedJob(via id: NodeID, command: String) async throws -> String {
        let key = UUID().uuidString
        var last: HTTPAnswer?
        for attempt in 0..<20 {
            if attempt > 0 { try await Task.sleep(for: .milliseconds(50 * attempt)) }
            let answer = try await createJob(via: id, command: command, idempotencyKey: key)
            if answer.status == 201, let jobID = answer.string("job_id") { return jobID }
            last = answer
            guard [429, 503, 504].contains(answer.status) else { break }
        }
        throw UnexpectedAnswer(context: "POST /api/jobs on node \(id)", answer: last!)
    }

    /// Creates `count` jobs round-robin through `via`, `concurrency` at a time; their ids.
    func createJobs(_ count: Int, via nodes: [NodeID], concurrency: Int = 8, prefix: String = "job") async throws
        -> [String]
    {
        try await withThrowingTaskGroup(of: [String].self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    var made: [String] = []
                    for number in stride(from: worker, to: count, by: concurrency) {
                        made.append(
                            try await self.createAcknowledgedJob(
                                via: nodes[number % nodes.count], command: "echo \(prefix)-\(number)"))
                    }
                    return made
                }
            }
            var all: [String] = []
            for try await made in group { all += made }
            return all
        }
    }

    /// Every job id node `id` lists, following `X-Next-Page-Token`.
    func jobIDs(on id: NodeID, consistent: Bool = false) async throws -> Set<String> {
        Set(try await jobCommands(on: id, consistent: consistent).map(\.id))
    }

    /// Every job node `id` lists (id and command), following `X-Next-Page-Token`.
    func jobCommands(on id: NodeID, consistent: Bool = false) async throws -> [(id: String, command: String)] {
        var jobs: [(id: String, command: String)] = []
        var token: String?
        for _ in 0..<1000 {
            var url = "\(url(id))/api/jobs?page_size=1000"
            if consistent { url += "&consistent=true" }
            if let token {
                url += "&page_token=\(token.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? token)"
            }
            let answer = try await HTTPCall.get(url)
            guard answer.status == 200, let page = answer.array else {
                throw UnexpectedAnswer(context: "GET /api/jobs on node \(id)", answer: answer)
            }
            for job in page {
                if let jobID = job["id"] as? String { jobs.append((jobID, job["command"] as? String ?? "")) }
            }
            token = answer.header("X-Next-Page-Token")
            if token == nil || token == "" { return jobs }
        }
        throw Observation("more than 1000 pages of jobs on node \(id)")
    }

    /// `X-Total-Count` of node `id`'s local job list.
    func jobCount(on id: NodeID) async throws -> Int {
        let answer = try await HTTPCall.get("\(url(id))/api/jobs?page_size=1", timeoutSeconds: 5)
        guard answer.status == 200, let count = answer.header("X-Total-Count").flatMap({ Int($0) }) else {
            throw UnexpectedAnswer(context: "GET /api/jobs?page_size=1 on node \(id)", answer: answer)
        }
        return count
    }
}

/// Runs `body` with a fresh cluster (started unless `startAll` is false) and always shuts it
/// down. A thrown error carries the tail of every node's log.
func withServerCluster(
    size: Int = 3, extraArguments: [String] = [], environment: [String: String] = [:], startAll: Bool = true,
    https: Bool = false, nodeArguments: @escaping @Sendable (NodeID) -> [String] = { _ in [] },
    _ body: (ServerCluster) async throws -> Void
) async throws {
    let cluster = try ServerCluster(
        size: size, extraArguments: extraArguments, environment: environment, https: https,
        nodeArguments: nodeArguments)
    defer { cluster.shutdown() }
    do {
        if startAll { try await cluster.startAll() }
        try await body(cluster)
    } catch {
        throw ClusterFailure(underlying: error, logs: cluster.diagnostics(), keptLogs: cluster.keepLogs())
    }
}

/// A test failure with the cluster's logs attached.
struct ClusterFailure: Error, CustomStringConvertible {
    let underlying: any Error
    let logs: String
    /// Where the whole logs were copied, if they were.
    let keptLogs: String?
    var description: String {
        "\(underlying)\n\(logs)" + (keptLogs.map { "\n(whole node logs kept in \($0))" } ?? "")
    }
}

/// What a poll saw last; thrown by probes so a timeout can say it.
struct Observation: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

struct UnexpectedAnswer: Error, CustomStringConvertible {
    let context: String
    let answer: HTTPAnswer
    var description: String { "\(context) answered \(answer)" }
}

struct ProcessExited: Error, CustomStringConvertible {
    let id: NodeID
    let log: String
    var description: String { "node \(id)'s process is not running; its log ends:\n\(log)" }
}

struct NoProcess: Error, CustomStringConvertible {
    let id: NodeID
    var description: String { "no running berth server process for node \(id)" }
}
