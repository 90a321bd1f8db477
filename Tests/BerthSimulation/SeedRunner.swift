import Dispatch
import Foundation

/// Runs many simulations on all cores. Each run is isolated (its own cluster, its own
/// generators, nothing shared), so the result of a seed does not depend on what ran beside it.
public enum SeedRunner {
    /// Runs `simulations` on `workers` threads and returns their results in the same order.
    /// `progress` is called (from a worker thread) with the number of runs finished so far.
    public static func run(
        _ simulations: [Simulation],
        workers: Int = ProcessInfo.processInfo.activeProcessorCount,
        progress: (@Sendable (Int) -> Void)? = nil
    ) -> [SimulationResult] {
        let board = Board(count: simulations.count)
        CrashReporter.install()
        let threads = max(1, min(workers, simulations.count, CrashReporter.slotCount))
        DispatchQueue.concurrentPerform(iterations: threads) { worker in
            while let index = board.claim() {
                let simulation = simulations[index]
                CrashReporter.enter(slot: worker, seed: simulation.seed, nodeCount: simulation.nodeCount)
                let result = simulation.run()
                CrashReporter.leave(slot: worker)
                let finished = board.finish(index, with: result)
                progress?(finished)
            }
        }
        return board.results()
    }

    /// The shared job counter and result slots, behind a lock.
    private final class Board: @unchecked Sendable {
        private let lock = NSLock()
        private var next = 0
        private var finished = 0
        private var slots: [SimulationResult?]

        init(count: Int) {
            slots = Array(repeating: nil, count: count)
        }

        func claim() -> Int? {
            lock.lock()
            defer { lock.unlock() }
            guard next < slots.count else { return nil }
            next += 1
            return next - 1
        }

        func finish(_ index: Int, with result: SimulationResult) -> Int {
            lock.lock()
            defer { lock.unlock() }
            slots[index] = result
            finished += 1
            return finished
        }

        func results() -> [SimulationResult] {
            lock.lock()
            defer { lock.unlock() }
            return slots.map { $0! }
        }
    }
}
