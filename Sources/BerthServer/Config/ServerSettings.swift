import BerthRaft

/// One source of server settings (flags, environment or the YAML file): every field optional,
/// so sources can be layered — flags over environment over file over defaults (spec §1).
public struct ServerSettings: Codable, Equatable, Sendable {
    /// This node's id, ≥ 1.
    public var nodeID: UInt64?
    /// Where the log, hard state, snapshots and SQLite state live.
    public var dataDir: String?
    /// The binary Raft peer port, `HOST:PORT`.
    public var peerListen: String?
    /// The HTTP API and probes, `HOST:PORT`.
    public var httpListen: String?
    /// The initial voters' peer addresses, `ID=HOST:PORT,…`, this node included.
    public var peers: String?
    /// Peers of any other cluster id are refused.
    public var clusterID: String?
    /// Start empty and ask the cluster at this URL to add this node as a learner.
    public var join: String?
    /// Tuning (`--tick-ms`, `--election-ticks`, `--heartbeat-ticks`, `--snapshot-threshold`,
    /// `--snapshot-chunk-bytes`): defaults suit a LAN; tests shrink the snapshot knobs.
    public var tickMilliseconds: Int?
    public var electionTicks: Int?
    public var heartbeatTicks: Int?
    public var snapshotThresholdEntries: Int?
    public var snapshotChunkBytes: Int?
    public var snapshotRetainEntries: Int?
    /// Seconds an idle HTTP connection is kept (`--http-idle-timeout`), and the most HTTP
    /// connections held open at once (`--http-max-connections`).
    public var httpIdleTimeoutSeconds: Int?
    public var httpMaxConnections: Int?
    /// Seconds after which a node's telemetry is stale and placement rejects it
    /// (`--telemetry-max-age`, default 60), judged on the leader's clock.
    public var telemetryMaxAgeSeconds: Int?
    /// The API's bearer tokens, one `TOKEN ROLE` per line (`--token-file`).
    public var tokenFile: String?
    /// Reads need a token too (`--auth-reads`).
    public var authReads: Bool?
    /// `text` or `json` (`--log-format`).
    public var logFormat: String?
    /// Seconds of agent silence after which the leader declares the node lost
    /// (`--node-lost-after`, default 90).
    public var nodeLostAfterSeconds: Int?
    /// PEM files for TLS on peer links and the API (`--tls-cert`, `--tls-key`, `--tls-ca`):
    /// this node's certificate (chain), its private key, and the cluster CA. All three or none.
    public var tlsCert: String?
    public var tlsKey: String?
    public var tlsCA: String?

    enum CodingKeys: String, CodingKey {
        case nodeID = "node-id"
        case dataDir = "data-dir"
        case peerListen = "peer-listen"
        case httpListen = "http-listen"
        case peers
        case clusterID = "cluster-id"
        case join
        case tickMilliseconds = "tick-ms"
        case electionTicks = "election-ticks"
        case heartbeatTicks = "heartbeat-ticks"
        case snapshotThresholdEntries = "snapshot-threshold"
        case snapshotChunkBytes = "snapshot-chunk-bytes"
        case snapshotRetainEntries = "snapshot-retain-entries"
        case httpIdleTimeoutSeconds = "http-idle-timeout"
        case httpMaxConnections = "http-max-connections"
        case telemetryMaxAgeSeconds = "telemetry-max-age"
        case tokenFile = "token-file"
        case authReads = "auth-reads"
        case logFormat = "log-format"
        case nodeLostAfterSeconds = "node-lost-after"
        case tlsCert = "tls-cert"
        case tlsKey = "tls-key"
        case tlsCA = "tls-ca"
    }

    public init(
        nodeID: UInt64? = nil, dataDir: String? = nil, peerListen: String? = nil, httpListen: String? = nil,
        peers: String? = nil, clusterID: String? = nil, join: String? = nil, tickMilliseconds: Int? = nil,
        electionTicks: Int? = nil, heartbeatTicks: Int? = nil, snapshotThresholdEntries: Int? = nil,
        snapshotChunkBytes: Int? = nil, snapshotRetainEntries: Int? = nil, httpIdleTimeoutSeconds: Int? = nil,
        httpMaxConnections: Int? = nil, telemetryMaxAgeSeconds: Int? = nil, tokenFile: String? = nil,
        authReads: Bool? = nil, logFormat: String? = nil, nodeLostAfterSeconds: Int? = nil, tlsCert: String? = nil,
        tlsKey: String? = nil, tlsCA: String? = nil
    ) {
        self.nodeID = nodeID
        self.dataDir = dataDir
        self.peerListen = peerListen
        self.httpListen = httpListen
        self.peers = peers
        self.clusterID = clusterID
        self.join = join
        self.tickMilliseconds = tickMilliseconds
        self.electionTicks = electionTicks
        self.heartbeatTicks = heartbeatTicks
        self.snapshotThresholdEntries = snapshotThresholdEntries
        self.snapshotChunkBytes = snapshotChunkBytes
        self.snapshotRetainEntries = snapshotRetainEntries
        self.httpIdleTimeoutSeconds = httpIdleTimeoutSeconds
        self.httpMaxConnections = httpMaxConnections
        self.telemetryMaxAgeSeconds = telemetryMaxAgeSeconds
        self.tokenFile = tokenFile
        self.authReads = authReads
        self.logFormat = logFormat
        self.nodeLostAfterSeconds = nodeLostAfterSeconds
        self.tlsCert = tlsCert
        self.tlsKey = tlsKey
        self.tlsCA = tlsCA
    }

    /// The settings named by `BERTH_<NAME>` variables (`BERTH_NODE_ID`, `BERTH_PEERS`, …).
    public static func fromEnvironment(_ environment: [String: String]) throws(ConfigError) -> ServerSettings {
        var settings = ServerSettings()
        if let raw = environment["BERTH_NODE_ID"] {
            guard let id = UInt64(raw) else {
                throw .invalid(key: "BERTH_NODE_ID", value: raw, reason: "not an integer")
            }
            settings.nodeID = id
        }
        settings.dataDir = environment["BERTH_DATA_DIR"]
        settings.peerListen = environment["BERTH_PEER_LISTEN"]
        settings.httpListen = environment["BERTH_HTTP_LISTEN"]
        settings.peers = environment["BERTH_PEERS"]
        settings.clusterID = environment["BERTH_CLUSTER_ID"]
        settings.join = environment["BERTH_JOIN"]
        settings.tokenFile = environment["BERTH_TOKEN_FILE"]
        settings.logFormat = environment["BERTH_LOG_FORMAT"]
        settings.tlsCert = environment["BERTH_TLS_CERT"]
        settings.tlsKey = environment["BERTH_TLS_KEY"]
        settings.tlsCA = environment["BERTH_TLS_CA"]
        if let raw = environment["BERTH_AUTH_READS"] {
            switch raw.lowercased() {
            case "1", "true", "yes": settings.authReads = true
            case "0", "false", "no", "": settings.authReads = false
            default: throw .invalid(key: "BERTH_AUTH_READS", value: raw, reason: "expected true or false")
            }
        }
        for (key, path) in [
            ("BERTH_TICK_MS", \ServerSettings.tickMilliseconds), ("BERTH_ELECTION_TICKS", \.electionTicks),
            ("BERTH_HEARTBEAT_TICKS", \.heartbeatTicks), ("BERTH_SNAPSHOT_THRESHOLD", \.snapshotThresholdEntries),
            ("BERTH_SNAPSHOT_CHUNK_BYTES", \.snapshotChunkBytes),
            ("BERTH_SNAPSHOT_RETAIN_ENTRIES", \.snapshotRetainEntries),
            ("BERTH_HTTP_IDLE_TIMEOUT", \.httpIdleTimeoutSeconds), ("BERTH_HTTP_MAX_CONNECTIONS", \.httpMaxConnections),
            ("BERTH_TELEMETRY_MAX_AGE", \.telemetryMaxAgeSeconds),
            ("BERTH_TELEMETRY_MAX_AGE", \.telemetryMaxAgeSeconds),
            ("BERTH_NODE_LOST_AFTER", \.nodeLostAfterSeconds),
        ] {
            guard let raw = environment[key] else { continue }
            guard let value = Int(raw), value > 0 else {
                throw .invalid(key: key, value: raw, reason: "not a positive integer")
            }
            settings[keyPath: path] = value
        }
        return settings
    }

    /// `self` with every unset field taken from `lower`.
    public func over(_ lower: ServerSettings) -> ServerSettings {
        ServerSettings(
            nodeID: nodeID ?? lower.nodeID, dataDir: dataDir ?? lower.dataDir,
            peerListen: peerListen ?? lower.peerListen, httpListen: httpListen ?? lower.httpListen,
            peers: peers ?? lower.peers, clusterID: clusterID ?? lower.clusterID, join: join ?? lower.join,
            tickMilliseconds: tickMilliseconds ?? lower.tickMilliseconds,
            electionTicks: electionTicks ?? lower.electionTicks, heartbeatTicks: heartbeatTicks ?? lower.heartbeatTicks,
            snapshotThresholdEntries: snapshotThresholdEntries ?? lower.snapshotThresholdEntries,
            snapshotChunkBytes: snapshotChunkBytes ?? lower.snapshotChunkBytes,
            snapshotRetainEntries: snapshotRetainEntries ?? lower.snapshotRetainEntries,
            httpIdleTimeoutSeconds: httpIdleTimeoutSeconds ?? lower.httpIdleTimeoutSeconds,
            httpMaxConnections: httpMaxConnections ?? lower.httpMaxConnections,
            telemetryMaxAgeSeconds: telemetryMaxAgeSeconds ?? lower.telemetryMaxAgeSeconds,
            tokenFile: tokenFile ?? lower.tokenFile, authReads: authReads ?? lower.authReads,
            logFormat: logFormat ?? lower.logFormat,
            nodeLostAfterSeconds: nodeLostAfterSeconds ?? lower.nodeLostAfterSeconds, tlsCert: tlsCert ?? lower.tlsCert,
            tlsKey: tlsKey ?? lower.tlsKey, tlsCA: tlsCA ?? lower.tlsCA)
    }
}

/// A configuration problem, named by the key and value at fault.
public enum ConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    case missing(key: String)
    case invalid(key: String, value: String, reason: String)
    case unreadableFile(path: String, reason: String)

    public var description: String {
        switch self {
        case .missing(let key): return "missing required setting \(key)"
        case .invalid(let key, let value, let reason): return "invalid \(key) '\(value)': \(reason)"
        case .unreadableFile(let path, let reason): return "cannot read config file \(path): \(reason)"
        }
    }
}
