import BerthControlPlane
import Testing

/// Free capacity is allocatable minus what placed, not yet terminal launches hold.
@Suite struct CapacityTests {
    @Test("a placement reduces free capacity and a release gives it back")
    func placeAndRelease() throws {
        var view = Build.fleet([Build.envelope("n1", cpus: 8, memoryMiB: 8_192)])
        let placed = try view.placeLaunch(Build.launch("l1", on: "n1", vcpus: 5, memoryMiB: 6_000))
        #expect(placed)
        #expect(view.usage(of: "n1") == NodeUsage(usedCPUs: 5, usedMemoryMiB: 6_000, activeLaunches: 1))
        #expect(
            view.evaluate(Build.vm(vcpus: 4, memoryMiB: 4_096), atMs: Build.now).reasons(for: "n1") == [
                Rejection(code: .insufficientCPU, needed: .int(4), available: .int(3)),
                Rejection(code: .insufficientMemory, needed: .int(4_096), available: .int(2_192)),
            ])
        let released = view.releaseLaunch(id: "l1")
        #expect(released)
        #expect(view.usage(of: "n1") == NodeUsage())
        #expect(view.select(Build.vm(vcpus: 4, memoryMiB: 4_096), atMs: Build.now) == "n1")
    }

    @Test("placing and releasing are idempotent; a conflicting placement is refused")
    func idempotence() throws {
        var view = Build.fleet([Build.envelope("n1"), Build.envelope("n2")])
        let launch = Build.launch("l1", on: "n1")
        let first = try view.placeLaunch(launch)
        let again = try view.placeLaunch(launch)
        #expect(first && !again)
        #expect(view.usage(of: "n1")?.activeLaunches == 1)
        #expect(throws: FleetError.launchConflict("l1")) { try view.placeLaunch(Build.launch("l1", on: "n2")) }
        #expect(throws: FleetError.unknownNode("n9")) { try view.placeLaunch(Build.launch("l2", on: "n9")) }
        let released = view.releaseLaunch(id: "l1")
        let releasedAgain = view.releaseLaunch(id: "l1")
        #expect(released && !releasedAgain)
        #expect(view.usage(of: "n1") == NodeUsage())
        #expect(view.placedLaunches.isEmpty)
    }

    @Test("placing what select picks, until nothing fits, never overcommits a node")
    func neverOvercommits() throws {
        var view = Build.fleet([
            Build.envelope("a", cpus: 8, memoryMiB: 16_384), Build.envelope("b", cpus: 6, memoryMiB: 8_192),
            Build.envelope("c", cpus: 16, memoryMiB: 4_096),
        ])
        let intent = Build.vm(vcpus: 3, memoryMiB: 3_000)
        var placed = 0
        while let nodeID = view.select(intent, atMs: Build.now) {
            try view.placeLaunch(Build.launch("l\(placed)", on: nodeID, vcpus: 3, memoryMiB: 3_000))
            placed += 1
            #expect(placed <= 10)
        }
        // a fits 2 (cpu), b fits 2 (both), c fits 1 (memory).
        #expect(placed == 5)
        for nodeID in view.nodeIDs {
            let truth = view.truth(of: nodeID)!.envelope
            let usage = view.usage(of: nodeID)!
            #expect(usage.usedCPUs <= truth.cpus.allocatable)
            #expect(usage.usedMemoryMiB <= truth.memoryMiB.allocatable)
        }
        let full = view.evaluate(intent, atMs: Build.now)
        #expect(full.rankedNodes.isEmpty)
        #expect(full.rejectedNodes.map(\.nodeID) == ["a", "b", "c"])
    }

    @Test("an envelope that shrinks a node below what is placed leaves zero free, not negative")
    func shrunkNode() throws {
        var view = Build.fleet([Build.envelope("n1", cpus: 8)])
        try view.placeLaunch(Build.launch("l1", on: "n1", vcpus: 6))
        try view.upsert(Build.envelope("n1", sequence: 2, cpus: 4), receivedAtMs: Build.now)
        #expect(view.usage(of: "n1")?.usedCPUs == 6)
        #expect(
            view.evaluate(Build.vm(vcpus: 1), atMs: Build.now).reasons(for: "n1") == [
                Rejection(code: .insufficientCPU, needed: .int(1), available: .int(0))
            ])
        let node = view.explainNode("n1", atMs: Build.now)!
        #expect(node.cpus == .init(total: 4, allocatable: 4, used: 6, free: 0))
    }

    @Test("a launch's resources stay counted across envelopes, cordons and uncordons")
    func usageSurvivesTruthChanges() throws {
        var view = Build.fleet([Build.envelope("n1")])
        try view.placeLaunch(Build.launch("l1", on: "n1", vcpus: 3, memoryMiB: 100))
        try view.upsert(Build.envelope("n1", sequence: 2, labels: ["zone": "b"]), receivedAtMs: Build.now)
        try view.cordon("n1", atMs: Build.now)
        try view.uncordon("n1")
        #expect(view.usage(of: "n1") == NodeUsage(usedCPUs: 3, usedMemoryMiB: 100, activeLaunches: 1))
    }
}
