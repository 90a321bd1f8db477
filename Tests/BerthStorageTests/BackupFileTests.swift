import BerthControlPlane
import BerthRaft
import Foundation
import Testing

@testable import BerthStorage

/// `BackupFile` and `ClusterRestore`: what `berth snapshot save|restore` write and build.
@Suite struct BackupFileTests {
    private func stateWithJobs(_ dir: String, count: Int) throws -> StateStore {
        let state = try StateStore(layout: StorageLayout(dataDirectory: dir))
        for n in 1...count {
            _ = try state.apply(
                index: LogIndex(n), term: 3,
                command: .createJob(.init(id: "job-\(n)", command: "echo \(n)", createdAtMs: 1_800_000_000_000)))
        }
        _ = try state.apply(
            index: LogIndex(count + 1), term: 3,
            command: .setMember(MemberRecord(nodeID: 1, peerAddress: "10.0.0.1:7000", httpAddress: "10.0.0.1:8000")))
        #expect(try state.members().count == 1)
        return state
    }

    @Test("a backup decodes as written; any flipped byte is refused with a typed error")
    func roundTripAndDamage() throws {
        let file = BackupFile(
            applied: AppliedPosition(index: 42, term: 7), clusterID: "prod-eu", createdAtMs: 1234,
            payload: Array(repeating: 0xAB, count: 100))
        let bytes = file.encode()
        #expect(try BackupFile.decode(bytes) == file)
        for offset in [0, 5, 12, bytes.count / 2, bytes.count - 1] {
            var damaged = bytes
            damaged[offset] ^= 0x01
            #expect(throws: BackupError.self) { try BackupFile.decode(damaged) }
        }
        var flipped = bytes
        flipped[bytes.count / 2] ^= 0x01
        do throws(BackupError) {
            _ = try BackupFile.decode(flipped)
        } catch {
            #expect(error.code == "BACKUP_CHECKSUM_MISMATCH")
        }
        #expect(throws: BackupError.self) { try BackupFile.decode(Array(bytes.dropLast())) }
    }

    @Test(
        "restore builds a new data dir: the state at the applied index, no members, an empty log, a fresh incarnation")
    func restoreBuildsNewDataDir() throws {
        try withTemporaryDirectory { root in
            let source = try stateWithJobs(root + "/old", count: 5)
            let copy = try source.snapshotData()
            #expect(copy.applied == AppliedPosition(index: 6, term: 3))
            let backup = try BackupFile.decode(
                BackupFile(applied: copy.applied, clusterID: "c", createdAtMs: 1, payload: copy.data).encode())

            var incarnations: Set<Incarnation> = []
            for id: NodeID in [1, 2] {
                let dir = root + "/new\(id)"
                let report = try ClusterRestore.restore(backup, dataDirectory: dir, nodeID: id)
                incarnations.insert(report.incarnation)
                let log = try DurableLogStorage(
                    dataDirectory: dir, nodeID: id, initialConfiguration: Configuration(voters: []))
                #expect(log.identity.incarnation == report.incarnation)
                let snapshot = try log.snapshot()
                #expect(snapshot.metadata.index == 6 && snapshot.metadata.term == 3)
                #expect(snapshot.metadata.configuration.members.isEmpty)
                #expect(log.lastIndex == 6 && log.firstIndex == 7)
                #expect(log.hardState.term == 3 && log.hardState.commit == 6 && log.hardState.vote == .none)
                let state = try StateStore(layout: log.layout)
                #expect(try state.lastApplied() == AppliedPosition(index: 6, term: 3))
                #expect(try state.job(id: "job-5")?.command == "echo 5")
                #expect(try state.members().isEmpty)
                // Opening it again as that node is fine; as another node it is refused.
                #expect(throws: DurableLogError.self) {
                    _ = try DurableLogStorage(
                        dataDirectory: dir, nodeID: id + 10, initialConfiguration: Configuration(voters: []))
                }
            }
            #expect(incarnations.count == 2)

            // Never into a data dir that holds anything.
            do throws(BackupError) {
                _ = try ClusterRestore.restore(backup, dataDirectory: root + "/new1", nodeID: 1)
                Issue.record("restored into a non-empty data dir")
            } catch {
                #expect(error.code == "DATA_DIR_NOT_EMPTY")
            }
        }
    }

    @Test("a Raft node on a restored log founds the cluster after the snapshot, in the next term")
    func bootstrapAfterRestoredSnapshot() throws {
        try withTemporaryDirectory { root in
            let source = try stateWithJobs(root + "/old", count: 3)
            let copy = try source.snapshotData()
            let backup = BackupFile(applied: copy.applied, clusterID: "c", createdAtMs: 1, payload: copy.data)
            let report = try ClusterRestore.restore(backup, dataDirectory: root + "/n1", nodeID: 1)
            let log = try DurableLogStorage(
                dataDirectory: root + "/n1", nodeID: 1, initialConfiguration: Configuration(voters: []))
            var config = RaftConfig(id: 1, randomSeed: 1)
            config.incarnation = report.incarnation
            config.appliedIndex = 4
            let node = RaftNode(config: config, storage: log)
            #expect(node.isUnfounded)
            try node.bootstrap()
            let ready = node.ready()
            #expect(ready.entries.map(\.index) == [5, 6])
            #expect(ready.entries.allSatisfy { $0.term == 4 })
        }
    }
}
