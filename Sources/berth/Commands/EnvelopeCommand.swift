import ArgumentParser
import BerthControlPlane
import Foundation

/// `berth envelope …`: node truth in, as an agent would send it (demos, tests, hand-made fleets).
struct EnvelopeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "envelope", abstract: "Send SchedulerEnvelopes (node truth) as an agent would.",
        subcommands: [EnvelopePushCommand.self])
}

struct EnvelopePushCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push", abstract: "POST SchedulerEnvelopes to /api/v1alpha1/intake/envelope, in order.",
        discussion: """
            Each FILE is a SchedulerEnvelope JSON (docs/openapi.yaml), `-` for stdin. They are sent \
            one at a time and the first refusal stops the rest. A node's sequence must grow: the \
            same file twice is refused with STALE_SEQUENCE. With --now the envelopes are moved in \
            time together so that the newest observed_at is now and their ages relative to each \
            other stay (a fixture's fixed timestamps would otherwise be stale):

              berth envelope push --now arm-01.json arm-02.json x86-02.json edge-01.json

            \(CLIError.exitStatusHelp)
            """)

    @Argument(help: ArgumentHelp("SchedulerEnvelope JSON files, or - for stdin.", valueName: "file"))
    var files: [String]
    @Flag(help: "Shift every observed_at by the same amount so that the newest is now.") var now = false
    @OptionGroup var client: ClientOptions

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("name at least one envelope file") }
        guard files.filter({ $0 == "-" }).count <= 1 else { throw ValidationError("stdin (-) can be read once") }
    }

    func run() async throws {
        try await runClient(output: client.output) {
            var bodies = try files.map { file throws(CLIError) in try InputFile.read(file) }
            if now { bodies = try Envelopes.retimed(bodies, names: files, newestAtMs: Envelopes.nowMs()) }
            let api = try client.client()
            for (file, body) in zip(files, bodies) {
                do {
                    let answer = try await api.write("/api/v1alpha1/intake/envelope", body: body)
                    Output.show(answer, as: client.output, table: Envelopes.accepted)
                } catch {
                    if files.count > 1 { Output.error("\(file):") }
                    throw error
                }
            }
        }
    }
}

/// Envelope documents on the client side.
enum Envelopes {
    static func nowMs() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }

    /// The envelopes shifted together so the newest `observed_at` is `newestAtMs`, ages relative
    /// to each other kept (`SchedulerEnvelope.rebased`). Each must be a valid envelope: the
    /// problems are reported as a usage error, named by `names`.
    static func retimed(_ bodies: [String], names: [String], newestAtMs: Int64) throws(CLIError) -> [String] {
        var envelopes: [SchedulerEnvelope] = []
        for (name, body) in zip(names, bodies) {
            do {
                envelopes.append(try SchedulerEnvelope.parse(json: Array(body.utf8)))
            } catch {
                let problems = error.problems.map { "  \($0.field): \($0.message) [\($0.code.rawValue)]" }
                throw .usage(([("\(name) is not a valid SchedulerEnvelope:")] + problems).joined(separator: "\n"))
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return SchedulerEnvelope.rebased(envelopes, newestObservedAtMs: newestAtMs).map {
            // A validated envelope encodes plain strings, integers and booleans: cannot fail.
            String(decoding: try! encoder.encode($0), as: UTF8.self)
        }
    }

    /// "accepted arm-01 sequence 4182 (received at …)".
    static func accepted(_ answer: JSONValue) -> String {
        "accepted \(answer["node_id"]?.text ?? "-") sequence \(answer["sequence"]?.display ?? "-")"
            + (answer["received_at"]?.text.map { " (received at \($0))" } ?? "")
    }
}
