import BerthRaft

/// One randomized, fully deterministic run of a whole cluster, in the style of TigerBeetle's
/// VOPR: the seed picks the faults, the workload and every delay.
///
/// 1. **Fault phase** (`faultPhaseTicks`): clients write and read while the fault injector
///    partitions, crashes, pauses, transfers leadership and changes membership.
/// 2. **Heal**: every node restarts, every link heals, loss stops.
/// 3. **Liveness** (at most `livenessTicks`): a leader must emerge, every client's pending
///    operation must be acknowledged and every node must apply up to the leader's commit.
///    Then every node must hold every acknowledged operation exactly once.
///
/// The checkers watch safety at every step of all three phases. Replay a seed with
/// `BERTH_SIM_SEED=<seed> swift test --filter Simulation`.
public struct Simulation: Sendable {
    /// How long and how busy a run is.
    public struct Settings: Sendable {
        /// Ticks of faults and workload.
        public var faultPhaseTicks = 300
        /// Ticks the healed cluster has to finish all work before liveness is violated.
        public var livenessTicks = 300
        /// Concurrent clients.
        public var clients = 4
        /// Writes each client issues (reads come on top).
        public var operationsPerClient = 25

        public init() {}
    }

    public let seed: UInt64
    public let nodeCount: Int
    public let faults: FaultProfile
    public let settings: Settings
    /// For the simulator's own tests: run with a deliberately broken owner
    /// (`SimulatedCluster.Options.sendsBeforePersisting`).
    var sendsBeforePersisting = false
    /// Whether the owner checks each message's promises (`SimulatedCluster.Options.checksPromises`);
    /// switched off to see what the Raft-level checkers catch on their own.
    public var checksPromises = true

    public init(seed: UInt64, nodeCount: Int, faults: FaultProfile = .all, settings: Settings = Settings()) {
        precondition(nodeCount >= 1)
        self.seed = seed
        self.nodeCount = nodeCount
        self.faults = faults
        self.settings = settings
    }

    /// Runs the whole scenario. `onEvent`, if given, sees every event as it happens.
    public func run(onEvent: ((SimulationEvent) -> Void)? = nil) -> SimulationResult {
        // Separate streams for the cluster and the workload, all from the seed. The mix with the
        // node count makes the 3- and 5-node runs of one seed differ.
        var rng = SplitMix64(seed: mixDigest(seed, UInt64(nodeCount)))
        var options = SimulatedCluster.Options()
        options.clockSkew = faults.clockSkew && rng.chance(0.5)
        options.persistDelay = faults.slowDisk && rng.chance(0.5) ? 1...rng.time(in: 5...25) : 1...3
        options.snapshotEveryEntries = rng.time(in: 8...32)
        options.retainEntries = rng.int(in: 0...6)
        // Small limits split replication and applying into many pieces (partial acknowledgements).
        options.maxMessageBytes = rng.element(of: [1, 64, 256, 1 << 20])
        options.maxInflightMessages = rng.element(of: [1, 4, 64])
        options.maxApplyBytesPerReady = rng.element(of: [64, 4 << 20])
        options.sendsBeforePersisting = sendsBeforePersisting
        options.checksPromises = checksPromises
        options.tornWrites = faults.tornWrites && rng.chance(0.5)
        options.dataLessSnapshots = faults.dataLessSnapshots && rng.chance(0.7)
        options.forwarding = faults.forwarding && rng.chance(0.7)
        options.followerReads = faults.followerReads && rng.chance(0.7)
        let keylessClients = faults.keylessClients && rng.chance(0.5)
        let cluster = SimulatedCluster(nodeCount: nodeCount, seed: rng.next(), options: options)
        cluster.onEvent = onEvent
        var injector = FaultInjector(
            profile: faults, healthyDelay: options.networkDelay, powerLoss: options.tornWrites, rng: rng.split())
        var membership = MembershipDriver()
        var rejoin = RejoinDriver(handsOverLeadership: faults.leadershipTransfers, rng: rng.split())
        var clientSettings = Client.Settings()
        clientSettings.operations = settings.operationsPerClient
        var clients = (1...max(1, settings.clients)).map { id in
            var settings = clientSettings
            settings.keyless = keylessClients && rng.chance(0.5)
            return Client(id: id, settings: settings, target: rng.element(of: cluster.nodeIDs), rng: rng.split())
        }
        var nextOp: UInt64 = 1

        func stepWorld(mayStartNew: Bool) {
            for index in clients.indices {
                clients[index].act(on: cluster, mayStartNew: mayStartNew, nextOp: &nextOp)
            }
            membership.act(on: cluster)
            rejoin.act(on: cluster)
            cluster.step()
            for outcome in cluster.takeOutcomes() {
                let client = outcome.client
                if clients.indices.contains(client - 1) { clients[client - 1].handle(outcome, in: cluster) }
            }
        }

        cluster.announce(phase: injector.isActive ? "faults" : "no faults")
        let faultPhaseUnits = UInt64(settings.faultPhaseTicks) * options.timeUnitsPerTick
        while cluster.now < faultPhaseUnits && cluster.violation == nil {
            injector.act(on: cluster, membership: &membership)
            stepWorld(mayStartNew: true)
        }

        var healTicks = 0
        if cluster.violation == nil {
            cluster.announce(phase: "heal")
            injector.healAll(on: cluster)
            var converged = false
            while healTicks < settings.livenessTicks && cluster.violation == nil {
                if unfinishedWork(cluster, clients, membership, rejoin) == nil {
                    converged = true
                    break
                }
                for _ in 0..<options.timeUnitsPerTick where cluster.violation == nil {
                    stepWorld(mayStartNew: false)
                }
                healTicks += 1
            }
            if !converged, cluster.violation == nil {
                if let reason = unfinishedWork(cluster, clients, membership, rejoin) {
                    cluster.checkers.fail(
                        .liveness, "\(settings.livenessTicks) ticks after healing: \(reason); \(describe(cluster))")
                    cluster.announceViolation()
                }
            }
            if cluster.violation == nil { cluster.checkConverged() }
        }

        var stats = cluster.statsWithNetwork
        stats.healTicks = healTicks
        let violation = cluster.violation
        return SimulationResult(
            seed: seed, nodeCount: nodeCount, violation: violation,
            trace: violation == nil ? [] : cluster.recentEvents.map(\.description), stats: stats,
            endTime: cluster.now, fingerprint: cluster.fingerprint)
    }

    /// Why the healed cluster has not finished yet, or nil when it has: a leader leads, all its
    /// entries are committed, every node applied them, and no client or membership change waits.
    private func unfinishedWork(
        _ cluster: SimulatedCluster, _ clients: [Client], _ membership: MembershipDriver, _ rejoin: RejoinDriver
    ) -> String? {
        for client in clients {
            if let write = client.waitingFor { return "client \(client.id) still waits for \(write)" }
        }
        if !membership.isIdle { return "membership change \(membership.goal) unfinished" }
        if let reason = rejoin.unfinishedWork(cluster) { return reason }
        guard let leader = cluster.leader, let status = cluster.status(of: leader) else { return "no leader" }
        guard status.commit == status.lastIndex else {
            return "leader n\(leader) has uncommitted entries \(status.commit + 1)...\(status.lastIndex)"
        }
        for id in cluster.nodeIDs where cluster.appliedIndex(of: id) != status.commit {
            return "n\(id) applied \(cluster.appliedIndex(of: id)) of commit \(status.commit)"
        }
        return nil
    }

    private func describe(_ cluster: SimulatedCluster) -> String {
        cluster.nodeIDs.map { id in
            guard let status = cluster.status(of: id) else { return "n\(id) down" }
            return "n\(id) \(status.role.rawValue) term \(status.term) commit \(status.commit) "
                + "applied \(cluster.appliedIndex(of: id)) last \(status.lastIndex)"
        }.joined(separator: ", ")
    }
}

/// The outcome of one run.
public struct SimulationResult: Sendable {
    public var seed: UInt64
    public var nodeCount: Int
    /// The first broken invariant, nil when the run passed.
    public var violation: Violation?
    /// The last events before the end, formatted; filled only when the run failed.
    public var trace: [String]
    public var stats: SimulationStats
    /// Simulated time at the end, in time units.
    public var endTime: UInt64
    /// Equal for two runs that did exactly the same thing.
    public var fingerprint: UInt64

    public var passed: Bool { violation == nil }

    /// A failure report: the seed, how to replay it, the violation and the trace.
    public var report: String {
        guard let violation else { return "seed \(seed) (\(nodeCount) nodes) passed" }
        return """
            seed \(seed) (\(nodeCount) nodes): \(violation)
            replay: BERTH_SIM_SEED=\(seed) swift test --filter Simulation
            last \(trace.count) events:
            \(trace.map { "  " + $0 }.joined(separator: "\n"))
            """
    }
}

extension SimulatedCluster.ClientOutcome {
    /// The client the answer is for.
    var client: Int {
        switch self {
        case .acknowledged(let client, _, _, _), .proposalLost(let client, _, _), .outcomeUnknown(let client, _, _),
            .writeFailed(let client, _, _, _), .readServed(let client, _, _, _), .readFailed(let client, _, _):
            return client
        }
    }
}
