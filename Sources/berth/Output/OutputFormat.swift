import ArgumentParser
import BerthControlPlane
import Foundation

/// `--output table|json`: human tables by default; `json` prints the server's answer unchanged.
enum OutputFormat: String, CaseIterable, ExpressibleByArgument, Sendable {
    case table
    case json
}

/// Where the CLI writes: answers to stdout, errors to stderr, each line flushed at once (the
/// demo's lines interleave with its child processes').
enum Output {
    static func line(_ text: String = "") {
        print(text)
        fflush(nil)
    }

    /// A server's JSON body, byte for byte, with a final newline when it has none.
    static func json(_ body: String) {
        line(body.hasSuffix("\n") ? String(body.dropLast()) : body)
    }

    static func error(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}

extension Output {
    /// A successful answer: its JSON unchanged, or `table` of it (the raw body when it is not
    /// JSON, which a healthy server never sends).
    static func show(_ answer: APIAnswer, as format: OutputFormat, table: (JSONValue) -> String) {
        guard format == .table, let json = answer.json else { return Output.json(answer.body) }
        line(table(json))
    }
}
