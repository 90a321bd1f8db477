import BerthControlPlane
import BerthRaft
import Foundation
import Testing

@testable import BerthStorage

/// Lost nodes, drains and orphans, applied: what each command writes, what agents are offered,
/// and that every server decides the same from the log.
@Suite struct NodeSafetyStateTests {
    private static let t0: Int64 = 1_800_000_000_000

    private final class Log {
        let state: StateStore
        var index: LogIndex = 0
        init() throws { state = try StateStore.inMemory() }

        @discardableResult
        func apply(_ command: StateCommand) throws -> CommandOutcome {
            index += 1
            let result = try state.apply(index: index, term: 1, command: command)
            guard let outcome = result.outcome else { throw Failure("not applied: \(result)") }
            return outcome
        }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    private func envelope(_ id: String, sequence: UInt64 = 1) -> SchedulerEnvelope {
        SchedulerEnvelope(
            nodeID: id, sequence: sequence, observedAtMs: Self.t0, arch: .x86_64,
            cpus: ResourceCapacity(total: 2, allocatable: 2),
            memoryMiB: ResourceCapacity(total: 4096, allocatable: 4096),
            kvm: KVMStatus(present: false, usable: false), kernel: "6.1.0",
            backends: [InstalledBackend(kind: .process, binary: "/usr/bin/berth", version: "0.1.0")],
            labels: [:], health: .healthy)
    }

    private func intent(_ name: String, _ policy: NodeLossPolicy) -> WorkloadIntent {
        WorkloadIntent(
            name: name, vcpus: 1, memoryMiB: 64, backend: .process,
            payload: .command(WorkloadCommand(argv: ["/bin/sleep", "9"])), onNodeLost: policy)
    }

    /// Two nodes; a running launch of each policy on n2.
    private func setUp() throws -> Log {
        let log = try Log()
        try log.apply(.recordEnvelope(.init(envelope: envelope("n1"), receivedAtMs: Self.t0)))
        try log.apply(.recordEnvelope(.init(envelope: envelope("n2"), receivedAtMs: Self.t0)))
        for (id, policy) in [("move", NodeLossPolicy.reschedule), ("stay", .fail)] {
            let placed = try log.apply(
                .executeLaunch(.init(launchID: id, intent: intent(id, policy), nodeID: "n2", atMs: Self.t0)))
            guard case .launchCreated(let record) = placed, record.state == .validated else {
                throw Failure("not placed: \(placed)")
            }
            for state: LaunchState in [.preparing, .starting, .running] {
                try log.apply(.reportLaunch(.init(launchID: id, nodeID: "n2", state: state, atMs: Self.t0 + 1)))
            }
        }
        return log
    }

    private func markLost(_ log: Log, receivedAtMs: Int64 = t0) throws -> CommandOutcome {
        try log.apply(
            .markNodeLost(
                .init(
                    nodeID: "n2", receivedAtMs: receivedAtMs, silentForMs: 4_000, lostAfterMs: 3_000,
                    atMs: Self.t0 + 4_000)))
    }

    @Test("a lost node's launches end lost, capacity is freed, the reschedulable one gets a placeable replacement")
    func loss() throws {
        let log = try setUp()
        #expect(log.state.fleet().view.usage(of: "n2")?.activeLaunches == 2)
        guard case .nodeRecorded(let truth) = try markLost(log) else { throw Failure("not recorded") }
        #expect(truth.lost)
        #expect(log.state.fleet().view.usage(of: "n2")?.activeLaunches == 0)
        let moved = try #require(try log.state.launch(id: "move"))
        #expect(moved.state == .lost && moved.replacedBy == "move-r1" && moved.failure?.code == .nodeLost)
        #expect(try log.state.launch(id: "stay")?.state == .lost)
        let replacement = try #require(try log.state.launch(id: "move-r1"))
        #expect(replacement.state == .pending && replacement.replaces == "move")
        // The leader places it like any pending launch; its explanation is its own.
        let placed = try log.apply(
            .executeLaunch(
                .init(
                    launchID: "move-r1", intent: replacement.intent, nodeID: "n1", atMs: Self.t0 + 5_000,
                    waitForCapacity: true)))
        guard case .launchCreated(let record) = placed, record.state == .validated else {
            throw Failure("replacement not placed: \(placed)")
        }
        let explanation = try #require(try log.state.launchPlacementJSON(id: "move-r1"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(explanation)) as? [String: Any])
        #expect((object["ranked_nodes"] as? [[String: Any]])?.map { $0["node_id"] as? String } == ["n1"])
        // A second mark changes nothing; nor does one the agent outran.
        #expect(try log.state.launch(id: "move-r2") == nil)
        _ = try markLost(log)
        #expect(try log.state.launch(id: "move-r2") == nil)
    }

    @Test("an envelope applied after the leader decided wins: the node is not lost")
    func agentOutranTheLeader() throws {
        let log = try setUp()
        try log.apply(.recordEnvelope(.init(envelope: envelope("n2", sequence: 2), receivedAtMs: Self.t0 + 3_500)))
        _ = try markLost(log)
        #expect(log.state.fleet().view.truth(of: "n2")?.lost == false)
        #expect(try log.state.launch(id: "move")?.state == .running)
    }

    @Test("the agent back is offered its lost launches to stop until it reports them stopped")
    func abandonActions() throws {
        let log = try setUp()
        _ = try markLost(log)
        try log.apply(.recordEnvelope(.init(envelope: envelope("n2", sequence: 2), receivedAtMs: Self.t0 + 9_000)))
        #expect(log.state.fleet().view.truth(of: "n2")?.lost == false)
        #expect(try log.state.pendingActions(for: "n2").map(\.id) == ["move", "stay"])
        let refused = try log.apply(
            .reportLaunch(.init(launchID: "move", nodeID: "n2", state: .running, atMs: Self.t0 + 9_001)))
        guard case .rejected = refused else { throw Failure("a lost launch cannot run again: \(refused)") }
        try log.apply(.reportLaunch(.init(launchID: "move", nodeID: "n2", state: .terminated, atMs: Self.t0 + 9_002)))
        #expect(try log.state.pendingActions(for: "n2").map(\.id) == ["stay"])
        let move = try #require(try log.state.launch(id: "move"))
        #expect(move.state == .lost && move.stoppedOnNodeAtMs == Self.t0 + 9_002)
    }

    @Test("a drain moves only reschedulable launches, only while the node drains")
    func drainMove() throws {
        let log = try setUp()
        try log.apply(.moveLaunch(.init(launchID: "move", reason: "drain", atMs: Self.t0 + 2)))
        #expect(try log.state.launch(id: "move-r1") == nil, "not draining: nothing moves")
        guard
            case .nodeCordoned(let truth) = try log.apply(
                .drainNode(.init(nodeID: "n2", draining: true, atMs: Self.t0 + 3)))
        else { throw Failure("not drained") }
        #expect(truth.cordoned && truth.draining)
        try log.apply(.moveLaunch(.init(launchID: "move", reason: "drain", atMs: Self.t0 + 4)))
        try log.apply(.moveLaunch(.init(launchID: "stay", reason: "drain", atMs: Self.t0 + 4)))
        #expect(try log.state.launch(id: "move")?.replacedBy == "move-r1")
        #expect(try log.state.launch(id: "move")?.state == .running)
        #expect(try log.state.launch(id: "stay-r1") == nil)
        #expect(try log.state.launchesBeingReplaced().map(\.id) == ["move"])
        try log.apply(.drainNode(.init(nodeID: "n2", draining: false, atMs: Self.t0 + 5)))
        let after = try #require(log.state.fleet().view.truth(of: "n2"))
        #expect(after.cordoned && !after.draining)
    }

    @Test("orphans: reported, a sweep covers the listed ones, the agent's report after it closes it")
    func orphans() throws {
        let log = try setUp()
        let orphan = OrphanProcess(launchID: "old", pid: 42, startTime: 7)
        try log.apply(.reportOrphans(.init(nodeID: "n1", orphans: [orphan], atMs: Self.t0 + 1)))
        guard case .orphansChanged(let truth) = try log.apply(.sweepOrphans(.init(nodeID: "n1", atMs: Self.t0 + 2)))
        else { throw Failure("no sweep") }
        let sweep = try #require(truth.orphans.pendingSweep)
        #expect(sweep.orphans == [orphan])
        try log.apply(.reportOrphans(.init(nodeID: "n1", orphans: [], swept: sweep.id, atMs: Self.t0 + 3)))
        let done = try #require(log.state.fleet().view.truth(of: "n1")?.orphans)
        #expect(done.pendingSweep == nil && done.lastSweep?.id == sweep.id && done.lastSweep?.doneAtMs == Self.t0 + 3)
        #expect(done.orphans.isEmpty)
        // Survives a reload from SQLite (the node row's JSON).
        try log.state.reloadFleet()
        #expect(log.state.fleet().view.truth(of: "n1")?.orphans == done)
    }

    @Test("the new commands survive their binary log encoding")
    func encoding() {
        let commands: [StateCommand] = [
            .markNodeLost(.init(nodeID: "n", receivedAtMs: 1, silentForMs: 2, lostAfterMs: 3, atMs: 4)),
            .moveLaunch(.init(launchID: "l", reason: "r", atMs: 5)),
            .drainNode(.init(nodeID: "n", draining: true, atMs: 6, idempotencyKey: "k", requestHash: 7)),
            .reportOrphans(
                .init(nodeID: "n", orphans: [OrphanProcess(launchID: "x", pid: 1, startTime: 2)], swept: 3, atMs: 8)),
            .sweepOrphans(.init(nodeID: "n", atMs: 9, idempotencyKey: "k2", requestHash: 10)),
            .terminateLaunch(.init(launchID: "l", atMs: 11, note: "moved")),
        ]
        for command in commands {
            #expect(StateCommand(encoded: command.encoded()) == command)
            #expect(StateCommand(json: command.jsonEncoded()) == command)
        }
    }
}
