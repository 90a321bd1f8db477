import ArgumentParser
import Foundation

// `berth nodes show | drain | orphans`: a node's state (lost, drain progress, orphans), workload
// drains and orphan sweeps (docs/operations.md, "Agents: lost nodes, workload drains, orphans").

struct NodesShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "One node's state: lost or not, cordon and drain progress, orphans, what it holds.",
        discussion: CLIError.exitStatusHelp)

    @Argument(help: "The node id.") var id: String
    @OptionGroup var client: ClientOptions
    @OptionGroup var read: ReadOptions

    func run() async throws {
        try await runClient(output: client.output) {
            let answer = try await client.client().call(
                "GET", "/api/v1alpha1/nodes/\(Query.escape(id))" + read.query())
            Output.show(answer, as: client.output, table: NodeTables.state)
        }
    }
}

struct NodesDrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drain",
        abstract:
            "Cordon a node and move its reschedulable launches elsewhere (a replacement first); --cancel stops the drain.",
        discussion: CLIError.exitStatusHelp)

    @Argument(help: "The node id.") var id: String
    @Flag(help: "Stop the drain (the node stays cordoned).") var cancel = false
    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await runClient(output: client.output) {
            let path = "/api/v1alpha1/nodes/\(Query.escape(id))/drain"
            let api = try client.client()
            let answer =
                cancel
                ? try await api.call("DELETE", path, idempotencyKey: "berth-cli-\(UUID().uuidString)")
                : try await api.write(path)
            Output.show(answer, as: client.output, table: NodeTables.cordon)
        }
    }
}

struct NodesOrphansCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "orphans",
        abstract: "The orphans a node's agent reports; --sweep asks the agent to kill exactly those.",
        discussion: CLIError.exitStatusHelp)

    @Argument(help: "The node id.") var id: String
    @Flag(help: "Kill the orphans listed now (nothing else ever kills them).") var sweep = false
    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await runClient(output: client.output) {
            let path = "/api/v1alpha1/nodes/\(Query.escape(id))/orphans"
            let api = try client.client()
            let answer = sweep ? try await api.write(path + "/sweep") : try await api.call("GET", path)
            Output.show(answer, as: client.output, table: NodeTables.orphans)
        }
    }
}
