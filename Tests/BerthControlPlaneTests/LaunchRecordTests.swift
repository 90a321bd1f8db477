import BerthControlPlane
import Testing

/// Launch records: placement, failure reasons, the trace, and what the fleet view counts.
@Suite struct LaunchRecordTests {
    func placedRecord() throws -> LaunchRecord {
        let view = Build.fleet([Build.envelope("n1"), Build.envelope("n2", arch: .x86_64)])
        let intent = Build.vm(arch: .aarch64)
        let explanation = view.evaluate(intent, atMs: Build.now)
        let node = view.truth(of: explanation.selectedNodeID!)!
        var record = LaunchRecord(id: "l1", intent: intent, createdAtMs: Build.now, note: "from the API")
        try record.place(spec: LaunchSpec.hydrate(intent, on: node), placement: explanation, atMs: Build.now + 1)
        return record
    }

    @Test("a new record is pending, with one trace entry and no node")
    func newRecord() {
        let record = LaunchRecord(id: "l1", intent: Build.vm(), createdAtMs: 5, note: "hi")
        #expect(record.state == .pending)
        #expect(record.trace == [LaunchTraceEntry(atMs: 5, state: .pending, note: "hi")])
        #expect(record.createdAtMs == 5 && record.updatedAtMs == 5)
        #expect(record.nodeID == nil && record.spec == nil && record.placement == nil)
        #expect(record.placedLaunch == nil)
    }

    @Test("placing records the spec and the whole explanation, and moves to validated")
    func place() throws {
        let record = try placedRecord()
        #expect(record.state == .validated)
        #expect(record.nodeID == "n1")
        #expect(record.placement?.rankedNodes.map(\.nodeID) == ["n1"])
        #expect(record.placement?.rejectedNodes.map(\.nodeID) == ["n2"])
        #expect(record.trace.map(\.state) == [.pending, .validated])
        #expect(
            record.placedLaunch
                == PlacedLaunch(launchID: "l1", workloadName: "web", nodeID: "n1", vcpus: 2, memoryMiB: 2_048))
    }

    @Test("validated is reached only by placing; placing twice is illegal")
    func validatedOnlyByPlacing() throws {
        var pending = LaunchRecord(id: "l1", intent: Build.vm(), createdAtMs: 0)
        #expect(throws: LaunchTransitionError.placementRequired) { try pending.transition(to: .validated, atMs: 1) }
        var placed = try placedRecord()
        #expect(throws: LaunchTransitionError.illegal(from: .validated, to: .validated)) {
            try placed.place(spec: placed.spec!, placement: placed.placement!, atMs: 9)
        }
    }

    @Test("failed needs a reason; nothing else takes one")
    func failureReasons() throws {
        var record = try placedRecord()
        #expect(throws: LaunchTransitionError.failureReasonRequired) { try record.transition(to: .failed, atMs: 5) }
        #expect(throws: LaunchTransitionError.failureReasonNotAllowed(.preparing)) {
            try record.transition(to: .preparing, atMs: 5, reason: FailureReason(code: .agentError))
        }
        #expect(record.state == .validated)
        try record.transition(to: .preparing, atMs: 10)
        try record.transition(
            to: .failed, atMs: 11, reason: FailureReason(code: .prepareFailed, detail: "no /images/rootfs.ext4"))
        #expect(record.failure == FailureReason(code: .prepareFailed, detail: "no /images/rootfs.ext4"))
        #expect(record.failure?.message == "preparing the runtime failed: no /images/rootfs.ext4")
        // A second failure report keeps the first reason.
        let changed = try record.transition(to: .failed, atMs: 12, reason: FailureReason(code: .nodeLost))
        #expect(!changed)
        #expect(record.failure?.code == .prepareFailed)
        #expect(record.trace.map(\.state) == [.pending, .validated, .preparing, .failed])
        #expect(record.trace.last?.reason?.code == .prepareFailed)
        #expect(record.placedLaunch == nil)
    }

    @Test("a full life: running, asked to stop, terminated; the trace keeps every step with its time")
    func fullLife() throws {
        var record = try placedRecord()
        try record.transition(to: .preparing, atMs: 10)
        try record.transition(to: .starting, atMs: 20)
        try record.transition(to: .running, atMs: 30)
        // The agent acknowledges running again after a failover: nothing changes.
        let changed = try record.transition(to: .running, atMs: 35)
        #expect(!changed)
        try record.transition(to: .terminating, atMs: 40, note: "requested by alice")
        try record.transition(to: .terminated, atMs: 50)
        #expect(record.trace.map(\.atMs) == [Build.now, Build.now + 1, 10, 20, 30, 40, 50])
        #expect(record.trace[5].note == "requested by alice")
        #expect(record.updatedAtMs == 50)
        #expect(record.failure == nil)
        #expect(record.placedLaunch == nil)
    }

    @Test("a launch cancelled before placement goes straight to terminated")
    func cancelledWhilePending() throws {
        var record = LaunchRecord(id: "l1", intent: Build.vm(), createdAtMs: 0)
        try record.transition(to: .terminated, atMs: 3, note: "cancelled")
        #expect(record.state == .terminated)
    }

    @Test("failure messages are derived from code and evidence")
    func failureMessages() {
        #expect(FailureReason.exited(3).message == "exited with status 3")
        #expect(FailureReason(code: .killed, signal: 9).message == "killed by signal 9")
        #expect(FailureReason(code: .killed).message == "killed")
        #expect(
            FailureReason(code: .readinessTimeout, detail: "").message == "the workload did not become ready in time")
        #expect(
            FailureCode.allCases.map(\.rawValue) == [
                "VALIDATION_FAILED", "PREPARE_FAILED", "START_FAILED", "READINESS_TIMEOUT", "EXITED", "KILLED",
                "NODE_LOST",
                "TERMINATE_TIMEOUT", "AGENT_ERROR",
            ])
    }

    @Test("a record's placed launch is what the fleet view counts until the record is terminal")
    func fleetAccounting() throws {
        var view = Build.fleet([Build.envelope("n1")])
        var record = try placedRecord()
        try view.placeLaunch(record.placedLaunch!)
        #expect(view.usage(of: "n1")?.usedCPUs == 2)
        try record.transition(to: .terminating, atMs: 10)
        #expect(record.placedLaunch != nil)
        try record.transition(to: .terminated, atMs: 11)
        #expect(record.placedLaunch == nil)
        view.releaseLaunch(id: record.id)
        #expect(view.usage(of: "n1")?.usedCPUs == 0)
    }
}
