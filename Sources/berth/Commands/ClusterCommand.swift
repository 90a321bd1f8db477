import ArgumentParser
import BerthControlPlane

/// `berth cluster …`: talk to any node's HTTP API.
struct ClusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster", abstract: "Inspect and operate a Berth cluster.",
        subcommands: [
            ClusterStatusCommand.self, ClusterMembersCommand.self, TransferLeaderCommand.self,
            ClusterDrainCommand.self,
        ])
}

struct ClusterStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show the answering node's view: role, term, leader, commit, members.",
        discussion: CLIError.exitStatusHelp)

    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await runClient(output: client.output) {
            let answer = try await client.client().call("GET", "/api/cluster")
            Output.show(answer, as: client.output, table: Self.table)
        }
    }

    static func table(_ status: JSONValue) -> String {
        let leader = status["leader_id"]?.integer.map { "node \($0)" } ?? "none known"
        let heading =
            "node \(status["node_id"]?.display ?? "?"): \(status["role"]?.text ?? "?"), "
            + "term \(status["current_term"]?.display ?? "?"), leader \(leader), "
            + "commit \(status["commit_index"]?.display ?? "?"), applied \(status["last_applied"]?.display ?? "?")"
        var table = TextTable("NODE", "HTTP", "PEER", "VOTER", "ALIVE", "MATCH")
        for node in status["nodes"]?.items ?? [] {
            table.add(
                node["node_id"]?.display ?? "-", node["address"]?.text ?? "-", node["peer_address"]?.text ?? "-",
                node["voter"]?.display ?? "-", node["is_alive"]?.display ?? "-", node["match_index"]?.display ?? "-")
        }
        return heading + "\n" + table.render()
    }
}

struct TransferLeaderCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transfer", abstract: "Hand leadership to another voter.",
        discussion: CLIError.exitStatusHelp, aliases: ["transfer-leader"])

    @Option(help: "The node that should lead.") var to: UInt64
    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await runClient(output: client.output) {
            let answer = try await client.client().call(
                "POST", "/api/cluster/transfer-leadership", body: "{\"target\":\(to)}")
            Output.show(answer, as: client.output) { "leadership transfer to node \(to): \($0.display)" }
        }
    }
}

struct ClusterDrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drain",
        abstract: "Drain one node: it hands leadership away, fails /health/ready and refuses new writes.",
        discussion: "Run before stopping a node (a Kubernetes preStop hook, a maintenance window) so that "
            + "load balancers take it out of the rotation first.\n\n" + CLIError.exitStatusHelp)

    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await runClient(output: client.output) {
            // Only the first server: the drain applies to whichever node answers, so moving on
            // to another server after a failure would drain the wrong node.
            let servers = try client.serverList()
            let answer = try await APIClient(
                servers: Array(servers.prefix(1)), timeoutSeconds: client.timeout, token: client.bearerToken
            )
            .call("POST", "/api/cluster/drain", body: "{}")
            Output.show(answer, as: client.output) { status in
                let handedTo = status["leadership_handed_to"]?.integer.map { ", leadership handed to node \($0)" }
                return "node \(status["node_id"]?.display ?? "?") is draining\(handedTo ?? "")"
            }
        }
    }
}
