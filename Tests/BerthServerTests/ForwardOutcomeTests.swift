import BerthRaft
import BerthWire
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

@testable import BerthServer

/// Spec §2: "a write whose outcome is not known (the link to the leader broke after it was
/// sent) is answered as such (OUTCOME_UNKNOWN), never as a retryable failure; it is never sent
/// again by the node itself".
@Suite("forward outcomes")
struct ForwardOutcomeTests {
    /// A stand-in leader on the peer port: answers hellos, counts forward frames, and closes the
    /// connection on every forward without answering it.
    final class SilentLeader: ChannelInboundHandler, Sendable {
        typealias InboundIn = PeerFrame
        typealias OutboundOut = PeerFrame
        let forwards = NIOLockedValueBox(0)
        let hello = HandshakePolicy(clusterID: "berth", nodeID: 1).hello(httpAddress: "127.0.0.1:1")

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .hello:
                context.writeAndFlush(wrapOutboundOut(.hello(hello)), promise: nil)
            case .forward:
                forwards.withLockedValue { $0 += 1 }
                context.close(promise: nil)
            default:
                break
            }
        }
    }

    @Test("a forward whose connection closes before the answer is OUTCOME_UNKNOWN and is never re-sent")
    func closedAfterSending() async throws {
        let leader = SilentLeader()
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([
                        ByteToMessageHandler(PeerFrameDecoder(maxFrameBytes: 1 << 20)),
                        MessageToByteHandler(PeerFrameEncoder(maxFrameBytes: 1 << 20)), leader,
                    ])
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        defer { server.close(promise: nil) }
        let port = try #require(server.localAddress?.port)
        let policy = HandshakePolicy(clusterID: "berth", nodeID: 2)
        let transport = PeerTransport(
            settings: .init(
                policy: policy, hello: policy.hello(httpAddress: "127.0.0.1:2"), maxFrameBytes: 1 << 20,
                snapshotChunkBytes: 1 << 16),
            peers: [1: HostPort("127.0.0.1:\(port)")!], group: MultiThreadedEventLoopGroup.singleton,
            logger: Logger(label: "test"))
        defer { Task { await transport.shutdown() } }

        _ = try await eventually("the link to the stand-in leader", within: 5) {
            await transport.isConnected(1) ? true : nil
        }
        let request = ClientRequest.createJob(
            jobID: "01934f1a-2b3c-7fff-8000-000000000001", command: "echo", image: nil, backend: nil,
            maxConcurrentRuns: nil, idempotencyKey: "k",
            requestHash: 1)
        var failure: WriteFailure?
        do {
            _ = try await transport.forward(request.forwardPayload, to: 1, timeout: .seconds(5))
        } catch let error as WriteFailure {
            failure = error
        }
        guard case .outcomeUnknown? = failure else {
            Issue.record("expected outcomeUnknown, got \(String(describing: failure))")
            return
        }
        #expect(APIError.from(failure!).code == "OUTCOME_UNKNOWN")
        #expect(APIError.from(failure!).retryAfterSeconds == nil)
        // The link reconnects; the frame must not go out again.
        _ = try await eventually("the link to reconnect", within: 5) { await transport.isConnected(1) ? true : nil }
        try await Task.sleep(for: .milliseconds(300))
        #expect(leader.forwards.withLockedValue { $0 } == 1)
    }

    /// A stand-in leader whose first connection stops reading after the hello, so the sender's
    /// frames pile up in its queue; the test then closes that connection.
    final class StalledLeader: ChannelInboundHandler, Sendable {
        typealias InboundIn = PeerFrame
        typealias OutboundOut = PeerFrame
        let forwards: NIOLockedValueBox<Int>
        let stalled: NIOLockedValueBox<(any Channel)?>
        let hello = HandshakePolicy(clusterID: "berth", nodeID: 1).hello(httpAddress: "127.0.0.1:1")

        init(forwards: NIOLockedValueBox<Int>, stalled: NIOLockedValueBox<(any Channel)?>) {
            self.forwards = forwards
            self.stalled = stalled
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .hello:
                context.writeAndFlush(wrapOutboundOut(.hello(hello)), promise: nil)
                let first = stalled.withLockedValue { current -> Bool in
                    guard current == nil else { return false }
                    current = context.channel
                    return true
                }
                if first { context.channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in } }
            case .forward:
                forwards.withLockedValue { $0 += 1 }
            default:
                break
            }
        }
    }

    @Test("a forward still queued when the connection closes fails as not sent, and is not sent after the reconnect")
    func queuedWhenClosed() async throws {
        let forwards = NIOLockedValueBox(0)
        let stalled = NIOLockedValueBox<(any Channel)?>(nil)
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([
                        ByteToMessageHandler(PeerFrameDecoder(maxFrameBytes: 4 << 20)),
                        MessageToByteHandler(PeerFrameEncoder(maxFrameBytes: 4 << 20)),
                        StalledLeader(forwards: forwards, stalled: stalled),
                    ])
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        defer { server.close(promise: nil) }
        let port = try #require(server.localAddress?.port)
        let policy = HandshakePolicy(clusterID: "berth", nodeID: 2)
        let transport = PeerTransport(
            settings: .init(
                policy: policy, hello: policy.hello(httpAddress: "127.0.0.1:2"), maxFrameBytes: 4 << 20,
                snapshotChunkBytes: 1 << 16),
            peers: [1: HostPort("127.0.0.1:\(port)")!], group: MultiThreadedEventLoopGroup.singleton,
            logger: Logger(label: "test"))
        defer { Task { await transport.shutdown() } }
        _ = try await eventually("the link to the stand-in leader", within: 5) {
            await transport.isConnected(1) ? true : nil
        }
        // 64 MiB of appends the leader never reads: the socket fills and frames start to queue.
        let big = Entry(term: 1, index: 1, payload: .command([UInt8](repeating: 7, count: 1 << 20)))
        let appends = (0..<64).map { _ in
            Message(
                from: 2, to: 1, term: 1,
                body: .appendEntries(AppendEntries(prevIndex: 0, prevTerm: 0, entries: [big], commit: 0)))
        }
        transport.send(appends)
        try await Task.sleep(for: .milliseconds(300))
        let request = ClientRequest.createJob(
            jobID: "01934f1a-2b3c-7fff-8000-000000000001", command: "echo", image: nil, backend: nil,
            maxConcurrentRuns: nil, idempotencyKey: "k",
            requestHash: 1)
        let forwarded = Task { try await transport.forward(request.forwardPayload, to: 1, timeout: .seconds(10)) }
        try await Task.sleep(for: .milliseconds(200))
        try await stalled.withLockedValue { $0 }?.close()
        var failure: WriteFailure?
        do { _ = try await forwarded.value } catch let error as WriteFailure { failure = error }
        guard case .forwardFailed? = failure else {
            Issue.record("expected forwardFailed (never sent), got \(String(describing: failure))")
            return
        }
        _ = try await eventually("the link to reconnect", within: 5) { await transport.isConnected(1) ? true : nil }
        try await Task.sleep(for: .milliseconds(500))
        #expect(forwards.withLockedValue { $0 } == 0, "the queued forward went out after the reconnect")
    }
}
