import BerthRaft
import Foundation
import Testing

@testable import BerthStorage

/// One server's storage as the real server wires it: the core on a `DurableLogStorage`, its
/// committed entries applied to a `StateStore`, each `Ready` carried out in the documented order.
private final class DurableServer {
    let id: NodeID
    let log: DurableLogStorage
    let state: StateStore
    let node: RaftNode
    /// Every apply result, in order.
    var results: [ApplyResult] = []

    init(id: NodeID, dataDirectory: String, voters: Set<NodeID>, retain: Int = 1_000) throws {
        self.id = id
        log = try DurableLogStorage(
            dataDirectory: dataDirectory, initialConfiguration: Configuration(voters: voters),
            options: .init(retainedEntriesAfterCompaction: retain))
        state = try StateStore(layout: log.layout)
        try state.restoreIfBehind(try log.snapshot())
        var config = RaftConfig(id: id, randomSeed: id &* 31)
        config.appliedIndex = try state.lastApplied().index
        node = RaftNode(config: config, storage: log)
    }

    /// Carries out one Ready: persist, hand back the messages, restore/apply, advance.
    func step() throws -> [Message] {
        guard node.hasReady else { return [] }
        let ready = node.ready()
        try log.persist(ready)
        if let snapshot = ready.snapshot { try state.restore(from: snapshot.data) }
        results += try state.apply(ready.committedEntries)
        node.advance()
        return ready.messages
    }

    /// Snapshots the state machine and compacts the log at its applied index.
    func compact() throws {
        let image = try state.snapshotData()
        try log.compact(
            snapshotAt: image.applied.index, configuration: node.status.configuration, data: image.data)
    }

    func close() { log.close() }
}

/// Servers wired by an in-memory, lossless network.
private final class DurableCluster {
    var servers: [NodeID: DurableServer] = [:]
    var down: Set<NodeID> = []

    func settle() throws {
        for _ in 0..<1_000 {
            var messages: [Message] = []
            for id in servers.keys.sorted() where !down.contains(id) {
                messages += try servers[id]!.step()
            }
            let pending = servers.contains { !down.contains($0.key) && $0.value.node.hasReady }
            if messages.isEmpty && !pending { return }
            for message in messages where !down.contains(message.to) {
                servers[message.to]?.node.step(message)
            }
        }
        Issue.record("cluster did not settle")
    }

    func propose(_ command: StateCommand, at leader: NodeID) throws {
        try servers[leader]!.node.propose(command.encoded())
        try settle()
    }
}

@Suite struct RaftIntegrationTests {
    private func create(_ id: String, at ms: Int64) -> StateCommand {
        .createJob(.init(id: id, command: "echo \(id)", createdAtMs: ms))
    }

    @Test(
        "a single server restarts from disk with its term, vote, log and applied state, before and after compaction"
    )
    func singleServerRestarts() throws {
        try withTemporaryDirectory { dir in
            let cluster = DurableCluster()
            cluster.servers[1] = try DurableServer(id: 1, dataDirectory: dir, voters: [1], retain: 2)
            cluster.servers[1]!.node.campaign()
            try cluster.settle()
            #expect(cluster.servers[1]!.node.status.role == .leader)
            for i in 0..<5 { try cluster.propose(create("a\(i)", at: Int64(i)), at: 1) }
            let before = cluster.servers[1]!.node.status
            try cluster.servers[1]!.compact()
            cluster.servers[1]!.close()

            let restarted = try DurableServer(id: 1, dataDirectory: dir, voters: [1], retain: 2)
            let after = restarted.node.status
            #expect(after.term == before.term)
            #expect(after.vote == 1)
            #expect(after.commit == before.commit)
            #expect(after.lastIndex == before.lastIndex)
            #expect(after.applied == before.applied)
            #expect(try restarted.state.listJobs(JobQuery()).totalCount == 5)
            #expect(restarted.log.firstIndex == before.applied - 1)

            // It leads again and goes on; nothing is applied twice.
            cluster.servers[1] = restarted
            restarted.node.campaign()
            try cluster.settle()
            try cluster.propose(create("b", at: 10), at: 1)
            #expect(
                try restarted.state.listJobs(JobQuery()).jobs.map(\.id) == [
                    "a0", "a1", "a2", "a3", "a4", "b",
                ])
            #expect(
                !restarted.results.contains {
                    if case .alreadyApplied = $0 { return true } else { return false }
                })
        }
    }

    @Test(
        "§7: a follower that was down while the leader compacted is restored by InstallSnapshot into its durable log and SQLite state"
    )
    func laggingFollowerGetsSnapshot() throws {
        try withTemporaryDirectory { dir in
            let cluster = DurableCluster()
            for id: NodeID in [1, 2, 3] {
                cluster.servers[id] = try DurableServer(
                    id: id, dataDirectory: dir + "/n\(id)", voters: [1, 2, 3], retain: 0)
            }
            cluster.servers[1]!.node.campaign()
            try cluster.settle()
            try cluster.propose(create("j0", at: 0), at: 1)

            // Node 3 crashes; the others go on and the leader compacts past it.
            cluster.down.insert(3)
            cluster.servers[3]!.close()
            for i in 1..<6 { try cluster.propose(create("j\(i)", at: Int64(i)), at: 1) }
            try cluster.servers[1]!.compact()
            #expect(cluster.servers[1]!.log.firstIndex > 3)

            // It restarts from its own disk, behind the leader's log.
            cluster.servers[3] = try DurableServer(
                id: 3, dataDirectory: dir + "/n3", voters: [1, 2, 3], retain: 0)
            #expect(try cluster.servers[3]!.state.listJobs(JobQuery()).totalCount == 1)
            cluster.down.remove(3)
            try cluster.propose(create("after", at: 100), at: 1)
            let leaderJobs = try cluster.servers[1]!.state.listJobs(JobQuery())
            #expect(leaderJobs.totalCount == 7)
            #expect(try cluster.servers[3]!.state.listJobs(JobQuery()) == leaderJobs)
            #expect(try cluster.servers[3]!.log.snapshot().metadata.index > 2)

            // And it restarts again from what it was sent.
            cluster.servers[3]!.close()
            let restarted = try DurableServer(
                id: 3, dataDirectory: dir + "/n3", voters: [1, 2, 3], retain: 0)
            #expect(try restarted.state.listJobs(JobQuery()) == leaderJobs)
            #expect(restarted.node.status.applied == cluster.servers[1]!.node.status.applied)
            #expect(restarted.node.status.configuration == Configuration(voters: [1, 2, 3]))
        }
    }
}
