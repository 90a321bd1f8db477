import BerthRaft
import Foundation
import Testing

extension ProcessClusterTests {
    /// Spec §2: "a lagging or wiped follower is brought back with InstallSnapshot, streamed in chunks".
    @Suite("snapshot rejoin")
    struct SnapshotRejoin {
        static let chunkBytes = 4096

        @Test(
            "a follower whose data dir was wiped rejoins through a chunked copy of the leader's state; a node restarts after compacting"
        )
        func wipedFollowerRejoins() async throws {
            try await withServerCluster(
                extraArguments: [
                    "--snapshot-threshold", "20", "--snapshot-retain-entries", "10",
                    "--snapshot-chunk-bytes", "\(Self.chunkBytes)",
                ]
            ) { cluster in
                var leader = try await cluster.waitForLeader()
                var jobs = try await cluster.createJobs(100, via: [leader.id], concurrency: 16, prefix: "snap")
                #expect(cluster.logCount(leader.id, "log compacted") > 0, "100 writes past a threshold of 20")

                // A wiped follower restarts with the 6 bootstrap entries. It needs a snapshot only
                // once the leader's log no longer holds index 7; the leader keeps 10 entries
                // behind each snapshot, so this loop rarely needs a second round.
                while try await cluster.status(leader.id).firstIndex <= 10 {
                    #expect(jobs.count < 3000, "the leader's log never got compacted past its start")
                    guard jobs.count < 3000 else { return }
                    jobs += try await cluster.createJobs(
                        250, via: [leader.id], concurrency: 16, prefix: "snap-\(jobs.count)")
                }
                // Frequent snapshots under load may have cost a leader change; take the current one.
                leader = try await cluster.waitForLeader()
                let follower = cluster.ids.first { $0 != leader.id }!

                await cluster.stop(follower)
                cluster.wipe(follower)
                try await cluster.start(follower)

                // The cluster is idle now: nothing but heartbeats reach the wiped node.
                let caughtUpIdle = try? await eventually(
                    "wiped node \(follower) to hold all \(jobs.count) jobs with no new writes", within: 10
                ) { () -> Bool? in
                    let count = try await cluster.jobCount(on: follower)
                    guard count == jobs.count else { throw Observation("\(count) jobs") }
                    return true
                }
                if caughtUpIdle == nil {
                    let view = try await cluster.status(follower)
                    let ready = try await HTTPCall.get("\(cluster.url(follower))/health/ready")
                    let held = try await cluster.jobCount(on: follower)
                    Issue.record(
                        """
                        a wiped follower of an idle cluster is never restored: after 10 s node \(follower) holds \
                        \(held) of \(jobs.count) jobs (log_length \(view.logLength), \
                        commit \(view.commitIndex), leader \(view.leaderID ?? 0)) and /health/ready answers \(ready)
                        """)
                    // A new write makes the leader send an append, which the wiped node rejects.
                    jobs.append(try await cluster.createAcknowledgedJob(via: leader.id, command: "echo wake-up"))
                }
                _ = try await eventually("wiped node \(follower) to hold all \(jobs.count) jobs", within: 30) {
                    () -> Bool? in
                    let count = try await cluster.jobCount(on: follower)
                    guard count == jobs.count else { throw Observation("\(count) jobs") }
                    return true
                }
                #expect(
                    cluster.log(follower).contains("installed snapshot from leader"),
                    "node \(follower) log:\n\(cluster.local.logTail(follower, lines: 30))")
                let listed = try await cluster.jobIDs(on: follower)
                #expect(listed == Set(jobs))
                for jobID in [jobs.first!, jobs.last!] {
                    let read = try await HTTPCall.get("\(cluster.url(follower))/api/jobs/\(jobID)")
                    #expect(read.status == 200, "\(read)")
                }
                // The compacted log carries no copy of the state: the leader copied its database
                // when it sent the snapshot, in several chunks.
                let snapshotBytes = try #require(Self.lastSnapshotBytes(in: cluster.log(leader.id)))
                #expect(snapshotBytes > 3 * Self.chunkBytes, "a snapshot of \(snapshotBytes) bytes is several chunks")
                let after = try await cluster.waitForLeader()
                #expect(after.id == leader.id, "the rejoin does not move leadership: \(leader) → \(after)")

                // The other follower compacted its log against its own database too; killed and
                // restarted, it must come back from that database, with every job.
                let other = cluster.ids.first { $0 != leader.id && $0 != follower }!
                #expect(cluster.logCount(other, "log compacted") > 0)
                await cluster.stop(other)
                try await cluster.start(other)
                _ = try await eventually("restarted node \(other) to hold all \(jobs.count) jobs", within: 30) {
                    () -> Bool? in
                    let count = try await cluster.jobCount(on: other)
                    guard count == jobs.count else { throw Observation("\(count) jobs") }
                    return true
                }
                #expect(!cluster.log(other).contains("installed snapshot from leader"))
            }
        }

        /// `bytes=N` of the last "sending snapshot" line.
        static func lastSnapshotBytes(in log: String) -> Int? {
            guard let line = log.split(separator: "\n").last(where: { $0.contains("sending snapshot") }),
                let range = line.range(of: #"bytes=\d+"#, options: .regularExpression)
            else { return nil }
            return Int(line[range].dropFirst("bytes=".count))
        }
    }
}
