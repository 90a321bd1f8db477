import BerthRaft
import Foundation
import NIOCore
import Testing

extension ProcessClusterTests {
    /// Spec §7: jobs API validation, errors as JSON with stable codes, paging and idempotency.
    @Suite("HTTP API")
    struct HTTPAPI {
        @Test("invalid requests answer JSON errors with stable codes: 400, 404, 413, terminal DELETE")
        func errors() async throws {
            try await withServerCluster { cluster in
                let leader = try await cluster.waitForLeader()
                let follower = cluster.ids.first { $0 != leader.id }!
                for id in [leader.id, follower] {
                    let base = cluster.url(id)
                    let empty = try await cluster.createJob(via: id, command: "")
                    #expect(empty.status == 400, "node \(id): \(empty)")
                    #expect(empty.errorCode == "INVALID_ARGUMENT", "node \(id): \(empty)")
                    #expect(empty.isErrorShape, "node \(id): \(empty)")
                    #expect(empty.header("Content-Type")?.hasPrefix("application/json") == true)

                    let blank = try await cluster.createJob(via: id, command: "   ")
                    #expect(blank.status == 400, "node \(id): \(blank)")

                    let tooLong = try await cluster.createJob(via: id, command: String(repeating: "x", count: 1025))
                    #expect(tooLong.status == 400, "node \(id): \(tooLong)")
                    #expect(tooLong.errorCode == "INVALID_ARGUMENT", "node \(id): \(tooLong)")
                    let longest = try await cluster.createJob(via: id, command: String(repeating: "y", count: 1024))
                    #expect(longest.status == 201, "node \(id): 1024 bytes is allowed: \(longest)")

                    let missingField = try await HTTPCall.post("\(base)/api/jobs", json: "{\"image\":\"x\"}")
                    #expect(missingField.status == 400, "node \(id): \(missingField)")
                    #expect(missingField.errorCode == "INVALID_ARGUMENT", "node \(id): \(missingField)")
                    let notJSON = try await HTTPCall.post("\(base)/api/jobs", json: "{command")
                    #expect(notJSON.status == 400, "node \(id): \(notJSON)")
                    #expect(notJSON.isErrorShape, "node \(id): \(notJSON)")

                    let unknownJob = try await HTTPCall.get("\(base)/api/jobs/no-such-job")
                    #expect(unknownJob.status == 404, "node \(id): \(unknownJob)")
                    #expect(unknownJob.errorCode == "NOT_FOUND", "node \(id): \(unknownJob)")
                    #expect(unknownJob.isErrorShape, "node \(id): \(unknownJob)")

                    let unknownRoute = try await HTTPCall.get("\(base)/api/no-such-route")
                    #expect(unknownRoute.status == 404, "node \(id): \(unknownRoute)")
                    #expect(unknownRoute.errorCode == "NOT_FOUND", "node \(id): \(unknownRoute)")
                    #expect(
                        unknownRoute.header("Content-Type")?.hasPrefix("application/json") == true, "\(unknownRoute)")

                    let huge = "{\"command\":\"" + String(repeating: "z", count: (1 << 20) + 1024) + "\"}"
                    let tooLarge = try await HTTPCall.post("\(base)/api/jobs", json: huge)
                    #expect(tooLarge.status == 413, "node \(id): \(tooLarge)")
                    #expect(tooLarge.errorCode == "TOO_LARGE", "node \(id): \(tooLarge)")

                    let cancelUnknown = try await HTTPCall.delete("\(base)/api/jobs/no-such-job")
                    #expect(cancelUnknown.status == 404, "node \(id): \(cancelUnknown)")
                    #expect(cancelUnknown.isErrorShape, "node \(id): \(cancelUnknown)")

                    let jobID = try await cluster.createAcknowledgedJob(via: id, command: "sleep 1000")
                    let cancelled = try await HTTPCall.delete("\(base)/api/jobs/\(jobID)")
                    #expect(cancelled.status == 200, "node \(id): \(cancelled)")
                    #expect(cancelled.string("status") == "cancelled", "node \(id): \(cancelled)")
                    let again = try await HTTPCall.delete("\(base)/api/jobs/\(jobID)")
                    #expect(again.status == 400, "node \(id): \(again)")
                    #expect(again.errorCode == "JOB_ALREADY_TERMINAL", "node \(id): \(again)")
                    #expect(again.isErrorShape, "node \(id): \(again)")
                }
            }
        }

        @Test("GET /api/jobs pages with X-Next-Page-Token and X-Total-Count; one Idempotency-Key creates one job")
        func pagingAndIdempotency() async throws {
            try await withServerCluster { cluster in
                let leader = try await cluster.waitForLeader()
                let follower = cluster.ids.first { $0 != leader.id }!
                let created = try await cluster.createJobs(
                    5, via: [leader.id, follower], concurrency: 1, prefix: "page")

                var seen: [String] = []
                var token: String?
                var pages = 0
                repeat {
                    var url = "\(cluster.url(follower))/api/jobs?page_size=2&consistent=true"
                    if let token {
                        url += "&page_token=\(token.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)"
                    }
                    let page = try await HTTPCall.get(url)
                    #expect(page.status == 200, "\(page)")
                    let jobs = try #require(page.array, "\(page)")
                    #expect(jobs.count <= 2)
                    #expect(page.header("X-Total-Count") == "5", "\(page.headers)")
                    seen += jobs.compactMap { $0["id"] as? String }
                    token = page.header("X-Next-Page-Token").flatMap { $0.isEmpty ? nil : $0 }
                    pages += 1
                } while token != nil && pages < 10
                #expect(pages == 3, "5 jobs in pages of 2")
                #expect(seen.count == 5 && Set(seen) == Set(created), "paged \(seen), created \(created)")

                let badSize = try await HTTPCall.get("\(cluster.url(follower))/api/jobs?page_size=1001")
                #expect(badSize.status == 400, "\(badSize)")
                #expect(badSize.errorCode == "INVALID_ARGUMENT", "\(badSize)")

                // The same key twice — once through a follower, once on the leader — is one job.
                let key = "retry-\(UUID().uuidString)"
                let first = try await cluster.createJob(via: follower, command: "echo once", idempotencyKey: key)
                let second = try await cluster.createJob(via: leader.id, command: "echo once", idempotencyKey: key)
                #expect(first.status == 201, "\(first)")
                #expect([200, 201].contains(second.status), "\(second)")
                let jobID = try #require(first.string("job_id"))
                #expect(second.string("job_id") == jobID, "first \(first), second \(second)")
                #expect(try await cluster.jobCount(on: leader.id) == 6)

                // The key is bound to its request: another body with it is refused, and the
                // first request still gets its first answer.
                let other = try await cluster.createJob(via: follower, command: "echo other", idempotencyKey: key)
                #expect(other.status == 422, "\(other)")
                #expect(other.errorCode == "IDEMPOTENCY_KEY_REUSED", "\(other)")
                #expect(other.header("Retry-After") == nil)
                let again = try await cluster.createJob(via: leader.id, command: "echo once", idempotencyKey: key)
                #expect(again.string("job_id") == jobID, "\(again)")
                #expect(try await cluster.jobCount(on: leader.id) == 6)
            }
        }

        /// Spec §8: Prometheus `/metrics` on every node.
        @Test("GET /metrics is Prometheus text with the Raft gauges and counters and error answers by route")
        func metrics() async throws {
            try await withServerCluster { cluster in
                let leader = try await cluster.waitForLeader()
                _ = try await cluster.createJobs(3, via: [leader.id], concurrency: 1, prefix: "metrics")
                #expect(try await cluster.createJob(via: leader.id, command: "").status == 400)
                let follower = cluster.ids.first { $0 != leader.id }!
                for (id, leads) in [(leader.id, 1), (follower, 0)] {
                    let answer = try await HTTPCall.get("\(cluster.url(id))/metrics")
                    #expect(answer.status == 200)
                    #expect(answer.header("Content-Type")?.hasPrefix("text/plain; version=0.0.4") == true)
                    let lines = answer.body.split(separator: "\n")
                    func value(_ name: String) -> Double? {
                        lines.first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ").last!) }
                    }
                    #expect(value("berth_raft_is_leader") == Double(leads), "node \(id):\n\(answer.body)")
                    #expect((value("berth_raft_term") ?? 0) >= 1)
                    #expect((value("berth_raft_commit_index") ?? 0) >= 9, "6 bootstrap entries, a no-op, 3 jobs")
                    #expect((value("berth_raft_entries_applied_total") ?? 0) >= 3)
                    #expect(answer.body.contains("# TYPE berth_raft_persist_seconds histogram"))
                    if id == leader.id {
                        #expect(
                            answer.body.contains(
                                #"berth_http_errors_total{route="/api/jobs",method="POST",status="400"} 1"#),
                            "\(answer.body)")
                    }
                }
            }
        }
    }
}
