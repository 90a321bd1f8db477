import ArgumentParser
import BerthControlPlane
import Foundation

/// The options of the placement reads (`nodes list|explain`, `schedule explain|select`).
struct ReadOptions: ParsableArguments {
    @Flag(
        help:
            "Read linearizably: the server first confirms with a quorum that it holds every acknowledged write (needs a leader)."
    )
    var consistent = false

    @Option(help: ArgumentHelp("Evaluate at this instant instead of the server's now.", valueName: "rfc3339"))
    var at: String?

    mutating func validate() throws {
        if let at, RFC3339.milliseconds(from: at) == nil {
            throw ValidationError("--at '\(at)' is not an RFC 3339 time such as 2025-06-02T09:30:00Z")
        }
    }

    /// The query parameters, with `extra` first.
    func query(_ extra: [(String, String)] = []) -> String {
        var parameters = extra
        if consistent { parameters.append(("consistent", "true")) }
        if let at { parameters.append(("at", at)) }
        return Query.string(parameters)
    }
}

/// URL pieces the CLI builds.
enum Query {
    private static let unreserved = CharacterSet(
        charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    /// A path segment or query value, percent-encoded (`+` and `:` included).
    static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }

    /// "?a=1&b=2", or "" without parameters.
    static func string(_ parameters: [(String, String)]) -> String {
        parameters.isEmpty ? "" : "?" + parameters.map { "\($0.0)=\(escape($0.1))" }.joined(separator: "&")
    }
}
