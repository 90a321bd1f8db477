import NIOCore
import NIOSSL
import NIOTLS

/// In front of a TLS listener's `NIOSSLServerHandler`: a connection whose first byte does not
/// start a TLS handshake record is a plaintext peer (a node started without `--tls-*`, whose
/// hello begins with the frame magic). It is refused with that reason, rather than the TLS
/// library's parse error, so an operator sees at once which node lacks its TLS flags.
final class PeerPlaintextGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// The content type of a TLS handshake record (RFC 8446 §5.1).
    private static let handshakeRecord: UInt8 = 0x16
    private let tls: PeerTLS
    private var refused = false

    init(tls: PeerTLS) {
        self.tls = tls
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        guard !refused, let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else { return }
        guard first == Self.handshakeRecord else {
            refused = true
            tls.refused(
                direction: .inbound, remote: context.remoteAddress, reason: "plaintext",
                detail: "the peer sent no TLS handshake: started without --tls-cert/--tls-key/--tls-ca?")
            context.close(promise: nil)
            return
        }
        // Seen once is enough: TLS carries everything after this.
        context.fireChannelRead(data)
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        // Not passed on after a refusal: the TLS handler would report the close as a second
        // refusal ("EOF during handshake") of the same connection.
        guard !refused else { return }
        context.fireChannelInactive()
    }
}

/// Behind a peer connection's `NIOSSLHandler`: a handshake that fails (an untrusted or missing
/// certificate, a peer that is not speaking TLS) is reported once, with its reason, and the
/// connection closed; errors after the handshake go on to the peer handlers as before.
final class PeerHandshakeGuard: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let tls: PeerTLS
    private let direction: PeerTLS.Direction
    private var handshakeDone = false
    private var reported = false

    init(tls: PeerTLS, direction: PeerTLS.Direction) {
        self.tls = tls
        self.direction = direction
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted = event as? TLSUserEvent { handshakeDone = true }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard !handshakeDone else {
            context.fireErrorCaught(error)
            return
        }
        if !reported {
            reported = true
            tls.refused(
                direction: direction, remote: context.remoteAddress, reason: PeerTLS.reason(for: error),
                detail: "\(error)")
        }
        context.close(promise: nil)
    }
}
