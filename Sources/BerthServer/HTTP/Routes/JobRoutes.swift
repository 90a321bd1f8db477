import BerthControlPlane
import BerthStorage
import Foundation
import HTTPTypes
import Hummingbird

/// `POST /api/jobs` body.
struct CreateJobBody: Decodable {
    /// Required, except for a DAG job (`tasks`), where it only describes the job.
    var command: String?
    var image: String?
    /// `process`, or a VM backend for an `image` (default: `process` for a command, any VM
    /// backend for an image).
    var backend: String?
    var maxConcurrentRuns: Int?
    /// A cron expression (5 fields, or 6 with seconds first): a recurring job.
    var schedule: String?
    var timeZone: String?
    var missedRuns: String?
    var retries: Int?
    var backoffSeconds: Int?
    var dependsOn: [String]?
    var tasks: [JobTask]?

    enum CodingKeys: String, CodingKey {
        case command, image, backend, schedule, retries, tasks
        case maxConcurrentRuns = "max_concurrent_runs"
        case timeZone = "time_zone"
        case missedRuns = "missed_runs"
        case backoffSeconds = "backoff_seconds"
        case dependsOn = "depends_on"
    }

    /// The plan the body asks for, validated; nil when it asks for none of it.
    func plan() throws -> JobPlan? {
        var plan = JobPlan()
        if let schedule {
            do {
                _ = try CronSchedule(parsing: schedule)
            } catch {
                throw APIError(
                    .badRequest, code: CronError.code, message: error.message, details: ["field": "schedule"])
            }
            plan.schedule = schedule
        }
        if let timeZone {
            guard schedule != nil else { throw APIError.badRequest("time_zone needs a schedule", field: "time_zone") }
            guard TimeZone(identifier: timeZone) != nil else {
                throw APIError(
                    .badRequest, code: "INVALID_TIME_ZONE", message: "unknown time zone \(timeZone) (an IANA name)",
                    details: ["field": "time_zone"])
            }
            plan.timeZone = timeZone
        }
        if let missedRuns {
            guard schedule != nil else {
                throw APIError.badRequest("missed_runs needs a schedule", field: "missed_runs")
            }
            guard let policy = MissedRunsPolicy(rawValue: missedRuns) else {
                throw APIError.badRequest("missed_runs must be skip or run_once", field: "missed_runs")
            }
            plan.missedRuns = policy
        }
        if let retries {
            guard (0...JobRoutes.maxRetries).contains(retries) else {
                throw APIError.badRequest("retries must be 0–\(JobRoutes.maxRetries)", field: "retries")
            }
            plan.retries = retries
        }
        if let backoffSeconds {
            guard (0...JobRoutes.maxBackoffSeconds).contains(backoffSeconds) else {
                throw APIError.badRequest(
                    "backoff_seconds must be 0–\(JobRoutes.maxBackoffSeconds)", field: "backoff_seconds")
            }
            plan.backoffSeconds = backoffSeconds
        }
        if let dependsOn, !dependsOn.isEmpty {
            guard dependsOn.count <= JobRoutes.maxDependencies, Set(dependsOn).count == dependsOn.count,
                dependsOn.allSatisfy({ !$0.isEmpty })
            else {
                throw APIError.badRequest(
                    "depends_on must hold at most \(JobRoutes.maxDependencies) distinct job ids", field: "depends_on")
            }
            plan.dependsOn = dependsOn
        }
        if let tasks {
            do {
                try TaskGraph.validate(tasks, maxCommandBytes: JobRoutes.maxCommandBytes)
            } catch {
                throw APIError(
                    .badRequest, code: TaskGraph.Invalid.code, message: error.message, details: ["field": "tasks"])
            }
            guard image == nil, backend == nil || backend == "process" else {
                throw APIError.badRequest("a DAG job's tasks run as processes: no image or VM backend", field: "tasks")
            }
            plan.tasks = tasks
        }
        return plan == JobPlan() ? nil : plan
    }

    /// The job's command: the one given, or for a DAG job without one, its task names.
    var jobCommand: String {
        if let command { return command }
        return "tasks: " + (tasks ?? []).map(\.name).joined(separator: ", ")
    }
}

/// `/api/jobs`, `/api/runs` and `/api/scheduler`: the Raft scheduler seed's jobs API and the Petit
/// plan's, replicated through Raft. Each run of a job is a launch, placed by the leader.
struct JobRoutes {
    let node: BerthNode
    /// Commands longer than this are refused (the seed's limit).
    static let maxCommandBytes = 1024
    /// The largest `max_concurrent_runs`.
    static let maxConcurrentRunsLimit = 1000
    /// `GET /api/jobs/:id/runs` without `limit`, and its largest `limit`.
    static let defaultRunsLimit = 20
    static let maxRunsLimit = 1000
    static let maxRetries = 100
    static let maxBackoffSeconds = 86_400
    static let maxDependencies = 64

    func register(on router: Router<some RequestContext>) {
        router.post("/api/jobs") { request, _ in
            let (body, bytes) = try await decodeJSONBodyAndBytes(CreateJobBody.self, from: request)
            guard body.command != nil || body.tasks != nil else {
                throw APIError.badRequest("command is required (or tasks, for a DAG job)", field: "command")
            }
            let command = body.jobCommand
            guard command.unicodeScalars.contains(where: { !$0.properties.isWhitespace }) else {
                throw APIError.badRequest("command must not be empty", field: "command")
            }
            guard command.utf8.count <= Self.maxCommandBytes else {
                throw APIError.badRequest("command is over \(Self.maxCommandBytes) bytes", field: "command")
            }
            if let backend = body.backend {
                guard let choice = BackendChoice(rawValue: backend) else {
                    let names = BackendChoice.allCases.map(\.rawValue).joined(separator: ", ")
                    throw APIError.badRequest("backend must be one of \(names)", field: "backend")
                }
                if body.image == nil, choice != .process {
                    throw APIError.badRequest(
                        "a command without an image runs on the process backend", field: "backend")
                }
                if body.image != nil, choice == .process {
                    throw APIError.badRequest("an image runs on a VM backend, not process", field: "backend")
                }
            }
            if let limit = body.maxConcurrentRuns, !(1...Self.maxConcurrentRunsLimit).contains(limit) {
                throw APIError.badRequest(
                    "max_concurrent_runs must be 1–\(Self.maxConcurrentRunsLimit)", field: "max_concurrent_runs")
            }
            let key = try RequestOptions.idempotencyKey(request)
            let hash = RequestFingerprint.of(method: "POST", path: "/api/jobs", body: bytes.readableBytesView)
            let jobID = JobID.make(nowMs: WallClock.nowMilliseconds())
            if let plan = try body.plan() {
                return JSONResponse.make(
                    await node.submit(
                        .createPlannedJob(
                            jobID: jobID, command: command, image: body.image, backend: body.backend,
                            maxConcurrentRuns: body.maxConcurrentRuns, plan: plan, idempotencyKey: key,
                            requestHash: hash)))
            }
            return JSONResponse.make(
                await node.submit(
                    .createJob(
                        jobID: jobID, command: command, image: body.image, backend: body.backend,
                        maxConcurrentRuns: body.maxConcurrentRuns, idempotencyKey: key, requestHash: hash)))
        }
        router.get("/api/jobs") { request, _ in try await list(request) }
        router.get("/api/jobs/:id") { request, context in
            let id = try context.parameters.require("id")
            try await RequestOptions.readConsistentlyIfAsked(request, node: node)
            guard let job = try await node.raft.state.job(id: id) else { throw APIError.notFound("job", id: id) }
            return JSONResponse.make(.ok, encodable: JobView(job))
        }
        router.delete("/api/jobs/:id") { request, context in
            let id = try context.parameters.require("id")
            let key = try RequestOptions.idempotencyKey(request) ?? RequestFingerprint.internalKey()
            let hash = RequestFingerprint.of(method: "DELETE", path: "/api/jobs/\(id)", body: EmptyCollection())
            return JSONResponse.make(await node.submit(.cancelJob(id: id, idempotencyKey: key, requestHash: hash)))
        }
        router.get("/api/jobs/:id/output") { request, context in
            let id = try context.parameters.require("id")
            try await RequestOptions.readConsistentlyIfAsked(request, node: node)
            guard let job = try await node.raft.state.job(id: id) else { throw APIError.notFound("job", id: id) }
            let output = try job.runID.flatMap { try node.raft.state.launchOutput(id: $0) }
            return JSONResponse.make(.ok, encodable: JobOutputView(job: job, output: output))
        }
        router.post("/api/jobs/:id/trigger") { request, context in
            let id = try context.parameters.require("id")
            let key = try RequestOptions.idempotencyKey(request) ?? RequestFingerprint.internalKey()
            let hash = RequestFingerprint.of(method: "POST", path: "/api/jobs/\(id)/trigger", body: EmptyCollection())
            return JSONResponse.make(await node.submit(.triggerJob(jobID: id, idempotencyKey: key, requestHash: hash)))
        }
        router.get("/api/jobs/:id/runs") { request, context in
            let id = try context.parameters.require("id")
            var limit = Self.defaultRunsLimit
            if let text = request.uri.queryParameters["limit"] {
                guard let value = Int(String(text)), (1...Self.maxRunsLimit).contains(value) else {
                    throw APIError.badRequest("limit must be 1–\(Self.maxRunsLimit)", field: "limit")
                }
                limit = value
            }
            try await RequestOptions.readConsistentlyIfAsked(request, node: node)
            guard let job = try await node.raft.state.job(id: id) else { throw APIError.notFound("job", id: id) }
            if job.plan?.tasks != nil {
                let runs = try node.raft.state.dagRuns(ofJob: id, limit: limit)
                return JSONResponse.make(.ok, encodable: runs.map(RunView.init))
            }
            let runs = try node.raft.state.runs(ofJob: id, limit: limit)
            return JSONResponse.make(.ok, encodable: runs.map(RunView.init))
        }
        router.get("/api/jobs/:id/fires") { request, context in
            let id = try context.parameters.require("id")
            var limit = Self.defaultRunsLimit
            if let text = request.uri.queryParameters["limit"] {
                guard let value = Int(String(text)), (1...Self.maxRunsLimit).contains(value) else {
                    throw APIError.badRequest("limit must be 1–\(Self.maxRunsLimit)", field: "limit")
                }
                limit = value
            }
            try await RequestOptions.readConsistentlyIfAsked(request, node: node)
            guard try await node.raft.state.job(id: id) != nil else { throw APIError.notFound("job", id: id) }
            let fires = try node.raft.state.fires(ofJob: id, limit: limit)
            return JSONResponse.make(.ok, encodable: fires.map(FireView.init))
        }
        router.get("/api/runs/:id") { request, context in
            let id = try context.parameters.require("id")
            try await RequestOptions.readConsistentlyIfAsked(request, node: node)
            if let dag = try node.raft.state.dagRun(id: id) { return JSONResponse.make(.ok, encodable: RunView(dag)) }
            guard let run = try node.raft.state.run(id: id) else { throw APIError.notFound("run", id: id) }
            return JSONResponse.make(.ok, encodable: RunView(run))
        }
        router.get("/api/runs/:id/tasks") { request, context in
            let id = try context.parameters.require("id")
            try await RequestOptions.readConsistentlyIfAsked(request, node: node)
            if let dag = try node.raft.state.dagRun(id: id) {
                let views = try dag.tasks.map { task in
                    TaskView(task, output: try task.launchID.flatMap { try node.raft.state.launchOutput(id: $0) })
                }
                return JSONResponse.make(.ok, encodable: views)
            }
            guard try node.raft.state.run(id: id) != nil else { throw APIError.notFound("run", id: id) }
            // A run of a job without tasks has none.
            return JSONResponse.make(.ok, encodable: [TaskView]())
        }
        router.get("/api/scheduler/state") { request, _ in
            try await RequestOptions.readConsistentlyIfAsked(request, node: node)
            return JSONResponse.make(.ok, encodable: SchedulerStateView(try node.raft.state.schedulerState()))
        }
        for (path, paused) in [("/api/scheduler/pause", true), ("/api/scheduler/resume", false)] {
            router.post(RouterPath(path)) { request, _ in
                let key = try RequestOptions.idempotencyKey(request) ?? RequestFingerprint.internalKey()
                let hash = RequestFingerprint.of(method: "POST", path: path, body: EmptyCollection())
                return JSONResponse.make(
                    await node.submit(.setSchedulerPaused(paused: paused, idempotencyKey: key, requestHash: hash)))
            }
        }
        router.get("/api/health") { _, _ in
            let status = node.raft.basicStatus
            let paused = (try? node.raft.state.schedulerState().paused) ?? false
            var body: [String: Any?] = [
                "status": status.leader == .none ? "no_leader" : "ok",
                "node_id": node.config.nodeID,
                "leader_id": status.leader == .none ? nil : status.leader,
                "scheduler": paused ? "paused" : "running",
            ]
            body["role"] = "\(status.role)"
            return JSONResponse.make(status.leader == .none ? .serviceUnavailable : .ok, body)
        }
    }

    private func list(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        func integer(_ name: String) throws -> Int64? {
            guard let text = query[Substring(name)] else { return nil }
            guard let value = Int64(String(text)) else {
                throw APIError.badRequest("\(name) must be an integer", field: name)
            }
            return value
        }
        var jobQuery = JobQuery()
        if let size = try integer("page_size") {
            guard (1...Int64(JobQuery.maxPageSize)).contains(size) else {
                throw APIError.badRequest("page_size must be 1–\(JobQuery.maxPageSize)", field: "page_size")
            }
            jobQuery.pageSize = Int(size)
        }
        if let token = query["page_token"], !token.isEmpty { jobQuery.pageToken = String(token) }
        if let status = query["status"], !status.isEmpty {
            guard let parsed = JobStatus(rawValue: String(status)) else {
                throw APIError.badRequest("unknown status \(status)", field: "status")
            }
            jobQuery.status = parsed
        }
        if let command = query["command"], !command.isEmpty { jobQuery.commandContains = String(command) }
        if let worker = query["worker"], !worker.isEmpty { jobQuery.executedBy = String(worker) }
        jobQuery.createdAfterMs = try integer("created_after")
        jobQuery.createdBeforeMs = try integer("created_before")
        try await RequestOptions.readConsistentlyIfAsked(request, node: node)
        let page: JobPage
        do {
            page = try await node.raft.state.listJobs(jobQuery)
        } catch .invalidPageToken {
            throw APIError.badRequest("invalid page_token", field: "page_token")
        } catch {
            throw APIError(.serviceUnavailable, code: error.code, message: error.message, retryAfterSeconds: 1)
        }
        var headers: HTTPFields = [HTTPField.Name("X-Total-Count")!: "\(page.totalCount)"]
        if let next = page.nextPageToken { headers[HTTPField.Name("X-Next-Page-Token")!] = next }
        return JSONResponse.make(.ok, encodable: page.jobs.map(JobView.init), headers: headers)
    }
}
