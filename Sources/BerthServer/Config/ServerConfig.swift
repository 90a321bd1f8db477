import BerthRaft

/// A resolved, validated server configuration.
public struct ServerConfig: Equatable, Sendable {
    public var nodeID: NodeID
    public var dataDir: String
    public var peerListen: HostPort
    public var httpListen: HostPort
    /// Initial voters and their peer addresses, this node included.
    public var peers: [NodeID: HostPort]
    public var clusterID: String
    /// Join an existing cluster through this HTTP URL instead of bootstrapping.
    public var join: String?

    /// Length of one Raft tick.
    public var tickMilliseconds: Int = 10
    /// Election timeout in ticks (randomized up to twice this).
    public var electionTicks: Int = 10
    /// Heartbeat interval in ticks.
    public var heartbeatTicks: Int = 2
    /// Largest peer frame accepted.
    public var maxFrameBytes: Int = 16 << 20
    /// Snapshot chunk size on the wire.
    public var snapshotChunkBytes: Int = 1 << 20
    /// Take a snapshot once this many entries were applied since the last one.
    public var snapshotThresholdEntries: Int = 8192
    /// Entries kept behind a snapshot so slightly lagging followers need none.
    public var snapshotRetainEntries: Int = 1024
    /// Ready only while commit − applied is at most this.
    public var readyMaxApplyLag: Int = 128
    /// A write not committed within this answers 504.
    public var commitTimeoutMilliseconds: Int = 5000
    /// Proposals beyond this many uncommitted entries answer 429.
    public var maxPendingProposals: Int = 256
    /// An idle HTTP connection is closed after this many seconds.
    public var httpIdleTimeoutSeconds: Int = 60
    /// At most this many HTTP connections are open at once; more wait in the listen backlog.
    public var httpMaxConnections: Int = 4096
    /// Telemetry older than this (on the leader's clock) makes placement reject the node.
    public var telemetryMaxAgeSeconds: Int = 60
    /// An agent silent this long (on the leader's clock) gets its node declared lost.
    public var nodeLostAfterSeconds: Int = 90
    /// Bearer tokens the API requires (`--token-file`); nil: the API is open.
    public var tokens: APITokens? = nil
    /// Reads need a `read` token too (`--auth-reads`); otherwise only changes need tokens.
    public var authReads: Bool = false
    /// How log lines are written (`--log-format`).
    public var logFormat: LogFormat = .text
    /// Mutual TLS on peer links and HTTPS on the API; nil: both plaintext.
    public var tls: TLSFiles? = nil

    /// Resolves flags over environment over file over defaults, and validates the result.
    public static func resolve(
        flags: ServerSettings, environment: [String: String], file: ServerSettings?
    ) throws(ConfigError) -> ServerConfig {
        let merged = flags.over(try ServerSettings.fromEnvironment(environment)).over(file ?? ServerSettings())
        guard let nodeID = merged.nodeID else { throw .missing(key: "node-id") }
        guard nodeID >= 1 else { throw .invalid(key: "node-id", value: "\(nodeID)", reason: "must be ≥ 1") }
        let peers = try parsePeers(merged.peers ?? "")
        let peerListenText = merged.peerListen ?? peers[nodeID]?.description
        guard let peerListenText else { throw .missing(key: "peer-listen") }
        guard let peerListen = HostPort(peerListenText) else {
            throw .invalid(key: "peer-listen", value: peerListenText, reason: "expected HOST:PORT")
        }
        let httpText = merged.httpListen ?? "127.0.0.1:8101"
        guard let httpListen = HostPort(httpText) else {
            throw .invalid(key: "http-listen", value: httpText, reason: "expected HOST:PORT")
        }
        if merged.join == nil {
            guard !peers.isEmpty else { throw .missing(key: "peers") }
            guard peers[nodeID] != nil else {
                throw .invalid(
                    key: "peers", value: merged.peers ?? "", reason: "does not include this node (\(nodeID))")
            }
        }
        let clusterID = merged.clusterID ?? "berth"
        guard !clusterID.isEmpty, clusterID.utf8.count <= 255 else {
            throw .invalid(key: "cluster-id", value: clusterID, reason: "must be 1–255 bytes")
        }
        var config = ServerConfig(
            nodeID: nodeID, dataDir: merged.dataDir ?? "./data/n\(nodeID)", peerListen: peerListen,
            httpListen: httpListen, peers: peers, clusterID: clusterID, join: merged.join)
        if let value = merged.tickMilliseconds { config.tickMilliseconds = value }
        if let value = merged.electionTicks { config.electionTicks = value }
        if let value = merged.heartbeatTicks { config.heartbeatTicks = value }
        if let value = merged.snapshotThresholdEntries { config.snapshotThresholdEntries = value }
        if let value = merged.snapshotChunkBytes { config.snapshotChunkBytes = value }
        if let value = merged.snapshotRetainEntries { config.snapshotRetainEntries = value }
        if let value = merged.httpIdleTimeoutSeconds { config.httpIdleTimeoutSeconds = value }
        if let value = merged.httpMaxConnections { config.httpMaxConnections = value }
        if let value = merged.telemetryMaxAgeSeconds { config.telemetryMaxAgeSeconds = value }
        if let value = merged.nodeLostAfterSeconds { config.nodeLostAfterSeconds = value }
        if let path = merged.tokenFile { config.tokens = try APITokens.load(path: path) }
        config.authReads = merged.authReads ?? false
        if let text = merged.logFormat {
            guard let format = LogFormat(rawValue: text) else {
                throw .invalid(key: "log-format", value: text, reason: "expected text or json")
            }
            config.logFormat = format
        }
        config.tls = try TLSFiles.resolve(
            certificate: merged.tlsCert, key: merged.tlsKey, certificateAuthority: merged.tlsCA)
        if config.authReads && config.tokens == nil {
            throw .invalid(key: "auth-reads", value: "true", reason: "needs --token-file")
        }
        for (key, value) in [
            ("tick-ms", config.tickMilliseconds), ("election-ticks", config.electionTicks),
            ("heartbeat-ticks", config.heartbeatTicks), ("snapshot-threshold", config.snapshotThresholdEntries),
            ("snapshot-chunk-bytes", config.snapshotChunkBytes),
        ] where value <= 0 {
            throw .invalid(key: key, value: "\(value)", reason: "must be positive")
        }
        guard config.heartbeatTicks < config.electionTicks else {
            throw .invalid(
                key: "heartbeat-ticks", value: "\(config.heartbeatTicks)", reason: "must be below election-ticks")
        }
        return config
    }

    /// Parses `ID=HOST:PORT,…`.
    public static func parsePeers(_ text: String) throws(ConfigError) -> [NodeID: HostPort] {
        var peers: [NodeID: HostPort] = [:]
        for item in text.split(separator: ",").map({ $0.trimmingSpaces }) where !item.isEmpty {
            let parts = item.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, let id = UInt64(parts[0]), id >= 1, let address = HostPort(String(parts[1])) else {
                throw .invalid(key: "peers", value: String(item), reason: "expected ID=HOST:PORT with ID ≥ 1")
            }
            guard peers[id] == nil else {
                throw .invalid(key: "peers", value: String(item), reason: "duplicate id \(id)")
            }
            peers[id] = address
        }
        return peers
    }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var slice = self
        while slice.first == " " { slice = slice.dropFirst() }
        while slice.last == " " { slice = slice.dropLast() }
        return slice
    }
}
