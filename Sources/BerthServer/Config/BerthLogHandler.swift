import Foundation
import Logging
import NIOConcurrencyHelpers

/// How `berth server` writes its log (`--log-format`, `BERTH_LOG_FORMAT`, YAML `log-format`).
public enum LogFormat: String, Sendable, CaseIterable {
    /// `2026-12-03T17:40:00.123Z info node_id=1 term=5 request_id=… message key=value …`
    case text
    /// One JSON object per line: `ts`, `level`, `msg`, `logger`, `node_id`, `term`, `request_id`
    /// and the event's metadata.
    case json
}

/// What every log line carries where it is known: the node's current term (the Raft loop sets
/// it) and the id of the HTTP request being served (a task-local, set by
/// `RequestIDMiddleware`), and the node id.
public enum LogContext {
    @TaskLocal public static var requestID: String?

    private static let terms = NIOLockedValueBox<[UInt64: UInt64]>([:])

    static func setTerm(_ term: UInt64, node: UInt64) {
        terms.withLockedValue { $0[node] = term }
    }

    static func term(of node: UInt64) -> UInt64? {
        terms.withLockedValue { $0[node] }
    }

    /// Adds `node_id`, `term` and `request_id` to every line logged for node `nodeID`.
    public static func metadataProvider(nodeID: UInt64) -> Logger.MetadataProvider {
        Logger.MetadataProvider {
            var metadata: Logger.Metadata = ["node_id": "\(nodeID)"]
            if let term = term(of: nodeID) { metadata["term"] = "\(term)" }
            if let requestID { metadata["request_id"] = .string(requestID) }
            return metadata
        }
    }
}

/// One line per event on standard error, as text or JSON. Newlines inside a message or a
/// value are escaped, so a line is always one event.
public struct BerthLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public var logLevel: Logger.Level = .info
    let label: String
    let format: LogFormat

    /// One write per line, and lines from concurrent tasks never interleave.
    private static let outputLock = NIOLock()

    public init(label: String, format: LogFormat, level: Logger.Level, metadataProvider: Logger.MetadataProvider?) {
        self.label = label
        self.format = format
        self.logLevel = level
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let own = event.metadata { merged.merge(own) { _, new in new } }
        let line = Self.render(
            format: format, label: label, level: event.level, message: event.message.description, metadata: merged,
            date: Date())
        let bytes = Data((line + "\n").utf8)
        Self.outputLock.withLock { FileHandle.standardError.write(bytes) }
    }

    /// Keys written first, in this order, when present.
    static let leadingKeys = ["node_id", "term", "request_id"]

    static func render(
        format: LogFormat, label: String, level: Logger.Level, message: String, metadata: Logger.Metadata, date: Date
    ) -> String {
        let timestamp = timestampFormatter.string(from: date)
        let rest = metadata.keys.filter { !leadingKeys.contains($0) }.sorted()
        let keys = leadingKeys.filter { metadata[$0] != nil } + rest
        switch format {
        case .text:
            var line = "\(timestamp) \(level) \(label)"
            for key in keys where leadingKeys.contains(key) { line += " \(key)=\(textValue(metadata[key]!))" }
            line += ": " + escapeNewlines(message)
            for key in rest { line += " \(key)=\(textValue(metadata[key]!))" }
            return line
        case .json:
            var line = "{\"ts\":\(jsonString(timestamp)),\"level\":\(jsonString(level.rawValue))"
            line += ",\"logger\":\(jsonString(label)),\"msg\":\(jsonString(message))"
            for key in keys where !["ts", "level", "logger", "msg"].contains(key) {
                line += ",\(jsonString(key)):\(jsonValue(metadata[key]!))"
            }
            return line + "}"
        }
    }

    /// ISO8601DateFormatter is thread-safe for formatting once configured.
    nonisolated(unsafe) private static let timestampFormatter: ISO8601DateFormatter = {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }()

    private static func escapeNewlines(_ text: String) -> String {
        guard text.contains(where: { $0 == "\n" || $0 == "\r" }) else { return text }
        return text.replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "\r", with: "\\r")
    }

    private static func textValue(_ value: Logger.Metadata.Value) -> String {
        let text = escapeNewlines("\(value)")
        return text.contains(" ") ? jsonString(text) : text
    }

    private static func jsonValue(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let text): return jsonString(text)
        case .stringConvertible(let convertible): return jsonString(convertible.description)
        case .array(let items): return "[" + items.map(jsonValue).joined(separator: ",") + "]"
        case .dictionary(let object):
            return "{"
                + object.keys.sorted().map { "\(jsonString($0)):\(jsonValue(object[$0]!))" }.joined(separator: ",")
                + "}"
        }
    }

    static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
