import BerthControlPlane
import Testing

/// Node truth: the sequence check and the cordon.
@Suite struct NodeTruthTests {
    @Test("an envelope not newer than the stored one is refused with STALE_SEQUENCE and changes nothing")
    func staleSequence() throws {
        var view = FleetView()
        try view.upsert(Build.envelope("n1", sequence: 7, cpus: 8), receivedAtMs: Build.now)
        for old: UInt64 in [7, 6, 1] {
            #expect(throws: StaleSequence(nodeID: "n1", storedSequence: 7, offeredSequence: old)) {
                try view.upsert(Build.envelope("n1", sequence: old, cpus: 2), receivedAtMs: Build.now + 1)
            }
        }
        #expect(view.truth(of: "n1")?.envelope.cpus.total == 8)
        #expect(view.truth(of: "n1")?.receivedAtMs == Build.now)
        let refusal = StaleSequence(nodeID: "n1", storedSequence: 7, offeredSequence: 6)
        #expect(StaleSequence.code == "STALE_SEQUENCE")
        #expect(refusal.needed == .int(8))
        #expect(refusal.available == .int(6))
        #expect(refusal.message == "envelope sequence 6 for node n1 is not newer than the stored 7")
        try view.upsert(Build.envelope("n1", sequence: 8, cpus: 2), receivedAtMs: Build.now + 2)
        #expect(view.truth(of: "n1")?.envelope.cpus.total == 2)
        #expect(view.truth(of: "n1")?.receivedAtMs == Build.now + 2)
    }

    @Test("sequences are per node")
    func perNode() throws {
        var view = FleetView()
        try view.upsert(Build.envelope("n1", sequence: 9), receivedAtMs: Build.now)
        try view.upsert(Build.envelope("n2", sequence: 1), receivedAtMs: Build.now)
        #expect(view.count == 2)
        #expect(view.nodeIDs == ["n1", "n2"])
    }

    @Test("cordon keeps its first time, draining implies cordoned, uncordon clears both")
    func cordon() {
        var truth = NodeTruth(envelope: Build.envelope("n1"), receivedAtMs: Build.now)
        truth.cordon(atMs: 10)
        truth.cordon(atMs: 20, draining: true)
        #expect(truth.cordoned && truth.draining && truth.cordonedAtMs == 10)
        truth.cordon(atMs: 30)
        #expect(truth.draining)
        truth.uncordon()
        #expect(!truth.cordoned && !truth.draining && truth.cordonedAtMs == nil)
        #expect(NodeTruth(envelope: Build.envelope("n1"), receivedAtMs: 0, draining: true).cordoned)
    }

    @Test("an accepted envelope keeps the cordon")
    func acceptingKeepsCordon() throws {
        var truth = NodeTruth(envelope: Build.envelope("n1"), receivedAtMs: 1)
        truth.cordon(atMs: 5, draining: true)
        let next = try NodeTruth.accepting(Build.envelope("n1", sequence: 2), receivedAtMs: 9, previous: truth)
        #expect(next.draining && next.cordonedAtMs == 5 && next.receivedAtMs == 9 && next.envelope.sequence == 2)
    }

    @Test("telemetry is as old as the earlier of observation and receipt")
    func telemetryTakenAt() {
        #expect(NodeTruth(envelope: Build.envelope("n1", observedAtMs: 100), receivedAtMs: 50).telemetryTakenAtMs == 50)
        #expect(
            NodeTruth(envelope: Build.envelope("n1", observedAtMs: 100), receivedAtMs: 150).telemetryTakenAtMs == 100)
    }

    @Test("rebasing fixture envelopes moves the newest to now and keeps relative ages")
    func rebase() {
        let envelopes = [
            Build.envelope("a", observedAtMs: 1_000), Build.envelope("b", observedAtMs: 5_000),
            Build.envelope("c", observedAtMs: 4_000),
        ]
        let shifted = SchedulerEnvelope.rebased(envelopes, newestObservedAtMs: Build.now)
        #expect(shifted.map(\.observedAtMs) == [Build.now - 4_000, Build.now, Build.now - 1_000])
        #expect(shifted.map(\.nodeID) == ["a", "b", "c"])
        #expect(SchedulerEnvelope.rebased([], newestObservedAtMs: 5).isEmpty)
    }
}
