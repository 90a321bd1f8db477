import BerthRaft
import BerthSimulation
import Foundation
import XCTest

/// The randomized whole-cluster runs (VOPR style). Every seed runs a 3-node and a 5-node
/// cluster with all faults allowed; the seed alone decides everything else.
///
/// - `BERTH_SIM_SEEDS=n` runs seeds 1...n (default 1,000). Large counts print progress — this
///   is the long run: `BERTH_SIM_SEEDS=100000 swift test -c release -Xswiftc -enable-testing
///   --filter SimulationSeedTests`.
/// - `BERTH_SIM_FIRST_SEED=s` starts at seed s instead of 1 (to split a long run).
/// - `BERTH_SIM_SEED=s` replays only seed s (both sizes) and prints its failure report;
///   with `BERTH_SIM_VERBOSE=1` it prints every event of the run.
/// - `BERTH_SIM_PROMISE_CHECK=0` switches off the owner's check that every message promises
///   only what is durable, to see what the Raft-level checkers catch on their own.
final class SimulationSeedTests: XCTestCase {
    private let environment = ProcessInfo.processInfo.environment

    func testRandomizedSeeds() throws {
        if let text = environment["BERTH_SIM_SEED"] {
            let seed = try XCTUnwrap(UInt64(text), "BERTH_SIM_SEED must be a number")
            replay(seed: seed)
            return
        }
        let count = Int(environment["BERTH_SIM_SEEDS"] ?? "") ?? 1_000
        let first = UInt64(environment["BERTH_SIM_FIRST_SEED"] ?? "") ?? 1
        let simulations = (first..<first + UInt64(count)).flatMap { seed in
            [3, 5].map { simulation(seed: seed, nodeCount: $0) }
        }
        let progressEvery = count >= 10_000 ? max(1, simulations.count / 100) : 0
        let started = Date()
        let results = SeedRunner.run(simulations) { finished in
            if progressEvery > 0 && finished % progressEvery == 0 {
                print("simulation: \(finished)/\(simulations.count) runs, \(Int(Date().timeIntervalSince(started))) s")
            }
        }
        let elapsed = Date().timeIntervalSince(started)

        var totals = SimulationStats()
        for result in results { totals.add(result.stats) }
        let failures = results.filter { !$0.passed }
        print(
            """
            simulation: \(count) seeds × {3, 5} nodes = \(results.count) runs in \
            \(String(format: "%.1f", elapsed)) s (\(String(format: "%.1f", elapsed * 1000 / Double(results.count))) ms \
            per run on \(ProcessInfo.processInfo.activeProcessorCount) cores), \(failures.count) failed
            \(totals.summary)
            slowest heal: \(totals.healTicks) ticks
            """)
        for failure in failures.prefix(3) {
            XCTFail(failure.report)
        }
        if failures.count > 3 {
            XCTFail("\(failures.count) runs failed; seeds: \(failures.map { "\($0.seed)/\($0.nodeCount)" })")
        }
    }

    private func simulation(seed: UInt64, nodeCount: Int) -> Simulation {
        var simulation = Simulation(seed: seed, nodeCount: nodeCount, faults: .all)
        simulation.checksPromises = environment["BERTH_SIM_PROMISE_CHECK"] != "0"
        return simulation
    }

    /// Runs one seed in both sizes and reports each failure with its trace.
    private func replay(seed: UInt64) {
        let verbose = environment["BERTH_SIM_VERBOSE"] == "1"
        for nodeCount in [3, 5] {
            let simulation = simulation(seed: seed, nodeCount: nodeCount)
            let result = simulation.run(onEvent: verbose ? { print($0) } : nil)
            print("seed \(seed), \(nodeCount) nodes: \(result.passed ? "passed" : "FAILED")\n\(result.stats.summary)")
            if !result.passed { XCTFail(result.report) }
        }
    }
}
