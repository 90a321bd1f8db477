import BerthRaft
import Foundation
import NIOConcurrencyHelpers
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension ProcessClusterTests {
    /// Issue 12: deploy/haproxy/haproxy.cfg, run by a real HAProxy in front of a real 3-node
    /// cluster, with clients writing through it all along (each write with its own
    /// Idempotency-Key, and no retry by the client: what a client sees is what HAProxy gives it).
    @Suite("behind HAProxy (deploy/haproxy/haproxy.cfg)")
    struct LoadBalancer {
        @Test(
            "through HAProxy: 0 failed writes across transfers and a drain (the drained node leaves the rotation); a kill -9 of the leader costs only the failover gap",
            .enabled(
                if: HAProxyFront.binary != nil,
                "haproxy is not installed (Debian/Ubuntu: apt-get install haproxy); .ci/run installs it"),
            .timeLimit(.minutes(2))
        )
        func writesThroughHAProxy() async throws {
            try await withServerCluster { cluster in
                let front = try HAProxyFront(servers: cluster.ids.map { "127.0.0.1:\(cluster.member($0).httpPort)" })
                defer { front.stop() }
                do {
                    try await exercise(cluster, front)
                } catch {
                    throw Observation("\(error)\n--- haproxy log (tail) ---\n\(front.log.suffix(4000))")
                }
            }
        }

        private func exercise(_ cluster: ServerCluster, _ front: HAProxyFront) async throws {
            for id in cluster.ids { try await front.wait("n\(id)", toBe: "UP") }
            let writes = Writers(url: front.url)
            let load = Task { await writes.run(workers: 4) }
            defer {
                writes.stop()
                load.cancel()
            }
            try await writes.waitForSuccesses(after: writes.now, count: 20)

            // 1. Leadership transfers: the writers must not notice.
            // The phases cover the whole run: warm-up and transfers, the kill, the drain.
            let transfersStarted = 0.0
            var transferred = 0
            for round in 0..<3 {
                let leader = try await cluster.waitForLeader()
                let target = cluster.ids.filter { $0 != leader.id }[round % 2]
                let moved = try await HTTPCall.post(
                    "\(cluster.url(leader.id))/api/cluster/transfer-leadership", json: "{\"target\":\(target)}")
                // Under load on a busy machine a target may lag a whole election timeout: that
                // abort (409) is the transfer's answer, not a lost write.
                if moved.status == 200 { transferred += 1 } else { #expect(moved.status == 409, "\(moved)") }
                try await Task.sleep(for: .milliseconds(400))
            }
            let transfersEnded = writes.now
            #expect(transferred >= 2, "only \(transferred) of 3 transfers completed")
            let transferFailures = writes.failures(from: transfersStarted, to: transfersEnded)
            #expect(transferFailures.isEmpty, "failed writes during transfers: \(transferFailures.prefix(10))")
            let transferGap = writes.longestGap(from: transfersStarted, to: transfersEnded)

            // 2. kill -9 of the leader: writes stop for the failover gap, and only for it. The
            // phase runs until the killed node is back in the rotation.
            let victim = try await cluster.waitForLeader().id
            let killedAt = writes.now
            await cluster.stop(victim, signal: SIGKILL)
            try await writes.waitForSuccesses(after: killedAt, count: 1, within: 10)
            // Writes that reach a follower while no leader is known are held, not refused, so the
            // gap is a silence: the longest time without any acknowledgement around the kill.
            let firstAcknowledged = try #require(writes.firstAcknowledgement(sentAfter: killedAt))
            let failoverGap = writes.longestGap(from: killedAt, to: firstAcknowledged) ?? 0
            #expect(failoverGap < 5, "the failover gap was \(failoverGap) s")
            try await front.wait("n\(victim)", toBe: "DOWN", within: 2)
            try await cluster.start(victim)
            try await front.wait("n\(victim)", toBe: "UP", within: 15)
            let killPhaseEnded = writes.now
            let killFailures = writes.failures(from: transfersEnded, to: killPhaseEnded)
            let lateFailures = killFailures.filter { $0.start > firstAcknowledged + 0.25 }
            #expect(lateFailures.isEmpty, "writes failed after the new leader took them: \(lateFailures.prefix(10))")

            // 3. Drain the leader: it hands leadership away, fails /health/ready, HAProxy takes
            // it out of the rotation, and the writes go on without a failure.
            let drainedLeader = try await cluster.waitForLeader().id
            // The command the Kubernetes preStop hook runs.
            let drained = try await BerthCLI.run(["cluster", "drain", "--servers", cluster.url(drainedLeader)])
            #expect(drained.status == 0 && drained.stdout.contains("node \(drainedLeader) is draining"), "\(drained)")
            let leftRotationAfter = try await front.wait("n\(drainedLeader)", toBe: "DOWN", within: 3)
            let ready = try await HTTPCall.get("\(cluster.url(drainedLeader))/health/ready")
            #expect(ready.status == 503, "\(ready)")
            let sessionsWhenDown = try await front.servers()["n\(drainedLeader)"]?.sessions
            let quietFrom = writes.now
            try await Task.sleep(for: .milliseconds(700))
            let sessionsLater = try await front.servers()["n\(drainedLeader)"]?.sessions
            #expect(sessionsLater == sessionsWhenDown, "HAProxy still sent requests to the drained node")
            #expect(writes.successes(from: quietFrom, to: writes.now) > 0, "writes stopped after the drain")

            writes.stop()
            await load.value
            let drainFailures = writes.failures(from: killPhaseEnded, to: .infinity)
            #expect(drainFailures.isEmpty, "failed writes during and after the drain: \(drainFailures.prefix(10))")

            // Every acknowledged write is there once: HAProxy's retries replayed writes with
            // their Idempotency-Key, so none was applied twice.
            let leader = try await cluster.waitForLeader(among: cluster.ids.filter { $0 != drainedLeader }).id
            let count = try await HTTPCall.get("\(cluster.url(leader))/api/jobs?page_size=1&consistent=true")
            let total = try #require(count.header("X-Total-Count").flatMap { Int($0) }, "\(count)")
            let summary = writes.summary
            #expect(
                total >= summary.acknowledged && total <= summary.acknowledged + summary.failed,
                "\(total) jobs for \(summary.acknowledged) acknowledged and \(summary.failed) failed writes")

            print(
                """
                HAProxy in front of 3 nodes, 4 writers, no client retries: \(summary.acknowledged) writes acknowledged, \
                \(summary.failed) failed (\(writes.failureCounts(in: killFailures)) during the kill -9, 0 allowed elsewhere)
                  transfers: \(transferred)/3 completed, longest write gap \(ms(transferGap)), \
                \(transferFailures.count) failed writes
                  kill -9 of leader n\(victim): failover gap \(ms(failoverGap)) (the longest time without an \
                acknowledgement), the first write sent after the kill acknowledged \(ms(firstAcknowledged - killedAt)) \
                after it; \(killFailures.count) failed writes \(killFailures)
                  drain of leader n\(drainedLeader): out of the rotation \(ms(leftRotationAfter)) after the drain answered, \
                \(drainFailures.count) failed writes; \(total) jobs stored
                """)
            // What HAProxy did with every request that did not end in 201 (retries show as "+N").
            let unusual = front.log.split(separator: "\n").filter { $0.contains("/api/jobs") && !$0.contains(" 201 ") }
            if !unusual.isEmpty {
                print("HAProxy log, writes not answered 201:\n" + unusual.suffix(20).joined(separator: "\n"))
            }
        }

        private func ms(_ seconds: Double?) -> String {
            seconds.map { String(format: "%.0f ms", $0 * 1000) } ?? "n/a"
        }
    }
}

/// Clients writing jobs through one URL as fast as they get answers, each write with a fresh
/// Idempotency-Key and no retry of their own; every attempt is recorded with its outcome.
final class Writers: Sendable {
    struct Attempt: CustomStringConvertible {
        var start: Double
        var end: Double
        /// The HTTP status, or nil when the request failed without one (refused, timed out).
        var status: Int?
        var detail: String
        var ok: Bool { status == 201 }
        var description: String {
            String(format: "[%.3f–%.3f s] ", start, end) + (status.map { "\($0) " } ?? "") + detail
        }
    }

    let url: String
    private let origin = ContinuousClock.now
    private let attempts = NIOLockedValueBox<[Attempt]>([])
    private let stopped = NIOLockedValueBox(false)

    init(url: String) { self.url = url }

    /// Seconds since these writers were made: the time base of every `Attempt`.
    var now: Double {
        let elapsed = ContinuousClock.now - origin
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    func stop() { stopped.withLockedValue { $0 = true } }

    func run(workers: Int) async {
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<workers {
                group.addTask {
                    var number = 0
                    while !self.stopped.withLockedValue({ $0 }) && !Task.isCancelled {
                        number += 1
                        let key = "lb-\(worker)-\(number)-\(UUID().uuidString.prefix(8))"
                        let start = self.now
                        var attempt = Attempt(start: start, end: start, status: nil, detail: "")
                        do {
                            let answer = try await HTTPCall.post(
                                "\(self.url)/api/jobs", json: "{\"command\":\"echo \(key)\"}",
                                headers: ["Idempotency-Key": key], timeoutSeconds: 10)
                            attempt.status = answer.status
                            if answer.status != 201 {
                                attempt.detail = answer.errorCode ?? String(answer.body.prefix(120))
                            }
                        } catch {
                            attempt.detail = "\(error)"
                        }
                        attempt.end = self.now
                        self.attempts.withLockedValue { $0.append(attempt) }
                    }
                }
            }
        }
    }

    /// Waits until `count` writes sent at or after `time` were acknowledged.
    func waitForSuccesses(after time: Double, count: Int, within seconds: Double = 10) async throws {
        _ = try await eventually("\(count) acknowledged writes", within: seconds, every: .milliseconds(10)) {
            () -> Bool? in
            let seen = attempts.withLockedValue { $0.filter { $0.ok && $0.start >= time }.count }
            guard seen >= count else { throw Observation("\(seen) acknowledged; last: \(last)") }
            return true
        }
    }

    private var last: String { attempts.withLockedValue { $0.suffix(3).map(\.description).joined(separator: "; ") } }

    /// Failed writes sent in `[from, to]`.
    func failures(from: Double, to: Double) -> [Attempt] {
        attempts.withLockedValue { $0.filter { !$0.ok && $0.start >= from && $0.start <= to } }
    }

    func successes(from: Double, to: Double) -> Int {
        attempts.withLockedValue { $0.filter { $0.ok && $0.start >= from && $0.start <= to }.count }
    }

    /// When the first write sent at or after `time` was acknowledged.
    func firstAcknowledgement(sentAfter time: Double) -> Double? {
        attempts.withLockedValue { $0.filter { $0.ok && $0.start >= time }.map(\.end).min() }
    }

    /// The longest time between two acknowledgements that overlaps `[from, to]`.
    func longestGap(from: Double, to: Double) -> Double? {
        attempts.withLockedValue { all in
            let ends = all.filter(\.ok).map(\.end).sorted()
            return zip(ends, ends.dropFirst()).filter { $0.0 <= to && $0.1 >= from }.map { $0.1 - $0.0 }.max()
        }
    }

    var summary: (acknowledged: Int, failed: Int) {
        attempts.withLockedValue { all in
            let ok = all.filter(\.ok).count
            return (ok, all.count - ok)
        }
    }

    /// "503 NO_LEADER ×3, …" for a report.
    func failureCounts(in failures: [Attempt]) -> String {
        var counts: [String: Int] = [:]
        for failure in failures {
            counts[(failure.status.map { "\($0) " } ?? "") + failure.detail.prefix(60), default: 0] += 1
        }
        return counts.isEmpty
            ? "none" : counts.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", ")
    }
}
