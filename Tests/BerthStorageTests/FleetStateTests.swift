import BerthControlPlane
import BerthRaft
import Foundation
import Testing

@testable import BerthStorage

/// Node truth in the replicated state: envelopes and cordons applied deterministically, kept in
/// the `nodes` table and in the in-memory fleet view, which survives reopening and restores.
@Suite struct FleetStateTests {
    private static let t0: Int64 = 1_800_000_000_000

    private func envelope(_ id: String, sequence: UInt64, memory: Int = 8192) -> SchedulerEnvelope {
        SchedulerEnvelope(
            nodeID: id, sequence: sequence, observedAtMs: Self.t0, arch: .x86_64,
            cpus: ResourceCapacity(total: 8, allocatable: 8),
            memoryMiB: ResourceCapacity(total: memory, allocatable: memory),
            kvm: KVMStatus(present: true, usable: true), kernel: "6.1.0",
            backends: [InstalledBackend(kind: .qemu, binary: "/usr/bin/qemu-system-x86_64", version: "8.2.0")],
            labels: ["zone": "a"], health: .healthy)
    }

    private func record(_ envelope: SchedulerEnvelope, at ms: Int64 = t0, key: String? = nil) -> StateCommand {
        .recordEnvelope(.init(envelope: envelope, receivedAtMs: ms, idempotencyKey: key))
    }

    @Test("an envelope is recorded; an older or equal sequence is refused and changes nothing")
    func sequences() throws {
        let state = try StateStore.inMemory()
        let first = try state.apply(index: 1, term: 1, command: record(envelope("n1", sequence: 5)))
        guard case .applied(_, .nodeRecorded(let truth)) = first else {
            Issue.record("unexpected \(first)")
            return
        }
        #expect(truth.envelope.sequence == 5)
        #expect(truth.receivedAtMs == Self.t0)
        for stale: UInt64 in [5, 4] {
            let refused = try state.apply(
                index: LogIndex(7 - stale), term: 1, command: record(envelope("n1", sequence: stale, memory: 1)))
            #expect(refused.outcome == .rejected(.staleSequence(nodeID: "n1", stored: 5, offered: stale)))
            #expect(refused.outcome?.httpStatus == 409)
        }
        #expect(state.fleet().view.truth(of: "n1")?.envelope.memoryMiB.total == 8192)
        #expect(state.fleet().appliedIndex == 3)
        #expect(state.fleet().changedIndex == 1)
        let newer = try state.apply(index: 4, term: 1, command: record(envelope("n1", sequence: 6, memory: 4096)))
        #expect(newer.outcome?.httpStatus == 200)
        #expect(state.fleet().view.truth(of: "n1")?.envelope.memoryMiB.total == 4096)
        #expect(state.fleet().changedIndex == 4)
    }

    @Test("cordon and uncordon change the view and survive an envelope; an unknown node is 404")
    func cordons() throws {
        let state = try StateStore.inMemory()
        _ = try state.apply(index: 1, term: 1, command: record(envelope("n1", sequence: 1)))
        let cordon = try state.apply(
            index: 2, term: 1, command: .cordonNode(.init(nodeID: "n1", cordoned: true, draining: true, atMs: Self.t0)))
        guard case .applied(_, .nodeCordoned(let truth)) = cordon else {
            Issue.record("unexpected \(cordon)")
            return
        }
        #expect(truth.cordoned && truth.draining)
        _ = try state.apply(index: 3, term: 1, command: record(envelope("n1", sequence: 2)))
        #expect(state.fleet().view.truth(of: "n1")?.cordoned == true, "an agent's report cannot uncordon")
        _ = try state.apply(
            index: 4, term: 1, command: .cordonNode(.init(nodeID: "n1", cordoned: false, atMs: Self.t0)))
        #expect(state.fleet().view.truth(of: "n1")?.cordoned == false)
        let unknown = try state.apply(
            index: 5, term: 1, command: .cordonNode(.init(nodeID: "nope", cordoned: true, atMs: Self.t0)))
        #expect(unknown.outcome == .rejected(.nodeNotFound(id: "nope")))
        #expect(unknown.outcome?.httpStatus == 404)
    }

    @Test("the fleet view is rebuilt from SQLite when the store reopens, and after a snapshot restore")
    func rebuilt() throws {
        try withTemporaryDirectory { dir in
            let layout = StorageLayout(dataDirectory: dir)
            do {
                let state = try StateStore(layout: layout)
                _ = try state.apply(index: 1, term: 1, command: record(envelope("n1", sequence: 1)))
                _ = try state.apply(index: 2, term: 1, command: record(envelope("n2", sequence: 1)))
                _ = try state.apply(
                    index: 3, term: 1, command: .cordonNode(.init(nodeID: "n2", cordoned: true, atMs: Self.t0)))
            }
            let reopened = try StateStore(layout: layout)
            #expect(reopened.fleet().view.nodeIDs == ["n1", "n2"])
            #expect(reopened.fleet().view.truth(of: "n2")?.cordoned == true)
            #expect(reopened.fleet().appliedIndex == 3)
            #expect(reopened.fleet().changedIndex == 3)

            let copy = try reopened.snapshotData()
            let other = try StateStore.inMemory()
            _ = try other.apply(index: 1, term: 1, command: record(envelope("z9", sequence: 1)))
            try other.restore(from: copy.data)
            #expect(other.fleet().view.nodeIDs == ["n1", "n2"])
            #expect(other.fleet().appliedIndex == 3)
        }
    }

    @Test("new commands and outcomes round-trip through their binary and JSON forms")
    func encodings() throws {
        let commands: [StateCommand] = [
            record(envelope("n1", sequence: 9), key: "k"),
            .cordonNode(
                .init(nodeID: "n1", cordoned: true, draining: false, atMs: 5, idempotencyKey: "c", requestHash: 7)),
        ]
        for command in commands {
            #expect(StateCommand(encoded: command.encoded()) == command)
            #expect(StateCommand(json: command.jsonEncoded()) == command)
        }
        let truth = NodeTruth(envelope: envelope("n1", sequence: 9), receivedAtMs: 3, cordoned: true, cordonedAtMs: 4)
        let outcomes: [CommandOutcome] = [
            .nodeRecorded(truth: truth), .nodeCordoned(truth: truth),
            .rejected(.staleSequence(nodeID: "n1", stored: 9, offered: 3)), .rejected(.nodeNotFound(id: "x")),
        ]
        for outcome in outcomes {
            #expect(CommandOutcome(encoded: outcome.encoded()) == outcome)
        }
    }

    @Test("a replayed envelope with the same idempotency key answers as the first time")
    func idempotentIntake() throws {
        let state = try StateStore.inMemory()
        let first = try state.apply(index: 1, term: 1, command: record(envelope("n1", sequence: 1), key: "push-1"))
        let again = try state.apply(index: 2, term: 1, command: record(envelope("n1", sequence: 1), key: "push-1"))
        guard case .replayed(_, let outcome) = again else {
            Issue.record("unexpected \(again)")
            return
        }
        #expect(outcome == first.outcome)
    }
}
