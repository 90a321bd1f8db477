import BerthRaft

/// A cluster of cores wired by a synchronous, lossless in-memory network, for unit tests that
/// read init → act → check. Links can be cut one way or both; everything else is immediate.
final class TestCluster {
    private(set) var nodes: [NodeID: RaftNode] = [:]
    private(set) var storages: [NodeID: MemoryStorage] = [:]
    /// Committed entries each node applied, in order.
    private(set) var applied: [NodeID: [Entry]] = [:]
    /// Everything each node handed out in its Readys, for assertions on output.
    private(set) var readStates: [NodeID: [ReadState]] = [:]
    private(set) var failedReads: [NodeID: [UInt64]] = [:]
    private(set) var transferAborts: [NodeID: [LeaderTransferAbort]] = [:]
    /// Every message delivered, in order (for counting).
    private(set) var delivered: [Message] = []
    /// Links that drop messages, as (from, to).
    private var cut: Set<[NodeID]> = []
    /// Nodes whose messages are filtered by `intercept` before delivery.
    var intercept: ((Message) -> Bool)?
    let configure: (inout RaftConfig) -> Void

    init(voters: [NodeID], learners: [NodeID] = [], configure: @escaping (inout RaftConfig) -> Void = { _ in }) {
        self.configure = configure
        let configuration = Configuration(voters: Set(voters), learners: Set(learners))
        for id in voters + learners {
            add(id, storage: MemoryStorage(configuration: configuration))
        }
    }

    /// Each node's incarnation when it is not `Incarnation.initial` (a node that lost its disk).
    private(set) var incarnations: [NodeID: Incarnation] = [:]

    /// Starts (or restarts) `id` on `storage`.
    func add(_ id: NodeID, storage: MemoryStorage) {
        var config = RaftConfig(id: id, randomSeed: id &* 7919)
        configure(&config)
        config.incarnation = incarnations[id] ?? .initial
        config.appliedIndex = (try? storage.snapshot().metadata.index) ?? 0
        storages[id] = storage
        nodes[id] = RaftNode(config: config, storage: storage)
        applied[id] = applied[id] ?? []
    }

    subscript(id: NodeID) -> RaftNode { nodes[id]! }

    func isolate(_ id: NodeID) {
        for other in nodes.keys where other != id {
            cut.insert([id, other])
            cut.insert([other, id])
        }
    }

    func cutLink(from: NodeID, to: NodeID) {
        cut.insert([from, to])
    }

    func heal() {
        cut = []
    }

    /// Carries out every pending Ready and delivers messages until nothing moves.
    func settle(maxRounds: Int = 10_000) {
        for _ in 0..<maxRounds {
            var inFlight: [Message] = []
            for id in nodes.keys.sorted() {
                let node = nodes[id]!
                guard node.hasReady else { continue }
                let ready = node.ready()
                persist(ready, at: id)
                inFlight += ready.messages
                applied[id, default: []] += ready.committedEntries
                readStates[id, default: []] += ready.readStates
                failedReads[id, default: []] += ready.failedReads
                if let abort = ready.transferAborted { transferAborts[id, default: []].append(abort) }
                node.advance()
            }
            if inFlight.isEmpty { return }
            for message in inFlight {
                deliver(message)
            }
        }
        preconditionFailure("cluster did not settle")
    }

    func persist(_ ready: Ready, at id: NodeID) {
        let storage = storages[id]!
        if let snapshot = ready.snapshot {
            storage.applySnapshot(snapshot)
            applied[id] = []
        }
        if let hardState = ready.hardState { storage.setHardState(hardState) }
        storage.append(ready.entries)
    }

    func deliver(_ message: Message) {
        guard !cut.contains([message.from, message.to]), let node = nodes[message.to] else { return }
        if let intercept, !intercept(message) { return }
        delivered.append(message)
        node.step(message)
    }

    /// Ticks every node `count` times, settling after each tick.
    func tick(_ count: Int = 1, only: [NodeID]? = nil) {
        for _ in 0..<count {
            for id in (only ?? nodes.keys.sorted()) { nodes[id]!.tick() }
            settle()
        }
    }

    /// Makes `id` campaign and settles.
    func elect(_ id: NodeID) {
        nodes[id]!.campaign()
        settle()
    }

    var leaders: [NodeID] {
        nodes.keys.sorted().filter { nodes[$0]!.status.role == .leader }
    }

    /// Commands applied on `id`, decoded as strings.
    func commands(on id: NodeID) -> [String] {
        applied[id, default: []].compactMap {
            if case .command(let bytes) = $0.payload { return String(decoding: bytes, as: UTF8.self) }
            return nil
        }
    }

    /// Crash `id` (losing everything not in its storage) and start it again; also starts a
    /// node taken out with `remove`.
    func restart(_ id: NodeID) {
        let storage = storages[id]!.copy()
        applied[id] = []
        add(id, storage: storage)
    }

    /// Crash `id` and start it again from an empty disk under `incarnation`, as a server whose
    /// data directory was lost: no log, no vote, no membership.
    func wipe(_ id: NodeID, incarnation: Incarnation) {
        incarnations[id] = incarnation
        applied[id] = []
        add(id, storage: MemoryStorage(configuration: Configuration(voters: [])))
    }

    func remove(_ id: NodeID) {
        nodes[id] = nil
    }

    func forgetDelivered() {
        delivered = []
    }
}

extension RaftNode {
    /// Proposes a string command, failing the test on refusal.
    @discardableResult
    func propose(_ text: String) throws -> ProposalTicket {
        try propose(Array(text.utf8))
    }
}
