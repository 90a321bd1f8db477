import BerthRaft

/// Who waits for which proposal, by (index, term). A leader that loses leadership and wins it
/// back may propose at an index it used before; each waiter must learn the fate of its own
/// entry and no other's.
struct ProposalWaiters<Waiter> {
    private var byIndex: [LogIndex: [(term: Term, waiter: Waiter)]] = [:]

    var isEmpty: Bool { byIndex.isEmpty }

    mutating func add(_ waiter: Waiter, for ticket: ProposalTicket) {
        byIndex[ticket.index, default: []].append((ticket.term, waiter))
    }

    /// Takes the waiter of exactly `ticket` (a deadline passed), if it still waits.
    mutating func remove(_ ticket: ProposalTicket) -> Waiter? {
        guard var waiting = byIndex[ticket.index], let position = waiting.firstIndex(where: { $0.term == ticket.term })
        else { return nil }
        let taken = waiting.remove(at: position).waiter
        byIndex[ticket.index] = waiting.isEmpty ? nil : waiting
        return taken
    }

    /// The entry at (`index`, `term`) was applied: its waiter, and the waiters of other terms
    /// at that index, whose entries were replaced and can never commit (an entry never moves).
    mutating func applied(index: LogIndex, term: Term) -> (committed: Waiter?, replaced: [Waiter]) {
        guard let waiting = byIndex.removeValue(forKey: index) else { return (nil, []) }
        var committed: Waiter?
        var replaced: [Waiter] = []
        for (waiterTerm, waiter) in waiting {
            if waiterTerm == term { committed = waiter } else { replaced.append(waiter) }
        }
        return (committed, replaced)
    }

    /// A snapshot covered everything up to `index`: those entries may or may not be ours.
    mutating func covered(upTo index: LogIndex) -> [Waiter] {
        var taken: [Waiter] = []
        for waitingIndex in byIndex.keys.sorted() where waitingIndex <= index {
            taken += byIndex.removeValue(forKey: waitingIndex)?.map(\.waiter) ?? []
        }
        return taken
    }

    /// Takes every waiter.
    mutating func removeAll() -> [Waiter] {
        defer { byIndex = [:] }
        return byIndex.keys.sorted().flatMap { byIndex[$0]!.map(\.waiter) }
    }
}
