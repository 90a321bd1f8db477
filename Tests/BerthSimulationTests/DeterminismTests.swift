import BerthRaft
import BerthSimulation
import XCTest

/// A seed must replay exactly, or a failure report is worthless.
final class DeterminismTests: XCTestCase {
    func testSameSeedReplaysEventForEvent() {
        for nodeCount in [3, 5] {
            var first: [String] = []
            var second: [String] = []
            let a = Simulation(seed: 42, nodeCount: nodeCount).run { first.append($0.description) }
            let b = Simulation(seed: 42, nodeCount: nodeCount).run { second.append($0.description) }
            XCTAssertGreaterThan(first.count, 50)
            XCTAssertEqual(first, second)
            XCTAssertEqual(a.fingerprint, b.fingerprint)
            XCTAssertEqual(a.stats, b.stats)
        }
    }

    func testRunningBesideOtherSeedsChangesNothing() {
        let alone = Simulation(seed: 7, nodeCount: 5).run()
        let crowd = (1...8 as ClosedRange<UInt64>).map { Simulation(seed: $0, nodeCount: 5) }
        let together = SeedRunner.run(crowd)[6]
        XCTAssertEqual(together.seed, 7)
        XCTAssertEqual(alone.fingerprint, together.fingerprint)
    }

    func testDifferentSeedsMakeDifferentRuns() {
        let fingerprints = Set(
            (1...5 as ClosedRange<UInt64>).map { Simulation(seed: $0, nodeCount: 3).run().fingerprint })
        XCTAssertEqual(fingerprints.count, 5)
    }

    func testFaultFreeRunAcknowledgesEveryOperation() {
        var settings = Simulation.Settings()
        settings.clients = 4
        settings.operationsPerClient = 25
        let result = Simulation(seed: 3, nodeCount: 5, faults: .none, settings: settings).run()
        XCTAssertTrue(result.passed, result.report)
        XCTAssertEqual(result.stats.crashes, 0)
        XCTAssertEqual(result.stats.proposalsLost, 0)
        XCTAssertEqual(result.stats.acknowledged, 100)
    }
}
