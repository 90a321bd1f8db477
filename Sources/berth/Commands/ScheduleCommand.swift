import ArgumentParser
import BerthControlPlane

/// `berth schedule …`: where a workload would go, and why not anywhere else.
struct ScheduleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedule", abstract: "Explain placement for a workload intent, or select its node.",
        subcommands: [ScheduleExplainCommand.self, ScheduleSelectCommand.self])
}

struct ScheduleExplainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Every node ranked (score and components) or rejected (every reason code, with evidence).",
        discussion: """
            FILE is a WorkloadIntent JSON (docs/openapi.yaml), `-` for stdin. With --node, only that \
            node's verdict: "why not this node".

            \(CLIError.exitStatusHelp)
            """)

    @Argument(help: ArgumentHelp("The WorkloadIntent JSON, or - for stdin.", valueName: "file")) var file: String
    @Option(help: ArgumentHelp("Explain only this node.", valueName: "id")) var node: String?
    @OptionGroup var client: ClientOptions
    @OptionGroup var read: ReadOptions

    func run() async throws {
        try await runClient(output: client.output) {
            let intent = try InputFile.read(file)
            let answer = try await client.client().call(
                "POST", "/api/v1alpha1/schedule/explain" + read.query(node.map { [("node", $0)] } ?? []), body: intent)
            Output.show(answer, as: client.output) {
                ExplanationTable.render($0, intentName: IntentName.of(intent), singleNode: node != nil)
            }
        }
    }
}

struct ScheduleSelectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "select", abstract: "The node a launch of the intent would go to (the same on every server).",
        discussion: """
            FILE is a WorkloadIntent JSON, `-` for stdin. When no node fits, the server refuses with \
            NO_ELIGIBLE_NODE (exit 1) and the table shows every node's reasons.

            \(CLIError.exitStatusHelp)
            """)

    @Argument(help: ArgumentHelp("The WorkloadIntent JSON, or - for stdin.", valueName: "file")) var file: String
    @OptionGroup var client: ClientOptions
    @OptionGroup var read: ReadOptions

    func run() async throws {
        try await runClient(output: client.output) {
            let intent = try InputFile.read(file)
            do {
                let answer = try await client.client().call(
                    "POST", "/api/v1alpha1/schedule/select" + read.query(), body: intent)
                Output.show(answer, as: client.output) { Self.selection($0, intentName: IntentName.of(intent)) }
            } catch CLIError.refused(let answer) where client.output == .table && answer.errorCode == "NO_ELIGIBLE_NODE"
            {
                // The refusal carries the whole explanation: show why, then fail.
                let details = answer.json?["error"]?["details"]
                if case .object(var explanation) = details?["explanation"] {
                    // The refusal gives its state_index beside the explanation, as a string.
                    if let index = details?["state_index"]?.text.flatMap({ Int64($0) }) {
                        explanation["state_index"] = .integer(index)
                    }
                    Output.line(ExplanationTable.render(.object(explanation), intentName: IntentName.of(intent)))
                }
                throw CLIError.refused(answer)
            }
        }
    }

    /// "arm-01 selected for payments: score 0.873 (resource_fit …) (state_index 12, …)".
    static func selection(_ answer: JSONValue, intentName: String?) -> String {
        let ranked = answer["ranked"]
        let score = ranked?["score"]?.number.map(Format.decimal) ?? "-"
        return "\(answer["node_id"]?.text ?? "-") selected\(intentName.map { " for \($0)" } ?? ""): score \(score) "
            + "(\(ExplanationTable.components(ranked?["components"])))" + NodeTables.context(answer)
    }
}

/// The `name` of an intent document, for headings; nil when it has none.
enum IntentName {
    static func of(_ intent: String) -> String? {
        (try? JSONParser.parse(Array(intent.utf8)))?["name"]?.text
    }
}
