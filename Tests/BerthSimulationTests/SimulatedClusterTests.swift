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

    /// Issue 8, disk loss (§5.4.1 with a lost disk): an entry is committed on the leader L and
    /// follower F1 while F2 is cut off; F1 loses its disk and L crashes. F1, back empty under a
    /// new incarnation, would vote for F2, which lacks the entry — its vote must not count, so
    /// the cluster waits for L. Then F1 is re-admitted as a learner under its new incarnation,
    /// catches up, is promoted, and every node holds the entry.
    func testWipedFollowersVoteDoesNotElectACandidateWithoutACommittedEntry() throws {
        let cluster = SimulatedCluster(nodeCount: 3, seed: 21)
        try Self.loseACommittedEntrysMajority(cluster)
        let (leader, f1, f2) = try Self.roles(cluster)

        // F2 campaigns with F1's vote only: nobody may win.
        XCTAssertFalse(cluster.run(maxTicks: 60) { $0.leader != nil }, "a leader without the committed entry")
        XCTAssertNil(cluster.violation)
        XCTAssertEqual(cluster.status(of: f2)?.foreignIncarnations[f1], cluster.incarnation(of: f1))
        XCTAssertNotEqual(cluster.status(of: f2)?.role, .leader)

        // L comes back and leads (it holds the entry); F1 is re-admitted, then promoted.
        cluster.restart(leader)
        XCTAssertTrue(cluster.run(maxTicks: 200) { $0.leader != nil })
        let incarnation = cluster.incarnation(of: f1)
        XCTAssertNotEqual(incarnation, .initial)
        XCTAssertTrue(
            cluster.run(maxTicks: 300) { cluster in
                if cluster.committedConfiguration.incarnation(of: f1) != incarnation {
                    cluster.proposeConfigChange(.rejoin(f1, incarnation: incarnation))
                } else if cluster.committedConfiguration.learners.contains(f1) {
                    cluster.proposeConfigChange(.promote(f1))  // refused until F1 caught up
                }
                return cluster.everyNodeAdmitted
            }, "F1 was not re-admitted")
        XCTAssertTrue(cluster.run(maxTicks: 200) { c in c.nodeIDs.allSatisfy { c.appliedOps(of: $0) == [1] } })
        cluster.checkConverged()
        XCTAssertNil(cluster.violation)
    }

    /// The history of the disk-loss test, up to the point where F2 campaigns: op 1 is
    /// acknowledged by L with F1 while F2 is cut off; F1 loses its disk and restarts empty; L
    /// crashes; the network heals.
    static func loseACommittedEntrysMajority(_ cluster: SimulatedCluster) throws {
        XCTAssertTrue(cluster.run(maxTicks: 200) { $0.leader != nil })
        let (leader, f1, f2) = try roles(cluster)
        cluster.partition([[leader, f1], [f2]])
        cluster.propose(op: 1)
        XCTAssertTrue(cluster.run(maxTicks: 100) { $0.isAcknowledged(1) })
        XCTAssertEqual(cluster.appliedOps(of: f2), [])
        cluster.wipe(f1)
        cluster.restart(f1)
        cluster.crash(leader)
        cluster.healNetwork()
    }

    /// The leader (the lowest-numbered node once crashed), the first follower, the second.
    static func roles(_ cluster: SimulatedCluster) throws -> (NodeID, NodeID, NodeID) {
        let leader = try XCTUnwrap(cluster.leader ?? cluster.nodeIDs.first { !cluster.isUp($0) })
        let followers = cluster.nodeIDs.filter { $0 != leader }
        return (leader, followers[0], followers[1])
    }
}
