import Foundation
import Yams

extension ServerSettings {
    /// Reads the YAML `--config` file. Keys are the flag names (`node-id`, `peers`, …); `peers`
    /// may be the flag's string or a map of id to address.
    public static func load(path: String) throws(ConfigError) -> ServerSettings {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw .unreadableFile(path: path, reason: "\(error.localizedDescription)")
        }
        return try parse(yaml: text, path: path)
    }

    static func parse(yaml text: String, path: String = "<yaml>") throws(ConfigError) -> ServerSettings {
        let object: Any?
        do {
            object = try Yams.load(yaml: text)
        } catch {
            throw .unreadableFile(path: path, reason: "not valid YAML: \(error)")
        }
        guard let map = object as? [String: Any] else {
            if object == nil { return ServerSettings() }
            throw .unreadableFile(path: path, reason: "expected a map of settings")
        }
        let known: Set<String> = [
            "node-id", "data-dir", "peer-listen", "http-listen", "peers", "cluster-id", "join", "tick-ms",
            "election-ticks", "heartbeat-ticks", "snapshot-threshold", "snapshot-chunk-bytes",
            "snapshot-retain-entries", "http-idle-timeout", "http-max-connections", "telemetry-max-age", "token-file",
            "auth-reads", "node-lost-after", "log-format", "tls-cert", "tls-key", "tls-ca",
        ]
        if let unknown = map.keys.sorted().first(where: { !known.contains($0) }) {
            throw .invalid(key: unknown, value: "\(map[unknown] ?? "")", reason: "unknown setting in \(path)")
        }
        func string(_ key: String) throws(ConfigError) -> String? {
            guard let value = map[key] else { return nil }
            if let text = value as? String { return text }
            if let number = value as? Int { return String(number) }
            throw .invalid(key: key, value: "\(value)", reason: "expected a string")
        }
        var settings = ServerSettings()
        if let value = map["node-id"] {
            guard let id = (value as? Int).flatMap(UInt64.init(exactly:)) ?? (value as? String).flatMap(UInt64.init)
            else {
                throw .invalid(key: "node-id", value: "\(value)", reason: "expected an integer ≥ 1")
            }
            settings.nodeID = id
        }
        settings.dataDir = try string("data-dir")
        settings.peerListen = try string("peer-listen")
        settings.httpListen = try string("http-listen")
        settings.clusterID = try string("cluster-id")
        settings.join = try string("join")
        settings.tokenFile = try string("token-file")
        settings.logFormat = try string("log-format")
        settings.tlsCert = try string("tls-cert")
        settings.tlsKey = try string("tls-key")
        settings.tlsCA = try string("tls-ca")
        if let value = map["auth-reads"] {
            guard let flag = value as? Bool else {
                throw .invalid(key: "auth-reads", value: "\(value)", reason: "expected true or false")
            }
            settings.authReads = flag
        }
        func integer(_ key: String) throws(ConfigError) -> Int? {
            guard let value = map[key] else { return nil }
            guard let number = value as? Int, number > 0 else {
                throw .invalid(key: key, value: "\(value)", reason: "expected a positive integer")
            }
            return number
        }
        settings.tickMilliseconds = try integer("tick-ms")
        settings.electionTicks = try integer("election-ticks")
        settings.heartbeatTicks = try integer("heartbeat-ticks")
        settings.snapshotThresholdEntries = try integer("snapshot-threshold")
        settings.snapshotChunkBytes = try integer("snapshot-chunk-bytes")
        settings.snapshotRetainEntries = try integer("snapshot-retain-entries")
        settings.httpIdleTimeoutSeconds = try integer("http-idle-timeout")
        settings.httpMaxConnections = try integer("http-max-connections")
        settings.telemetryMaxAgeSeconds = try integer("telemetry-max-age")
        settings.nodeLostAfterSeconds = try integer("node-lost-after")
        if let peers = map["peers"] as? [AnyHashable: Any] {
            settings.peers = peers.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: ",")
        } else {
            settings.peers = try string("peers")
        }
        return settings
    }
}
