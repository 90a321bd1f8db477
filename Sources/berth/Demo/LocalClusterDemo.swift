import BerthServer
import Dispatch
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The real-process tour behind `berth demo`.
struct LocalClusterDemo {
    /// Wait for Ctrl-C after the tour (false: exit at once, for scripted runs).
    let stayUp: Bool
    /// The scenario the tour opens with.
    let payments: PaymentsFixture

    func run() async throws {
        let binary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        let cluster = try LocalCluster(binary: binary, size: 3, ports: freeLoopbackPort)
        let interrupted = Self.onInterrupt { cluster.shutdown() }
        defer {
            interrupted.cancel()
            cluster.shutdown()
        }
        say("Starting a 3-node Berth cluster on loopback (data under \(cluster.baseDir))")
        for id in cluster.members.keys.sorted() {
            let member = cluster.members[id]!
            say("  node \(id): HTTP \(member.httpURL)   peer 127.0.0.1:\(member.peerPort)")
        }
        try cluster.startAll()

        let started = Date()
        var leader = try await waitForLeader(cluster, excluding: nil)
        say(
            String(
                format: "Leader elected: node %llu after %.0f ms", leader.id, Date().timeIntervalSince(started) * 1000))
        try await waitForVoters(cluster, leader: leader.id)

        leader = try await paymentsStory(cluster, leader: leader)

        say("")
        say("Cluster tour: jobs through a follower, the leader killed, nothing lost.")
        try await show(
            cluster, "GET /api/cluster on node \(leader.id)", "\(cluster.members[leader.id]!.httpURL)/api/cluster")

        let follower = cluster.members.keys.sorted().first { $0 != leader.id }!
        let followerURL = cluster.members[follower]!.httpURL
        say("Writing three jobs through follower node \(follower); it forwards them to the leader:")
        for (number, command) in ["echo hello", "uname -a", "date"].enumerated() {
            let answer = try await HTTP.request(
                "POST", "\(followerURL)/api/jobs", body: "{\"command\":\"\(command)\"}",
                headers: ["Idempotency-Key": "demo-\(number)"])
            say("  POST /api/jobs {\"command\":\"\(command)\"} → \(answer.status) \(answer.body)")
        }
        try await showJobCounts(cluster, running: cluster.members.keys.sorted())

        say("Killing the leader, node \(leader.id), with SIGKILL…")
        let killedAt = Date()
        cluster.stop(leader.id, signal: SIGKILL)
        let old = leader.id
        leader = try await waitForLeader(cluster, excluding: old)
        say(
            String(
                format: "New leader: node %llu (term %llu), %.0f ms after the kill", leader.id, leader.term,
                Date().timeIntervalSince(killedAt) * 1000))
        let survivor = cluster.members[leader.id]!.httpURL
        let answer = try await HTTP.request("POST", "\(survivor)/api/jobs", body: "{\"command\":\"echo still here\"}")
        say("  POST /api/jobs on the new leader → \(answer.status) \(answer.body)")
        try await showJobCounts(cluster, running: cluster.members.keys.sorted().filter { $0 != old })

        say("Restarting node \(old); it rejoins as a follower and catches up:")
        try cluster.start(old)
        try await Task.sleep(for: .seconds(2))
        try await showJobCounts(cluster, running: cluster.members.keys.sorted())
        say("Nothing acknowledged was lost.")

        guard stayUp else { return }
        say("")
        say("The cluster is up. Try:  curl \(cluster.members[leader.id]!.httpURL)/api/cluster")
        say("Press Ctrl-C to stop everything.")
        while !interrupted.isCancelled {
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    struct LeaderInfo {
        var id: UInt64
        var term: UInt64
    }

    /// Polls every running node until they agree on one leader (other than `excluding`).
    func waitForLeader(_ cluster: LocalCluster, excluding: UInt64?) async throws -> LeaderInfo {
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            var seen: [UInt64: UInt64] = [:]
            for id in cluster.members.keys.sorted() where id != excluding && cluster.isRunning(id) {
                guard
                    let answer = try? await HTTP.request(
                        "GET", "\(cluster.members[id]!.httpURL)/api/cluster", timeoutSeconds: 1),
                    let object = try? JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any],
                    let leader = (object["leader_id"] as? NSNumber)?.uint64Value,
                    let term = (object["current_term"] as? NSNumber)?.uint64Value
                else { continue }
                seen[leader] = term
            }
            if seen.count == 1, let (leader, term) = seen.first, leader != excluding {
                return LeaderInfo(id: leader, term: term)
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw DemoError.noLeader
    }

    private func show(_ cluster: LocalCluster, _ title: String, _ url: String) async throws {
        let answer = try await HTTP.request("GET", url)
        say("  \(title) → \(answer.status)")
        say("  \(answer.body)")
    }

    private func showJobCounts(_ cluster: LocalCluster, running: [UInt64]) async throws {
        for id in running {
            let answer = try await HTTP.request("GET", "\(cluster.members[id]!.httpURL)/api/jobs?consistent=true")
            let count = (try? JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [Any])?.count ?? -1
            say("  node \(id) sees \(count) jobs (linearizable read)")
        }
    }

    func say(_ line: String) {
        print(line)
        fflush(nil)
    }

    /// Runs `cleanup` and exits on Ctrl-C or SIGTERM.
    private static func onInterrupt(_ cleanup: @escaping @Sendable () -> Void) -> any DispatchSourceSignal {
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        let term = DispatchSource.makeSignalSource(signal: SIGTERM, queue: .global())
        for handlerSource in [source, term] {
            handlerSource.setEventHandler {
                print("\nStopping the cluster…")
                cleanup()
                exit(0)
            }
            handlerSource.resume()
        }
        return source
    }

    enum DemoError: Error, CustomStringConvertible {
        case noLeader
        var description: String { "no leader was elected within 20 s; see the node logs" }
    }
}
