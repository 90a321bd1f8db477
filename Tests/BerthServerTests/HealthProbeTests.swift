import BerthRaft
import Foundation
import Testing

extension ProcessClusterTests {
    /// Spec §7: `/health/live` answers while the process runs; `/health/ready` only when a leader
    /// is known and the node has applied what is committed.
    @Suite("health probes")
    struct HealthProbes {
        @Test("live is 200 ok; ready is 503 no_leader on a lone node, then 200 with leader_id once a leader is elected")
        func probes() async throws {
            try await withServerCluster(startAll: false) { cluster in
                try await cluster.start(1)
                let live = try await HTTPCall.get("\(cluster.url(1))/health/live")
                #expect(live.status == 200, "\(live)")
                #expect(live.string("status") == "ok", "\(live)")
                #expect(live.header("Content-Type")?.hasPrefix("application/json") == true)

                // Several election timeouts pass with both peers down: never ready.
                let startedAt = Date()
                while secondsSince(startedAt) < 1 {
                    let ready = try await HTTPCall.get("\(cluster.url(1))/health/ready")
                    #expect(ready.status == 503, "\(ready)")
                    #expect(ready.string("status") == "no_leader", "\(ready)")
                    #expect(ready.object?["leader_id"] is NSNull, "\(ready)")
                    try await Task.sleep(for: .milliseconds(100))
                }
                let verbose = try await HTTPCall.get("\(cluster.url(1))/health/ready?verbose")
                let checks = verbose.object?["checks"] as? [[String: Any]] ?? []
                #expect(
                    Set(checks.compactMap { $0["name"] as? String })
                        == ["leader_known", "apply_lag", "storage_writable", "not_draining"], "\(verbose)")
                #expect(checks.first { $0["name"] as? String == "leader_known" }?["ok"] as? Bool == false)

                // Spec §2: with no leader a node answers writes 503 (retry later), never accepting them.
                let write = try await cluster.createJob(via: 1, command: "echo alone")
                #expect(write.status == 503, "\(write)")
                #expect(write.errorCode == "NO_LEADER", "\(write)")
                #expect(write.header("Retry-After") != nil, "\(write)")

                try await cluster.start(2)
                try await cluster.start(3)
                let leader = try await cluster.waitForLeader()
                for id in cluster.ids {
                    let ready = try await eventually("node \(id) to be ready", within: 10) { () -> HTTPAnswer? in
                        let answer = try await HTTPCall.get("\(cluster.url(id))/health/ready")
                        guard answer.status == 200 else { throw Observation("\(answer)") }
                        return answer
                    }
                    #expect(ready.string("status") == "ok", "node \(id): \(ready)")
                    #expect(ready.integer("leader_id") == leader.id, "node \(id): \(ready)")
                }
            }
        }
    }
}
