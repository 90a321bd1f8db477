import BerthRaft
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension ProcessClusterTests {
    /// Spec §2, disk loss: a node whose data dir was lost forgot its votes and its log, so it
    /// must never vote, or count toward a commit, with the identity of the node it was.
    @Suite("disk loss")
    struct DiskLoss {
        @Test(
            "a wiped follower cannot elect a leader that lacks acknowledged writes: the cluster waits for the old leader, then re-admits the wiped node"
        )
        func wipedFollowerDoesNotLoseWrites() async throws {
            try await withServerCluster { cluster in
                let leader = try await cluster.waitForLeader()
                let others = cluster.ids.filter { $0 != leader.id }
                let (wiped, stale) = (others[0], others[1])

                // 1. Twenty writes commit on the leader and on `wiped` only: `stale` is down. (It
                //    is killed, not frozen: a frozen process's socket buffers would still take in
                //    the leader's appends and hand them over when it resumes.)
                await cluster.stop(stale)
                let acknowledged = try await cluster.createJobs(20, via: [leader.id], concurrency: 4, prefix: "kept")
                #expect(Set(acknowledged).count == 20)
                let committed = try await cluster.status(leader.id).commitIndex

                // 2. `wiped` loses its disk and comes back empty under a new incarnation.
                await cluster.stop(wiped)
                cluster.wipe(wiped)
                try await cluster.start(wiped)

                // 3. The leader freezes (SIGSTOP: it may as well be dead); `stale`, which never saw
                //    the writes, comes back.
                try cluster.send(SIGSTOP, to: leader.id)
                try await cluster.start(stale)

                // 4. `stale` + the wiped node would be a majority of three without incarnations.
                //    Now the wiped node's vote does not count: nobody may lead.
                let watchUntil = Date().addingTimeInterval(4)
                while Date() < watchUntil {
                    let view = try await cluster.status(stale)
                    #expect(view.role != "leader", "node \(stale) was elected without the acknowledged writes")
                    if view.role == "leader" { return }
                    try await Task.sleep(for: .milliseconds(50))
                }
                let unadmitted = try await cluster.status(stale)
                #expect(unadmitted.logLength < committed, "node \(stale) must not hold writes it never received")
                let wipedView = try await cluster.status(wiped)
                #expect(wipedView.role != "leader")

                // 5. The old leader resumes: it leads (it holds the writes), nothing is lost.
                try cluster.send(SIGCONT, to: leader.id)
                let next = try await cluster.waitForLeader(among: [leader.id, stale], within: 20)
                #expect(next.id == leader.id)
                let listed = try await cluster.jobIDs(on: stale, consistent: true)
                #expect(
                    listed.isSuperset(of: acknowledged), "lost \(Set(acknowledged).subtracting(listed).count) of 20")

                // 6. The wiped node is re-admitted under its new incarnation, catches up and votes.
                _ = try await eventually("node \(wiped) to be a voter again", within: 20) { () -> Bool? in
                    let view = try await cluster.status(next.id)
                    guard let member = view.node(wiped), member.voter, member.unadmittedIncarnation == nil else {
                        throw Observation("\(String(describing: view.node(wiped)))")
                    }
                    return true
                }
                try await cluster.waitCaughtUp(wiped, to: next.id)
                let onWiped = try await cluster.jobIDs(on: wiped)
                #expect(onWiped.isSuperset(of: acknowledged))
                #expect(cluster.logCount(next.id, "came back with a new disk") >= 1)
            }
        }

        @Test("a data dir made for another node id is refused at startup")
        func dataDirOfAnotherNode() async throws {
            try await withServerCluster(startAll: false) { cluster in
                try await cluster.start(1)
                await cluster.stop(1)
                let first = cluster.member(1)
                // Node 2 pointed at node 1's data dir: the identity file says whose it is.
                let binary = try BerthBinary.path()
                let process = Process()
                process.executableURL = URL(fileURLWithPath: binary)
                process.arguments = [
                    "server", "--node-id", "2", "--data-dir", first.dataDir, "--peer-listen",
                    "127.0.0.1:\(cluster.member(2).peerPort)", "--http-listen",
                    "127.0.0.1:\(cluster.member(2).httpPort)",
                    "--peers", cluster.local.peersFlag,
                ]
                let output = Pipe()
                process.standardOutput = output
                process.standardError = output
                try process.run()
                let data = await offPool {
                    process.waitUntilExit()
                    return output.fileHandleForReading.readDataToEndOfFile()
                }
                #expect(process.terminationStatus != 0)
                let text = String(decoding: data, as: UTF8.self)
                #expect(text.contains("DATA_DIR_WRONG_NODE"), "\(text)")
            }
        }
    }
}
