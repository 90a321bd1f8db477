/// The strings a rejection of one node can show, built once when its envelope arrives so that
/// evaluations only share them instead of formatting them for every rejected node.
struct NodeEvidence: Sendable {
    /// Label key → `key=value`. Comparing these with an intent's `key=value` decides a label
    /// check, and the same string is the rejection's evidence.
    var labelPairs: [String: String]
    /// `kind version` of each installed backend, in envelope order.
    var backendSummaries: [String]
    /// The kind of each entry of `backendSummaries`.
    var backendKinds: [BackendKind]

    init(_ envelope: SchedulerEnvelope) {
        labelPairs = envelope.labels.reduce(into: [:]) { $0[$1.key] = $1.key + "=" + $1.value }
        backendSummaries = envelope.backends.map(\.summary)
        backendKinds = envelope.backends.map(\.kind)
    }
}
