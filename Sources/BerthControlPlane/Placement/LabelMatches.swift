/// Which nodes carry each label an intent requires, as one bit per node slot, worked out once
/// per evaluation from the fleet's label index. Deciding a label check is then a bit test:
/// no hashing and no touching the node's label map, which at ten thousand nodes is most of
/// the cost of a label requirement.
struct LabelMatches {
    /// For each required label (in `PlacementRequirements.labels` order), the matching slots.
    private var perLabel: [[UInt64]]
    /// The slots that match every required label.
    private var all: [UInt64]
    private let labelCount: Int

    /// `index` maps `key=value` to the slots carrying it. With `only`, just that slot is looked up
    /// (explaining one node need not mark every node).
    init(_ requirements: PlacementRequirements, index: [String: Set<Int>], slotCount: Int, only: Int? = nil) {
        let words = (slotCount + 63) / 64
        labelCount = requirements.labels.count
        perLabel = []
        all = Array(repeating: ~0, count: labelCount == 0 ? 0 : words)
        for (_, pair) in requirements.labels {
            var bits = [UInt64](repeating: 0, count: words)
            if let only {
                if index[pair]?.contains(only) == true { bits[only >> 6] |= 1 << UInt64(only & 63) }
            } else {
                for slot in index[pair] ?? [] { bits[slot >> 6] |= 1 << UInt64(slot & 63) }
            }
            for word in 0..<words { all[word] &= bits[word] }
            perLabel.append(bits)
        }
    }

    /// Whether `slot` carries the required label number `label`.
    func matches(label: Int, slot: Int) -> Bool {
        perLabel[label][slot >> 6] & (1 << UInt64(slot & 63)) != 0
    }

    /// Whether `slot` carries every required label.
    func matchesAll(slot: Int) -> Bool {
        labelCount == 0 || all[slot >> 6] & (1 << UInt64(slot & 63)) != 0
    }
}
