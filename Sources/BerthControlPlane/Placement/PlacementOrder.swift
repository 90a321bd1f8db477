/// The order of ranked nodes, and so which node `select` picks. It is total, and depends only
/// on values every server holds identically, so all servers agree for the same state, intent
/// and time, whatever order the nodes arrived in:
///
/// 1. higher score (integer millipoints);
/// 2. then more free memory before placing (MiB) — the node that stays roomiest;
/// 3. then `node_id` ascending in byte order.
///
/// The three keys are packed into one integer so that ranking thousands of nodes sorts plain
/// integers. The fleet view walks nodes in `node_id` order, so the third key is the node's
/// position among the candidates of that walk and no strings are compared.
struct PlacementOrder: Comparable {
    /// Bits 52–63: 4000 − score; bits 27–51: (2^25 − 1) − free memory; bits 0–26: walk index.
    let key: UInt64

    /// A score is at most 4000 millipoints (four components of at most 1000).
    static let maxScoreMilli = 4000
    private static let memoryBits: UInt64 = 25
    private static let indexBits: UInt64 = 27
    /// The most nodes one evaluation can rank (2^27), far beyond any fleet Berth serves.
    static let maxCandidates = 1 << Int(indexBits)

    /// `index` is the candidate's position in the `node_id`-ordered walk, below `maxCandidates`.
    init(scoreMilli: Int, freeMemoryMiB: Int, index: Int) {
        let score = UInt64(Self.maxScoreMilli - min(max(scoreMilli, 0), Self.maxScoreMilli))
        let memoryMax: UInt64 = (1 << Self.memoryBits) - 1
        // Memory is at most 16,777,216 MiB by validation, below the 2^25 − 1 the field holds.
        let memory = memoryMax - min(UInt64(max(freeMemoryMiB, 0)), memoryMax)
        key = score << (Self.memoryBits + Self.indexBits) | memory << Self.indexBits | UInt64(index)
    }

    /// The candidate's position in the walk.
    var index: Int { Int(key & ((1 << Self.indexBits) - 1)) }

    static func < (lhs: PlacementOrder, rhs: PlacementOrder) -> Bool {
        lhs.key < rhs.key
    }
}
