import BerthControlPlane
import Testing

/// The launch state machine: every legal and every illegal pair.
@Suite struct LaunchStateTests {
    /// The documented table, written out pair by pair.
    static let legal: Set<String> = [
        "pending→validated", "pending→terminated", "pending→failed",
        "validated→preparing", "validated→terminating", "validated→failed",
        "preparing→starting", "preparing→terminating", "preparing→failed",
        "starting→running", "starting→terminating", "starting→failed",
        "running→terminating", "running→terminated", "running→failed",
        "terminating→terminated", "terminating→failed",
    ]

    static let pairs: [(LaunchState, LaunchState)] = LaunchState.allCases.flatMap { from in
        LaunchState.allCases.map { (from, $0) }
    }

    @Test("the table allows exactly the documented pairs")
    func table() {
        let allowed = Set(Self.pairs.filter { $0.0.canMove(to: $0.1) }.map { "\($0.0.rawValue)→\($0.1.rawValue)" })
        #expect(allowed == Self.legal)
        #expect(LaunchState.allCases.filter(\.isTerminal) == [.terminated, .failed, .lost])
        for state in LaunchState.allCases where state.isTerminal { #expect(state.successors.isEmpty) }
        for state in LaunchState.allCases where !state.isTerminal { #expect(state.canMove(to: .failed)) }
    }

    /// A record driven, through legal moves, into `state`.
    static func record(in state: LaunchState) -> LaunchRecord {
        var record = LaunchRecord(id: "l1", intent: Build.vm(), createdAtMs: 1_000)
        let path: [LaunchState]
        switch state {
        case .pending: path = []
        case .validated: path = [.validated]
        case .preparing: path = [.validated, .preparing]
        case .starting: path = [.validated, .preparing, .starting]
        case .running: path = [.validated, .preparing, .starting, .running]
        case .terminating: path = [.validated, .preparing, .starting, .running, .terminating]
        case .terminated: path = [.validated, .preparing, .starting, .running, .terminated]
        case .failed: path = [.failed]
        // Only `markLost` enters it (never a transition): placed and running first.
        case .lost: path = [.validated, .preparing, .starting, .running]
        }
        for (step, next) in path.enumerated() {
            let atMs = 2_000 + Int64(step)
            if next == .validated {
                try! record.place(
                    spec: spec(), placement: Explanation(evaluatedAtMs: atMs, rankedNodes: [], rejectedNodes: []),
                    atMs: atMs)
            } else {
                try! record.transition(
                    to: next, atMs: atMs, reason: next == .failed ? FailureReason(code: .agentError) : nil)
            }
        }
        if state == .lost { try! record.markLost(atMs: 3_000, detail: "node n1 lost") }
        return record
    }

    static func spec() -> LaunchSpec {
        try! LaunchSpec.hydrate(Build.vm(), on: NodeTruth(envelope: Build.envelope("n1"), receivedAtMs: 0))
    }

    @Test("every legal move is taken and traced once", arguments: pairs.filter { $0.0.canMove(to: $0.1) })
    func legalMove(_ from: LaunchState, _ to: LaunchState) throws {
        var record = Self.record(in: from)
        let before = record.trace
        if to == .validated {
            try record.place(
                spec: Self.spec(), placement: Explanation(evaluatedAtMs: 9_000, rankedNodes: [], rejectedNodes: []),
                atMs: 9_000)
        } else {
            let reason = to == .failed ? FailureReason(code: .startFailed) : nil
            let changed = try record.transition(to: to, atMs: 9_000, reason: reason)
            #expect(changed)
        }
        #expect(record.state == to)
        #expect(record.trace.dropLast() == before[...])
        #expect(record.trace.last?.state == to)
        #expect(record.trace.last?.atMs == 9_000)
        #expect(record.updatedAtMs == 9_000)
    }

    @Test(
        "every illegal move is refused with ILLEGAL_TRANSITION and changes nothing",
        arguments: pairs.filter { $0.0 != $0.1 && !$0.0.canMove(to: $0.1) })
    func illegalMove(_ from: LaunchState, _ to: LaunchState) {
        var record = Self.record(in: from)
        let before = record
        let reason = to == .failed ? FailureReason(code: .startFailed) : nil
        #expect(throws: LaunchTransitionError.illegal(from: from, to: to)) {
            try record.transition(to: to, atMs: 9_000, reason: reason)
        }
        #expect(record == before)
        #expect(LaunchTransitionError.illegal(from: from, to: to).code == "ILLEGAL_TRANSITION")
    }

    @Test("reporting the current state again changes nothing and is not an error", arguments: LaunchState.allCases)
    func repeatedReport(_ state: LaunchState) throws {
        var record = Self.record(in: state)
        let before = record
        let reason = state == .failed ? FailureReason(code: .killed, signal: 9) : nil
        let changed = try record.transition(to: state, atMs: 9_000, reason: reason)
        #expect(!changed)
        #expect(record == before)
    }
}
