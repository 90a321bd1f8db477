import BerthRaft
import BerthWire
import Logging
import NIOCore

/// One accepted peer connection: the first frame must be a valid `hello`; after that Raft
/// messages go to the Raft loop, snapshot chunks are assembled (and acknowledged on this
/// connection), and forwarded client requests are executed and answered here.
///
/// Any decoding error, a frame before the handshake, or a frame claiming another sender closes
/// the connection with a logged reason. Nothing a peer sends can crash the node.
final class InboundPeerHandler: ChannelInboundHandler {
    typealias InboundIn = PeerFrame
    typealias OutboundOut = PeerFrame

    private let transport: PeerTransport
    private let logger: Logger
    private var peer: NodeID?
    /// The peer's incarnation from its hello: every Raft message on this connection is its.
    private var peerIncarnation: Incarnation = .initial

    init(transport: PeerTransport, logger: Logger) {
        self.transport = transport
        self.logger = logger
    }

    func channelActive(context: ChannelHandlerContext) {
        // A connection must say hello promptly: a silent one only holds a socket.
        let channel = context.channel
        context.eventLoop.scheduleTask(in: PeerSocketOptions.helloTimeout) { [weak self] in
            guard let self, self.peer == nil, channel.isActive else { return }
            self.logger.warning(
                "closing peer connection",
                metadata: [
                    "remote": "\(channel.remoteAddress.map { "\($0)" } ?? "?")",
                    "reason": "no hello within the timeout",
                ])
            channel.close(promise: nil)
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        guard let peer else {
            handshake(frame, context: context)
            return
        }
        switch frame {
        case .raft(let wire):
            guard wire.from == peer, wire.to == transport.settings.policy.nodeID else {
                return reject(context, "message from \(wire.from) to \(wire.to) on node \(peer)'s connection")
            }
            if let problem = wire.senseProblem { return refuseNonsense(context, problem) }
            guard let message = Message(wire, incarnation: peerIncarnation) else {
                return reject(context, "message the core cannot hold")
            }
            transport.deliver(message)
        case .snapshotChunk(let chunk):
            guard chunk.from == peer, chunk.to == transport.settings.policy.nodeID else {
                return reject(context, "snapshot chunk with wrong sender or receiver")
            }
            // The assembler lives in the transport, per peer, so a stream broken with its
            // connection resumes on the next one from the acknowledged offset.
            let received: PeerTransport.ReceivedChunk
            do {
                received = try transport.receiveSnapshotChunk(chunk, from: peer)
            } catch {
                return reject(context, "cannot store a snapshot chunk: \(error)")
            }
            context.writeAndFlush(wrapOutboundOut(.snapshotChunkAck(received.outcome.ack)), promise: nil)
            if case .ignored(let reason, _) = received.outcome {
                logger.debug("snapshot chunk ignored", metadata: ["peer": "\(peer)", "reason": "\(reason)"])
            }
            if let wire = received.completed {
                if let problem = wire.senseProblem { return refuseNonsense(context, problem) }
                guard let message = Message(wire, incarnation: peerIncarnation) else {
                    return reject(context, "snapshot the core cannot hold")
                }
                transport.deliver(message)
            }
        case .forward(let request):
            let channel = context.channel
            transport.executeForwarded(request, from: peer).whenSuccess { response in
                channel.writeAndFlush(PeerFrame.forwardResponse(response), promise: nil)
            }
        case .hello, .helloRejected, .snapshotChunkAck, .forwardResponse:
            reject(context, "unexpected \(frame.frameType.map { "\($0)" } ?? "frame") after the handshake")
        }
    }

    private func handshake(_ frame: PeerFrame, context: ChannelHandlerContext) {
        guard case .hello(let hello) = frame else {
            return reject(context, "the first frame must be hello")
        }
        if let refusal = transport.settings.policy.refusal(of: hello, members: transport.knownMembers) {
            logger.warning(
                "refused peer handshake",
                metadata: [
                    "remote": "\(context.remoteAddress.map { "\($0)" } ?? "?")", "reason": "\(refusal.reason)",
                    "detail": "\(refusal.detail)",
                ])
            context.writeAndFlush(wrapOutboundOut(.helloRejected(refusal))).whenComplete { _ in
                context.close(promise: nil)
            }
            return
        }
        peer = hello.nodeID
        peerIncarnation = hello.incarnation
        transport.noteHello(hello)
        context.writeAndFlush(wrapOutboundOut(.hello(transport.currentHello)), promise: nil)
    }

    /// A well-framed message that makes no sense: logged, counted, and the connection closed.
    private func refuseNonsense(_ context: ChannelHandlerContext, _ problem: String) {
        NodeMetrics.nonsenseMessages.increment()
        reject(context, "message that makes no sense: \(problem)")
    }

    private func reject(_ context: ChannelHandlerContext, _ reason: String) {
        logger.warning(
            "closing peer connection",
            metadata: ["remote": "\(context.remoteAddress.map { "\($0)" } ?? "?")", "reason": "\(reason)"])
        context.close(promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Corrupt, truncated, oversized or unknown frames end up here (WireError).
        if case WireError.badMagic(let found) = error, found.first == 0x16 {
            // 0x16 opens a TLS handshake record: the peer has TLS on and this node has not.
            return reject(context, "the peer speaks TLS and this node has no --tls-cert/--tls-key/--tls-ca: \(error)")
        }
        reject(context, "\(error)")
    }
}
