/// Every node's truth and what is placed on it, held in memory and changed one event at a time
/// (an envelope, a cordon, a launch placed or released) so that evaluating an intent never
/// rescans launches or re-derives node facts. Each server keeps one, rebuilt from storage at
/// start (`load`, `placeLaunch`) and changed as commands apply; being a value, the same
/// sequence of changes gives the same view everywhere.
public struct FleetView: Sendable {
    /// Per-node facts for evaluation, by slot (a node keeps its slot for the view's life).
    private(set) var nodes: [FleetNode] = []
    /// The truth of each slot, as accepted.
    private(set) var truths: [NodeTruth] = []
    /// Evidence strings of each slot, built when its truth changes.
    private(set) var evidence: [NodeEvidence] = []
    /// The node id of each slot (a dense copy: evaluation reads it for every node it reports).
    private(set) var idBySlot: [String] = []
    /// `key=value` → the slots whose node carries that label.
    private(set) var labelIndex: [String: Set<Int>] = [:]
    /// Workload name → active launches on each slot, only read to move counts between label groups.
    private var workloadsOnNode: [[String: Int]] = []
    private var slotByNodeID: [String: Int] = [:]
    /// Slots in `node_id` byte order: evaluation walks this, so rejected nodes come out sorted
    /// and ties break by position without comparing strings.
    private(set) var slotsByNodeID: [Int] = []
    private var launches: [String: PlacedLaunch] = [:]
    private var spreads: [String: WorkloadSpread] = [:]
    /// Label set → its group id and how many nodes carry it.
    private var labelGroups: [[String: String]: (id: Int, members: Int)] = [:]
    private var nextLabelGroup = 0

    public init() {}

    // MARK: Reading

    /// How many nodes the view holds.
    public var count: Int { nodes.count }

    /// Every node id, ascending.
    public var nodeIDs: [String] { slotsByNodeID.map { idBySlot[$0] } }

    /// The truth held for `nodeID`.
    public func truth(of nodeID: String) -> NodeTruth? {
        slotByNodeID[nodeID].map { truths[$0] }
    }

    /// What placed launches hold on `nodeID`.
    public func usage(of nodeID: String) -> NodeUsage? {
        slotByNodeID[nodeID].map { nodes[$0].usage }
    }

    /// The launches currently holding resources, by id.
    public var placedLaunches: [String: PlacedLaunch] { launches }

    func slot(of nodeID: String) -> Int? {
        slotByNodeID[nodeID]
    }

    func spread(of workloadName: String) -> WorkloadSpread? {
        spreads[workloadName]
    }

    // MARK: Node truth

    /// Accepts a newer envelope (`receivedAtMs` from the leader's clock), keeping the node's
    /// cordon. Refused, changing nothing, when its sequence is not newer than the stored one.
    @discardableResult
    public mutating func upsert(_ envelope: SchedulerEnvelope, receivedAtMs: Int64) throws(StaleSequence) -> NodeTruth {
        let previous = slotByNodeID[envelope.nodeID].map { truths[$0] }
        let truth = try NodeTruth.accepting(envelope, receivedAtMs: receivedAtMs, previous: previous)
        load(truth)
        return truth
    }

    /// Puts `truth` in the view as is, without the sequence check: for rebuilding from storage,
    /// where every truth was already accepted once.
    public mutating func load(_ truth: NodeTruth) {
        guard let slot = slotByNodeID[truth.nodeID] else {
            insert(truth)
            return
        }
        let oldGroup = nodes[slot].labelGroup
        let newGroup =
            truth.envelope.labels == truths[slot].envelope.labels ? oldGroup : joinGroup(truth.envelope.labels)
        if newGroup != oldGroup {
            leaveGroup(truths[slot].envelope.labels)
            for (name, count) in workloadsOnNode[slot] {
                spreads[name]?.add(-count, node: slot, group: oldGroup)
                spreads[name]?.add(count, node: slot, group: newGroup)
            }
        }
        let usage = nodes[slot].usage
        nodes[slot] = FleetNode(truth, labelGroup: newGroup)
        nodes[slot].usage = usage
        if truth.envelope != truths[slot].envelope {
            let fresh = NodeEvidence(truth.envelope)
            if !fresh.hasSameLabels(as: evidence[slot]) {
                unindexLabels(of: slot)
                evidence[slot] = fresh
                indexLabels(of: slot)
            } else {
                evidence[slot] = fresh
            }
        }
        truths[slot] = truth
    }

    /// Takes a node out of placement (`draining` also marks it as being emptied).
    public mutating func cordon(_ nodeID: String, atMs: Int64, draining: Bool = false) throws(FleetError) {
        guard let slot = slotByNodeID[nodeID] else { throw .unknownNode(nodeID) }
        truths[slot].cordon(atMs: atMs, draining: draining)
        nodes[slot].cordon = CordonState(truths[slot])
    }

    /// Stops a drain: the node stays cordoned.
    public mutating func stopDraining(_ nodeID: String) throws(FleetError) {
        guard let slot = slotByNodeID[nodeID] else { throw .unknownNode(nodeID) }
        truths[slot].draining = false
        nodes[slot].cordon = CordonState(truths[slot])
    }

    /// Makes a node schedulable again.
    public mutating func uncordon(_ nodeID: String) throws(FleetError) {
        guard let slot = slotByNodeID[nodeID] else { throw .unknownNode(nodeID) }
        truths[slot].uncordon()
        nodes[slot].cordon = .schedulable
    }

    /// Declares a node lost at `atMs` (leader's clock): nothing is placed on it until its agent
    /// reports again (`upsert` clears it). Returns the truth as now held.
    @discardableResult
    public mutating func markLost(_ nodeID: String, atMs: Int64) throws(FleetError) -> NodeTruth {
        guard let slot = slotByNodeID[nodeID] else { throw .unknownNode(nodeID) }
        if truths[slot].lostAtMs == nil { truths[slot].lostAtMs = atMs }
        nodes[slot].lost = true
        return truths[slot]
    }

    /// Changes what is held about a node's orphans (a report, a sweep asked for); the result of
    /// `body` is returned with the truth as now held.
    public mutating func updateOrphans<T>(_ nodeID: String, _ body: (inout NodeOrphans) -> T) throws(FleetError) -> (
        T, NodeTruth
    ) {
        guard let slot = slotByNodeID[nodeID] else { throw .unknownNode(nodeID) }
        let result = body(&truths[slot].orphans)
        return (result, truths[slot])
    }

    private mutating func insert(_ truth: NodeTruth) {
        let slot = nodes.count
        nodes.append(FleetNode(truth, labelGroup: joinGroup(truth.envelope.labels)))
        truths.append(truth)
        evidence.append(NodeEvidence(truth.envelope))
        idBySlot.append(truth.nodeID)
        workloadsOnNode.append([:])
        slotByNodeID[truth.nodeID] = slot
        indexLabels(of: slot)
        let position = lowerBound(of: truth.nodeID)
        slotsByNodeID.insert(slot, at: position)
    }

    /// The first position in `slotsByNodeID` whose node id is not below `nodeID` (byte order).
    private func lowerBound(of nodeID: String) -> Int {
        var low = 0
        var high = slotsByNodeID.count
        while low < high {
            let middle = (low + high) / 2
            if idBySlot[slotsByNodeID[middle]].utf8.lexicographicallyPrecedes(nodeID.utf8) {
                low = middle + 1
            } else {
                high = middle
            }
        }
        return low
    }

    private mutating func indexLabels(of slot: Int) {
        for (_, pair) in evidence[slot].labelPairs { labelIndex[pair, default: []].insert(slot) }
    }

    private mutating func unindexLabels(of slot: Int) {
        for (_, pair) in evidence[slot].labelPairs {
            labelIndex[pair]?.remove(slot)
            if labelIndex[pair]?.isEmpty == true { labelIndex[pair] = nil }
        }
    }

    private mutating func joinGroup(_ labels: [String: String]) -> Int {
        if let group = labelGroups[labels] {
            labelGroups[labels] = (group.id, group.members + 1)
            return group.id
        }
        let id = nextLabelGroup
        nextLabelGroup += 1
        labelGroups[labels] = (id, 1)
        return id
    }

    private mutating func leaveGroup(_ labels: [String: String]) {
        guard let group = labelGroups[labels] else { return }
        labelGroups[labels] = group.members > 1 ? (group.id, group.members - 1) : nil
    }

    // MARK: Launches

    /// Counts a placed launch against its node until it is released. Placing the same launch
    /// again changes nothing and returns false, so replaying a command is harmless. The view
    /// does not refuse an overcommit: the leader evaluates before placing, and the view must
    /// reflect what was decided.
    @discardableResult
    public mutating func placeLaunch(_ launch: PlacedLaunch) throws(FleetError) -> Bool {
        if let existing = launches[launch.launchID] {
            guard existing == launch else { throw .launchConflict(launch.launchID) }
            return false
        }
        guard let slot = slotByNodeID[launch.nodeID] else { throw .unknownNode(launch.nodeID) }
        launches[launch.launchID] = launch
        adjust(slot: slot, by: launch, sign: 1)
        return true
    }

    /// Gives a launch's resources back (it reached a terminal state). Returns false when the
    /// launch was not placed, so releasing twice is harmless.
    @discardableResult
    public mutating func releaseLaunch(id launchID: String) -> Bool {
        guard let launch = launches.removeValue(forKey: launchID) else { return false }
        if let slot = slotByNodeID[launch.nodeID] { adjust(slot: slot, by: launch, sign: -1) }
        return true
    }

    private mutating func adjust(slot: Int, by launch: PlacedLaunch, sign: Int) {
        nodes[slot].usage.usedCPUs += sign * launch.vcpus
        nodes[slot].usage.usedMemoryMiB += sign * launch.memoryMiB
        nodes[slot].usage.activeLaunches += sign
        let name = launch.workloadName
        let onNode = workloadsOnNode[slot][name, default: 0] + sign
        workloadsOnNode[slot][name] = onNode == 0 ? nil : onNode
        spreads[name, default: WorkloadSpread()].add(sign, node: slot, group: nodes[slot].labelGroup)
        if spreads[name]?.isEmpty == true { spreads[name] = nil }
    }
}
