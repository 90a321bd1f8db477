import BerthRaft
import BerthStorage
import Foundation
import Logging
import NIOPosix
import Testing

@testable import BerthServer

/// Restarts of the Raft loop over state the log does not fully explain.
@Suite("raft loop restart")
struct RaftLoopRestartTests {
    /// A snapshot copy is made when it is sent, so it can hold entries past its own index; a
    /// follower that stops before those entries reach its log restarts with its state database
    /// ahead of the log. It must start (not trap on "commit past the log's end") and count from
    /// the log's end.
    @Test("a state database ahead of the raft log (a newer snapshot copy) still starts")
    func stateAheadOfLog() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "berth-loop-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = try ServerConfig.resolve(
            flags: ServerSettings(
                nodeID: 1, dataDir: directory.path, peerListen: "127.0.0.1:1", httpListen: "127.0.0.1:2",
                peers: "1=127.0.0.1:1"),
            environment: [:], file: nil)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let logger = Logger(label: "test")

        let first = try RaftLoop(config: config, eventLoop: group.next(), logger: logger)
        try first.stop().wait()
        // The bootstrap wrote entries 1–2; the state holds entries up to 9 as if from a copy.
        let state = try StateStore(layout: StorageLayout(dataDirectory: directory.path))
        for index in LogIndex(1)...9 {
            _ = try state.apply(index: index, term: 1, command: .noop)
        }

        let second = try RaftLoop(config: config, eventLoop: group.next(), logger: logger)
        let status = try second.status().wait()
        #expect(status.applied == status.lastIndex)
        #expect(status.commit <= status.lastIndex)
        try second.stop().wait()
    }
}
