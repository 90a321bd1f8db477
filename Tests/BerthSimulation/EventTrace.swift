/// The last `capacity` events of a run, kept as values and formatted only when a report needs
/// them, so a passing seed pays almost nothing for its trace.
struct EventTrace {
    /// How many events are kept.
    let capacity: Int
    private var ring: [SimulationEvent] = []
    private var next = 0
    /// Events recorded so far, including those that fell out of the ring.
    private(set) var count = 0

    init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
        ring.reserveCapacity(capacity)
    }

    mutating func append(_ event: SimulationEvent) {
        count += 1
        if ring.count < capacity {
            ring.append(event)
        } else {
            ring[next] = event
            next = (next + 1) % capacity
        }
    }

    /// The kept events, oldest first.
    var events: [SimulationEvent] {
        Array(ring[next...] + ring[..<next])
    }
}
