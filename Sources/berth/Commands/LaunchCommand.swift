import ArgumentParser
import BerthControlPlane
import Foundation

/// `berth launch …`: plan a workload intent, execute it (a replicated placement), read launch
/// records and terminate them.
struct LaunchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "launch", abstract: "Plan, execute, read, list and terminate launches of workload intents.",
        discussion: """
            The usual flow: plan, read the explanation, then execute exactly that plan. Execute \
            refuses with PLAN_STALE (exit 1, the explanation as it is now) when the fleet changed \
            since the plan:

              berth launch plan intent.json -o json > plan.json
              berth launch execute intent.json --plan plan.json
            """,
        subcommands: [
            LaunchPlanCommand.self, LaunchExecuteCommand.self, LaunchGetCommand.self, LaunchListCommand.self,
            LaunchTerminateCommand.self,
        ])
}

struct LaunchPlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "The node a launch would go to, its hydrated LaunchSpec, the explanation and the state_index.",
        discussion: """
            FILE is a WorkloadIntent JSON (docs/openapi.yaml), `-` for stdin; a FILE that is not \
            JSON is a usage error (64), an invalid intent is the server's INVALID_ARGUMENT (1). \
            The answer's node and state_index are what `launch execute --node ID \
            --expect-state-index N` (or `--plan` with the saved `--output json` answer) takes. \
            With --dry-run the answer also holds the PrepareOnNode action: the command the node's \
            agent would run to prepare the spec. When no node fits, the table shows every node's \
            reasons and the command exits 1 with NO_ELIGIBLE_NODE.

            \(CLIError.exitStatusHelp)
            """)

    @Argument(help: ArgumentHelp("The WorkloadIntent JSON, or - for stdin.", valueName: "file")) var file: String
    @Flag(help: "Also show the PrepareOnNode action (the agent's prepare command).") var dryRun = false
    @Flag(help: "Read linearizably: the server first confirms with a quorum that it holds every acknowledged write.")
    var consistent = false
    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await runClient(output: client.output) {
            let intent = try LaunchDocuments.intent(file)
            let body = "{\"intent\":\(intent),\"dry_run\":\(dryRun)}"
            let path = "/api/v1alpha1/plan/launch" + Query.string(consistent ? [("consistent", "true")] : [])
            let answer = try await client.client().send("POST", path, body: body)
            let name = IntentName.of(intent)
            if answer.status == 422, let json = answer.json, json["explanation"] != nil {
                // Nothing fits: the answer is the plan without a node. Show why, then fail.
                if client.output == .json {
                    Output.json(answer.body)
                } else {
                    Output.line(LaunchTables.explanation(json["explanation"], stateIndex: json["state_index"], name))
                }
                Output.error("error: NO_ELIGIBLE_NODE: no node fits\(name.map { " \($0)" } ?? "")")
                Output.error("  (HTTP 422 from \(answer.server))")
                throw ExitCode(CLIError.refusedStatus)
            }
            guard answer.isSuccess else { throw CLIError.refused(answer) }
            Output.show(answer, as: client.output) { LaunchTables.plan($0, intentName: name, file: file) }
        }
    }
}

struct LaunchExecuteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "execute",
        abstract: "Launch a workload intent: the leader places it (a replicated decision) and queues it for the node.",
        discussion: """
            FILE is a WorkloadIntent JSON, `-` for stdin. Without options the leader picks the \
            node. To execute exactly a plan, give its node and state_index: --node ID \
            --expect-state-index N, or --plan PLAN.json, a saved `launch plan --output json` \
            answer to take both from. Execute then refuses with PLAN_STALE when the fleet changed \
            since the plan, or PLACEMENT_STALE when the node no longer fits; with NO_ELIGIBLE_NODE \
            when no node fits. Each refusal shows the explanation as the fleet is now and exits 1. \
            With --wait-for-capacity a launch that fits nowhere stays pending (see `launch get`) \
            and is placed as soon as a node fits.

            \(CLIError.exitStatusHelp)
            """)

    @Argument(help: ArgumentHelp("The WorkloadIntent JSON, or - for stdin.", valueName: "file")) var file: String
    @Option(help: ArgumentHelp("Place on this node (the plan's node_id).", valueName: "id")) var node: String?
    @Option(help: ArgumentHelp("The plan's state_index: refuse if the fleet changed since.", valueName: "n"))
    var expectStateIndex: Int64?
    @Option(
        help: ArgumentHelp(
            "A saved `launch plan --output json` answer: its node_id and state_index.", valueName: "plan.json"))
    var plan: String?
    @Flag(help: "When no node fits, wait (pending) instead of refusing.") var waitForCapacity = false
    @OptionGroup var client: ClientOptions

    func validate() throws {
        if plan != nil, node != nil || expectStateIndex != nil {
            throw ValidationError(
                "--plan gives the node and the state_index: do not also give --node or --expect-state-index")
        }
        if expectStateIndex != nil, node == nil {
            throw ValidationError("--expect-state-index needs --node (the plan's node_id)")
        }
        if let expectStateIndex, expectStateIndex < 0 {
            throw ValidationError("--expect-state-index must be 0 or more")
        }
        if plan == "-", file == "-" { throw ValidationError("stdin (-) can be read once") }
    }

    func run() async throws {
        try await runClient(output: client.output) {
            let intent = try LaunchDocuments.intent(file)
            var nodeID = node
            var index = expectStateIndex
            if let plan { (nodeID, index) = try LaunchDocuments.plan(plan) }
            var body = "{\"intent\":\(intent)"
            if let nodeID { body += ",\"node_id\":\(LaunchDocuments.quoted(nodeID))" }
            if let index { body += ",\"expect_state_index\":\(index)" }
            if waitForCapacity { body += ",\"wait_for_capacity\":true" }
            body += "}"
            let name = IntentName.of(intent)
            do {
                let answer = try await client.client().write("/api/v1alpha1/launch/execute", body: body)
                Output.show(answer, as: client.output, table: LaunchTables.record)
            } catch CLIError.refused(let answer) where client.output == .table {
                LaunchTables.showRefusalExplanation(answer, intentName: name)
                throw CLIError.refused(answer)
            }
        }
    }
}

struct LaunchGetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get",
        abstract: "One launch: state, node, spec, trace, failure, and the explanation it was placed with.",
        discussion: """
            A pending launch (--wait-for-capacity) also shows why it is pending: the explanation \
            evaluated now.

            \(CLIError.exitStatusHelp)
            """)

    @Argument(help: "The launch id.") var id: String
    @Flag(help: "Read linearizably: the server first confirms with a quorum that it holds every acknowledged write.")
    var consistent = false
    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await runClient(output: client.output) {
            let answer = try await client.client().call(
                "GET",
                "/api/v1alpha1/launch/\(Query.escape(id))" + Query.string(consistent ? [("consistent", "true")] : []))
            Output.show(answer, as: client.output, table: LaunchTables.record)
        }
    }
}

struct LaunchListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "Launches, newest first, filtered by state and node, a page at a time.",
        discussion: """
            When there are more, the token of the next page is printed after the table (to stderr \
            with --output json, whose stdout is the API's array unchanged): pass it as --page-token.

            \(CLIError.exitStatusHelp)
            """)

    @Option(
        help: ArgumentHelp(
            "Only launches in this state: \(LaunchState.allCases.map(\.rawValue).joined(separator: ", ")).",
            valueName: "state"))
    var state: String?
    @Option(help: ArgumentHelp("Only launches placed on this node.", valueName: "id")) var node: String?
    @Option(help: ArgumentHelp("At most this many (1–1000; the server's default is 100).", valueName: "n"))
    var pageSize: Int?
    @Option(help: ArgumentHelp("Continue after a previous page.", valueName: "token")) var pageToken: String?
    @Flag(help: "Read linearizably: the server first confirms with a quorum that it holds every acknowledged write.")
    var consistent = false
    @OptionGroup var client: ClientOptions

    func validate() throws {
        if let state, LaunchState(rawValue: state) == nil {
            throw ValidationError(
                "--state '\(state)' is not one of \(LaunchState.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if let pageSize, !(1...1000).contains(pageSize) { throw ValidationError("--page-size must be 1–1000") }
    }

    func run() async throws {
        try await runClient(output: client.output) {
            var parameters: [(String, String)] = []
            if let state { parameters.append(("state", state)) }
            if let node { parameters.append(("node", node)) }
            if let pageSize { parameters.append(("page_size", String(pageSize))) }
            if let pageToken { parameters.append(("page_token", pageToken)) }
            if consistent { parameters.append(("consistent", "true")) }
            let answer = try await client.client().call("GET", "/api/v1alpha1/launches" + Query.string(parameters))
            Output.show(answer, as: client.output, table: LaunchTables.list)
            if let next = answer.headers["x-next-page-token"], !next.isEmpty {
                let line = "next page: --page-token \(next)"
                if client.output == .json { Output.error(line) } else { Output.line(line) }
            }
        }
    }
}

struct LaunchTerminateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "terminate",
        abstract: "Ask for a launch to stop: it becomes terminating (its agent stops it) or, if pending, terminated.",
        discussion: CLIError.exitStatusHelp)

    @Argument(help: "The launch id.") var id: String
    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await runClient(output: client.output) {
            let answer = try await client.client().write("/api/v1alpha1/launch/\(Query.escape(id))/terminate")
            Output.show(answer, as: client.output) { record in
                "\(record["launch_id"]?.text ?? id) \(record["state"]?.text ?? "-")"
                    + (record["node_id"]?.text.map { " on \($0)" } ?? "")
            }
        }
    }
}

/// The documents `launch` reads from the command line.
enum LaunchDocuments {
    /// FILE's text, which must be JSON (it is embedded in the request as `intent`; the server
    /// checks that it is a valid WorkloadIntent).
    static func intent(_ file: String) throws(CLIError) -> String {
        let text = try InputFile.read(file).trimmingCharacters(in: .whitespacesAndNewlines)
        do {
            _ = try JSONParser.parse(Array(text.utf8))
        } catch {
            throw .usage("\(file == "-" ? "stdin" : file) is not JSON: \(error.reason)")
        }
        return text
    }

    /// The node_id and state_index of a saved `launch plan --output json` answer.
    static func plan(_ file: String) throws(CLIError) -> (String, Int64) {
        let text = try InputFile.read(file)
        let name = file == "-" ? "stdin" : file
        guard let plan = try? JSONParser.parse(Array(text.utf8)), let index = plan["state_index"]?.integer else {
            throw .usage("\(name) is not a `berth launch plan --output json` answer (no state_index)")
        }
        guard let nodeID = plan["node_id"]?.text else {
            throw .usage("\(name) is a plan in which no node fits: there is nothing to execute")
        }
        return (nodeID, index)
    }

    /// `text` as a JSON string.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
