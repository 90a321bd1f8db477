import ArgumentParser

/// `berth nodes …`: node truth as placement sees it, and operator cordons.
struct NodesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nodes",
        abstract: "List and explain nodes as placement sees them; cordon, uncordon and drain them; sweep orphans.",
        subcommands: [
            NodesListCommand.self, NodesExplainCommand.self, NodesCordonCommand.self,
            NodesUncordonCommand.self, NodesShowCommand.self, NodesDrainCommand.self, NodesOrphansCommand.self,
        ])
}

struct NodesListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "Every node that reported: arch, free capacity, KVM, health, telemetry age, cordon.",
        discussion: CLIError.exitStatusHelp)

    @OptionGroup var client: ClientOptions
    @OptionGroup var read: ReadOptions

    func run() async throws {
        try await runClient(output: client.output) {
            let answer = try await client.client().call("GET", "/api/v1alpha1/nodes" + read.query())
            Output.show(answer, as: client.output, table: NodeTables.list)
        }
    }
}

struct NodesExplainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "One node: resources used and free, health, telemetry age, labels, backends, what it can run.",
        discussion: CLIError.exitStatusHelp)

    @Argument(help: "The node id (the envelope's node_id).") var id: String
    @OptionGroup var client: ClientOptions
    @OptionGroup var read: ReadOptions

    func run() async throws {
        try await runClient(output: client.output) {
            let answer = try await client.client().call(
                "GET", "/api/v1alpha1/nodes/\(Query.escape(id))/explain" + read.query())
            Output.show(answer, as: client.output, table: NodeTables.explain)
        }
    }
}

struct NodesCordonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cordon",
        abstract: "Stop new placements on a node (rejected with NODE_CORDONED); --draining marks it as being emptied.",
        discussion: CLIError.exitStatusHelp)

    @Argument(help: "The node id.") var id: String
    @Flag(help: "Also mark the node as draining.") var draining = false
    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await runClient(output: client.output) {
            let answer = try await client.client().write(
                "/api/v1alpha1/nodes/\(Query.escape(id))/cordon", body: draining ? #"{"draining":true}"# : "{}")
            Output.show(answer, as: client.output, table: NodeTables.cordon)
        }
    }
}

struct NodesUncordonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "uncordon", abstract: "Make a cordoned or draining node schedulable again.",
        discussion: CLIError.exitStatusHelp)

    @Argument(help: "The node id.") var id: String
    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await runClient(output: client.output) {
            let answer = try await client.client().write("/api/v1alpha1/nodes/\(Query.escape(id))/uncordon")
            Output.show(answer, as: client.output, table: NodeTables.cordon)
        }
    }
}
