import BerthRaft
import BerthWire
import Foundation
import NIOCore
import Testing

extension ProcessClusterTests {
    /// Spec §3: "a corrupt, truncated, oversized or unknown frame closes that connection with a
    /// logged reason and never crashes the node".
    @Suite("garbage on the peer port")
    struct GarbagePeerInput {
        /// One kind of bad input and what the node's log must say about it.
        struct Garbage: Sendable, CustomStringConvertible {
            var description: String
            var chunks: [ByteBuffer]
            /// Close our end right after sending (the node sees a truncated frame).
            var closeAfterSending = false
            var logMarker: String
        }

        static func helloFrame(cluster: String) -> ByteBuffer {
            var buffer = ByteBuffer()
            try! PeerFrameCodec.encode(
                .hello(Hello(clusterID: cluster, nodeID: 2, httpAddress: "127.0.0.1:9")), into: &buffer)
            return buffer
        }

        static var cases: [Garbage] {
            var random = SystemRandomNumberGenerator()
            // Never starts with the magic's "B", so it is refused at the first byte.
            let noise = [UInt8(0)] + (1..<512).map { _ in UInt8.random(in: 0...255, using: &random) }

            var badChecksum = helloFrame(cluster: "berth")
            // docs/wire-protocol.md §2: magic 4, version 1, type 1, flags 2, length 4, then CRC32C 4.
            let checksumOffset = 12
            let checksum = badChecksum.getInteger(at: checksumOffset, endianness: .big, as: UInt32.self)!
            badChecksum.setInteger(checksum ^ 0xDEAD_BEEF, at: checksumOffset, endianness: .big)

            var huge = ByteBuffer()
            huge.writeBytes(PeerProtocol.magic)
            huge.writeInteger(PeerProtocol.version)
            huge.writeInteger(FrameType.appendEntries.rawValue)
            huge.writeInteger(UInt16(0))
            huge.writeInteger(UInt32(1 << 30), endianness: .big)  // a 1 GiB payload
            huge.writeInteger(UInt32(0), endianness: .big)
            huge.writeBytes([UInt8](repeating: 0xAB, count: 4096))

            let whole = helloFrame(cluster: "berth")
            let truncated = whole.getSlice(at: 0, length: whole.readableBytes - 5)!

            return [
                Garbage(description: "random bytes", chunks: [ByteBuffer(bytes: noise)], logMarker: "wire.bad_magic"),
                Garbage(
                    description: "a valid header with a bad CRC", chunks: [badChecksum],
                    logMarker: "wire.checksum_mismatch"),
                Garbage(description: "a header claiming a 1 GiB payload", chunks: [huge], logMarker: "wire.oversized"),
                Garbage(
                    description: "a truncated frame, then close", chunks: [truncated], closeAfterSending: true,
                    logMarker: "wire.truncated_frame"),
                Garbage(
                    description: "a hello with the wrong cluster id", chunks: [helloFrame(cluster: "intruders")],
                    logMarker: "refused peer handshake"),
            ]
        }

        @Test(
            "random bytes, a bad CRC, a 1 GiB length, a truncated frame and a foreign hello each close only that connection"
        )
        func garbageIsRefused() async throws {
            try await withServerCluster { cluster in
                let leader = try await cluster.waitForLeader()
                let follower = cluster.ids.first { $0 != leader.id }!
                for target in [follower, leader.id] {
                    for garbage in Self.cases {
                        let context = "node \(target), \(garbage)"
                        let loggedBefore = cluster.logCount(target, garbage.logMarker)
                        let outcome = try await RawPeerConnection.exchange(
                            port: cluster.member(target).peerPort, sending: garbage.chunks,
                            closeAfterSending: garbage.closeAfterSending)
                        if !garbage.closeAfterSending {
                            #expect(outcome.closedByNode, "\(context): the node kept the connection open")
                        }
                        if garbage.logMarker == "refused peer handshake" {
                            var reply = outcome.received
                            let frame = try? PeerFrameCodec.decode(from: &reply)
                            guard case .helloRejected(let rejection)? = frame else {
                                Issue.record(
                                    "\(context): expected a helloRejected answer, got \(String(describing: frame))")
                                continue
                            }
                            #expect(rejection.reason == .wrongCluster, "\(context)")
                        }
                        _ = try await eventually(
                            "\(context): the log to give the reason (\(garbage.logMarker))", within: 5
                        ) {
                            cluster.logCount(target, garbage.logMarker) > loggedBefore ? true : nil
                        }
                        #expect(cluster.local.isRunning(target), "\(context): the node died")
                        let live = try await HTTPCall.get("\(cluster.url(target))/health/live")
                        #expect(live.status == 200, "\(context): \(live)")
                        _ = try await cluster.createAcknowledgedJob(via: target, command: "echo after \(garbage)")
                    }
                }
                #expect(try await cluster.waitForLeader() == leader, "garbage never cost the leader its term")
            }
        }
    }
}
