import BerthRaft
import BerthStorage

/// Small builders shared by the log tests.
enum LogFixtures {
    static let voters = Configuration(voters: [1, 2, 3])

    static func command(_ index: LogIndex, term: Term, _ text: String? = nil) -> Entry {
        Entry(term: term, index: index, payload: .command(Array((text ?? "cmd-\(index)").utf8)))
    }

    /// Entries `range` in `term`, cycling through the payload kinds.
    static func entries(_ range: ClosedRange<LogIndex>, term: Term) -> [Entry] {
        range.map { index in
            switch index % 5 {
            case 0: return Entry(term: term, index: index, payload: .empty)
            case 3:
                return Entry(
                    term: term, index: index,
                    payload: .configChange(.addLearner(NodeID(10 + index), incarnation: .initial)))
            default: return command(index, term: term)
            }
        }
    }

    static func open(_ directory: String, retain: Int = 1_000) throws -> DurableLogStorage {
        try DurableLogStorage(
            dataDirectory: directory, initialConfiguration: voters,
            options: .init(retainedEntriesAfterCompaction: retain))
    }

    static func allEntries(_ storage: some LogStorage) throws -> [Entry] {
        guard storage.lastIndex >= storage.firstIndex else { return [] }
        return try storage.entries(from: storage.firstIndex, to: storage.lastIndex + 1, maxBytes: .max)
    }
}
