import BerthControlPlane
import BerthServer
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The opening of `berth demo`: the payments scenario on the real cluster, told with the CLI's
/// own client and tables. Four nodes report their truth through different servers, the
/// explanation is printed, the leader is killed with SIGKILL, and the new leader (then the
/// restarted old one) gives the same answer for the same instant.
extension LocalClusterDemo {
    /// Runs the story from `leader` and returns the leader at its end (every node running again).
    func paymentsStory(_ cluster: LocalCluster, leader: LeaderInfo) async throws -> LeaderInfo {
        let ids = cluster.members.keys.sorted()
        let intentName = IntentName.of(payments.intent) ?? "the intent"
        say("")
        let asks = Self.asks(payments.intent)
        say("The payments scenario (\(Self.shortPath(payments.directory))): \(intentName) asks for \(asks).")
        say("Four nodes report their truth, each through another server (SchedulerEnvelopes re-timed to now,")
        say("their ages kept: \(Self.oldest(payments.envelopes))):")
        let bodies = try Envelopes.retimed(
            payments.envelopes, names: PaymentsFixture.nodes, newestAtMs: Envelopes.nowMs())
        for (n, (name, body)) in zip(PaymentsFixture.nodes, bodies).enumerated() {
            let via = ids[n % ids.count]
            let role = via == leader.id ? "the leader" : "a follower, forwarded to the leader"
            let answer = try await api(cluster, via).write("/api/v1alpha1/intake/envelope", body: body)
            let sequence = answer.json?["sequence"]?.display ?? "?"
            let padded = name.padding(toLength: 8, withPad: " ", startingAt: 0)
            say("  \(padded)→ node \(via) (\(role)): accepted, sequence \(sequence)")
        }

        // One instant for every answer, so that the servers are asked the same question.
        let at = RFC3339.string(fromMilliseconds: Envelopes.nowMs())
        let path = "/api/v1alpha1/schedule/explain" + Query.string([("consistent", "true"), ("at", at)])
        let intentFile = Self.shortPath(payments.intentPath)
        func explain(on id: UInt64) async throws -> APIAnswer {
            let server = cluster.members[id]!.httpURL
            say("")
            say("$ berth schedule explain \(intentFile) --servers \(server) --consistent --at \(at)")
            let answer = try await retrying { try await api(cluster, id).call("POST", path, body: payments.intent) }
            say(ExplanationTable.render(answer.json ?? .null, intentName: intentName))
            return answer
        }
        let first = try await explain(on: leader.id)

        say("")
        say("Killing the leader, node \(leader.id), with SIGKILL…")
        let killedAt = Date()
        cluster.stop(leader.id, signal: SIGKILL)
        let next = try await waitForLeader(cluster, excluding: leader.id)
        say(
            String(
                format: "New leader: node %llu (term %llu), %.0f ms after the kill", next.id, next.term,
                Date().timeIntervalSince(killedAt) * 1000))
        let second = try await explain(on: next.id)
        let (same, comparison) = compare(second, with: first, reference: "node \(leader.id)'s")
        say(
            "Node \(next.id)'s answer is \(comparison)"
                + (same ? ": the log moved on (a new leader appends an entry), the fleet did not." : ""))

        say("")
        say("Restarting node \(leader.id); it rejoins as a follower and catches up from its own disk and the leader:")
        try cluster.start(leader.id)
        try await waitCaughtUp(cluster, node: leader.id, leader: next.id)
        let third = try await retrying { try await api(cluster, leader.id).call("POST", path, body: payments.intent) }
        let (_, rejoined) = compare(third, with: first, reference: "its answer before the kill")
        say("  Node \(leader.id), restarted and caught up, answers: \(rejoined).")
        return next
    }

    /// Whether two answers are the same JSON document apart from `state_index`, and the words
    /// for it: "identical to X apart from state_index (16 → 17)", or both documents.
    private func compare(_ answer: APIAnswer, with reference: APIAnswer, reference name: String) -> (Bool, String) {
        func stripped(_ answer: APIAnswer) -> JSONValue? {
            guard case .object(var fields) = answer.json else { return nil }
            fields["state_index"] = nil
            return .object(fields)
        }
        let indices =
            "\(reference.json?["state_index"]?.display ?? "?") → \(answer.json?["state_index"]?.display ?? "?")"
        if let a = stripped(answer), a == stripped(reference) {
            return (true, "identical to \(name) apart from state_index (\(indices))")
        }
        return (false, "NOT identical to \(name):\n  before: \(reference.body)\n  after:  \(answer.body)")
    }

    /// A client for one node only: the story says which server it asks.
    private func api(_ cluster: LocalCluster, _ id: UInt64) -> APIClient {
        APIClient(servers: [cluster.members[id]!.httpURL], timeoutSeconds: 5)
    }

    /// `body` again while no server answers (a 503 from a leader not yet ready, say), up to 15 s.
    private func retrying(_ body: () async throws -> APIAnswer) async throws -> APIAnswer {
        let deadline = Date().addingTimeInterval(15)
        while true {
            do {
                return try await body()
            } catch CLIError.unreachable where Date() < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    /// Waits until every member is a voter in the configuration the leader applied (the lowest
    /// id founds the cluster and admits the others one at a time).
    func waitForVoters(_ cluster: LocalCluster, leader: UInt64) async throws {
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if let status = try? await clusterStatus(cluster, leader),
                let nodes = status["nodes"]?.items,
                nodes.filter({ $0["voter"]?.boolean == true }).count == cluster.members.count
            {
                return
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw DemoError.noLeader
    }

    /// Waits until `node` follows `leader` and has applied what the leader had committed.
    private func waitCaughtUp(_ cluster: LocalCluster, node: UInt64, leader: UInt64) async throws {
        let deadline = Date().addingTimeInterval(20)
        var target: Int64?
        while Date() < deadline {
            if target == nil { target = try? await clusterStatus(cluster, leader)["commit_index"]?.integer }
            if let target, let status = try? await clusterStatus(cluster, node),
                status["leader_id"]?.integer == Int64(leader), let applied = status["last_applied"]?.integer,
                applied >= target
            {
                return
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw DemoError.noLeader
    }

    private func clusterStatus(_ cluster: LocalCluster, _ id: UInt64) async throws -> JSONValue {
        let answer = try await HTTP.request("GET", "\(cluster.members[id]!.httpURL)/api/cluster", timeoutSeconds: 1)
        return try JSONParser.parse(Array(answer.body.utf8))
    }

    /// "4 vCPU, 8192 MiB, KVM" from the intent document.
    private static func asks(_ intent: String) -> String {
        guard let json = try? JSONParser.parse(Array(intent.utf8)) else { return "resources" }
        var parts = ["\(json["vcpus"]?.display ?? "?") vCPU", "\(json["memory_mib"]?.display ?? "?") MiB"]
        if json["requires_kvm"]?.boolean == true { parts.append("KVM") }
        if let labels = json["labels"]?.fields, !labels.isEmpty {
            parts.append("labels " + labels.keys.sorted().map { "\($0)=\(labels[$0]!.display)" }.joined(separator: ","))
        }
        return parts.joined(separator: ", ")
    }

    /// "x86-02's is 10m0s older than the newest": the fixture's stalest report.
    private static func oldest(_ envelopes: [String]) -> String {
        let reports = envelopes.compactMap { text -> (String, Int64)? in
            guard let json = try? JSONParser.parse(Array(text.utf8)), let node = json["node_id"]?.text,
                let at = json["observed_at"]?.text.flatMap(RFC3339.milliseconds(from:))
            else { return nil }
            return (node, at)
        }
        guard let newest = reports.map(\.1).max(), let oldest = reports.min(by: { $0.1 < $1.1 }) else {
            return "as written"
        }
        return "\(oldest.0)'s is \(Format.duration(milliseconds: newest - oldest.1)) older than the newest"
    }

    /// A path relative to the current directory when it is under it.
    private static func shortPath(_ path: String) -> String {
        let here = FileManager.default.currentDirectoryPath + "/"
        return path.hasPrefix(here) ? String(path.dropFirst(here.count)) : path
    }
}
