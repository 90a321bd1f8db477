import ArgumentParser

/// `berth cluster …`: talk to any node's HTTP API.
struct ClusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster", abstract: "Inspect and operate a Berth cluster.",
        subcommands: [ClusterStatusCommand.self, TransferLeaderCommand.self])
}

struct ClusterStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show cluster status.")
    @Option(help: "Any node's (or the load balancer's) HTTP URL.") var server = "http://127.0.0.1:8101"

    func run() async throws {
        let (status, body) = try await HTTP.request("GET", "\(server)/api/cluster")
        print(body)
        if status != 200 { throw ExitCode.failure }
    }
}

struct TransferLeaderCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transfer-leader", abstract: "Hand leadership to another voter.")
    @Option(help: "Any node's HTTP URL.") var server = "http://127.0.0.1:8101"
    @Option(help: "The node that should lead.") var to: UInt64

    func run() async throws {
        let (status, body) = try await HTTP.request(
            "POST", "\(server)/api/cluster/transfer-leadership", body: "{\"target\":\(to)}")
        print(body)
        if status != 200 { throw ExitCode.failure }
    }
}
