import NIOCore
import NIOPosix

/// A bare TCP connection to a node's peer port, for sending it bytes no real peer would.
enum RawPeerConnection {
    /// What came back.
    struct Outcome: Sendable {
        /// Every byte the node sent before the connection ended (or the wait ran out).
        var received: ByteBuffer
        /// Whether the node closed the connection (or reset it) within the wait.
        var closedByNode: Bool
    }

    /// Connects to 127.0.0.1:`port`, writes `chunks` in order, then either closes at once
    /// (`closeAfterSending`) or waits up to `wait` for the node to close the connection.
    static func exchange(
        port: Int, sending chunks: [ByteBuffer], closeAfterSending: Bool = false, wait: Duration = .seconds(3)
    ) async throws -> Outcome {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(2))
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            for chunk in chunks {
                // The node may already have closed on an earlier chunk; that is an answer too.
                do { try await outbound.write(chunk) } catch { break }
            }
            if closeAfterSending { return Outcome(received: ByteBuffer(), closedByNode: false) }
            return await withTaskGroup(of: Outcome?.self) { group in
                group.addTask {
                    var received = ByteBuffer()
                    do {
                        for try await var chunk in inbound { received.writeBuffer(&chunk) }
                    } catch {
                        // A reset (the node closed with our bytes unread) is a close as well.
                    }
                    return Task.isCancelled ? nil : Outcome(received: received, closedByNode: true)
                }
                group.addTask {
                    try? await Task.sleep(for: wait)
                    return nil
                }
                let first = await group.next() ?? nil
                group.cancelAll()
                return first ?? Outcome(received: ByteBuffer(), closedByNode: false)
            }
        }
    }
}
