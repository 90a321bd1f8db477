/// The AppendEntries sent to one follower and not yet acknowledged, by last index: a bounded
/// window, so a slow follower cannot make the leader buffer without limit.
struct Inflights: Equatable {
    /// Most messages in flight at once.
    let capacity: Int
    private(set) var lastIndices: [LogIndex] = []

    init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    var isFull: Bool { lastIndices.count >= capacity }
    var count: Int { lastIndices.count }

    mutating func add(_ lastIndex: LogIndex) {
        precondition(!isFull, "inflight window overflow")
        lastIndices.append(lastIndex)
    }

    /// Acknowledges every message up to and including `index`.
    mutating func free(upTo index: LogIndex) {
        let acknowledged = lastIndices.prefix { $0 <= index }.count
        lastIndices.removeFirst(acknowledged)
    }

    /// Lets one more message out when acknowledgements may have been lost.
    mutating func freeFirst() {
        if !lastIndices.isEmpty { lastIndices.removeFirst() }
    }

    mutating func reset() {
        lastIndices.removeAll()
    }
}
