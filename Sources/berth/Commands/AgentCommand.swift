import ArgumentParser
import BerthAgent
import Foundation
import Logging

/// `berth agent`: the node agent (spec §6); `berth agent prepare` checks a spec on this host.
struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent", abstract: "The node agent: report this host, run what is placed on it.",
        subcommands: [AgentRunCommand.self, AgentPrepareCommand.self], defaultSubcommand: AgentRunCommand.self)
}

/// `berth agent [run]`: reports this host to the control plane and runs what the leader places
/// here. Workloads run in their own sessions: stopping the agent (even kill -9) leaves them
/// running, and the next agent on the same --root re-attaches to them.
struct AgentRunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run the node agent (the default): report this host, run what is placed on it.")

    @Option(help: ArgumentHelp("Control-plane servers to try, failing over in order.", valueName: "url[,url…]"))
    var servers: String
    @Option(name: .customLong("node-id"), help: "This node's id ([A-Za-z0-9._-], 1–63 bytes).") var nodeID: String
    @Option(help: "Directory for the agent's state, workload logs and sockets; every path stays under it.")
    var root: String
    @Option(help: ArgumentHelp("Labels to report, k=v,….", valueName: "k=v,…")) var labels: String = ""
    @Option(help: "Report this JSON fingerprint instead of probing the host (tests, demos).") var fixture: String?
    @Option(
        name: .customLong("envelope-interval"), help: "Seconds between envelopes when nothing changed (default 5).")
    var envelopeInterval: Int = 5
    @Option(name: .customLong("poll-wait"), help: "Seconds one action poll waits on the server (1–30).")
    var pollWait: Int = 20
    @Option(
        name: .customLong("output-limit"),
        help: "Bytes of stdout and of stderr kept per process launch; the rest is dropped and counted.")
    var outputLimit: Int64 = 1 << 20
    @Option(name: .customLong("reserved-cpus"), help: "CPUs kept for the host (default 0).") var reservedCPUs = 0
    @Option(name: .customLong("reserved-memory-mib"), help: "Memory kept for the host in MiB (default 256).")
    var reservedMemoryMiB = 256
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"
    @Option(
        help: ArgumentHelp(
            "CA certificate (PEM) that https:// servers' certificates are checked against. "
                + "Default: $BERTH_CA, else the system's trust store.", valueName: "file"))
    var ca: String?

    mutating func validate() throws {
        guard !ServerPool.parse(servers).isEmpty else { throw ValidationError("--servers names no server") }
        guard (1...30).contains(pollWait) else { throw ValidationError("--poll-wait must be 1–30") }
        guard envelopeInterval >= 1 else { throw ValidationError("--envelope-interval must be at least 1") }
        guard outputLimit >= 0 else { throw ValidationError("--output-limit must not be negative") }
        do { _ = try LabelList.parse(labels) } catch { throw ValidationError(error.description) }
        do {
            try ClientTrust.use(caFile: ca, environment: ProcessInfo.processInfo.environment)
        } catch {
            throw ValidationError(error.description)
        }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var configuration = AgentConfiguration(
            servers: ServerPool.parse(servers), nodeID: nodeID, rootPath: root)
        configuration.labels = try LabelList.parse(labels)
        configuration.fixturePath = fixture
        configuration.envelopeInterval = .seconds(envelopeInterval)
        configuration.pollWaitSeconds = pollWait
        configuration.outputLimitBytes = outputLimit
        configuration.reservedCPUs = reservedCPUs
        configuration.reservedMemoryMiB = reservedMemoryMiB
        var logger = Logger(label: "berth.agent")
        logger[metadataKey: "node"] = "\(nodeID)"
        let agent = try Agent(configuration: configuration, logger: logger)
        try await agent.run()
    }
}
