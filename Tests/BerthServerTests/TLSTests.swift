import BerthRaft
import Foundation
import Testing

/// The lines of a scrape that count TLS refusals with these label values.
private func refusals(in scrape: String, direction: String, reason: String) -> Int {
    var total = 0
    for line in scrape.split(separator: "\n")
    where line.hasPrefix("berth_peer_tls_handshake_failures_total{") && line.contains("direction=\"\(direction)\"")
        && line.contains("reason=\"\(reason)\"")
    {
        total += Int(Double(line.split(separator: " ").last ?? "0") ?? 0)
    }
    return total
}

extension ProcessClusterTests {
    /// Issue 12: mutual TLS between peers, HTTPS on the API, and the two refusals (a certificate
    /// from another CA, a plaintext peer), each logged and counted.
    @Suite("TLS", .enabled(if: TestCertificates.opensslPath != nil, TestCertificates.skipReason))
    struct TLS {
        @Test("a TLS cluster elects, forwards a follower's write, transfers leadership and serves reads over HTTPS")
        func tlsCluster() async throws {
            let certs = try TestCertificates.cluster()
            try await withServerCluster(https: true, nodeArguments: { certs.serverArguments(Int($0)) }) { cluster in
                let leader = try await cluster.waitForLeader()
                #expect(cluster.url(leader.id).hasPrefix("https://"))
                let follower = cluster.ids.first { $0 != leader.id }!

                // A write through a follower goes to the leader over the TLS peer link.
                let jobID = try await cluster.createAcknowledgedJob(via: follower, command: "echo over-tls")
                let moved = try await HTTPCall.post(
                    "\(cluster.url(leader.id))/api/cluster/transfer-leadership", json: "{\"target\":\(follower)}")
                #expect(moved.status == 200, "\(moved)")
                let second = try await cluster.waitForLeader(within: 5)
                #expect(second.id == follower)
                _ = try await cluster.createAcknowledgedJob(via: leader.id, command: "echo after-transfer")
                for id in cluster.ids {
                    #expect(try await cluster.jobIDs(on: id, consistent: true).contains(jobID), "node \(id)")
                }
                for id in cluster.ids {
                    let ready = try await HTTPCall.get("\(cluster.url(id))/health/ready")
                    #expect(ready.status == 200, "node \(id): \(ready)")
                }

                // The CLI trusts the CA with --ca (or BERTH_CA), and refuses the server without it.
                let servers = cluster.ids.map { cluster.url($0) }.joined(separator: ",")
                let status = try await BerthCLI.run([
                    "cluster", "status", "--servers", servers, "--ca", certs.ca, "-o", "json",
                ])
                #expect(status.status == 0, "\(status)")
                #expect((status.json?["leader_id"] as? NSNumber)?.uint64Value == second.id, "\(status)")
                let viaEnvironment = try await BerthCLI.run(
                    ["cluster", "status", "--servers", servers], environment: ["BERTH_CA": certs.ca])
                #expect(viaEnvironment.status == 0, "\(viaEnvironment)")
                let untrusted = try await BerthCLI.run(["cluster", "status", "--servers", cluster.url(leader.id)])
                #expect(untrusted.status == 69, "\(untrusted)")

                // An agent trusts the CA with --ca too, and registers over HTTPS.
                let directory = NSTemporaryDirectory() + "berth-tls-agent-\(UUID().uuidString.prefix(8))"
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                defer { try? FileManager.default.removeItem(atPath: directory) }
                let agent = try ProcessClusterTests.AgentLaunches.RunningAgent(
                    servers: cluster.ids.map { cluster.url($0) }, nodeID: "tls-agent", directory: directory,
                    extra: ["--ca", certs.ca])
                defer { agent.stop() }
                _ = try await eventually("the agent to register over HTTPS", within: 20) { () -> Bool? in
                    let answer = try await HTTPCall.get(
                        "\(cluster.url(second.id))/api/v1alpha1/nodes/tls-agent/explain")
                    return answer.status == 200 ? true : nil
                }

                // Plain HTTP to the HTTPS port gets no answer.
                let plain = try? await HTTPCall.get(
                    "http://127.0.0.1:\(cluster.member(leader.id).httpPort)/health/live", timeoutSeconds: 2)
                #expect(plain == nil || plain?.status != 200, "\(String(describing: plain))")
            }
        }

        @Test("a node whose certificate another CA signed is refused at the handshake, in the logs and the metric")
        func foreignCertificateRefused() async throws {
            let certs = try TestCertificates.cluster()
            let rogue = try TestCertificates.rogue()
            try await withServerCluster(
                startAll: false,
                nodeArguments: { $0 == 3 ? rogue.serverArguments(3) : certs.serverArguments(Int($0)) }
            ) { cluster in
                // Node 3's API certificate is not signed by the tests' CA either: only its peer
                // links are looked at here, through nodes 1 and 2.
                try cluster.local.start(3, extraArguments: cluster.nodeArguments(3))
                for id: NodeID in [1, 2] {
                    try cluster.local.start(id, extraArguments: cluster.nodeArguments(id))
                }
                let https = { (id: NodeID) in "https://127.0.0.1:\(cluster.member(id).httpPort)" }
                _ = try await eventually("nodes 1 and 2 to elect a leader", within: 20) { () -> Bool? in
                    let answer = try await HTTPCall.get("\(https(1))/api/cluster", timeoutSeconds: 2)
                    return (answer.object?["leader_id"] as? NSNumber).map { $0.uint64Value != 0 } == true ? true : nil
                }
                for id: NodeID in [1, 2] {
                    let counted = try await eventually("node \(id) to count the refusal", within: 10) { () -> String? in
                        let scrape = try await HTTPCall.get("\(https(id))/metrics").body
                        // Dialling node 3: its certificate fails our check. Dialled by it: it
                        // refuses ours (the rogue checks us against its own CA first).
                        let out = refusals(in: scrape, direction: "outbound", reason: "untrusted_certificate")
                        let inbound = refusals(in: scrape, direction: "inbound", reason: "certificate_refused_by_peer")
                        guard out > 0, inbound > 0 else { throw Observation("outbound \(out), inbound \(inbound)") }
                        return scrape
                    }
                    if promtoolPath != nil {
                        let check = try runPromtool(["check", "metrics"], stdin: counted)
                        #expect(check.status == 0, "promtool check metrics:\n\(check.output)")
                    }
                    let refusedLines = cluster.log(id).split(separator: "\n").filter {
                        $0.contains("peer TLS handshake refused") && $0.contains("127.0.0.1")
                    }
                    #expect(
                        refusedLines.contains { $0.contains("untrusted_certificate") },
                        "\(cluster.log(id).suffix(3000))")
                    // One line per remote and reason every 10 s, not one per redial.
                    #expect(refusedLines.count <= 10, "\(refusedLines.count) refusal lines")
                }
                // The rogue sees the other side refuse it, and never joins.
                #expect(cluster.log(3).contains("peer TLS handshake refused"), "\(cluster.log(3).suffix(2000))")
                let members = try await HTTPCall.get("\(https(1))/api/cluster")
                let voters = (members.object?["nodes"] as? [[String: Any]] ?? []).filter {
                    $0["voter"] as? Bool == true
                }
                #expect(!voters.contains { ($0["node_id"] as? NSNumber)?.uint64Value == 3 }, "\(members)")
            }
        }

        @Test("a plaintext peer is refused by a TLS node, in its logs and the metric")
        func plaintextPeerRefused() async throws {
            let certs = try TestCertificates.cluster()
            try await withServerCluster(
                startAll: false, nodeArguments: { $0 == 3 ? [] : certs.serverArguments(Int($0)) }
            ) { cluster in
                for id: NodeID in [1, 2, 3] {
                    try cluster.local.start(id, extraArguments: cluster.nodeArguments(id))
                }
                let url = { (id: NodeID) in
                    "\(id == 3 ? "http" : "https")://127.0.0.1:\(cluster.member(id).httpPort)"
                }
                _ = try await eventually("nodes 1 and 2 to elect a leader", within: 20) { () -> Bool? in
                    let answer = try await HTTPCall.get("\(url(1))/api/cluster", timeoutSeconds: 2)
                    return (answer.object?["leader_id"] as? NSNumber).map { $0.uint64Value != 0 } == true ? true : nil
                }
                for id: NodeID in [1, 2] {
                    _ = try await eventually("node \(id) to count the plaintext peer", within: 10) { () -> Bool? in
                        let scrape = try await HTTPCall.get("\(url(id))/metrics").body
                        let count = refusals(in: scrape, direction: "inbound", reason: "plaintext")
                        guard count > 0 else { throw Observation("plaintext refusals \(count)") }
                        return true
                    }
                    #expect(
                        cluster.log(id).split(separator: "\n").contains {
                            $0.contains("peer TLS handshake refused") && $0.contains("plaintext")
                                && $0.contains("127.0.0.1")
                        }, "\(cluster.log(id).suffix(3000))")
                }
                // The plaintext node is up (its API answers) but reaches no one.
                let alone = try await HTTPCall.get("\(url(3))/api/cluster")
                #expect(alone.status == 200, "\(alone)")
                #expect((alone.object?["leader_id"] as? NSNumber)?.uint64Value ?? 0 == 0, "\(alone)")
            }
        }
    }
}
