import BerthRaft
import BerthWire
import Logging
import NIOCore
import NIOPosix
import NIOSSL

/// The one long-lived outbound connection to a peer: dial, handshake, send frames, redial with
/// capped backoff. Sends never block the Raft loop: frames wait in a bounded queue while the
/// socket is not writable; beyond that, and whenever the link is down, they are dropped and
/// counted — Raft retransmits what matters.
///
/// All state is confined to `loop`, which is also the channel's event loop.
final class PeerLink: @unchecked Sendable {
    let peer: NodeID
    let address: HostPort
    let loop: any EventLoop
    private let settings: PeerTransport.Settings
    private let logger: Logger
    private weak var transport: PeerTransport?

    private enum State {
        case idle
        case connecting
        case handshaking(any Channel)
        case ready(any Channel)
        case closed
    }

    private var state: State = .idle
    /// Frames waiting for the socket to become writable again (only while connected).
    private var queue = CircularBuffer<PeerFrame>()
    private var backoffMilliseconds: Int64
    /// Frames dropped because the queue was full.
    private(set) var droppedFrames = 0
    private lazy var droppedFramesCounter = NodeMetrics.droppedFrames(peer: peer)
    /// The snapshot being streamed to this peer, if any.
    private var snapshot: SnapshotSender?
    /// A copy of the state is being made for a snapshot without data.
    private var preparingSnapshot = false
    private var pendingForwards: [UInt64: EventLoopPromise<ForwardResponse>] = [:]
    /// Forwards whose frame is still in `queue`: never written, so failing them is safe to retry.
    private var queuedForwards: Set<UInt64> = []
    private var nextForwardID: UInt64 = 1
    /// The peer's advertised HTTP address, from its handshake answer.
    private(set) var httpAddress: String?

    init(
        peer: NodeID, address: HostPort, loop: any EventLoop, settings: PeerTransport.Settings,
        transport: PeerTransport, logger: Logger
    ) {
        self.peer = peer
        self.address = address
        self.loop = loop
        self.settings = settings
        self.transport = transport
        self.logger = logger
        backoffMilliseconds = settings.minBackoffMilliseconds
    }

    var isConnected: Bool {
        loop.preconditionInEventLoop()
        if case .ready = state { return true }
        return false
    }

    // MARK: - Sending

    /// Queues a Raft message. InstallSnapshot is streamed in chunks instead.
    func send(_ message: Message) {
        loop.preconditionInEventLoop()
        if case .installSnapshot(let install) = message.body {
            guard install.data.isEmpty else {
                startSnapshot(message)
                return
            }
            // The log was compacted against the state database: copy it now, off this loop.
            guard !preparingSnapshot, let transport else { return }
            preparingSnapshot = true
            transport.copyState { result in
                self.loop.execute {
                    self.preparingSnapshot = false
                    switch result {
                    case .success(let source):
                        self.logger.info(
                            "sending snapshot", metadata: ["peer": "\(self.peer)", "bytes": "\(source.byteCount)"])
                        self.snapshot = SnapshotSender(
                            from: message.from, to: message.to, term: message.term,
                            metadata: WireSnapshot(install).metadata, source: source,
                            chunkBytes: self.settings.snapshotChunkBytes)
                        self.pumpSnapshot()
                    case .failure(let error):
                        self.logger.error("cannot copy the state for a snapshot", metadata: ["error": "\(error)"])
                        self.transport?.snapshotFinished(to: self.peer, succeeded: false)
                    }
                }
            }
            return
        }
        enqueue(.raft(WireMessage(message)))
    }

    private func startSnapshot(_ message: Message) {
        guard let sender = SnapshotSender(message: WireMessage(message), chunkBytes: settings.snapshotChunkBytes) else {
            return
        }
        snapshot = sender
        pumpSnapshot()
    }

    /// Sends a forwarded client request and completes with the leader's answer.
    func forward(_ payload: [UInt8], timeout: TimeAmount) -> EventLoopFuture<ForwardResponse> {
        loop.preconditionInEventLoop()
        let id = nextForwardID
        nextForwardID += 1
        let promise = loop.makePromise(of: ForwardResponse.self)
        guard case .ready = state else {
            connectIfNeeded()
            promise.fail(WriteFailure.forwardFailed(leader: peer, reason: "no connection to node \(peer)"))
            return promise.futureResult
        }
        pendingForwards[id] = promise
        switch enqueue(.forward(ForwardRequest(requestID: id, payload: payload))) {
        case .written: break
        case .queued: queuedForwards.insert(id)
        case .dropped:
            pendingForwards[id] = nil
            promise.fail(WriteFailure.forwardFailed(leader: peer, reason: "the link to node \(peer) is congested"))
        }
        loop.scheduleTask(in: timeout) {
            guard let promise = self.pendingForwards.removeValue(forKey: id) else { return }
            if self.queuedForwards.remove(id) != nil {
                self.queue = CircularBuffer(
                    self.queue.filter { if case .forward(let request) = $0 { request.requestID != id } else { true } })
                promise.fail(
                    WriteFailure.forwardFailed(leader: self.peer, reason: "node \(self.peer) was not reachable in time")
                )
            } else {
                promise.fail(WriteFailure.outcomeUnknown(reason: "node \(self.peer) did not answer in time"))
            }
        }
        return promise.futureResult
    }

    private enum Enqueued {
        case written, queued, dropped
    }

    @discardableResult
    private func enqueue(_ frame: PeerFrame) -> Enqueued {
        connectIfNeeded()
        guard case .ready(let channel) = state else {
            // Nobody to send to: Raft sends again what matters once the link is back. Keeping
            // a cut's worth of stale appends would only delay the first fresh message after a
            // heal (measured: 8 s of the event loop encoding queued appends).
            droppedFrames += 1
            droppedFramesCounter.increment()
            return .dropped
        }
        if queue.isEmpty, channel.isWritable {
            channel.write(frame, promise: nil)
            scheduleFlush(channel)
            return .written
        }
        guard queue.count < settings.maxQueuedFrames else {
            droppedFrames += 1
            droppedFramesCounter.increment()
            return .dropped
        }
        queue.append(frame)
        return .queued
    }

    private var flushScheduled = false

    /// One flush per loop turn: everything written in between goes out in one syscall batch.
    private func scheduleFlush(_ channel: any Channel) {
        guard !flushScheduled else { return }
        flushScheduled = true
        loop.execute {
            self.flushScheduled = false
            channel.flush()
        }
    }

    private func drainQueue() {
        guard case .ready(let channel) = state else { return }
        while !queue.isEmpty, channel.isWritable {
            let frame = queue.removeFirst()
            if case .forward(let request) = frame { queuedForwards.remove(request.requestID) }
            channel.write(frame, promise: nil)
        }
        channel.flush()
    }

    private func pumpSnapshot() {
        guard case .ready(let channel) = state, var sender = snapshot else { return }
        do {
            while let chunk = try sender.nextChunk() {
                channel.write(PeerFrame.snapshotChunk(chunk), promise: nil)
            }
        } catch {
            logger.error("cannot read the snapshot being sent", metadata: ["peer": "\(peer)", "error": "\(error)"])
            snapshot = nil
            transport?.snapshotFinished(to: peer, succeeded: false)
            return
        }
        snapshot = sender
        channel.flush()
    }

    // MARK: - Connection

    func connectIfNeeded() {
        guard case .idle = state else { return }
        state = .connecting
        let decoderLimit = settings.maxFrameBytes
        let tls = settings.tls
        ClientBootstrap(group: loop)
            .connectTimeout(.milliseconds(500))
            .peerSocketOptions()
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        // No host name: peers are verified against the cluster CA alone (PeerTLS).
                        try channel.pipeline.syncOperations.addHandlers([
                            try NIOSSLClientHandler(context: tls.clientContext, serverHostname: nil),
                            PeerHandshakeGuard(tls: tls, direction: .outbound),
                        ])
                    }
                    try channel.pipeline.syncOperations.addHandlers([
                        ByteToMessageHandler(PeerFrameDecoder(maxFrameBytes: decoderLimit)),
                        MessageToByteHandler(PeerFrameEncoder(maxFrameBytes: decoderLimit)),
                        OutboundPeerHandler(link: self),
                    ])
                }
            }
            .connect(host: address.host, port: address.port)
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    self.state = .handshaking(channel)
                    let hello = self.transport?.currentHello ?? self.settings.hello
                    channel.writeAndFlush(PeerFrame.hello(hello), promise: nil)
                    self.loop.scheduleTask(in: PeerSocketOptions.helloTimeout) {
                        guard case .handshaking(let current) = self.state, current === channel else { return }
                        self.logger.warning(
                            "peer did not answer our hello in time; redialling", metadata: ["peer": "\(self.peer)"])
                        channel.close(promise: nil)
                    }
                case .failure:
                    self.scheduleReconnect()
                }
            }
    }

    private func scheduleReconnect() {
        if case .closed = state { return }
        state = .idle
        let delay = backoffMilliseconds
        backoffMilliseconds = min(settings.maxBackoffMilliseconds, backoffMilliseconds * 2)
        loop.scheduleTask(in: .milliseconds(delay)) {
            if case .idle = self.state, self.snapshot != nil {
                self.connectIfNeeded()
            } else if case .idle = self.state {
                // Keep the link up even when idle, so "is_alive" is meaningful and the first
                // message after a quiet spell does not pay the connect.
                self.connectIfNeeded()
            }
        }
    }

    func close() {
        loop.execute {
            let channel: (any Channel)?
            switch self.state {
            case .handshaking(let c), .ready(let c): channel = c
            default: channel = nil
            }
            self.state = .closed
            channel?.close(promise: nil)
        }
    }

    // MARK: - Events from the channel (on `loop`)

    fileprivate func received(_ frame: PeerFrame, on channel: any Channel) {
        switch frame {
        case .hello(let hello):
            guard case .handshaking = state else { return }
            if let refusal = settings.policy.refusal(of: hello, expectedNode: peer) {
                logger.error(
                    "peer handshake refused",
                    metadata: ["peer": "\(peer)", "reason": "\(refusal.reason)", "detail": "\(refusal.detail)"])
                channel.close(promise: nil)
                return
            }
            httpAddress = hello.httpAddress
            transport?.noteHello(hello)
            state = .ready(channel)
            backoffMilliseconds = settings.minBackoffMilliseconds
            logger.info("peer connected", metadata: ["peer": "\(peer)", "address": "\(address)"])
            if var sender = snapshot {
                // Resume from what the receiver acknowledged; its next ack corrects us if needed.
                sender.rewind()
                snapshot = sender
            }
            drainQueue()
            pumpSnapshot()
        case .helloRejected(let rejection):
            logger.error(
                "peer refused our handshake",
                metadata: ["peer": "\(peer)", "reason": "\(rejection.reason)", "detail": "\(rejection.detail)"])
            channel.close(promise: nil)
        case .snapshotChunkAck(let ack):
            guard var sender = snapshot else { return }
            let outcome = sender.receive(ack)
            snapshot = sender
            switch outcome {
            case .finished:
                snapshot = nil
                transport?.snapshotFinished(to: peer, succeeded: true)
            case .progressed, .rewound:
                pumpSnapshot()
            case .ignored:
                break
            }
        case .forwardResponse(let response):
            pendingForwards.removeValue(forKey: response.requestID)?.succeed(response)
        case .raft, .snapshotChunk, .forward:
            logger.warning("unexpected frame on outbound link; closing", metadata: ["peer": "\(peer)"])
            channel.close(promise: nil)
        }
    }

    fileprivate func writabilityChanged(_ channel: any Channel) {
        if channel.isWritable { drainQueue() }
    }

    fileprivate func closed(_ channel: any Channel, error: (any Error)?) {
        switch state {
        case .handshaking(let current) where current === channel, .ready(let current) where current === channel:
            if let error {
                logger.warning("peer link closed", metadata: ["peer": "\(peer)", "error": "\(error)"])
            }
            // A forward is never sent twice by this node: one still queued was never written,
            // so it fails as safe to retry; one written may have reached the leader, so its
            // outcome is unknown.
            // Whatever waited for the socket is stale by the next connection.
            queue.removeAll()
            for (id, promise) in pendingForwards {
                if queuedForwards.contains(id) {
                    promise.fail(WriteFailure.forwardFailed(leader: peer, reason: "connection to node \(peer) closed"))
                } else {
                    promise.fail(
                        WriteFailure.outcomeUnknown(reason: "the connection to node \(peer) closed before it answered"))
                }
            }
            pendingForwards = [:]
            queuedForwards = []
            transport?.linkLost(peer)
            scheduleReconnect()
        default:
            break
        }
    }
}

/// Routes what arrives on an outbound connection back to its `PeerLink`.
private final class OutboundPeerHandler: ChannelInboundHandler {
    typealias InboundIn = PeerFrame

    private let link: PeerLink
    private var error: (any Error)?

    init(link: PeerLink) {
        self.link = link
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        link.received(unwrapInboundIn(data), on: context.channel)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        link.writabilityChanged(context.channel)
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.error = error
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        link.closed(context.channel, error: error)
        context.fireChannelInactive()
    }
}
