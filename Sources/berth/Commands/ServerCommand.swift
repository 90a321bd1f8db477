import ArgumentParser
import BerthServer
import Foundation
import Logging

/// `berth server`: one control-plane node. Flags win over `BERTH_*` environment variables,
/// which win over the YAML `--config` file.
struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server", abstract: "Run one control-plane node (Raft peer port, HTTP API, data dir).")

    @Option(help: "YAML config file; keys are the flag names.") var config: String?
    @Option(name: .customLong("node-id"), help: "This node's id, an integer ≥ 1.") var nodeID: UInt64?
    @Option(name: .customLong("data-dir"), help: "Where the log, snapshots and state live.") var dataDir: String?
    @Option(name: .customLong("peer-listen"), help: "Binary Raft peer port, HOST:PORT.") var peerListen: String?
    @Option(name: .customLong("http-listen"), help: "HTTP API and probes, HOST:PORT (default 127.0.0.1:8101).")
    var httpListen: String?
    @Option(help: "Initial voters: ID=HOST:PORT,… (this node included).") var peers: String?
    @Option(name: .customLong("cluster-id"), help: "Refuse peers of any other cluster (default berth).")
    var clusterID: String?
    @Option(help: "Start empty and ask the cluster at this URL to add this node.") var join: String?
    @Option(name: .customLong("tick-ms"), help: "Raft tick length in ms (default 10).") var tickMilliseconds: Int?
    @Option(name: .customLong("election-ticks"), help: "Election timeout in ticks (default 10).") var electionTicks:
        Int?
    @Option(name: .customLong("heartbeat-ticks"), help: "Heartbeat interval in ticks (default 2).")
    var heartbeatTicks: Int?
    @Option(name: .customLong("snapshot-threshold"), help: "Snapshot every N applied entries (default 8192).")
    var snapshotThreshold: Int?
    @Option(name: .customLong("snapshot-chunk-bytes"), help: "InstallSnapshot chunk size (default 1 MiB).")
    var snapshotChunkBytes: Int?
    @Option(name: .customLong("snapshot-retain-entries"), help: "Entries kept behind a snapshot (default 1024).")
    var snapshotRetainEntries: Int?
    @Option(name: .customLong("http-idle-timeout"), help: "Seconds an idle HTTP connection is kept (default 60).")
    var httpIdleTimeout: Int?
    @Option(name: .customLong("http-max-connections"), help: "Most HTTP connections open at once (default 4096).")
    var httpMaxConnections: Int?
    @Option(
        name: .customLong("telemetry-max-age"),
        help: "Seconds after which a node's telemetry is stale for placement (default 60).")
    var telemetryMaxAge: Int?
    @Option(
        name: .customLong("node-lost-after"),
        help: "Seconds of agent silence after which the leader declares its node lost (default 90).")
    var nodeLostAfter: Int?
    @Option(
        name: .customLong("token-file"),
        help: "Bearer tokens for the API, one 'TOKEN ROLE' per line (role: read, write or admin).")
    var tokenFile: String?
    @Flag(name: .customLong("auth-reads"), help: "Reads need a token too (a read token at least).")
    var authReads = false
    @Option(
        name: .customLong("tls-cert"),
        help: "This node's certificate (PEM), signed by --tls-ca: mutual TLS on peer links, HTTPS on the API.")
    var tlsCert: String?
    @Option(name: .customLong("tls-key"), help: "The private key (PEM) of --tls-cert.") var tlsKey: String?
    @Option(
        name: .customLong("tls-ca"), help: "The cluster CA (PEM): peers whose certificate it did not sign are refused.")
    var tlsCA: String?
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"
    @Option(
        name: .customLong("log-format"),
        help: "text or json: one line per event, with node id, term and request id (default text).")
    var logFormat: String?

    func run() async throws {
        let flags = ServerSettings(
            nodeID: nodeID, dataDir: dataDir, peerListen: peerListen, httpListen: httpListen, peers: peers,
            clusterID: clusterID, join: join, tickMilliseconds: tickMilliseconds, electionTicks: electionTicks,
            heartbeatTicks: heartbeatTicks, snapshotThresholdEntries: snapshotThreshold,
            snapshotChunkBytes: snapshotChunkBytes, snapshotRetainEntries: snapshotRetainEntries,
            httpIdleTimeoutSeconds: httpIdleTimeout, httpMaxConnections: httpMaxConnections,
            telemetryMaxAgeSeconds: telemetryMaxAge, tokenFile: tokenFile, authReads: authReads ? true : nil,
            logFormat: logFormat, nodeLostAfterSeconds: nodeLostAfter, tlsCert: tlsCert, tlsKey: tlsKey, tlsCA: tlsCA)
        let resolved: ServerConfig
        do {
            let file = try config.map { path throws(ConfigError) in try ServerSettings.load(path: path) }
            resolved = try ServerConfig.resolve(
                flags: flags, environment: ProcessInfo.processInfo.environment, file: file)
        } catch {
            throw ValidationError("\(error)")
        }
        let level = Logger.Level(rawValue: logLevel) ?? .info
        let format = resolved.logFormat
        let provider = LogContext.metadataProvider(nodeID: resolved.nodeID)
        LoggingSystem.bootstrap { label in
            BerthLogHandler(label: label, format: format, level: level, metadataProvider: provider)
        }
        try await runServer(config: resolved, logger: Logger(label: "berth.n\(resolved.nodeID)"))
    }
}
