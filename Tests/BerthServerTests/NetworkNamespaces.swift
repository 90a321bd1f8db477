import BerthRaft
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Three `berth server` processes, each in a network namespace of its own, joined by a bridge
/// on a private subnet: the only way to cut a node off the way a real network does — packets
/// silently dropped, connections left open but stuck. The nodes know each other's MAC
/// addresses as permanent neighbour entries; `cut(_:)` blackholes the entries between the node
/// and the others (their packets go to a MAC nobody has), `heal(_:)` restores them. No kernel
/// module is needed, and no ARP retry timer hides how fast Berth itself reconnects.
/// Everything is removed by `shutdown()`.
final class NamespacedCluster: @unchecked Sendable {
    let ids: [NodeID] = [1, 2, 3]
    /// A per-instance suffix, so concurrent runs and leftovers never clash (names ≤ 15 bytes).
    let tag: String
    let subnet: Int
    let baseDir: String
    private var processes: [NodeID: Process] = [:]
    private let binary: String

    /// Whether this machine lets the tests make network namespaces (root, iproute2).
    static let available: Bool = {
        let name = "berth-probe-\(getpid() % 100_000)"
        guard (try? NamespacedCluster.run(["ip", "netns", "add", name])) != nil else { return false }
        _ = try? NamespacedCluster.run(["ip", "netns", "del", name])
        return true
    }()

    init() throws {
        binary = try BerthBinary.path()
        tag = String(UInt32.random(in: 0..<0xFFFF), radix: 16)
        subnet = Int.random(in: 10...250)
        baseDir = NSTemporaryDirectory() + "berth-netns-\(tag)"
        try FileManager.default.createDirectory(atPath: baseDir, withIntermediateDirectories: true)
        try Self.run(["ip", "link", "add", bridge, "type", "bridge"])
        try Self.run(["ip", "addr", "add", "10.77.\(subnet).254/24", "dev", bridge])
        try Self.run(["ip", "link", "set", bridge, "up"])
        for id in ids {
            try Self.run(["ip", "netns", "add", namespace(id)])
            try Self.run(["ip", "link", "add", hostSide(id), "type", "veth", "peer", "name", nodeSide(id)])
            try Self.run(["ip", "link", "set", nodeSide(id), "netns", namespace(id)])
            try Self.run(["ip", "link", "set", hostSide(id), "master", bridge])
            try Self.run(["ip", "link", "set", hostSide(id), "up"])
            try inNamespace(id, ["ip", "addr", "add", "\(address(id))/24", "dev", nodeSide(id)])
            try inNamespace(id, ["ip", "link", "set", nodeSide(id), "up"])
            try inNamespace(id, ["ip", "link", "set", "lo", "up"])
        }
        for id in ids {
            let mac = try Self.output([
                "ip", "netns", "exec", namespace(id), "cat", "/sys/class/net/\(nodeSide(id))/address",
            ])
            macs[id] = mac.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        for id in ids { try setNeighbours(of: id, blackholing: []) }
    }

    private var macs: [NodeID: String] = [:]
    private static let blackhole = "02:00:00:00:be:ef"

    /// Permanent neighbour entries in `id`'s namespace for every other node, blackholed for
    /// the nodes in `cut`.
    private func setNeighbours(of id: NodeID, blackholing cut: Set<NodeID>) throws {
        for other in ids where other != id {
            let mac = cut.contains(other) ? Self.blackhole : macs[other]!
            try inNamespace(
                id, ["ip", "neigh", "replace", address(other), "lladdr", mac, "dev", nodeSide(id), "nud", "permanent"])
        }
    }

    deinit { shutdown() }

    var bridge: String { "bb\(tag)" }
    func namespace(_ id: NodeID) -> String { "berth-\(tag)-\(id)" }
    func hostSide(_ id: NodeID) -> String { "bh\(tag)\(id)" }
    func nodeSide(_ id: NodeID) -> String { "bn\(tag)\(id)" }
    func address(_ id: NodeID) -> String { "10.77.\(subnet).\(id)" }
    func url(_ id: NodeID) -> String { "http://\(address(id)):8100" }
    func logPath(_ id: NodeID) -> String { "\(baseDir)/n\(id).log" }

    func start(_ id: NodeID) throws {
        let peers = ids.map { "\($0)=\(address($0)):7100" }.joined(separator: ",")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        process.arguments = [
            "netns", "exec", namespace(id), binary, "server", "--node-id", "\(id)", "--data-dir", "\(baseDir)/n\(id)",
            "--peer-listen", "\(address(id)):7100", "--http-listen", "\(address(id)):8100", "--peers", peers,
        ]
        FileManager.default.createFile(atPath: logPath(id), contents: nil)
        let log = FileHandle(forWritingAtPath: logPath(id))
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        processes[id] = process
    }

    /// Packets between node `id` and the other nodes are dropped from now on, both ways,
    /// without an error to anyone.
    func cut(_ id: NodeID) throws {
        try setNeighbours(of: id, blackholing: Set(ids))
        for other in ids where other != id { try setNeighbours(of: other, blackholing: [id]) }
    }

    func heal(_ id: NodeID) throws {
        for node in ids { try setNeighbours(of: node, blackholing: []) }
    }

    func status(_ id: NodeID) async throws -> ClusterStatus {
        let answer = try await HTTPCall.get("\(url(id))/api/cluster", timeoutSeconds: 1)
        guard answer.status == 200 else { throw UnexpectedAnswer(context: "GET /api/cluster on \(id)", answer: answer) }
        return try JSONDecoder().decode(ClusterStatus.self, from: Data(answer.body.utf8))
    }

    func logTail(_ id: NodeID, lines: Int = 30) -> String {
        let text = (try? String(contentsOfFile: logPath(id), encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }

    func shutdown() {
        for (_, process) in processes where process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        processes = [:]
        for id in ids {
            _ = try? Self.run(["ip", "netns", "del", namespace(id)])
            _ = try? Self.run(["ip", "link", "del", hostSide(id)])
        }
        _ = try? Self.run(["ip", "link", "del", bridge])
        try? FileManager.default.removeItem(atPath: baseDir)
    }

    private func inNamespace(_ id: NodeID, _ command: [String]) throws {
        try Self.run(["ip", "netns", "exec", namespace(id)] + command)
    }

    struct CommandFailed: Error, CustomStringConvertible {
        let command: [String]
        let status: Int32
        var description: String { "\(command.joined(separator: " ")) exited \(status)" }
    }

    static func output(_ command: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CommandFailed(command: command, status: process.terminationStatus)
        }
        return String(decoding: data, as: UTF8.self)
    }

    @discardableResult
    static func run(_ command: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CommandFailed(command: command, status: process.terminationStatus)
        }
        return 0
    }
}
