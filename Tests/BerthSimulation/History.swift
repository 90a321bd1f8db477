/// The client history of a run — every write and read, with its invocation and its response —
/// for the linearizability check (`Linearizability`).
///
/// Events are numbered in the order they happen. Several happen in one time unit, but always
/// one after the other, so the numbers give the real-time order the check needs: an operation
/// that returned before another was invoked precedes it.
///
/// A keyed write is one operation however often its client retries it: invoked at the first
/// attempt, returned at the acknowledgement. A keyless write is a new operation at every
/// attempt (its node gives it a new internal key), so a retry after an unknown outcome is a
/// distinct operation that may take effect besides the first.
public final class History {
    /// What an operation is.
    public enum Kind: Equatable, Sendable {
        /// Appends operation `op` to the replicated sequence (once, however often it commits).
        case write(op: UInt64)
        /// Reads the sequence.
        case read(id: UInt64)
    }

    /// How an operation ended.
    public enum Outcome: Equatable, Sendable {
        /// No answer: a write whose outcome is unknown, which may take effect at any time after
        /// its invocation (or never); a read still waiting.
        case pending
        /// Definitely did not take effect (a refused keyless write), or a read that failed: not
        /// part of the history.
        case failed
        /// The write was acknowledged.
        case acknowledged
        /// The read saw the first `length` operations of the sequence, whose digest
        /// (`OpStateMachine.opsDigest`) is `digest`.
        case read(length: Int, digest: UInt64)
    }

    public struct Operation: Equatable, Sendable {
        public var client: Int
        /// The node the client sent it to (first, for a keyed write), or 0 when not known.
        public var node: UInt64
        public var kind: Kind
        /// Event numbers (real-time order) and simulated times of invocation and response.
        public var invokedAt: UInt64
        public var invokedTime: UInt64
        public var returnedAt: UInt64?
        public var returnedTime: UInt64?
        public var outcome: Outcome
    }

    public private(set) var operations: [Operation] = []
    private var writes: [UInt64: Int] = [:]
    private var reads: [UInt64: Int] = [:]
    private var clock: UInt64 = 0

    public init() {}

    /// A client sent write `op` to `node` (a keyed write's later attempts change nothing).
    public func invokeWrite(_ op: UInt64, client: Int, node: UInt64 = 0, time: UInt64) {
        guard writes[op] == nil else { return }
        clock += 1
        writes[op] = operations.count
        operations.append(
            Operation(
                client: client, node: node, kind: .write(op: op), invokedAt: clock, invokedTime: time,
                outcome: .pending))
    }

    /// The client of write `op` was told it is applied (the first time counts).
    public func writeAcknowledged(_ op: UInt64, time: UInt64) {
        guard let index = writes[op], operations[index].returnedAt == nil else { return }
        clock += 1
        operations[index].returnedAt = clock
        operations[index].returnedTime = time
        operations[index].outcome = .acknowledged
    }

    /// Write `op` was refused before anything proposed it (only a keyless write's attempt can
    /// be known not to have taken effect: a keyed write may still be in flight elsewhere).
    public func writeFailed(_ op: UInt64) {
        guard let index = writes[op], operations[index].outcome == .pending else { return }
        operations[index].outcome = .failed
    }

    /// A client asked `node` for linearizable read `id`.
    public func invokeRead(_ id: UInt64, client: Int, node: UInt64 = 0, time: UInt64) {
        clock += 1
        reads[id] = operations.count
        operations.append(
            Operation(
                client: client, node: node, kind: .read(id: id), invokedAt: clock, invokedTime: time,
                outcome: .pending))
    }

    /// Read `id` was served from a state holding `length` operations with digest `digest`.
    public func readReturned(_ id: UInt64, length: Int, digest: UInt64, time: UInt64) {
        guard let index = reads[id], operations[index].returnedAt == nil else { return }
        clock += 1
        operations[index].returnedAt = clock
        operations[index].returnedTime = time
        operations[index].outcome = .read(length: length, digest: digest)
    }

    /// Read `id` failed: it observed nothing.
    public func readFailed(_ id: UInt64) {
        guard let index = reads[id], operations[index].returnedAt == nil else { return }
        operations[index].outcome = .failed
    }
}
