import ArgumentParser
import BerthControlPlane
import Foundation

/// `berth cluster members …`: the Raft membership (voters and learners) and its changes, one
/// server at a time (docs/operations.md, "Add or remove a node").
struct ClusterMembersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "members", abstract: "List, add and remove cluster members.",
        subcommands: [MembersListCommand.self, MembersAddCommand.self, MembersRemoveCommand.self],
        defaultSubcommand: MembersListCommand.self)
}

struct MembersListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "Every member: id, addresses, voter or learner, reachable, replication match.",
        discussion: CLIError.exitStatusHelp)

    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await runClient(output: client.output) {
            let answer = try await client.client().call("GET", "/api/cluster")
            Output.show(answer, as: client.output) { Self.table($0["nodes"] ?? .array([])) }
        }
    }

    static func table(_ nodes: JSONValue) -> String {
        var table = TextTable("NODE", "ROLE", "HTTP", "PEER", "ALIVE", "MATCH", "INCARNATION")
        for node in nodes.items ?? [] {
            var role = node["voter"]?.boolean == false ? "learner" : "voter"
            if node["unadmitted_incarnation"] != nil { role += " (lost its disk)" }
            table.add(
                node["node_id"]?.display ?? "-", role, node["address"]?.text ?? "-", node["peer_address"]?.text ?? "-",
                node["is_alive"]?.display ?? "-", node["match_index"]?.display ?? "-",
                node["incarnation"]?.text ?? "-")
        }
        return table.render()
    }
}

struct MembersAddCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Add a node: it joins as a learner, catches up, and is promoted to voter.",
        discussion: "Start the new node first (`berth server --join …`), then add it here.\n\n"
            + CLIError.exitStatusHelp)

    @Argument(help: "The new member's node id.") var id: UInt64
    @Option(help: "Its peer address, host:port.") var peer: String
    @Option(help: "Its HTTP address, host:port.") var http: String
    @Option(help: "Its incarnation (16 hex digits, as `cluster members` shows); by default the one it said hello with.")
    var incarnation: String?
    @OptionGroup var client: ClientOptions

    func run() async throws {
        var body: [String: Any] = ["node_id": id, "peer_address": peer, "http_address": http]
        if let incarnation { body["incarnation"] = incarnation }
        let json = String(
            decoding: try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys]), as: UTF8.self)
        try await runClient(output: client.output) {
            let answer = try await client.client().call("POST", "/api/cluster/members", body: json)
            Output.show(answer, as: client.output) { _ in "node \(id) added (a learner until it catches up)" }
        }
    }
}

struct MembersRemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove", abstract: "Remove a member from the configuration.",
        discussion: "Transfer leadership away first when removing the leader.\n\n" + CLIError.exitStatusHelp)

    @Argument(help: "The member's node id.") var id: UInt64
    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await runClient(output: client.output) {
            let answer = try await client.client().call("DELETE", "/api/cluster/members/\(id)")
            Output.show(answer, as: client.output) { _ in "node \(id) removed" }
        }
    }
}
