/// Is a client history linearizable (Herlihy & Wing)? That is: is there one order of all its
/// operations, consistent with real time — an operation that returned before another was
/// invoked comes first — in which every operation does what the model allows at its place?
///
/// The search is Wing & Gong's, with Lowe's memoization as in Porcupine: walk the history's
/// calls and returns in real-time order; at a call, try to linearize that operation now (if the
/// model allows it), lift it out of the history and start again from the front; at a return
/// whose operation is not yet linearized, undo the last choice. A set of linearized operations
/// reached in a state already seen is not explored twice.
///
/// The model is the replicated state machine: an append-only sequence of operation ids, each at
/// most once. A write appends its operation; a read returns the sequence — as its length and
/// the digest of its ids (`OpStateMachine.opsDigest`). The sequence every node holds at the end
/// of a converged run is the final read of the history: it fixes the order of the writes that
/// took effect, so a write may be linearized only where it lands in that sequence. A write with
/// an unknown outcome may take effect at any time after its invocation (its response is at the
/// end of time); one that never took effect (it is not in the final sequence) is left out, as
/// a pending operation may be. A refused write must never take effect, and a write no client
/// invoked must never be applied.
public enum Linearizability {
    /// Nil when `history` is linearizable given `sequence`, the final contents of the state
    /// machine; otherwise why not.
    public static func check(_ history: History, sequence: [UInt64]) -> String? {
        var position: [UInt64: Int] = [:]
        for (offset, op) in sequence.enumerated() {
            guard position.updateValue(offset + 1, forKey: op) == nil else {
                return "operation \(op) was applied twice"
            }
        }
        // The operations to linearize, with their model step.
        var ops: [Op] = []
        var invoked: Set<UInt64> = []
        for (index, operation) in history.operations.enumerated() {
            switch (operation.kind, operation.outcome) {
            case (.write(let op), let outcome):
                invoked.insert(op)
                let landed = position[op]
                switch outcome {
                case .failed:
                    if landed != nil { return "\(describe(operation)) was refused, yet it was applied" }
                case .acknowledged:
                    guard let landed else { return "\(describe(operation)) was acknowledged but is not applied" }
                    ops.append(
                        Op(
                            history: index, call: operation.invokedAt, ret: operation.returnedAt!,
                            step: .write(op, landed)))
                case .pending, .read:
                    // Unknown outcome: it took effect where the sequence says, or never.
                    guard let landed else { continue }
                    ops.append(Op(history: index, call: operation.invokedAt, ret: .max, step: .write(op, landed)))
                }
            case (.read, .read(let length, let digest)):
                ops.append(
                    Op(
                        history: index, call: operation.invokedAt, ret: operation.returnedAt!,
                        step: .read(length, digest)))
            case (.read, _):
                continue
            }
        }
        for op in sequence where !invoked.contains(op) {
            return "operation \(op) was applied, but no client wrote it"
        }
        var search = Search(ops)
        guard let stuck = search.run() else { return nil }
        return "no linearization of \(ops.count) operations: after \(search.deepest) of them, "
            + describe(history.operations[ops[stuck].history]) + " cannot be placed"
    }

    /// One operation to linearize: its call and return (event numbers) and what it does.
    struct Op {
        enum Step {
            /// Appends `op`, which must land at `position` (1-based).
            case write(UInt64, Int)
            /// Returns a sequence of `length` operations with `digest`.
            case read(Int, UInt64)
        }

        var history: Int
        var call: UInt64
        var ret: UInt64
        var step: Step
    }

    /// The model's state: the sequence, as its length and digest.
    struct State: Hashable {
        var length = 0
        var digest: UInt64 = 0
    }

    /// What is in the memo: the linearized operations (a bit set) and the state they led to.
    struct Visited: Hashable {
        var linearized: [UInt64]
        var state: State
    }

    /// The search over a doubly linked list of call and return entries.
    struct Search {
        let ops: [Op]
        /// Entry 0 is the head; entry i ≥ 1 is a call or a return of `opOf[i]`.
        private var next: [Int]
        private var prev: [Int]
        private var isCall: [Bool]
        private var opOf: [Int]
        private var match: [Int]
        /// The most operations linearized at once, and the operation whose return stopped the
        /// search there.
        private(set) var deepest = 0
        private var stuckAtDeepest = 0

        init(_ ops: [Op]) {
            self.ops = ops
            var events: [(time: UInt64, isCall: Bool, op: Int)] = []
            for (index, op) in ops.enumerated() {
                events.append((op.call, true, index))
                events.append((op.ret, false, index))
            }
            // Returns at the end of time (unknown outcomes) in operation order.
            events.sort { ($0.time, $0.op) < ($1.time, $1.op) }
            let count = events.count + 1
            next = Array(repeating: 0, count: count)
            prev = Array(repeating: 0, count: count)
            isCall = Array(repeating: false, count: count)
            opOf = Array(repeating: 0, count: count)
            match = Array(repeating: 0, count: count)
            var callEntry: [Int: Int] = [:]
            for (offset, event) in events.enumerated() {
                let entry = offset + 1
                isCall[entry] = event.isCall
                opOf[entry] = event.op
                prev[entry] = entry - 1
                next[entry] = entry + 1 < count ? entry + 1 : 0
                if event.isCall {
                    callEntry[event.op] = entry
                } else if let call = callEntry[event.op] {
                    match[call] = entry
                    match[entry] = call
                }
            }
            next[0] = count > 1 ? 1 : 0
        }

        /// Nil when a linearization exists; otherwise the operation the search could not place.
        mutating func run() -> Int? {
            var linearized = [UInt64](repeating: 0, count: (ops.count + 63) / 64)
            var state = State()
            var done = 0
            var choices: [(entry: Int, state: State)] = []
            var visited: Set<Visited> = []
            var entry = next[0]
            while next[0] != 0 {
                if entry != 0 && isCall[entry] {
                    let op = opOf[entry]
                    if let after = step(state, ops[op].step) {
                        var set = linearized
                        set[op / 64] |= 1 << UInt64(op % 64)
                        if visited.insert(Visited(linearized: set, state: after)).inserted {
                            choices.append((entry, state))
                            state = after
                            linearized = set
                            done += 1
                            lift(entry)
                            entry = next[0]
                            continue
                        }
                    }
                    entry = next[entry]
                } else {
                    // A return (or the end) reached with its operation not linearized: undo.
                    if done >= deepest && entry != 0 {
                        deepest = done
                        stuckAtDeepest = opOf[entry]
                    }
                    guard let (undone, before) = choices.popLast() else { return stuckAtDeepest }
                    let op = opOf[undone]
                    linearized[op / 64] &= ~(1 << UInt64(op % 64))
                    state = before
                    done -= 1
                    unlift(undone)
                    entry = next[undone]
                }
            }
            return nil
        }

        private func step(_ state: State, _ step: Op.Step) -> State? {
            switch step {
            case .write(let op, let position):
                guard position == state.length + 1 else { return nil }
                return State(length: state.length + 1, digest: mixDigest(state.digest, op))
            case .read(let length, let digest):
                return length == state.length && digest == state.digest ? state : nil
            }
        }

        /// Takes a call and its return out of the list.
        private mutating func lift(_ call: Int) {
            for entry in [call, match[call]] {
                next[prev[entry]] = next[entry]
                if next[entry] != 0 { prev[next[entry]] = prev[entry] }
            }
        }

        /// Puts them back (in the reverse order).
        private mutating func unlift(_ call: Int) {
            for entry in [match[call], call] {
                next[prev[entry]] = entry
                if next[entry] != 0 { prev[next[entry]] = entry }
            }
        }
    }

    static func describe(_ operation: History.Operation) -> String {
        let returned = operation.returnedTime.map { "t=\($0)" } ?? "never"
        let at = operation.node == 0 ? "" : " at n\(operation.node)"
        switch (operation.kind, operation.outcome) {
        case (.write(let op), .acknowledged):
            return "client \(operation.client)'s write of op \(op)\(at) (invoked t=\(operation.invokedTime), "
                + "acknowledged \(returned))"
        case (.write(let op), .failed):
            return "client \(operation.client)'s write of op \(op)\(at) (invoked t=\(operation.invokedTime), refused)"
        case (.write(let op), _):
            return "client \(operation.client)'s write of op \(op)\(at) (invoked t=\(operation.invokedTime), "
                + "outcome unknown)"
        case (.read(let id), .read(let length, _)):
            return "client \(operation.client)'s read \(id)\(at) (invoked t=\(operation.invokedTime), returned "
                + "\(returned)), which saw \(length) operations"
        case (.read(let id), _):
            return "client \(operation.client)'s read \(id)\(at) (invoked t=\(operation.invokedTime))"
        }
    }
}
