import BerthRaft
import BerthServer
import Foundation
import Testing

extension ProcessClusterTests {
    /// `berth snapshot save` and `berth snapshot restore` against real processes: disaster
    /// recovery of a whole cluster from one file (docs/operations.md, "Backup and restore").
    @Suite("backup and restore")
    struct BackupRestore {
        @Test(
            "save, destroy every node and data dir, restore three data dirs, start: every job, node and the new membership"
        )
        func saveDestroyRestore() async throws {
            let files = try CLIFiles()
            defer { files.remove() }
            let backup = "\(files.directory)/cluster.bbak"
            var savedJobs: Set<String> = []
            var oldIncarnations: Set<String> = []
            let restored = try ServerCluster(size: 3)
            defer { restored.shutdown() }

            try await withServerCluster { cluster in
                let leader = try await cluster.waitForLeader()
                let follower = cluster.ids.first { $0 != leader.id }!
                savedJobs = Set(try await cluster.createJobs(40, via: cluster.ids, prefix: "before-backup"))
                let nowMs = Int64(Date().timeIntervalSince1970 * 1000)
                for envelope in try Payments.envelopes(newestAtMs: nowMs) {
                    let answer = try await HTTPCall.post(
                        "\(cluster.url(follower))/api/v1alpha1/intake/envelope", json: envelope)
                    #expect(answer.status == 200, "\(answer)")
                }
                let view = try await cluster.status(leader.id)
                #expect(Set(view.nodes.filter(\.voter).map(\.nodeID)) == [1, 2, 3])
                oldIncarnations = Set(view.nodes.compactMap(\.incarnation))

                // Saved through a follower: the read barrier goes through the leader.
                let save = try await BerthCLI.run(["snapshot", "save", backup, "--servers", cluster.url(follower)])
                #expect(save.status == 0, "\(save)")
                #expect(save.stdout.contains("saved \(backup)"), "\(save)")

                // The whole cluster is lost: every process killed, every data dir deleted.
                for id in cluster.ids { _ = await cluster.stop(id) }
                for id in cluster.ids { cluster.wipe(id) }
            }

            // A damaged copy (one byte flipped in the middle) is refused, and builds nothing.
            var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: backup)))
            bytes[bytes.count / 2] ^= 0x40
            let damaged = "\(files.directory)/damaged.bbak"
            try Data(bytes).write(to: URL(fileURLWithPath: damaged))
            let scratchDir = "\(files.directory)/scratch"
            let refused = try await BerthCLI.run([
                "snapshot", "restore", damaged, "--data-dir", scratchDir, "--node-id", "1", "--peers",
                restored.local.peersFlag,
            ])
            #expect(refused.status == 65, "\(refused)")
            #expect(refused.stderr.contains("BACKUP_CHECKSUM_MISMATCH"), "\(refused)")
            #expect(!FileManager.default.fileExists(atPath: scratchDir), "\(refused)")

            // Three new data dirs for a new cluster on other ports, from the one file.
            for id in restored.ids {
                let run = try await BerthCLI.run([
                    "snapshot", "restore", backup, "--data-dir", restored.member(id).dataDir, "--node-id", "\(id)",
                    "--peers", restored.local.peersFlag,
                ])
                #expect(run.status == 0, "\(run)")
            }
            // Never into a data dir that holds anything.
            let again = try await BerthCLI.run([
                "snapshot", "restore", backup, "--data-dir", restored.member(1).dataDir, "--node-id", "1", "--peers",
                restored.local.peersFlag,
            ])
            #expect(again.status == 65, "\(again)")
            #expect(again.stderr.contains("DATA_DIR_NOT_EMPTY"), "\(again)")

            do {
                try await restored.startAll()
                let leader = try await restored.waitForLeader()
                let view = try await restored.status(leader.id)
                #expect(Set(view.nodes.filter(\.voter).map(\.nodeID)) == [1, 2, 3], "\(view.nodes)")
                for node in view.nodes {
                    #expect(node.peerAddress == "127.0.0.1:\(restored.member(node.nodeID).peerPort)", "\(node)")
                    #expect(node.incarnation.map { !oldIncarnations.contains($0) } == true, "\(node)")
                }
                for id in restored.ids {
                    let jobs = try await restored.jobIDs(on: id, consistent: true)
                    #expect(jobs == savedJobs, "node \(id): \(jobs.count) jobs, saved \(savedJobs.count)")
                    let nodes = try await HTTPCall.get("\(restored.url(id))/api/v1alpha1/nodes")
                    for name in ["arm-01", "arm-02", "x86-02", "edge-01"] {
                        #expect(nodes.body.contains("\"\(name)\""), "node \(id): \(nodes.body.prefix(300))")
                    }
                }
                // The restored cluster takes writes, and every node applies them.
                let fresh = try await restored.createAcknowledgedJob(via: 2, command: "echo after-restore")
                for id in restored.ids {
                    _ = try await eventually("node \(id) has the new job", within: 10) {
                        try await restored.jobIDs(on: id).contains(fresh) ? true : nil
                    }
                }
            } catch {
                throw ClusterFailure(underlying: error, logs: restored.diagnostics(), keptLogs: restored.keepLogs())
            }
        }
    }
}
