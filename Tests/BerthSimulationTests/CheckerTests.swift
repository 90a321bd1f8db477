import BerthRaft
import XCTest

@testable import BerthSimulation

/// Each checker fires on the fact it exists to catch, and stays quiet on a legal one. A checker
/// that can never fire would make every passing seed meaningless.
final class CheckerTests: XCTestCase {
    private func entry(_ index: LogIndex, term: Term, op: UInt64) -> Entry {
        Entry(term: term, index: index, payload: .command(ClientOp.encode(op)))
    }

    // MARK: - Election safety (§5.2)

    func testTwoLeadersInOneTermBreakElectionSafety() {
        let checkers = Checkers()
        checkers.nodeBecameLeader(1, term: 3)
        checkers.nodeBecameLeader(1, term: 3)
        XCTAssertNil(checkers.violation, "the same leader seen twice is fine")
        checkers.nodeBecameLeader(2, term: 3)
        XCTAssertEqual(checkers.violation?.invariant, .electionSafety)
    }

    func testVotingTwiceInOneTermBreaksElectionSafety() {
        let checkers = Checkers()
        checkers.nodePersistsHardState(1, old: HardState(term: 2, vote: .none), new: HardState(term: 2, vote: 3))
        XCTAssertNil(checkers.violation)
        checkers.nodePersistsHardState(1, old: HardState(term: 2, vote: 3), new: HardState(term: 2, vote: 2))
        XCTAssertEqual(checkers.violation?.invariant, .electionSafety)
    }

    func testTermGoingBackOnDiskBreaksElectionSafety() {
        let checkers = Checkers()
        checkers.nodePersistsHardState(1, old: HardState(term: 4), new: HardState(term: 3))
        XCTAssertEqual(checkers.violation?.invariant, .electionSafety)
    }

    // MARK: - Log matching (§5.3)

    func testSameIndexAndTermWithDifferentPayloadsBreaksLogMatching() {
        let checkers = Checkers()
        checkers.nodePersistedEntries(1, [entry(1, term: 1, op: 10)], previousTerm: 0)
        checkers.nodePersistedEntries(2, [entry(1, term: 1, op: 10)], previousTerm: 0)
        XCTAssertNil(checkers.violation)
        checkers.nodePersistedEntries(3, [entry(1, term: 1, op: 11)], previousTerm: 0)
        XCTAssertEqual(checkers.violation?.invariant, .logMatching)
    }

    func testSameEntryAfterDifferentPrefixesBreaksLogMatching() {
        let checkers = Checkers()
        checkers.nodePersistedEntries(1, [entry(5, term: 3, op: 10)], previousTerm: 2)
        checkers.nodePersistedEntries(2, [entry(5, term: 3, op: 10)], previousTerm: 1)
        XCTAssertEqual(checkers.violation?.invariant, .logMatching)
    }

    func testTermsGoingBackWithinALogBreakLogMatching() {
        let checkers = Checkers()
        checkers.nodePersistedEntries(1, [entry(1, term: 2, op: 1), entry(2, term: 1, op: 2)], previousTerm: 0)
        XCTAssertEqual(checkers.violation?.invariant, .logMatching)
    }

    // MARK: - Leader completeness (§5.4)

    func testLeaderMissingAnEntryCommittedInAnEarlierTermBreaksCompleteness() {
        let checkers = Checkers()
        // Index 1 was committed in term 2 (applied by a node at term 2).
        checkers.nodeApplied(1, entry(1, term: 2, op: 7), digest: 1, term: 2)
        checkers.nodeBecameLeader(3, term: 3)
        // n3's log holds a different entry at index 1, then its own term-3 entry.
        let storage = MemoryStorage(configuration: Configuration(voters: [1, 2, 3]))
        let log = [entry(1, term: 1, op: 99), Entry(term: 3, index: 2, payload: .empty)]
        storage.append(log)
        checkers.nodePersistedLog(3, entries: log, storage: storage)
        XCTAssertEqual(checkers.violation?.invariant, .leaderCompleteness)
    }

    func testLeaderOfAnOlderTermNeedNotHoldLaterCommits() {
        // A candidate of term 1 whose votes arrive late may still win term 1 after term 2
        // committed entries it does not have: completeness covers earlier terms only.
        let checkers = Checkers()
        checkers.nodeApplied(1, entry(1, term: 2, op: 7), digest: 1, term: 2)
        checkers.nodeBecameLeader(4, term: 1)
        let storage = MemoryStorage(configuration: Configuration(voters: [1, 2, 3, 4]))
        let log = [Entry(term: 1, index: 1, payload: .empty)]
        storage.append(log)
        checkers.nodePersistedLog(4, entries: log, storage: storage)
        XCTAssertNil(checkers.violation)
    }

    // MARK: - State machine safety (§5.4.3)

    func testDifferentEntriesAppliedAtOneIndexBreakStateMachineSafety() {
        let checkers = Checkers()
        checkers.nodeApplied(1, entry(1, term: 1, op: 5), digest: 1, term: 1)
        checkers.nodeApplied(2, entry(1, term: 1, op: 5), digest: 1, term: 1)
        XCTAssertNil(checkers.violation)
        checkers.nodeApplied(3, entry(1, term: 1, op: 6), digest: 2, term: 1)
        XCTAssertEqual(checkers.violation?.invariant, .stateMachineSafety)
    }

    func testSnapshotThatDisagreesWithHistoryBreaksStateMachineSafety() {
        let checkers = Checkers()
        checkers.nodeApplied(1, entry(1, term: 1, op: 5), digest: 42, term: 1)
        checkers.nodeRestoredSnapshot(2, index: 1, term: 1, digest: 43, nodeTerm: 1)
        XCTAssertEqual(checkers.violation?.invariant, .stateMachineSafety)
    }

    // MARK: - Durability

    func testAcknowledgedOperationMissingAtTheEndBreaksDurability() {
        let checkers = Checkers()
        var full = OpStateMachine(configuration: Configuration(voters: [1, 2]))
        _ = full.apply(entry(1, term: 1, op: 9))
        checkers.operationAcknowledged(9, node: 1, index: 1, stateMachine: full)
        let empty = OpStateMachine(configuration: Configuration(voters: [1, 2]))
        checkers.checkFinal([(1, full)])
        XCTAssertNil(checkers.violation)
        checkers.checkFinal([(1, full), (2, empty)])
        XCTAssertEqual(checkers.violation?.invariant, .durability)
    }

    // MARK: - Linearizability (Wing–Gong–Lowe over the client history)

    /// The digest a read of `ops` returns.
    private func digest(_ ops: [UInt64]) -> UInt64 { ops.reduce(0, mixDigest) }

    func testStaleReadIsNotLinearizable() {
        // Client 1's write of op 1 is acknowledged; client 2 then reads and sees nothing.
        let stale = History()
        stale.invokeWrite(1, client: 1, time: 1)
        stale.writeAcknowledged(1, time: 5)
        stale.invokeRead(1, client: 2, time: 6)
        stale.readReturned(1, length: 0, digest: digest([]), time: 8)
        let problem = Linearizability.check(stale, sequence: [1])
        XCTAssertNotNil(problem)
        XCTAssertTrue(problem?.contains("client 2's read 1") == true, problem ?? "")

        // The same read invoked before the acknowledgement may miss the write.
        let concurrent = History()
        concurrent.invokeWrite(1, client: 1, time: 1)
        concurrent.invokeRead(1, client: 2, time: 2)
        concurrent.writeAcknowledged(1, time: 5)
        concurrent.readReturned(1, length: 0, digest: digest([]), time: 8)
        XCTAssertNil(Linearizability.check(concurrent, sequence: [1]))
    }

    func testReadReadAnomalyIsNotLinearizable() {
        // A write of unknown outcome; read A sees it, then read B — invoked after A returned —
        // does not: the state went back in time.
        let anomaly = History()
        anomaly.invokeWrite(7, client: 1, time: 1)
        anomaly.invokeRead(1, client: 2, time: 2)
        anomaly.readReturned(1, length: 1, digest: digest([7]), time: 3)
        anomaly.invokeRead(2, client: 3, time: 4)
        anomaly.readReturned(2, length: 0, digest: digest([]), time: 5)
        XCTAssertNotNil(Linearizability.check(anomaly, sequence: [7]))

        // Two reads that overlap may disagree about a write in flight.
        let overlapping = History()
        overlapping.invokeWrite(7, client: 1, time: 1)
        overlapping.invokeRead(1, client: 2, time: 2)
        overlapping.invokeRead(2, client: 3, time: 2)
        overlapping.readReturned(1, length: 1, digest: digest([7]), time: 3)
        overlapping.readReturned(2, length: 0, digest: digest([]), time: 4)
        XCTAssertNil(Linearizability.check(overlapping, sequence: [7]))
    }

    func testReadOfADifferentSequenceIsNotLinearizable() {
        // Two writes, both acknowledged before the read; the read sees them in the other order.
        let history = History()
        history.invokeWrite(1, client: 1, time: 1)
        history.invokeWrite(2, client: 2, time: 1)
        history.writeAcknowledged(1, time: 3)
        history.writeAcknowledged(2, time: 3)
        history.invokeRead(1, client: 3, time: 4)
        history.readReturned(1, length: 2, digest: digest([2, 1]), time: 5)
        XCTAssertNotNil(Linearizability.check(history, sequence: [1, 2]))
        XCTAssertNil(Linearizability.check(history, sequence: [2, 1]))
    }

    func testKeylessRetriesAreDistinctOperations() {
        // A keyless write of unknown outcome (internal key 10) and its client's retry (key 11),
        // acknowledged: both may take effect, or only the retry.
        let history = History()
        history.invokeWrite(10, client: 1, time: 1)
        history.invokeWrite(11, client: 1, time: 20)
        history.writeAcknowledged(11, time: 30)
        history.invokeRead(1, client: 2, time: 31)
        history.readReturned(1, length: 2, digest: digest([10, 11]), time: 32)
        XCTAssertNil(Linearizability.check(history, sequence: [10, 11]))
        // The retry cannot have taken effect before its client sent it.
        XCTAssertNotNil(Linearizability.check(history, sequence: [11, 10]))
        // An operation no client wrote, or a refused one, must never be applied.
        XCTAssertNotNil(Linearizability.check(history, sequence: [10, 11, 12]))
        history.invokeWrite(13, client: 3, time: 40)
        history.writeFailed(13)
        XCTAssertNotNil(Linearizability.check(history, sequence: [10, 11, 13]))
    }

    // MARK: - Disk loss

    /// The disk-loss history of `SimulatedClusterTests`, with the wiped follower back under the
    /// incarnation it had — what a server without incarnations does. Its vote then elects the
    /// follower that lacks the committed entry, and the checkers must say so.
    func testWithoutIncarnationsTheDiskLossHistoryIsCaught() throws {
        var options = SimulatedCluster.Options()
        options.wipeKeepsIncarnation = true
        let cluster = SimulatedCluster(nodeCount: 3, seed: 21, options: options)
        try SimulatedClusterTests.loseACommittedEntrysMajority(cluster)
        let (_, _, f2) = try SimulatedClusterTests.roles(cluster)
        cluster.run(maxTicks: 200) { $0.violation != nil }
        XCTAssertEqual(cluster.leader, f2, "the stale follower should have won with the wiped node's vote")
        XCTAssertEqual(cluster.violation?.invariant, .leaderCompleteness, "\(String(describing: cluster.violation))")
    }

    // MARK: - Liveness

    func testClusterThatCannotFinishInTimeBreaksLiveness() {
        var settings = Simulation.Settings()
        settings.faultPhaseTicks = 1
        settings.livenessTicks = 2  // far too short to elect anyone
        let result = Simulation(seed: 1, nodeCount: 3, faults: .none, settings: settings).run()
        XCTAssertEqual(result.violation?.invariant, .liveness)
        XCTAssertTrue(result.report.contains("BERTH_SIM_SEED=1"), result.report)
    }

    // MARK: - All together

    /// An owner that sends before its write is durable (votes and acks outlive a crash that
    /// loses them) must be caught: at once by the owner's promise check, and — with that check
    /// off — by the Raft-level checkers, through what the broken promises lead to.
    func testOwnerThatSendsBeforePersistingIsCaught() {
        // Crashes (many of them mid-write, on a slow disk) are what turn the bug into lost votes
        // and lost acknowledged entries; the other faults only dilute them.
        var crashesOnly = FaultProfile.none
        crashesOnly.crashes = true
        crashesOnly.slowDisk = true
        for checksPromises in [false, true] {
            let simulations = (1...150 as ClosedRange<UInt64>).map { seed in
                var simulation = Simulation(seed: seed, nodeCount: 3, faults: crashesOnly)
                simulation.sendsBeforePersisting = true
                simulation.checksPromises = checksPromises
                return simulation
            }
            let failures = SeedRunner.run(simulations).filter { !$0.passed }
            let invariants = Set(failures.compactMap { $0.violation?.invariant.rawValue })
            print(
                "sending before persisting, promise check \(checksPromises ? "on" : "off"): "
                    + "\(failures.count) of 150 seeds caught it, as \(invariants.sorted())")
            XCTAssertFalse(failures.isEmpty, "no checker noticed an owner that acknowledges before fsync")
            if checksPromises {
                XCTAssertEqual(failures.count, 150, "the promise check should catch it on every seed")
            } else {
                XCTAssertFalse(invariants.contains(Violation.Invariant.readyContract.rawValue))
            }
        }
    }
}
