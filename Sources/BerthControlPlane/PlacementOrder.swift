/// The order of ranked nodes, and so which node `select` picks. It is total, and depends only
/// on values every server holds identically, so all servers agree for the same state, intent
/// and time, whatever order the nodes arrived in:
///
/// 1. higher score (integer millipoints);
/// 2. then more free memory before placing (MiB) — the node that stays roomiest;
/// 3. then `node_id` ascending in byte order.
///
/// The fleet view walks nodes in `node_id` order, so the third key is the walk position and
/// no strings are compared while sorting.
struct PlacementOrder {
    let components: ScoreComponents
    let freeMemoryMiB: Int
    /// The node's position in `node_id` byte order.
    let position: Int
    let slot: Int

    static func precedes(_ a: PlacementOrder, _ b: PlacementOrder) -> Bool {
        let scoreA = a.components.totalMilli
        let scoreB = b.components.totalMilli
        if scoreA != scoreB { return scoreA > scoreB }
        if a.freeMemoryMiB != b.freeMemoryMiB { return a.freeMemoryMiB > b.freeMemoryMiB }
        return a.position < b.position
    }
}
