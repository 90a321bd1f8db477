import BerthRaft
import BerthSimulation

/// `berth demo --simulated`: the same tour inside the deterministic simulator — a 3-node
/// cluster elects a leader, replicates, loses its leader to a crash, elects another, and shows
/// that nothing committed was lost. Every line is an event of the run; the seed replays it.
enum SimulatedDemo {
    static func run(seed: UInt64 = 1) throws {
        let cluster = SimulatedCluster(nodeCount: 3, seed: seed)
        cluster.onEvent = { event in
            switch event.kind {
            case .campaign, .proposalRefused, .readIssued, .compacted: return
            default: print(event)
            }
        }
        print("Simulated 3-node cluster, seed \(seed) (every run with this seed is identical)")
        cluster.announce(phase: "election")
        guard cluster.run(maxTicks: 500, until: { $0.leader != nil }), let first = cluster.leader else {
            throw SimulatedDemoError.stuck("no leader elected")
        }

        cluster.announce(phase: "replication")
        for op: UInt64 in 1...5 { _ = cluster.propose(op: op) }
        try waitAcknowledged(cluster, ops: Array(1...5))

        cluster.announce(phase: "the leader crashes")
        cluster.crash(first)
        guard cluster.run(maxTicks: 1000, until: { $0.leader != nil && $0.leader != first }),
            let second = cluster.leader
        else { throw SimulatedDemoError.stuck("no new leader after the crash") }
        for op: UInt64 in 6...8 { _ = cluster.propose(op: op) }
        try waitAcknowledged(cluster, ops: Array(6...8))

        cluster.announce(phase: "the old leader restarts and catches up")
        cluster.restart(first)
        _ = cluster.run(maxTicks: 1000) { cluster in
            cluster.nodeIDs.allSatisfy { cluster.appliedOps(of: $0).count == 8 }
        }
        if let violation = cluster.violation { throw SimulatedDemoError.stuck("violation: \(violation)") }
        print("")
        print("Leader n\(first) crashed; n\(second) took over.")
        for id in cluster.nodeIDs {
            print("  n\(id) applied ops \(cluster.appliedOps(of: id))")
        }
        let lost = (1...8).filter { op in
            !cluster.nodeIDs.allSatisfy { cluster.appliedOps(of: $0).contains(UInt64(op)) }
        }
        print(lost.isEmpty ? "Nothing committed was lost; every checker held at every step." : "MISSING ops \(lost)")
    }

    private static func waitAcknowledged(_ cluster: SimulatedCluster, ops: [UInt64]) throws {
        let done = cluster.run(maxTicks: 2000) { cluster in ops.allSatisfy { cluster.isAcknowledged($0) } }
        _ = cluster.takeOutcomes()
        guard done else { throw SimulatedDemoError.stuck("ops \(ops) were not acknowledged") }
    }

    enum SimulatedDemoError: Error, CustomStringConvertible {
        case stuck(String)
        var description: String {
            switch self {
            case .stuck(let what): return "simulated demo: \(what)"
            }
        }
    }
}
