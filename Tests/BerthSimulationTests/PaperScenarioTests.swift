import BerthRaft
import BerthSimulation
import XCTest

/// Histories from the Raft paper that random faults reach only by luck, scripted step by step
/// through the simulator so the checkers judge them every time.
final class PaperScenarioTests: XCTestCase {
    /// Steps one time unit at a time until `condition` holds; fails after `maxSteps`.
    @discardableResult
    private func step(
        _ cluster: SimulatedCluster, until condition: (SimulatedCluster) -> Bool, maxSteps: Int = 5_000,
        _ what: String, file: StaticString = #filePath, line: UInt = #line
    ) -> Bool {
        for _ in 0..<maxSteps {
            if condition(cluster) { return true }
            cluster.step()
            if let violation = cluster.violation {
                let trace = cluster.recentEvents.map(\.description).joined(separator: "\n")
                XCTFail("cluster seed \(cluster.seed): \(violation)\n\(trace)", file: file, line: line)
                return false
            }
        }
        XCTFail("timed out waiting until \(what)", file: file, line: line)
        return false
    }

    /// §5.4.2, Figure 8: a leader must not commit an entry of an earlier term by counting
    /// replicas, because a server that never had it can still win the next election and
    /// overwrite it.
    ///
    /// Three servers. `a` leads and appends X at index 2, alone. `b` leads next and appends its
    /// own entry at index 2, alone. `a` comes back, leads a later term and copies X to `c` — X
    /// is now on a majority, but only counting would call it committed. `a` is cut off before
    /// its own entry reaches anyone; `b` wins again (its last term is newer than X's) and
    /// overwrites X on `c`. Replication is one entry per message so `c` acknowledges X alone.
    /// (Indices here count after the membership entries every disk starts with.)
    func testFigure8LeaderDoesNotCommitAnEarlierTermsEntryByCounting() throws {
        var options = SimulatedCluster.Options()
        options.maxMessageBytes = 1
        options.persistDelay = 1...1
        options.networkDelay = 1...1
        options.snapshotEveryEntries = 1_000
        let cluster = SimulatedCluster(nodeCount: 3, seed: 8, options: options)
        let all = cluster.nodeIDs
        let base = cluster.initialLogLength

        // A first leader; every node applies its empty entry at index 1.
        guard step(cluster, until: { $0.leader != nil }, "a first leader") else { return }
        let a = try XCTUnwrap(cluster.leader)
        guard step(cluster, until: { c in all.allSatisfy { c.appliedIndex(of: $0) == base + 1 } }, "index 1 applied")
        else {
            return
        }

        // a, cut off, appends X at index 2 and crashes with X on its disk only.
        cluster.partition([[a], all.filter { $0 != a }])
        let x = try cluster.propose(op: 100, at: a).get()
        XCTAssertEqual(x.index, base + 2)
        cluster.run(ticks: 1)
        cluster.crash(a)

        // b wins among the other two and is cut off at once: its index 2 stays on its disk.
        cluster.healNetwork()
        guard step(cluster, until: { $0.leader != nil }, "a second leader") else { return }
        let b = try XCTUnwrap(cluster.leader)
        let c = try XCTUnwrap(all.first { $0 != a && $0 != b })
        cluster.partition([[b], [c]])
        cluster.run(ticks: 1)
        cluster.crash(b)

        // a returns and wins with c's vote (a's log is longer), then copies X to c.
        cluster.healNetwork()
        cluster.restart(a)
        guard step(cluster, until: { $0.leader == a }, "a leads again") else { return }
        guard step(cluster, until: { $0.status(of: a)?.progress[c]?.match ?? 0 >= base + 2 }, "c holds X") else {
            return
        }
        // Cut a off before its own entry (index 3) reaches c, and let it run a little.
        cluster.partition([[a], [c]])
        cluster.run(ticks: 3)
        XCTAssertNil(cluster.violation)
        XCTAssertLessThan(cluster.appliedIndex(of: a), base + 2, "X was committed by counting replicas of an old term")
        cluster.crash(a)

        // b returns and wins with c's vote (b's last term is newer than X's), overwriting X.
        cluster.healNetwork()
        cluster.restart(b)
        guard step(cluster, until: { $0.leader == b }, "b leads again") else { return }
        guard step(cluster, until: { $0.appliedIndex(of: c) >= base + 2 }, "c applies index 2") else { return }

        // Everyone converges on b's history.
        cluster.restart(a)
        let converged: (SimulatedCluster) -> Bool = { c in
            all.allSatisfy { c.appliedIndex(of: $0) == c.appliedIndex(of: b) }
        }
        guard step(cluster, until: converged, "convergence") else { return }
        cluster.checkConverged()
        XCTAssertNil(cluster.violation)
    }
}
