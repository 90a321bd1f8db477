import BerthRaft

/// The replicated state machine every simulated node runs: the ordered list of client
/// operations it applied, each at most once.
///
/// Besides the list it keeps `digest`, a hash chained over every applied entry (index, term,
/// payload), so two nodes at the same applied index agree on the whole history exactly when
/// their digests agree — that is how the checkers compare nodes that skipped part of the log by
/// installing a snapshot. Its serialized form is the snapshot data, self-contained (membership
/// included): a copy sent for a data-less snapshot may be newer than the snapshot's index.
struct OpStateMachine: Equatable {
    /// What applying one entry did.
    enum Effect: Equatable {
        /// A client operation, applied for the first time.
        case applied(op: UInt64)
        /// A client operation that was already applied (a retry that committed twice).
        case duplicate(op: UInt64)
        /// An empty entry (a new leader's first entry).
        case noOp
        /// A membership change.
        case configuration
        /// A command that is not an encoded client operation.
        case malformed
    }

    /// The last log index applied.
    private(set) var appliedIndex: LogIndex = 0
    /// The term of the entry at `appliedIndex`.
    private(set) var appliedTerm: Term = 0
    /// Client operations in the order they first applied.
    private(set) var ops: [UInt64] = []
    /// Operation ids in `ops`, for deduplication.
    private var seen: Set<UInt64> = []
    /// Chained hash of every entry applied so far.
    private(set) var digest: UInt64 = 0
    /// Chained hash of `ops` in order: what a read returns, besides `ops.count`.
    private(set) var opsDigest: UInt64 = 0
    /// Membership as of `appliedIndex`, carried into snapshots this node takes.
    private(set) var configuration: Configuration
    /// Retries that committed again and were skipped.
    private(set) var duplicatesSkipped: Int = 0

    /// An empty state machine for a cluster that starts with `configuration`.
    init(configuration: Configuration) {
        self.configuration = configuration
    }

    /// The state captured in `snapshot`, or nil when its data does not decode or is older than
    /// the snapshot (a copy may be newer: the leader's state when it sent a data-less snapshot).
    init?(snapshot: Snapshot) {
        if snapshot.metadata.index == 0 && snapshot.data.isEmpty {
            self.init(configuration: snapshot.metadata.configuration)
            return
        }
        guard let machine = OpStateMachine(data: snapshot.data) else { return nil }
        guard
            machine.appliedIndex > snapshot.metadata.index
                || (machine.appliedIndex == snapshot.metadata.index && machine.appliedTerm == snapshot.metadata.term)
        else { return nil }
        self = machine
    }

    /// The state serialized in `data` (`encoded()`), or nil when it does not decode.
    init?(data: [UInt8]) {
        var reader = ByteReader(data)
        guard let index = reader.word(), let term = reader.word(), let digest = reader.word(),
            let duplicates = reader.word(), let count = reader.word(), count <= UInt64(data.count / 8)
        else { return nil }
        var ops: [UInt64] = []
        ops.reserveCapacity(Int(count))
        for _ in 0..<count {
            guard let op = reader.word() else { return nil }
            ops.append(op)
        }
        guard let members = reader.word(), members <= UInt64(data.count / 24) else { return nil }
        var voters: Set<NodeID> = []
        var learners: Set<NodeID> = []
        var incarnations: [NodeID: Incarnation] = [:]
        for _ in 0..<members {
            guard let id = reader.word(), let role = reader.word(), let incarnation = reader.word(), role <= 1,
                incarnation != 0
            else { return nil }
            if role == 0 { voters.insert(id) } else { learners.insert(id) }
            incarnations[id] = incarnation
        }
        guard reader.isAtEnd, voters.isDisjoint(with: learners) else { return nil }
        self.init(
            configuration: Configuration(voters: voters, learners: learners, incarnations: incarnations))
        appliedIndex = index
        appliedTerm = term
        self.digest = digest
        duplicatesSkipped = Int(duplicates)
        self.ops = ops
        opsDigest = ops.reduce(0, mixDigest)
        seen = Set(ops)
        guard seen.count == ops.count else { return nil }
    }

    /// Whether operation `op` has been applied.
    func contains(_ op: UInt64) -> Bool { seen.contains(op) }

    /// Applies the next entry; the caller has checked that it follows `appliedIndex`.
    mutating func apply(_ entry: Entry) -> Effect {
        precondition(entry.index == appliedIndex + 1, "entries apply in order")
        appliedIndex = entry.index
        appliedTerm = entry.term
        digest = Self.chain(digest, entry)
        switch entry.payload {
        case .empty:
            return .noOp
        case .configChange(let change):
            // The same rule the core uses: a change that no longer applies changes nothing.
            if case .success(let next) = configuration.applying(change) { configuration = next }
            return .configuration
        case .command(let bytes):
            guard let op = ClientOp.decode(bytes) else { return .malformed }
            guard seen.insert(op).inserted else {
                duplicatesSkipped += 1
                return .duplicate(op: op)
            }
            ops.append(op)
            opsDigest = mixDigest(opsDigest, op)
            return .applied(op: op)
        }
    }

    /// The snapshot data for this state.
    func encoded() -> [UInt8] {
        var words: [UInt64] = [appliedIndex, appliedTerm, digest, UInt64(duplicatesSkipped), UInt64(ops.count)]
        words.append(contentsOf: ops)
        words.append(UInt64(configuration.members.count))
        for member in configuration.members.sorted() {
            words += [
                member, configuration.voters.contains(member) ? 0 : 1, configuration.incarnation(of: member) ?? 1,
            ]
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(words.count * 8)
        for word in words { ClientOp.append(word, to: &bytes) }
        return bytes
    }

    /// The digest after applying `entry` on top of `digest`.
    static func chain(_ digest: UInt64, _ entry: Entry) -> UInt64 {
        var next = mixDigest(mixDigest(digest, entry.index), entry.term)
        switch entry.payload {
        case .empty:
            next = mixDigest(next, 1)
        case .command(let bytes):
            next = mixDigest(next, 2)
            for byte in bytes { next = mixDigest(next, UInt64(byte)) }
        case .configChange(let change):
            switch change {
            case .addLearner(let id, let incarnation): next = mixDigest(mixDigest(mixDigest(next, 3), id), incarnation)
            case .rejoin(let id, let incarnation): next = mixDigest(mixDigest(mixDigest(next, 6), id), incarnation)
            case .promote(let id): next = mixDigest(mixDigest(next, 4), id)
            case .remove(let id): next = mixDigest(mixDigest(next, 5), id)
            }
        }
        return next
    }
}

/// Reads big-endian 64-bit words from snapshot data.
private struct ByteReader {
    private let bytes: [UInt8]
    private var position = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var isAtEnd: Bool { position == bytes.count }

    mutating func word() -> UInt64? {
        guard position + 8 <= bytes.count else { return nil }
        defer { position += 8 }
        return ClientOp.decode(Array(bytes[position..<position + 8]))
    }
}
