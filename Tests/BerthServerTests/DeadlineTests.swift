import BerthRaft
import Foundation
import NIOCore
import NIOPosix
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension ProcessClusterTests {
    /// Issue 8, "deadlines and bounds everywhere".
    @Suite("deadlines and bounds")
    struct Deadlines {
        /// Sends `head` on a raw connection to `port` and returns what came back once it holds
        /// `until`, or whatever came within `wait`.
        static func rawExchange(port: Int, head: String, until marker: String, wait: Duration) async throws -> String {
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: "127.0.0.1", port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
            return try await channel.executeThenClose { inbound, outbound in
                try await outbound.write(ByteBuffer(string: head))
                return await withTaskGroup(of: String?.self) { group in
                    group.addTask {
                        var received = ""
                        do {
                            for try await chunk in inbound {
                                received += String(buffer: chunk)
                                if received.contains(marker) { return received }
                            }
                        } catch {}
                        return received
                    }
                    group.addTask {
                        try? await Task.sleep(for: wait)
                        return nil
                    }
                    let first = await group.next() ?? nil
                    group.cancelAll()
                    return first ?? ""
                }
            }
        }

        @Test("a body declared over the limit gets 413 at once, before any of it is sent")
        func declaredTooLarge() async throws {
            try await withServerCluster(size: 1) { cluster in
                let port = cluster.member(1).httpPort
                let startedAt = Date()
                let answer = try await Self.rawExchange(
                    port: port,
                    head:
                        "POST /api/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10485760\r\nExpect: 100-continue\r\n\r\n",
                    until: "TOO_LARGE", wait: .seconds(5))
                #expect(answer.hasPrefix("HTTP/1.1 413"), "\(answer.prefix(200))")
                #expect(answer.contains("TOO_LARGE"))
                #expect(secondsSince(startedAt) < 1, "answered after \(secondsSince(startedAt)) s")
            }
        }

        @Test("a node cut off from its leader answers writes 503 naming the leader it knew last")
        func leaderHintWhenCutOff() async throws {
            try await withServerCluster { cluster in
                let leader = try await cluster.waitForLeader()
                let others = cluster.ids.filter { $0 != leader.id }
                try cluster.send(SIGSTOP, to: leader.id)
                try cluster.send(SIGSTOP, to: others[1])
                defer {
                    try? cluster.send(SIGCONT, to: leader.id)
                    try? cluster.send(SIGCONT, to: others[1])
                }
                let alone = others[0]
                _ = try await eventually("node \(alone) to lose its leader", within: 5) { () -> Bool? in
                    try await cluster.status(alone).leaderID == nil ? true : nil
                }
                let answer = try await cluster.createJob(via: alone, command: "echo alone")
                #expect(answer.status == 503, "\(answer)")
                #expect(answer.errorCode == "NO_LEADER", "\(answer)")
                #expect(answer.integer("leader_hint") == leader.id, "\(answer)")
            }
        }

        @Test("a linearizable read on a node that cannot catch up answers 504 READ_TIMEOUT within the deadline")
        func consistentReadTimesOut() async throws {
            try await withServerCluster(environment: ["BERTH_TEST_HOOKS": "1"]) { cluster in
                let leader = try await cluster.waitForLeader()
                let slow = cluster.ids.first { $0 != leader.id }!
                // Every log write on `slow` now takes 8 s: it cannot apply what commits meanwhile.
                let slowed = try await HTTPCall.post(
                    "\(cluster.url(slow))/debug/fsync-delay", json: "{\"milliseconds\":8000}")
                #expect(slowed.status == 200, "\(slowed)")
                _ = try await cluster.createAcknowledgedJob(via: leader.id, command: "echo ahead")
                let startedAt = Date()
                let read = try await HTTPCall.get("\(cluster.url(slow))/api/jobs?consistent=true", timeoutSeconds: 15)
                let seconds = secondsSince(startedAt)
                #expect(read.status == 504, "\(read)")
                #expect(read.errorCode == "READ_TIMEOUT", "\(read)")
                #expect(seconds < 7, "answered after \(seconds) s")
                _ = try await HTTPCall.post("\(cluster.url(slow))/debug/fsync-delay", json: "{\"milliseconds\":0}")
            }
        }

        @Test("a peer connection that never says hello is closed within the hello deadline")
        func silentPeerConnectionClosed() async throws {
            try await withServerCluster(size: 1) { cluster in
                let startedAt = Date()
                let outcome = try await RawPeerConnection.exchange(
                    port: cluster.member(1).peerPort, sending: [], wait: .seconds(6))
                #expect(outcome.closedByNode, "the silent connection stayed open")
                #expect(secondsSince(startedAt) < 4, "closed after \(secondsSince(startedAt)) s")
                #expect(cluster.logCount(1, "no hello within the timeout") >= 1)
            }
        }

        @Test("an idle HTTP connection is closed; past the connection cap a new client waits until one closes")
        func httpIdleTimeoutAndCap() async throws {
            try await withServerCluster(
                size: 1, extraArguments: ["--http-idle-timeout", "1", "--http-max-connections", "2"]
            ) { cluster in
                let port = cluster.member(1).httpPort
                let request = "GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n"
                // An idle keep-alive connection is closed by the node after about a second.
                let startedAt = Date()
                let head = ByteBuffer(string: request)
                let idle = try await RawPeerConnection.exchange(port: port, sending: [head], wait: .seconds(5))
                #expect(idle.closedByNode, "the idle connection stayed open")
                #expect(secondsSince(startedAt) < 3, "closed after \(secondsSince(startedAt)) s")
                // Two held connections fill the cap: a third client gets no answer until one goes.
                async let first = RawPeerConnection.exchange(
                    port: port, sending: [ByteBuffer(string: request)], wait: .milliseconds(2500))
                async let second = RawPeerConnection.exchange(
                    port: port, sending: [ByteBuffer(string: request)], wait: .milliseconds(2500))
                try await Task.sleep(for: .milliseconds(300))
                let blockedAt = Date()
                let third = try await Self.rawExchange(port: port, head: request, until: "\r\n\r\n", wait: .seconds(6))
                let waited = secondsSince(blockedAt)
                _ = try await (first, second)
                #expect(third.hasPrefix("HTTP/1.1 200"), "\(third.prefix(100))")
                #expect(waited > 0.5, "the third connection was served at once (\(waited) s) although two were open")
            }
        }
    }
}
