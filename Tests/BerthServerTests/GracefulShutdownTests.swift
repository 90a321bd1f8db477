import BerthRaft
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension ProcessClusterTests {
    /// Spec §8: "graceful SIGTERM (a leader hands leadership away first)".
    @Suite("graceful shutdown")
    struct GracefulShutdown {
        /// Election timeout 150–300 ticks of 10 ms: an election that waits for a timeout shows as
        /// a gap of at least 1.5 s, a hand-off as none.
        static let electionTicks = 150
        static let minimumElectionTimeoutSeconds = Double(electionTicks) * 0.010

        @Test("SIGTERM on the leader: leadership moves before the process exits 0, with no election timeout gap")
        func sigtermHandsOff() async throws {
            try await withServerCluster(extraArguments: ["--election-ticks", "\(Self.electionTicks)"]) { cluster in
                let leader = try await cluster.waitForLeader(within: 20)
                _ = try await cluster.createJobs(5, via: cluster.ids, concurrency: 1, prefix: "before-sigterm")
                let survivors = cluster.ids.filter { $0 != leader.id }

                let signalledAt = Date()
                let exit = Task { await cluster.stop(leader.id, signal: SIGTERM) }
                // Watched while the node shuts down, so the gap is the hand-off's, not the exit's.
                let successor = try await cluster.waitForLeader(
                    among: survivors, excluding: leader.id, within: 10, every: .milliseconds(10))
                let gapSeconds = secondsSince(signalledAt)
                let exitStatus = await exit.value
                let exitSeconds = secondsSince(signalledAt)
                #expect(exitStatus == 0, "exit status \(String(describing: exitStatus))")
                #expect(exitSeconds < 10, "the node took \(exitSeconds) s to exit")
                #expect(
                    gapSeconds < Self.minimumElectionTimeoutSeconds,
                    "a new leader was known \(gapSeconds) s after SIGTERM; an election timeout is ≥ \(Self.minimumElectionTimeoutSeconds) s"
                )
                #expect(successor.term == leader.term + 1, "one election: term \(leader.term) → \(successor.term)")

                let handOff = cluster.log(leader.id).split(separator: "\n").first {
                    $0.contains("leadership handed off")
                }
                #expect(handOff != nil, "node \(leader.id) log:\n\(cluster.local.logTail(leader.id, lines: 30))")
                if let handOff {
                    #expect(handOff.contains("to=\(successor.id)"), "\(handOff)")
                }
                _ = try await cluster.createAcknowledgedJob(via: successor.id, command: "echo after-sigterm")
            }
        }
    }
}
