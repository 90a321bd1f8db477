import BerthRaft
import BerthSimulation
import XCTest

/// Scripted scenarios through the same API `berth demo` uses: init → act → check, with the
/// checkers watching underneath.
final class SimulatedClusterTests: XCTestCase {
    /// Elects a leader in a fresh cluster and returns it.
    private func electedLeader(_ cluster: SimulatedCluster, file: StaticString = #filePath, line: UInt = #line)
        -> NodeID?
    {
        XCTAssertTrue(cluster.run(maxTicks: 200) { $0.leader != nil }, "no leader", file: file, line: line)
        return cluster.leader
    }

    private func allAcknowledged(_ ops: [UInt64]) -> (SimulatedCluster) -> Bool {
        { cluster in ops.allSatisfy { cluster.isAcknowledged($0) } }
    }

    private func everyNodeApplied(_ ops: [UInt64]) -> (SimulatedCluster) -> Bool {
        { cluster in cluster.nodeIDs.allSatisfy { cluster.appliedOps(of: $0) == ops } }
    }

    /// §5.2, §5.3: a fresh cluster elects one leader and every node applies the same operations
    /// in the same order.
    func testHealthyClusterElectsALeaderAndReplicatesEveryOperation() throws {
        let cluster = SimulatedCluster(nodeCount: 3, seed: 7)
        _ = try XCTUnwrap(electedLeader(cluster))

        let ops = Array(1...10 as ClosedRange<UInt64>)
        for op in ops {
            guard case .success = cluster.propose(op: op) else { return XCTFail("leader refused op \(op)") }
        }

        XCTAssertTrue(cluster.run(maxTicks: 100, until: allAcknowledged(ops)))
        XCTAssertTrue(cluster.run(maxTicks: 100, until: everyNodeApplied(ops)))
        XCTAssertNil(cluster.violation)
    }

    /// A crash while a Ready is being written loses exactly that write; what was durable
    /// survives, the node catches up after restarting, and no acknowledged operation is lost.
    func testCrashInTheMiddleOfAWriteLosesOnlyThatWrite() throws {
        var options = SimulatedCluster.Options()
        options.persistDelay = 8...8
        let cluster = SimulatedCluster(nodeCount: 3, seed: 11, options: options)
        var crashes: [SimulationEvent.Kind] = []
        cluster.onEvent = { event in
            if case .crashed = event.kind { crashes.append(event.kind) }
        }
        let leader = try XCTUnwrap(electedLeader(cluster))
        let follower = try XCTUnwrap(cluster.nodeIDs.first { $0 != leader })
        cluster.propose(op: 1)
        XCTAssertTrue(cluster.run(maxTicks: 100, until: allAcknowledged([1])))

        cluster.propose(op: 2)
        var steps = 0
        while !cluster.isWriting(follower) && steps < 1_000 {
            cluster.step()
            steps += 1
        }
        XCTAssertTrue(cluster.isWriting(follower), "the follower never started a write")
        cluster.crash(follower)
        guard case .crashed(_, let lostEntries, let lostHardState, _)? = crashes.last else {
            return XCTFail("no crash event")
        }
        XCTAssertTrue(lostEntries > 0 || lostHardState, "the crash should have lost the write in progress")

        cluster.run(ticks: 5)
        cluster.restart(follower)
        XCTAssertTrue(cluster.run(maxTicks: 200, until: allAcknowledged([1, 2])))
        XCTAssertTrue(cluster.run(maxTicks: 200, until: everyNodeApplied([1, 2])))
        cluster.checkConverged()
        XCTAssertNil(cluster.violation)
    }

    /// §7: a follower that was away while the others compacted their logs catches up by
    /// installing the leader's snapshot.
    func testLaggingFollowerCatchesUpFromASnapshot() throws {
        var options = SimulatedCluster.Options()
        options.snapshotEveryEntries = 8
        options.retainEntries = 0
        let cluster = SimulatedCluster(nodeCount: 3, seed: 5, options: options)
        let leader = try XCTUnwrap(electedLeader(cluster))
        let lagging = try XCTUnwrap(cluster.nodeIDs.first { $0 != leader })
        cluster.partition([[lagging], cluster.nodeIDs.filter { $0 != lagging }])

        let ops = Array(1...30 as ClosedRange<UInt64>)
        for op in ops { cluster.propose(op: op) }
        XCTAssertTrue(cluster.run(maxTicks: 200, until: allAcknowledged(ops)))
        XCTAssertEqual(cluster.appliedOps(of: lagging), [])

        cluster.healNetwork()
        XCTAssertTrue(cluster.run(maxTicks: 200, until: everyNodeApplied(ops)))
        XCTAssertGreaterThan(cluster.stats.snapshotsInstalled, 0)
        XCTAssertNil(cluster.violation)
    }

    /// §5.2 and thesis §6.2: a leader cut off from the majority steps down, the majority elects
    /// a new leader in a higher term, and the old one follows it once the network heals.
    func testIsolatedLeaderIsReplacedByTheMajority() throws {
        let cluster = SimulatedCluster(nodeCount: 5, seed: 3)
        let old = try XCTUnwrap(electedLeader(cluster))
        let oldTerm = try XCTUnwrap(cluster.status(of: old)?.term)
        cluster.partition([[old], cluster.nodeIDs.filter { $0 != old }])

        XCTAssertTrue(
            cluster.run(maxTicks: 200) { cluster in
                guard let leader = cluster.leader, leader != old else { return false }
                return cluster.status(of: old)?.role != .leader
            })
        let new = try XCTUnwrap(cluster.leader)
        XCTAssertGreaterThan(try XCTUnwrap(cluster.status(of: new)?.term), oldTerm)

        cluster.healNetwork()
        cluster.propose(op: 1)
        XCTAssertTrue(cluster.run(maxTicks: 200, until: everyNodeApplied([1])))
        XCTAssertEqual(cluster.status(of: old)?.leader, cluster.leader)
        XCTAssertNil(cluster.violation)
    }

    /// Thesis §6.4: a read issued after a write was acknowledged is served from a state that
    /// includes it.
    func testReadIssuedAfterAnAcknowledgementSeesTheWrite() throws {
        let cluster = SimulatedCluster(nodeCount: 3, seed: 9)
        let leader = try XCTUnwrap(electedLeader(cluster))
        cluster.propose(op: 1)
        XCTAssertTrue(cluster.run(maxTicks: 100, until: allAcknowledged([1])))
        _ = cluster.takeOutcomes()

        let readID = try cluster.read(at: leader).get()
        var served: LogIndex?
        XCTAssertTrue(
            cluster.run(maxTicks: 100) { cluster in
                for case .readServed(_, readID, _, let applied) in cluster.takeOutcomes() { served = applied }
                return served != nil
            })
        XCTAssertTrue(cluster.appliedOps(of: leader).contains(1))
        XCTAssertNil(cluster.violation)
    }

    /// Thesis §3.10: the leader hands over to a caught-up voter on request.
    func testLeadershipTransferHandsOverToTheTarget() throws {
        let cluster = SimulatedCluster(nodeCount: 3, seed: 13)
        let leader = try XCTUnwrap(electedLeader(cluster))
        cluster.propose(op: 1)
        XCTAssertTrue(cluster.run(maxTicks: 100, until: everyNodeApplied([1])))
        let target = try XCTUnwrap(cluster.nodeIDs.first { $0 != leader })

        XCTAssertNoThrow(try cluster.transferLeadership(to: target).get())
        XCTAssertTrue(cluster.run(maxTicks: 100) { $0.leader == target })
        XCTAssertEqual(cluster.stats.transfersCompleted, 1)
        XCTAssertNil(cluster.violation)
    }
}
