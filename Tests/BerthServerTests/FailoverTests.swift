import BerthRaft
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension ProcessClusterTests {
    /// Spec §2: "a crash at any instant loses no acknowledged write"; a killed leader is replaced
    /// and, restarted, catches up.
    @Suite("failover")
    struct Failover {
        @Test(
            "kill -9 of the leader: a new leader within seconds, no acknowledged write lost, the old leader catches up")
        func killLeader() async throws {
            try await withServerCluster { cluster in
                let leader = try await cluster.waitForLeader()
                let acknowledged = try await cluster.createJobs(
                    30, via: cluster.ids, concurrency: 6, prefix: "before-kill")
                #expect(Set(acknowledged).count == 30)

                // Writers keep going through the survivors while the leader dies. Each retries
                // with one Idempotency-Key until it gets a 201, so each command is one job.
                let survivors = cluster.ids.filter { $0 != leader.id }
                let during = AcknowledgedWrites()
                let writers = Task {
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        for (worker, via) in survivors.enumerated() {
                            group.addTask {
                                var number = 0
                                while await !during.stopped {
                                    let command = "echo during-\(worker)-\(number)"
                                    let jobID = try await cluster.createAcknowledgedJob(via: via, command: command)
                                    await during.add(jobID, command)
                                    number += 1
                                }
                            }
                        }
                        try await group.waitForAll()
                    }
                }
                defer { writers.cancel() }
                try await Task.sleep(for: .milliseconds(200))

                let killedAt = Date()
                await cluster.stop(leader.id, signal: SIGKILL)
                let successor = try await cluster.waitForLeader(among: survivors, excluding: leader.id, within: 10)
                let failoverSeconds = secondsSince(killedAt)
                #expect(failoverSeconds < 5, "new leader after \(failoverSeconds) s")
                #expect(successor.term > leader.term)
                try await Task.sleep(for: .milliseconds(300))
                await during.stop()
                try await writers.value
                let duringKill = await during.jobs
                #expect(!duringKill.isEmpty)

                let commands = Dictionary(uniqueKeysWithValues: duringKill.map { ($0.id, $0.command) })
                for id in survivors {
                    let listed = try await cluster.jobCommands(on: id, consistent: true)
                    let seen = Set(listed.map(\.id))
                    let missing = Set(acknowledged).union(commands.keys).subtracting(seen)
                    #expect(missing.isEmpty, "node \(id) lost acknowledged jobs: \(missing.sorted())")
                    let duplicated = Dictionary(
                        grouping: listed.filter { $0.command.hasPrefix("echo during-") }, by: \.command
                    )
                    .filter { $0.value.count > 1 }
                    #expect(
                        duplicated.isEmpty,
                        "node \(id): one Idempotency-Key made several jobs: \(duplicated.keys.sorted())")
                }
                let afterKill = try await cluster.createAcknowledgedJob(via: successor.id, command: "echo after-kill")

                try await cluster.start(leader.id)
                let everything = Set(acknowledged + [afterKill]).union(commands.keys)
                _ = try await eventually("restarted node \(leader.id) to list every job", within: 15) { () -> Bool? in
                    let seen = try await cluster.jobIDs(on: leader.id)
                    let missing = everything.subtracting(seen)
                    guard missing.isEmpty else { throw Observation("\(missing.count) jobs missing") }
                    return true
                }
                // PreVote: the restarted node, behind and not yet reached by the leader, must not
                // force an election.
                let rejoined = try await cluster.waitForLeader(within: 10)
                #expect(rejoined == successor, "leader before the restart \(successor), after \(rejoined)")
            }
        }
    }
}

/// Writes acknowledged (201) while a test disturbs the cluster, and when to stop writing.
actor AcknowledgedWrites {
    private(set) var jobs: [(id: String, command: String)] = []
    private(set) var stopped = false

    func add(_ id: String, _ command: String) { jobs.append((id, command)) }

    func stop() { stopped = true }
}
