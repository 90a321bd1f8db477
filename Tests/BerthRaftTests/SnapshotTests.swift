import Testing

@testable import BerthRaft

/// Log compaction and InstallSnapshot (§7).
@Suite struct SnapshotTests {
    /// Compacts `id`'s log at its applied index with the applied commands as the "state machine".
    private func compact(_ cluster: TestCluster, _ id: NodeID) {
        let status = cluster[id].status
        let data = Array(cluster.commands(on: id).joined(separator: ",").utf8)
        cluster.storages[id]!.compact(snapshotAt: status.applied, configuration: status.configuration, data: data)
    }

    @Test("§7: a follower behind the leader's compacted log is sent a snapshot and restores from it")
    func laggingFollowerGetsSnapshot() throws {
        let cluster = TestCluster(voters: [1, 2, 3])
        cluster.elect(1)
        cluster.isolate(3)
        for i in 0..<10 { try cluster[1].propose("s\(i)") }
        cluster.settle()
        compact(cluster, 1)
        #expect(cluster[1].status.firstIndex == cluster[1].status.applied + 1)
        cluster.heal()
        cluster.forgetDelivered()
        cluster.tick(2)
        let snapshots = cluster.delivered.filter {
            if case .installSnapshot = $0.body { return $0.to == 3 }
            return false
        }
        #expect(snapshots.count == 1)
        #expect(try cluster.storages[3]!.snapshot().metadata.index == cluster[1].status.applied)
        #expect(cluster[3].status.commit == cluster[1].status.commit)
        // The restored follower takes new entries normally.
        try cluster[1].propose("after")
        cluster.tick(2)
        #expect(cluster.commands(on: 3) == ["after"])
    }

    @Test("§7: the snapshot carries the configuration, and a restored follower restarts from it")
    func restoredFollowerRestarts() throws {
        let cluster = TestCluster(voters: [1, 2, 3])
        cluster.elect(1)
        cluster.isolate(3)
        for i in 0..<5 { try cluster[1].propose("s\(i)") }
        cluster.settle()
        compact(cluster, 1)
        cluster.heal()
        cluster.tick(2)
        cluster.restart(3)
        #expect(cluster[3].status.configuration == Configuration(voters: [1, 2, 3]))
        #expect(cluster[3].status.applied == cluster[1].status.applied)
        try cluster[1].propose("later")
        cluster.tick(2)
        #expect(cluster.commands(on: 3) == ["later"])
    }

    @Test("§7: a lost snapshot is sent again after snapshotRetryTicks")
    func lostSnapshotRetried() throws {
        let cluster = TestCluster(voters: [1, 2, 3]) { $0.snapshotRetryTicks = 5 }
        cluster.elect(1)
        cluster.isolate(3)
        for i in 0..<5 { try cluster[1].propose("s\(i)") }
        cluster.settle()
        compact(cluster, 1)
        cluster.heal()
        var dropped = 0
        cluster.intercept = { message in
            if case .installSnapshot = message.body, dropped == 0 {
                dropped += 1
                return false
            }
            return true
        }
        cluster.tick(3)
        #expect(cluster[1].status.progress[3]?.state == "snapshot")
        cluster.tick(10)
        #expect(dropped == 1)
        #expect(cluster[3].status.commit == cluster[1].status.commit)
    }

    @Test("MemoryStorage: compaction keeps the requested tail and terms stay readable")
    func compactionRetainsTail() throws {
        let storage = MemoryStorage(configuration: Configuration(voters: [1]))
        storage.append((1...10).map { Entry(term: 1, index: $0, payload: .empty) })
        storage.compact(snapshotAt: 8, configuration: Configuration(voters: [1]), data: [], retainEntries: 3)
        #expect(storage.firstIndex == 6)
        #expect(try storage.term(at: 8) == 1)
        #expect(throws: StorageError.compacted) { try storage.term(at: 4) }
        #expect(try storage.snapshot().metadata.index == 8)
    }
}

/// A follower whose data dir was wiped comes back empty while the leader still believes it
/// holds what it acknowledged; the leader must find out and send a snapshot.
@Suite struct WipedFollowerTests {
    /// A cluster whose leader compacted its log, with node 3 restarted on an empty disk.
    private func clusterWithWipedFollower() throws -> (TestCluster, RaftStatus) {
        let cluster = TestCluster(voters: [1, 2, 3])
        cluster.elect(1)
        for i in 0..<6 { try cluster[1].propose("w\(i)") }
        cluster.settle()
        let status = cluster[1].status
        cluster.storages[1]!.compact(
            snapshotAt: status.applied, configuration: status.configuration,
            data: Array(cluster.commands(on: 1).joined(separator: ",").utf8))
        cluster.add(3, storage: MemoryStorage(configuration: Configuration(voters: [1, 2, 3])))
        return (cluster, status)
    }

    @Test("the wiped follower's rejection of the next append reveals it; it is restored by snapshot")
    func wipedFollowerRejoins() throws {
        let (cluster, status) = try clusterWithWipedFollower()
        try cluster[1].propose("after-wipe")
        cluster.tick(3)
        #expect(cluster[3].status.commit == cluster[1].status.commit)
        #expect(try cluster.storages[3]!.snapshot().metadata.index == status.applied)
        #expect(cluster.commands(on: 3) == ["after-wipe"])
    }

    @Test("with no writes, the wiped follower's answer to a heartbeat reveals it; it is restored by snapshot")
    func idleWipedFollowerRestored() throws {
        let (cluster, status) = try clusterWithWipedFollower()
        cluster.tick(3)
        #expect(cluster[3].status.commit == status.commit)
        #expect(try cluster.storages[3]!.snapshot().metadata.index == status.applied)
    }
}
