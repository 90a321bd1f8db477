import ArgumentParser
import Foundation

/// `berth jobs …`: the scheduler seeds' jobs API (`/api/jobs`, `/api/runs`).
struct JobsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs",
        abstract: "Submit, list, read, cancel and trigger jobs; read their runs, output and cron due times.",
        discussion: """
            A job without --schedule runs once now; with one it recurs (5 cron fields, or 6 with \
            seconds first). Each run is a launch on a node agent (`berth launch get RUN_ID`).

              berth jobs submit 'echo hello'
              berth jobs submit --schedule '*/5 * * * *' --time-zone Europe/Paris 'backup.sh'
              berth jobs output JOB_ID
            """,
        subcommands: [
            JobsSubmitCommand.self, JobsListCommand.self, JobsGetCommand.self, JobsOutputCommand.self,
            JobsCancelCommand.self, JobsTriggerCommand.self, JobsRunsCommand.self, JobsFiresCommand.self,
            JobsTasksCommand.self,
        ])
}

struct JobsSubmitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit", abstract: "POST /api/jobs: a one-off job (runs now) or a cron job.",
        discussion: CLIError.exitStatusHelp)

    @Argument(help: "The shell command (run with /bin/sh -c on the agent); optional with --tasks.") var command: String?
    @Option(
        help: ArgumentHelp(
            "A DAG: a JSON array of {name, command, depends_on} (a path, or - for stdin).", valueName: "file"))
    var tasks: String?
    @Option(help: "A VM image to run it in instead of a process.") var image: String?
    @Option(help: "process, or a VM backend for --image.") var backend: String?
    @Option(help: ArgumentHelp("A cron expression: the job recurs.", valueName: "cron")) var schedule: String?
    @Option(help: ArgumentHelp("The schedule's IANA time zone (default UTC).", valueName: "zone")) var timeZone: String?
    @Option(help: ArgumentHelp("skip or run_once (default run_once).", valueName: "policy")) var missedRuns: String?
    @Option(help: "How many times a failed run is tried again.") var retries: Int?
    @Option(help: "Seconds between a failure and the next attempt.") var backoffSeconds: Int?
    @Option(help: ArgumentHelp("A job that must have succeeded first (repeatable).", valueName: "job-id"))
    var dependsOn: [String] = []
    @Option(help: "How many runs may be active at once.") var maxConcurrentRuns: Int?
    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await runClient(output: client.output) {
            var body: [String: Any] = [:]
            body["command"] = command
            if let tasks {
                let text = try InputFile.read(tasks)
                guard let parsed = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [Any] else {
                    throw CLIError.usage("\(tasks) is not a JSON array of tasks")
                }
                body["tasks"] = parsed
            } else if command == nil {
                throw CLIError.usage("give the command, or --tasks")
            }
            body["image"] = image
            body["backend"] = backend
            body["schedule"] = schedule
            body["time_zone"] = timeZone
            body["missed_runs"] = missedRuns
            body["retries"] = retries
            body["backoff_seconds"] = backoffSeconds
            body["max_concurrent_runs"] = maxConcurrentRuns
            if !dependsOn.isEmpty { body["depends_on"] = dependsOn }
            let data = try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])
            let answer = try await client.client().write("/api/jobs", body: String(decoding: data, as: UTF8.self))
            Output.show(answer, as: client.output, table: JobTables.job)
        }
    }
}

struct JobsListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "GET /api/jobs: jobs, newest first, filtered and paged.",
        discussion: CLIError.exitStatusHelp)

    @Option(help: "pending, running, completed, failed or cancelled.") var status: String?
    @Option(help: "Only jobs whose command contains this.") var command: String?
    @Option(help: "Only jobs run by this node.") var worker: String?
    @Option(help: "Jobs per page (1–1000).") var pageSize: Int?
    @Option(help: "The X-Next-Page-Token of the previous page.") var pageToken: String?
    @OptionGroup var client: ClientOptions
    @Flag(help: "Read linearizably.") var consistent = false

    func run() async throws {
        try await runClient(output: client.output) {
            var query: [(String, String)] = []
            if let status { query.append(("status", status)) }
            if let command { query.append(("command", command)) }
            if let worker { query.append(("worker", worker)) }
            if let pageSize { query.append(("page_size", "\(pageSize)")) }
            if let pageToken { query.append(("page_token", pageToken)) }
            if consistent { query.append(("consistent", "true")) }
            let answer = try await client.client().call("GET", "/api/jobs" + Query.string(query))
            Output.show(answer, as: client.output, table: JobTables.list)
        }
    }
}

struct JobsGetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get", abstract: "GET /api/jobs/:id.", discussion: CLIError.exitStatusHelp)

    @Argument(help: "The job id.") var id: String
    @Flag(help: "Read linearizably.") var consistent = false
    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await runClient(output: client.output) {
            let answer = try await client.client().call(
                "GET", "/api/jobs/\(Query.escape(id))" + Query.string(consistent ? [("consistent", "true")] : []))
            Output.show(answer, as: client.output, table: JobTables.job)
        }
    }
}

struct JobsOutputCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "output",
        abstract: "GET /api/jobs/:id/output: what the current run printed (stdout, then stderr).",
        discussion: CLIError.exitStatusHelp)

    @Argument(help: "The job id.") var id: String
    @Flag(help: "Read linearizably.") var consistent = false
    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await runClient(output: client.output) {
            let answer = try await client.client().call(
                "GET",
                "/api/jobs/\(Query.escape(id))/output" + Query.string(consistent ? [("consistent", "true")] : []))
            Output.show(answer, as: client.output, table: JobTables.output)
        }
    }
}

struct JobsCancelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel", abstract: "DELETE /api/jobs/:id: cancel a job (and stop its running run).",
        discussion: CLIError.exitStatusHelp)

    @Argument(help: "The job id.") var id: String
    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await runClient(output: client.output) {
            let answer = try await client.client().call(
                "DELETE", "/api/jobs/\(Query.escape(id))", idempotencyKey: "berth-cli-\(UUID().uuidString)")
            Output.show(answer, as: client.output) { _ in "cancelled \(id)" }
        }
    }
}

struct JobsTriggerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trigger",
        abstract: "POST /api/jobs/:id/trigger: a new run now (409 when a depends_on job has not succeeded).",
        discussion: CLIError.exitStatusHelp)

    @Argument(help: "The job id.") var id: String
    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await runClient(output: client.output) {
            let answer = try await client.client().write("/api/jobs/\(Query.escape(id))/trigger")
            Output.show(answer, as: client.output) { "run \($0["run_id"]?.text ?? "-") of job \(id)" }
        }
    }
}

struct JobsRunsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs", abstract: "GET /api/jobs/:id/runs: the job's runs, newest first.",
        discussion: CLIError.exitStatusHelp)

    @Argument(help: "The job id.") var id: String
    @Option(help: "At most this many (1–1000, default 20).") var limit: Int?
    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await runClient(output: client.output) {
            let answer = try await client.client().call(
                "GET", "/api/jobs/\(Query.escape(id))/runs" + Query.string(limit.map { [("limit", "\($0)")] } ?? []))
            Output.show(answer, as: client.output, table: JobTables.runs)
        }
    }
}

struct JobsFiresCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fires", abstract: "GET /api/jobs/:id/fires: a cron job's recorded due times, newest first.",
        discussion: CLIError.exitStatusHelp)

    @Argument(help: "The job id.") var id: String
    @Option(help: "At most this many (1–1000, default 20).") var limit: Int?
    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await runClient(output: client.output) {
            let answer = try await client.client().call(
                "GET", "/api/jobs/\(Query.escape(id))/fires" + Query.string(limit.map { [("limit", "\($0)")] } ?? []))
            Output.show(answer, as: client.output, table: JobTables.fires)
        }
    }
}

struct JobsTasksCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tasks", abstract: "GET /api/runs/:id/tasks: a DAG run's task states and outputs.",
        discussion: CLIError.exitStatusHelp)

    @Argument(help: ArgumentHelp("The run id (<job>-run-<n>).", valueName: "run-id")) var runID: String
    @Flag(help: "Read linearizably.") var consistent = false
    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await runClient(output: client.output) {
            let answer = try await client.client().call(
                "GET",
                "/api/runs/\(Query.escape(runID))/tasks" + Query.string(consistent ? [("consistent", "true")] : []))
            Output.show(answer, as: client.output, table: JobTables.tasks)
        }
    }
}

/// `berth scheduler …`: the replicated pause switch.
struct SchedulerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scheduler",
        abstract: "Pause, resume and read the scheduler (replicated: the same on every node).",
        subcommands: [SchedulerStateCommand.self, SchedulerPauseCommand.self, SchedulerResumeCommand.self])
}

struct SchedulerStateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "state", abstract: "GET /api/scheduler/state.", discussion: CLIError.exitStatusHelp)
    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await runClient(output: client.output) {
            let answer = try await client.client().call("GET", "/api/scheduler/state")
            Output.show(answer, as: client.output, table: JobTables.scheduler)
        }
    }
}

struct SchedulerPauseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pause",
        abstract: "Nothing new is placed or fired (running runs continue); cron due times meanwhile are missed.",
        discussion: CLIError.exitStatusHelp)
    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await runClient(output: client.output) {
            let answer = try await client.client().write("/api/scheduler/pause")
            Output.show(answer, as: client.output, table: JobTables.scheduler)
        }
    }
}

struct SchedulerResumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume", abstract: "Place and fire again.", discussion: CLIError.exitStatusHelp)
    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await runClient(output: client.output) {
            let answer = try await client.client().write("/api/scheduler/resume")
            Output.show(answer, as: client.output, table: JobTables.scheduler)
        }
    }
}
