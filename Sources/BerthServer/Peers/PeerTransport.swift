import BerthRaft
import BerthStorage
import BerthWire
import Dispatch
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL

/// The binary TCP peer transport: a listener for inbound connections and one `PeerLink` per
/// peer for outbound traffic. Each node sends everything on its own outbound links and
/// receives on accepted connections, so every direction is one ordered stream.
final class PeerTransport: Sendable {
    struct Settings: Sendable {
        var policy: HandshakePolicy
        /// This node's hello; `hasLog` is overridden by what the Raft loop last reported.
        var hello: Hello
        var maxFrameBytes: Int
        var snapshotChunkBytes: Int
        /// Where snapshots from peers are received (`StorageLayout.incomingSnapshotDirectory`);
        /// nil keeps them in memory (tests of the transport alone).
        var incomingSnapshotDirectory: String? = nil
        /// Frames a connected link holds while its socket is not writable; more are dropped.
        var maxQueuedFrames = 1024
        var minBackoffMilliseconds: Int64 = 20
        /// Short, so a node cut off by the network is back within a second of the heal.
        var maxBackoffMilliseconds: Int64 = 250
        /// Mutual TLS on every peer connection, both directions; nil: plaintext.
        var tls: PeerTLS? = nil
    }

    let settings: Settings
    private let group: any EventLoopGroup
    private let logger: Logger
    private let links: NIOLockedValueBox<[NodeID: PeerLink]>
    private let httpAddresses: NIOLockedValueBox<[NodeID: String]>
    private let listener: NIOLockedValueBox<(any Channel)?>
    private let handlers: NIOLockedValueBox<Handlers>
    /// Snapshot streams being received, one per sending peer, and the files they go to.
    private let assemblers = NIOLockedValueBox<[NodeID: SnapshotAssembler]>([:])
    private let incoming = NIOLockedValueBox<[NodeID: IncomingSnapshot]>([:])
    /// Whether this node's log holds anything, as its hellos say.
    private let hasLog: NIOLockedValueBox<Bool>
    /// The last hello heard from each peer (either direction): its incarnation and log state.
    private let peerHellos = NIOLockedValueBox<[NodeID: Hello]>([:])

    struct Handlers: Sendable {
        var deliver: @Sendable (Message) -> Void = { _ in }
        var snapshotFinished: @Sendable (NodeID, Bool) -> Void = { _, _ in }
        var linkLost: @Sendable (NodeID) -> Void = { _ in }
        /// A consistent copy of the state database, for a snapshot the log holds without data:
        /// read a chunk at a time while it is sent.
        var copyState: @Sendable () throws -> any SnapshotSource = { throw WriteFailure.shuttingDown }
        var executeForwarded: @Sendable (ForwardRequest, NodeID) async -> ForwardResponse = { request, _ in
            ForwardResponse(requestID: request.requestID, status: 503, payload: [])
        }
    }

    init(settings: Settings, peers: [NodeID: HostPort], group: any EventLoopGroup, logger: Logger) {
        self.settings = settings
        self.group = group
        self.logger = logger
        links = NIOLockedValueBox([:])
        httpAddresses = NIOLockedValueBox([settings.policy.nodeID: settings.hello.httpAddress])
        listener = NIOLockedValueBox(nil)
        handlers = NIOLockedValueBox(Handlers())
        hasLog = NIOLockedValueBox(settings.hello.hasLog)
        for (id, address) in peers where id != settings.policy.nodeID {
            addPeer(id, address: address)
        }
    }

    func setHandlers(_ new: Handlers) {
        handlers.withLockedValue { $0 = new }
    }

    /// The hello this node sends now.
    var currentHello: Hello {
        var hello = settings.hello
        hello.hasLog = hasLog.withLockedValue { $0 }
        return hello
    }

    /// The Raft loop's log is no longer empty (it never becomes empty again).
    func setHasLog(_ value: Bool) {
        hasLog.withLockedValue { $0 = value }
    }

    /// Records a peer's hello (its incarnation and whether it holds a log).
    func noteHello(_ hello: Hello) {
        peerHellos.withLockedValue { $0[hello.nodeID] = hello }
        learnedHTTPAddress(hello.httpAddress, of: hello.nodeID)
    }

    /// The last hello heard from each peer.
    var helloByPeer: [NodeID: Hello] {
        peerHellos.withLockedValue { $0 }
    }

    /// Starts a link to a peer (a new member, or at startup).
    func addPeer(_ id: NodeID, address: HostPort) {
        let link = PeerLink(
            peer: id, address: address, loop: group.next(), settings: settings, transport: self, logger: logger)
        let old = links.withLockedValue { links in
            let old = links[id]
            links[id] = link
            return old
        }
        old?.close()
        link.loop.execute { link.connectIfNeeded() }
    }

    func removePeer(_ id: NodeID) {
        links.withLockedValue { $0.removeValue(forKey: id) }?.close()
        // A snapshot it was sending will never finish.
        incoming.withLockedValue { $0.removeValue(forKey: id) }?.discard()
        _ = assemblers.withLockedValue { $0.removeValue(forKey: id) }
    }

    private let acceptAny = NIOLockedValueBox(false)

    /// A node that is not yet in any configuration (joining) accepts every peer of its cluster.
    func setAcceptAnyMember(_ value: Bool) {
        acceptAny.withLockedValue { $0 = value }
    }

    /// Ids this node accepts connections from: the members it knows, or anyone while joining.
    var knownMembers: Set<NodeID>? {
        if acceptAny.withLockedValue({ $0 }) { return nil }
        let ids = links.withLockedValue { Set($0.keys) }
        return ids.union([settings.policy.nodeID])
    }

    /// The peers with a link.
    var linkedPeers: Set<NodeID> {
        links.withLockedValue { Set($0.keys) }
    }

    /// Binds the peer listener.
    func start(host: String, port: Int) async throws {
        let maxFrameBytes = settings.maxFrameBytes
        let tls = settings.tls
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .peerSocketOptions()
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandlers([
                            PeerPlaintextGuard(tls: tls), NIOSSLServerHandler(context: tls.serverContext),
                            PeerHandshakeGuard(tls: tls, direction: .inbound),
                        ])
                    }
                    try channel.pipeline.syncOperations.addHandlers([
                        ByteToMessageHandler(PeerFrameDecoder(maxFrameBytes: maxFrameBytes)),
                        MessageToByteHandler(PeerFrameEncoder(maxFrameBytes: maxFrameBytes)),
                        InboundPeerHandler(transport: self, logger: self.logger),
                    ])
                }
            }
            .bind(host: host, port: port).get()
        listener.withLockedValue { $0 = channel }
    }

    func shutdown() async {
        let channel = listener.withLockedValue { $0 }
        try? await channel?.close()
        for link in links.withLockedValue({ Array($0.values) }) { link.close() }
    }

    // MARK: - Sending

    /// Hands messages to their links; never blocks.
    func send(_ messages: [Message]) {
        guard !messages.isEmpty else { return }
        let current = links.withLockedValue { $0 }
        var byPeer: [NodeID: [Message]] = [:]
        for message in messages { byPeer[message.to, default: []].append(message) }
        for (peer, batch) in byPeer {
            guard let link = current[peer] else { continue }
            link.loop.execute {
                for message in batch { link.send(message) }
            }
        }
    }

    /// Forwards a client request to `leader` and waits for its answer.
    func forward(_ payload: [UInt8], to leader: NodeID, timeout: TimeAmount) async throws -> ForwardResponse {
        guard let link = links.withLockedValue({ $0[leader] }) else {
            throw WriteFailure.forwardFailed(leader: leader, reason: "node \(leader) is not a known peer")
        }
        return try await link.loop.flatSubmit { link.forward(payload, timeout: timeout) }.get()
    }

    /// Whether the outbound link to `id` is up.
    func isConnected(_ id: NodeID) async -> Bool {
        guard let link = links.withLockedValue({ $0[id] }) else { return false }
        return (try? await link.loop.submit { link.isConnected }.get()) ?? false
    }

    /// Frames to `id` dropped because its send queue was full.
    func droppedFrames(to id: NodeID) async -> Int {
        guard let link = links.withLockedValue({ $0[id] }) else { return 0 }
        return (try? await link.loop.submit { link.droppedFrames }.get()) ?? 0
    }

    func httpAddress(of id: NodeID) -> String? {
        httpAddresses.withLockedValue { $0[id] }
    }

    func peerAddress(of id: NodeID) -> HostPort? {
        links.withLockedValue { $0[id]?.address }
    }

    // MARK: - Callbacks from links and inbound connections

    func learnedHTTPAddress(_ address: String, of id: NodeID) {
        httpAddresses.withLockedValue { $0[id] = address }
    }

    /// What a received chunk did: an ack to send back, and a whole snapshot (with a token for
    /// the file it is in) to step into the core when this chunk completed one.
    struct ReceivedChunk {
        var outcome: SnapshotAssembler.Outcome
        var completed: WireMessage?
    }

    /// Takes one chunk: the assembler says which bytes are new, and they go straight to the
    /// peer's file, so memory holds one chunk, whatever the snapshot's size.
    func receiveSnapshotChunk(_ chunk: SnapshotChunk, from peer: NodeID) throws -> ReceivedChunk {
        let outcome = assemblers.withLockedValue { assemblers -> SnapshotAssembler.Outcome in
            // Updated in place: a copy taken out of the dictionary would copy its state too.
            assemblers[peer, default: SnapshotAssembler()].receive(chunk)
        }
        switch outcome {
        case .ignored:
            return ReceivedChunk(outcome: outcome, completed: nil)
        case .accepted(let store, _):
            try file(for: peer).store(store)
            return ReceivedChunk(outcome: outcome, completed: nil)
        case .completed(let snapshot, let store, _):
            let file = try file(for: peer)
            try file.store(store)
            let path = try file.complete(index: snapshot.metadata.index, term: snapshot.metadata.term)
            // An empty snapshot travels as one with no data, which the sense check refuses.
            let data = snapshot.totalBytes == 0 ? [] : ReceivedSnapshotToken.encode(path: path)
            return ReceivedChunk(outcome: outcome, completed: snapshot.message(data: data))
        }
    }

    private func file(for peer: NodeID) throws -> IncomingSnapshot {
        guard let directory = settings.incomingSnapshotDirectory else {
            throw WriteFailure.shuttingDown
        }
        return incoming.withLockedValue { files in
            if let file = files[peer] { return file }
            let file = IncomingSnapshot(directory: directory, peer: peer)
            files[peer] = file
            return file
        }
    }

    func deliver(_ message: Message) {
        handlers.withLockedValue { $0 }.deliver(message)
    }

    func snapshotFinished(to peer: NodeID, succeeded: Bool) {
        NodeMetrics.snapshotsSent(peer: peer, succeeded: succeeded).increment()
        handlers.withLockedValue { $0 }.snapshotFinished(peer, succeeded)
    }

    /// Copies the state on a background queue (it takes as long as the database is big).
    func copyState(_ completion: @escaping @Sendable (Result<any SnapshotSource, any Error>) -> Void) {
        let copy = handlers.withLockedValue { $0 }.copyState
        DispatchQueue.global().async { completion(Result { try copy() }) }
    }

    func linkLost(_ peer: NodeID) {
        handlers.withLockedValue { $0 }.linkLost(peer)
    }

    func executeForwarded(_ request: ForwardRequest, from peer: NodeID) -> EventLoopFuture<ForwardResponse> {
        let execute = handlers.withLockedValue { $0 }.executeForwarded
        let promise = group.next().makePromise(of: ForwardResponse.self)
        promise.completeWithTask { await execute(request, peer) }
        return promise.futureResult
    }
}
