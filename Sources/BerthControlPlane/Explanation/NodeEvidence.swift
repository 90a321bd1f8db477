/// The strings a rejection of one node can show, built once when its envelope arrives so that
/// evaluations only share them instead of formatting them for every rejected node. Immutable
/// and shared by reference: handing it to a rejected node's evidence costs one retain.
final class NodeEvidence: Sendable {
    /// `key=value` of each label, by key in byte order. A node has a few labels (at most 64), and
    /// a scan comparing short strings is cheaper than hashing the key.
    let labelPairs: [(key: String, pair: String)]
    /// `hashValue` of each key of `labelPairs`, in the same order.
    let labelKeyHashes: [Int]
    /// `kind version` of each installed backend, in envelope order.
    let backendSummaries: [String]
    /// The kind of each entry of `backendSummaries`.
    let backendKinds: [BackendKind]

    init(_ envelope: SchedulerEnvelope) {
        labelPairs = envelope.labels.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
            .map { (key: $0.key, pair: $0.key + "=" + $0.value) }
        labelKeyHashes = labelPairs.map(\.key.hashValue)
        backendSummaries = envelope.backends.map(\.summary)
        backendKinds = envelope.backends.map(\.kind)
    }

    /// `key=value` for the node's label `key`, or nil when it has none. Called for every
    /// LABEL_MISMATCH of every evaluation: comparing unequal strings was a seventh of a
    /// 10,000-node apply, so the scan compares the keys' hashes (`keyHash` is `key.hashValue`,
    /// worked out once per evaluation) and compares strings only to confirm a match. Hashes
    /// only filter, so the answer does not depend on the process's hash seed.
    func labelPair(_ key: String, keyHash: Int) -> String? {
        for index in labelKeyHashes.indices where labelKeyHashes[index] == keyHash {
            if labelPairs[index].key == key { return labelPairs[index].pair }
        }
        return nil
    }

    /// Whether the labels (and so the label index entries) are the same as `other`'s.
    func hasSameLabels(as other: NodeEvidence) -> Bool {
        labelPairs.elementsEqual(other.labelPairs) { $0.pair == $1.pair }
    }
}
