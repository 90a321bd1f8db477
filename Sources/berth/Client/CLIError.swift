import ArgumentParser
import BerthControlPlane
import Foundation

/// How a CLI command ends when it does not succeed, and the exit status each case gives.
/// Every client command's help ends with `CLIError.exitStatusHelp`.
enum CLIError: Error {
    /// The command line cannot be acted on: a bad URL, an unreadable file (exit 64, as
    /// ArgumentParser gives for a bad flag).
    case usage(String)
    /// A server answered with an error (`{"error": {"code", "message", "details"}}`) (exit 1).
    case refused(APIAnswer)
    /// No server gave an answer: each one was unreachable or answered 503 (exit 69).
    case unreachable([String])
    /// The input is damaged or cannot be used — a backup whose checksum does not match, a data
    /// directory that is not empty — with a stable code (exit 65, `EX_DATAERR`).
    case dataError(code: String, message: String)

    static let refusedStatus: Int32 = 1
    static let usageStatus: Int32 = 64
    static let unreachableStatus: Int32 = 69
    static let dataErrorStatus: Int32 = 65

    var exitCode: ExitCode {
        switch self {
        case .usage: return ExitCode(Self.usageStatus)
        case .refused: return ExitCode(Self.refusedStatus)
        case .unreachable: return ExitCode(Self.unreachableStatus)
        case .dataError: return ExitCode(Self.dataErrorStatus)
        }
    }

    static let exitStatusHelp = """
        Exit status: 0 done; 1 the server refused the request (its error code and message are \
        printed to stderr; with --output json its error JSON also goes to stdout); 64 usage error \
        (bad flags, a bad URL, an unreadable FILE); 69 the cluster is unreachable (every server \
        failed to connect or answered 503).
        """

    /// The lines printed to stderr.
    var lines: [String] {
        switch self {
        case .usage(let message):
            return ["error: \(message)"]
        case .refused(let answer):
            let error = answer.json?["error"]
            let code = error?["code"]?.text ?? "HTTP_\(answer.status)"
            let message = error?["message"]?.text ?? String(answer.body.prefix(300))
            var lines = ["error: \(code): \(message)"]
            // Validation answers list every problem with its field: show each.
            for problem in error?["details"]?["problems"]?.items ?? [] {
                let field = problem["field"]?.text ?? "?"
                let problemCode = problem["code"]?.text.map { " [\($0)]" } ?? ""
                lines.append("  \(field): \(problem["message"]?.text ?? "")\(problemCode)")
            }
            lines.append("  (HTTP \(answer.status) from \(answer.server))")
            return lines
        case .unreachable(let attempts):
            return ["error: UNREACHABLE: no server answered"] + attempts.map { "  \($0)" }
        case .dataError(let code, let message):
            return ["error: \(code): \(message)"]
        }
    }
}

/// Runs a client command's body: a `CLIError` is printed to stderr (and, for a refusal with
/// `--output json`, the server's error JSON to stdout) and becomes the process's exit status.
func runClient(output: OutputFormat, _ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as CLIError {
        if case .refused(let answer) = error, output == .json { Output.json(answer.body) }
        for line in error.lines { Output.error(line) }
        throw error.exitCode
    }
}

extension CLIError: CustomStringConvertible {
    var description: String { lines.joined(separator: "\n") }
}
