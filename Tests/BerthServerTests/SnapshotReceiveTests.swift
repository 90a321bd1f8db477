import BerthRaft
import BerthWire
import Foundation
import Logging
import NIOPosix
import Testing

@testable import BerthServer

/// Issue 8: receiving a snapshot used to copy the whole buffer for every chunk (quadratic) and
/// held it all in memory. Chunks now go straight to a file.
@Suite("snapshot receive")
struct SnapshotReceiveTests {
    /// The resident set size of this process, in bytes.
    static func residentBytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kilobytes = Int(line.split(separator: " ").dropFirst().first ?? "")
        else { return 0 }
        return kilobytes * 1024
    }

    static func transport(directory: String) -> PeerTransport {
        let policy = HandshakePolicy(clusterID: "berth", nodeID: 1)
        return PeerTransport(
            settings: .init(
                policy: policy, hello: policy.hello(httpAddress: "127.0.0.1:1"), maxFrameBytes: 4 << 20,
                snapshotChunkBytes: 1 << 20, incomingSnapshotDirectory: directory),
            peers: [:], group: MultiThreadedEventLoopGroup.singleton, logger: Logger(label: "test"))
    }

    static func chunk(term: UInt64 = 3, offset: UInt64, total: UInt64, data: [UInt8]) -> SnapshotChunk {
        SnapshotChunk(
            from: 2, to: 1, term: term,
            metadata: WireSnapshotMetadata(
                index: 100, term: term, configuration: WireConfiguration(voters: [1, 2, 3])),
            totalBytes: total, offset: offset, data: data, isLast: offset + UInt64(data.count) == total)
    }

    @Test("a 128 MiB snapshot arrives in a file; memory grows by far less than its size, and the bytes are whole")
    func boundedMemory() throws {
        let directory = NSTemporaryDirectory() + "berth-incoming-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let transport = Self.transport(directory: directory)
        let chunkBytes = 1 << 20
        let total = UInt64(128 * chunkBytes)
        var data = [UInt8](repeating: 0, count: chunkBytes)
        let before = Self.residentBytes()
        var peak = before
        var completed: WireMessage?
        let startedAt = Date()
        var offset: UInt64 = 0
        while offset < total {
            // Each chunk's bytes say where they belong, so the check below catches misplaced ones.
            for i in stride(from: 0, to: chunkBytes, by: 8) {
                withUnsafeBytes(of: (offset + UInt64(i)).littleEndian) { word in
                    for j in 0..<8 { data[i + j] = word[j] }
                }
            }
            let received = try transport.receiveSnapshotChunk(
                Self.chunk(offset: offset, total: total, data: data), from: 2)
            if let message = received.completed { completed = message }
            offset += UInt64(chunkBytes)
            peak = max(peak, Self.residentBytes())
        }
        let seconds = secondsSince(startedAt)
        print(
            "snapshot receive: 128 MiB in \(String(format: "%.2f", seconds)) s, resident growth \((peak - before) >> 20) MiB"
        )
        #expect(peak - before < 48 << 20, "resident memory grew by \((peak - before) >> 20) MiB")
        guard case .installSnapshot(let snapshot)? = completed?.body,
            let path = ReceivedSnapshotToken.path(in: snapshot.data)
        else {
            Issue.record("no completed snapshot: \(String(describing: completed))")
            return
        }
        let handle = try #require(FileHandle(forReadingAtPath: path))
        defer { try? handle.close() }
        #expect(try handle.seekToEnd() == total)
        for probe: UInt64 in [0, 8, total / 2, total - 8] {
            try handle.seek(toOffset: probe)
            let word = try #require(try handle.read(upToCount: 8))
            #expect(word.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) } == probe.littleEndian)
        }
    }

    @Test("a partial snapshot is dropped when its peer starts another, and when the peer leaves")
    func abandonedPartialRemoved() throws {
        let directory = NSTemporaryDirectory() + "berth-incoming-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let transport = Self.transport(directory: directory)
        let partial = directory + "/from-2.partial"
        _ = try transport.receiveSnapshotChunk(
            Self.chunk(term: 3, offset: 0, total: 1 << 20, data: [UInt8](repeating: 1, count: 1 << 19)), from: 2)
        #expect(FileManager.default.fileExists(atPath: partial))
        #expect((try FileManager.default.attributesOfItem(atPath: partial)[.size] as? Int) == 1 << 19)
        // A new leader (term 4) starts another snapshot: the first one's bytes are gone.
        _ = try transport.receiveSnapshotChunk(
            Self.chunk(term: 4, offset: 0, total: 1 << 20, data: [UInt8](repeating: 2, count: 10)), from: 2)
        #expect((try FileManager.default.attributesOfItem(atPath: partial)[.size] as? Int) == 10)
        transport.addPeer(2, address: HostPort("127.0.0.1:1")!)
        transport.removePeer(2)
        #expect(!FileManager.default.fileExists(atPath: partial))
    }

    @Test("a node starts with no leftover received snapshot in its data dir")
    func leftoversRemovedAtStart() throws {
        let base = NSTemporaryDirectory() + "berth-leftovers-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: base) }
        let incoming = base + "/state/incoming"
        try FileManager.default.createDirectory(atPath: incoming, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: incoming + "/from-3.partial", contents: Data([1, 2, 3]))
        let config = try ServerConfig.resolve(
            flags: ServerSettings(
                nodeID: 1, dataDir: base, peerListen: "127.0.0.1:1", httpListen: "127.0.0.1:2", peers: "1=127.0.0.1:1"),
            environment: [:], file: nil)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        _ = try RaftLoop(config: config, eventLoop: group.next(), logger: Logger(label: "test"))
        #expect(!FileManager.default.fileExists(atPath: incoming + "/from-3.partial"))
    }
}
