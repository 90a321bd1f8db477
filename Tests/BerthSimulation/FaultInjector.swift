import BerthRaft

/// Breaks things during the fault phase of a run (Jepsen's "nemesis"): every so often it picks
/// one fault from those this seed has switched on and applies it, and it restarts crashed
/// nodes after a while. At the end, `healAll` undoes everything so liveness can be checked.
struct FaultInjector {
    /// One thing the injector can do.
    enum Action: CaseIterable {
        /// Split the nodes into two random groups (sometimes three).
        case partition
        /// Cut the leader off from everyone.
        case isolateLeader
        /// Cut one random link in one direction.
        case blockLink
        /// Let the leader send but not hear: every link into it is cut.
        case deafenLeader
        /// Restore every link.
        case healNetwork
        /// New loss, duplication and delay rates.
        case networkQuality
        /// Crash a random running node.
        case crash
        /// Crash a node while it is writing a Ready, so that write is lost.
        case crashWhileWriting
        /// Wait (a while) for a node writing entries over its log's tail — a new leader's over a
        /// follower's uncommitted ones — and crash it then: with power losses, the write a torn
        /// prefix hurts most.
        case crashWhileRewriting
        /// Crash the leader.
        case crashLeader
        /// A storm of leader flapping: crash each of the next few newly elected leaders shortly
        /// after its election, often before its first entry commits, and restart it quickly.
        /// Figure 8 of the Raft paper is such a sequence.
        case leaderFlapping
        /// Freeze a node (often the leader) for a while.
        case pause
        /// Ask the leader to hand over to a random voter.
        case transferLeadership
        /// Take a voter out of the cluster and back in.
        case membershipChange
        /// A node loses its disk: it crashes and comes back empty under a new incarnation.
        case loseDisk
    }

    /// The actions this seed uses, repeated by weight.
    private let actions: [Action]
    /// Time units between actions.
    private let interval: ClosedRange<UInt64>
    /// Upper bounds for the network-quality action.
    private let maxLoss: Double
    private let maxDuplicate: Double
    private let maxDelay: UInt64
    private let healthyDelay: ClosedRange<UInt64>
    private var rng: SplitMix64
    private var nextActionAt: UInt64
    /// Crashed nodes and when to restart them, in crash order.
    private var restarts: [(node: NodeID, at: UInt64)] = []
    /// A flapping storm under way: how many more new leaders to crash, and the newest term
    /// already dealt with (only leaders of later terms count as new).
    private var flapping: (remaining: Int, afterTerm: Term)?
    /// The new leader the storm will crash, and when.
    private var doomedLeader: (node: NodeID, term: Term, at: UInt64)?
    /// Until when to crash the first node seen writing entries over its log's tail.
    private var rewriteCrashUntil: UInt64?

    /// Picks this seed's faults from those `profile` allows; `powerLoss`: crashes tear writes.
    init(profile: FaultProfile, healthyDelay: ClosedRange<UInt64>, powerLoss: Bool = false, rng: SplitMix64) {
        var rng = rng
        var weighted: [Action] = []
        func allow(_ enabled: Bool, _ action: Action, weight: Int) {
            // Swarm testing: each allowed fault is on for about four seeds in five.
            guard enabled, rng.chance(0.8) else { return }
            weighted += Array(repeating: action, count: weight)
        }
        allow(profile.partitions, .partition, weight: 3)
        allow(profile.partitions, .isolateLeader, weight: 2)
        allow(profile.partitions, .blockLink, weight: 2)
        allow(profile.partitions, .deafenLeader, weight: 1)
        allow(profile.messageLoss || profile.duplication || profile.delays, .networkQuality, weight: 2)
        allow(profile.crashes, .crash, weight: 2)
        allow(profile.crashes, .crashWhileWriting, weight: 2)
        allow(profile.crashes && powerLoss, .crashWhileRewriting, weight: 3)
        allow(profile.crashes, .crashLeader, weight: 1)
        allow(profile.crashes, .leaderFlapping, weight: 2)
        allow(profile.pauses, .pause, weight: 2)
        allow(profile.leadershipTransfers, .transferLeadership, weight: 2)
        allow(profile.membershipChanges, .membershipChange, weight: 1)
        allow(profile.diskLoss, .loseDisk, weight: 2)
        if weighted.contains(where: { [.partition, .isolateLeader, .blockLink, .deafenLeader].contains($0) }) {
            weighted += Array(repeating: .healNetwork, count: 4)
        }
        actions = weighted
        let meanGap = rng.element(of: [40, 80, 150, 300] as [UInt64])
        interval = (meanGap / 2)...(meanGap * 3 / 2)
        maxLoss = profile.messageLoss ? rng.element(of: [0.02, 0.1, 0.3]) : 0
        maxDuplicate = profile.duplication ? rng.element(of: [0.02, 0.1]) : 0
        maxDelay = profile.delays ? rng.element(of: [10, 30, 80] as [UInt64]) : healthyDelay.upperBound
        self.healthyDelay = healthyDelay
        nextActionAt = rng.time(in: interval)
        self.rng = rng
    }

    /// Whether this seed injects any fault at all.
    var isActive: Bool { !actions.isEmpty }

    /// Restarts nodes whose downtime is over and applies the next fault if one is due.
    mutating func act(on cluster: SimulatedCluster, membership: inout MembershipDriver) {
        let now = cluster.now
        if restarts.contains(where: { $0.at <= now }) {
            let due = restarts.filter { $0.at <= now }
            restarts.removeAll { $0.at <= now }
            for (node, _) in due { cluster.restart(node) }
        }
        continueFlapping(on: cluster)
        if let until = rewriteCrashUntil {
            if now > until {
                rewriteCrashUntil = nil
            } else if let node = cluster.nodeIDs.first(where: { cluster.isRewritingLog($0) }) {
                rewriteCrashUntil = nil
                crash(node, on: cluster)
            }
        }
        guard !actions.isEmpty, now >= nextActionAt else { return }
        nextActionAt = now + rng.time(in: interval)
        apply(rng.element(of: actions), on: cluster, membership: &membership)
    }

    /// Ends every fault: all nodes up and running, every link healthy.
    mutating func healAll(on cluster: SimulatedCluster) {
        flapping = nil
        doomedLeader = nil
        rewriteCrashUntil = nil
        for (node, _) in restarts { cluster.restart(node) }
        restarts = []
        cluster.resumeAll()
        cluster.healNetwork()
        if cluster.network.lossProbability > 0 || cluster.network.duplicateProbability > 0
            || cluster.network.delay != healthyDelay
        {
            cluster.setNetworkQuality(loss: 0, duplicate: 0, delay: healthyDelay)
        }
    }

    private mutating func apply(_ action: Action, on cluster: SimulatedCluster, membership: inout MembershipDriver) {
        let ids = cluster.nodeIDs
        let running = ids.filter { cluster.isUp($0) }
        switch action {
        case .partition:
            var groups: [[NodeID]] = [[], []]
            let groupCount = ids.count >= 5 && rng.chance(0.3) ? 3 : 2
            if groupCount == 3 { groups.append([]) }
            for id in ids { groups[rng.int(in: 0...(groupCount - 1))].append(id) }
            groups = groups.filter { !$0.isEmpty }
            if groups.count > 1 { cluster.partition(groups) }
        case .isolateLeader:
            if let leader = cluster.leader { cluster.partition([[leader], ids.filter { $0 != leader }]) }
        case .blockLink:
            let from = rng.element(of: ids)
            let others = ids.filter { $0 != from }
            if !others.isEmpty { cluster.blockLink(from: from, to: rng.element(of: others)) }
        case .deafenLeader:
            if let leader = cluster.leader {
                for id in ids where id != leader { cluster.blockLink(from: id, to: leader) }
            }
        case .healNetwork:
            cluster.healNetwork()
        case .networkQuality:
            let loss = maxLoss * Double(rng.int(in: 0...4)) / 4
            let duplicate = maxDuplicate * Double(rng.int(in: 0...2)) / 2
            let upper = healthyDelay.upperBound + rng.time(in: 0...(maxDelay - healthyDelay.upperBound))
            cluster.setNetworkQuality(loss: loss, duplicate: duplicate, delay: healthyDelay.lowerBound...upper)
        case .crash:
            if !running.isEmpty { crash(rng.element(of: running), on: cluster) }
        case .crashWhileRewriting:
            rewriteCrashUntil = cluster.now + 300
        case .crashWhileWriting:
            let writing = running.filter { cluster.isWriting($0) }
            if !writing.isEmpty { crash(rng.element(of: writing), on: cluster) }
        case .crashLeader:
            if let leader = cluster.leader { crash(leader, on: cluster) }
        case .leaderFlapping:
            guard flapping == nil else { return }
            flapping = (rng.int(in: 2...6), cluster.leaderAndTerm?.term ?? 0)
        case .pause:
            let candidates = running.filter { !cluster.isPaused($0) }
            guard !candidates.isEmpty else { return }
            let node = rng.chance(0.5) ? (cluster.leader ?? rng.element(of: candidates)) : rng.element(of: candidates)
            cluster.pause(node, for: rng.time(in: 50...400))
        case .transferLeadership:
            guard let leader = cluster.leader, let voters = cluster.status(of: leader)?.configuration.voters else {
                return
            }
            let targets = voters.sorted().filter { $0 != leader }
            if !targets.isEmpty { cluster.transferLeadership(to: rng.element(of: targets)) }
        case .membershipChange:
            guard membership.isIdle, cluster.everyNodeAdmitted else { return }
            membership.start(removing: rng.element(of: ids))
        case .loseDisk:
            // One voter at a time: losing a majority's disks legitimately loses data.
            guard membership.isIdle, cluster.everyNodeAdmitted else { return }
            let node = rng.element(of: ids)
            let wasUp = cluster.isUp(node)
            cluster.wipe(node)
            if wasUp { restarts.append((node, cluster.now + rng.time(in: 20...600))) }
            // Often another node is away meanwhile: it misses the re-admission, and must later
            // follow the re-admitted node if it leads.
            if rng.chance(0.5) {
                let away = rng.element(of: ids.filter { $0 != node })
                cluster.partition([[away], ids.filter { $0 != away }])
            }
        }
    }

    /// During a flapping storm: picks each new leader and crashes it 0–40 time units later
    /// (if it still leads in that term), restarting it soon after.
    private mutating func continueFlapping(on cluster: SimulatedCluster) {
        if let storm = flapping, doomedLeader == nil, let (leader, term) = cluster.leaderAndTerm,
            term > storm.afterTerm
        {
            doomedLeader = (leader, term, cluster.now + rng.time(in: 0...40))
            flapping = storm.remaining > 1 ? (storm.remaining - 1, term) : nil
        }
        guard let doomed = doomedLeader, cluster.now >= doomed.at else { return }
        doomedLeader = nil
        if cluster.leaderAndTerm.map({ $0 == (doomed.node, doomed.term) }) == true {
            crash(doomed.node, on: cluster, downtime: 20...150)
        }
    }

    private mutating func crash(
        _ node: NodeID, on cluster: SimulatedCluster, downtime: ClosedRange<UInt64> = 20...600
    ) {
        cluster.crash(node)
        restarts.append((node, cluster.now + rng.time(in: downtime)))
    }
}
