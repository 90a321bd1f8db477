extension FleetView {
    /// Every node's verdict for `intent` at `atMs` (the leader's clock, or the time a plan was
    /// made): the nodes that can take it, ranked by `PlacementOrder`, and every other node with
    /// every reason that applies. Pure: the same view, intent, time and policy always give the
    /// same explanation.
    public func evaluate(_ intent: WorkloadIntent, atMs: Int64, policy: PlacementPolicy = .standard) -> Explanation {
        let requirements = PlacementRequirements(intent)
        let labels = LabelMatches(requirements, index: labelIndex, slotCount: nodes.count)
        let spread = spread(of: intent.name)
        // Candidates in walk (node_id) order; `order` ranks them by index into these.
        var candidates: [(slot: Int, components: ScoreComponents)] = []
        candidates.reserveCapacity(nodes.count)
        var order: [PlacementOrder] = []
        order.reserveCapacity(nodes.count)
        var rejected: [RejectedNode] = []
        rejected.reserveCapacity(nodes.count)
        for slot in slotsByNodeID {
            switch verdict(slot: slot, requirements, labels, spread: spread, atMs: atMs, policy: policy) {
            case .ranked(let components):
                order.append(
                    PlacementOrder(
                        scoreMilli: components.totalMilli, freeMemoryMiB: nodes[slot].freeMemoryMiB,
                        index: candidates.count))
                candidates.append((slot, components))
            case .rejected(let reasons):
                rejected.append(RejectedNode(nodeID: idBySlot[slot], reasons: reasons))
            }
        }
        order.sort()
        return Explanation(
            evaluatedAtMs: atMs,
            rankedNodes: order.map {
                let candidate = candidates[$0.index]
                return RankedNode(nodeID: idBySlot[candidate.slot], components: candidate.components)
            },
            rejectedNodes: rejected)
    }

    /// "Why (not) this node": the verdict for one node, in the same shape as `evaluate`, or nil
    /// when the node is not known. Agrees with `evaluate` for that node: no part of a node's
    /// verdict depends on the other nodes.
    public func explain(_ intent: WorkloadIntent, nodeID: String, atMs: Int64, policy: PlacementPolicy = .standard)
        -> Explanation?
    {
        guard let slot = slot(of: nodeID) else { return nil }
        let requirements = PlacementRequirements(intent)
        let labels = LabelMatches(requirements, index: labelIndex, slotCount: nodes.count, only: slot)
        switch verdict(slot: slot, requirements, labels, spread: spread(of: intent.name), atMs: atMs, policy: policy) {
        case .ranked(let components):
            return Explanation(
                evaluatedAtMs: atMs, rankedNodes: [RankedNode(nodeID: nodeID, components: components)],
                rejectedNodes: [])
        case .rejected(let reasons):
            return Explanation(
                evaluatedAtMs: atMs, rankedNodes: [], rejectedNodes: [RejectedNode(nodeID: nodeID, reasons: reasons)])
        }
    }

    /// `evaluate`'s answer in short: the best `top` ranked nodes, and how many nodes each code
    /// rejected. Decides every node as `evaluate` does but builds no evidence, so it costs a
    /// fraction of the full evaluation and its answer is a few kilobytes at any fleet size.
    public func summarize(_ intent: WorkloadIntent, atMs: Int64, policy: PlacementPolicy = .standard, top: Int)
        -> ExplanationSummary
    {
        let requirements = PlacementRequirements(intent)
        let labels = LabelMatches(requirements, index: labelIndex, slotCount: nodes.count)
        let spread = spread(of: intent.name)
        var candidates: [(slot: Int, components: ScoreComponents)] = []
        var order: [PlacementOrder] = []
        var codeCounts = [Int](repeating: 0, count: RejectionCode.allCases.count)
        var rejectedCount = 0
        for slot in slotsByNodeID {
            let node = nodes[slot]
            let failed = requirements.failedChecks(node, atMs: atMs, policy: policy)
            if failed.isEmpty, labels.matchesAll(slot: slot) {
                let components = score(node, slot: slot, requirements, spread: spread)
                order.append(
                    PlacementOrder(
                        scoreMilli: components.totalMilli, freeMemoryMiB: node.freeMemoryMiB, index: candidates.count))
                candidates.append((slot, components))
                continue
            }
            rejectedCount += 1
            var bits = requirements.rejectionCodeBits(failed, node: node, slot: slot, labels: labels)
            while bits != 0 {
                codeCounts[bits.trailingZeroBitCount] += 1
                bits &= bits - 1
            }
        }
        order.sort()
        var byCode: [RejectionCode: Int] = [:]
        for (position, count) in codeCounts.enumerated() where count > 0 {
            byCode[RejectionCode.allCases[position]] = count
        }
        return ExplanationSummary(
            evaluatedAtMs: atMs,
            rankedNodes: order.prefix(max(0, top)).map {
                let candidate = candidates[$0.index]
                return RankedNode(nodeID: idBySlot[candidate.slot], components: candidate.components)
            },
            rankedCount: candidates.count, rejectedCount: rejectedCount, rejectedByCode: byCode)
    }

    /// The node a launch of `intent` goes to: the first node `evaluate` would rank, or nil when
    /// none fits. The leader asks this for every placement, so it decides without explaining:
    /// no rejection evidence, no ranked list, nothing allocated per node — only the best
    /// `PlacementOrder` so far. The walk position stands in for the candidate index, which
    /// orders candidates the same way.
    public func select(_ intent: WorkloadIntent, atMs: Int64, policy: PlacementPolicy = .standard) -> String? {
        let requirements = PlacementRequirements(intent)
        let labels = LabelMatches(requirements, index: labelIndex, slotCount: nodes.count)
        let spread = spread(of: intent.name)
        var best: PlacementOrder?
        var bestSlot = 0
        for (position, slot) in slotsByNodeID.enumerated() {
            let node = nodes[slot]
            guard labels.matchesAll(slot: slot), requirements.failedChecks(node, atMs: atMs, policy: policy).isEmpty
            else { continue }
            let order = PlacementOrder(
                scoreMilli: score(node, slot: slot, requirements, spread: spread).totalMilli,
                freeMemoryMiB: node.freeMemoryMiB, index: position)
            if best.map({ order < $0 }) ?? true {
                best = order
                bestSlot = slot
            }
        }
        return best == nil ? nil : idBySlot[bestSlot]
    }

    private enum Verdict {
        case ranked(ScoreComponents)
        case rejected([Rejection])
    }

    /// One node's verdict. Runs once per node per evaluation: deciding touches only plain
    /// values and bits; evidence is assembled only for a rejected node, from strings built when
    /// its envelope arrived.
    private func verdict(
        slot: Int, _ requirements: PlacementRequirements, _ labels: LabelMatches, spread: WorkloadSpread?, atMs: Int64,
        policy: PlacementPolicy
    ) -> Verdict {
        let node = nodes[slot]
        let failed = requirements.failedChecks(node, atMs: atMs, policy: policy)
        guard failed.isEmpty, labels.matchesAll(slot: slot) else {
            return .rejected(
                requirements.rejections(
                    failed, node: node, slot: slot, labels: labels, evidence: evidence[slot], atMs: atMs, policy: policy
                ))
        }
        return .ranked(score(node, slot: slot, requirements, spread: spread))
    }

    private func score(_ node: FleetNode, slot: Int, _ requirements: PlacementRequirements, spread: WorkloadSpread?)
        -> ScoreComponents
    {
        // Both divisors are at least 1 here: the node passed the capacity check with a request of
        // at least 1, so its allocatable is at least 1.
        let cpuLeft = (node.freeCPUs - requirements.vcpus) * 1000 / max(1, node.allocatableCPUs)
        let memoryLeft = (node.freeMemoryMiB - requirements.memoryMiB) * 1000 / max(1, node.allocatableMemoryMiB)
        var spreadMilli = 1000
        if let spread, let inGroup = spread.inGroup[node.labelGroup] {
            spreadMilli = (inGroup - spread.onNode[slot, default: 0]) * 1000 / inGroup
        }
        let acceleration = requirements.acceleration(kvmUsable: node.capabilities.kvmUsable)
        return ScoreComponents(
            resourceFitMilli: min(cpuLeft, memoryLeft), spreadMilli: spreadMilli,
            backendPreferenceMilli: acceleration == .tcg
                ? ScoreComponents.emulatedMilli : ScoreComponents.acceleratedMilli,
            healthMilli: node.health == .healthy ? ScoreComponents.healthyMilli : ScoreComponents.degradedMilli)
    }
}
