import BerthControlPlane
import BerthStorage
import Foundation
import HTTPTypes
import Hummingbird

/// `POST /api/jobs` body.
struct CreateJobBody: Decodable {
    var command: String
    var image: String?
}

/// `/api/jobs`: the Raft scheduler seed's jobs API, replicated through Raft.
struct JobRoutes {
    let node: BerthNode
    /// Commands longer than this are refused (the seed's limit).
    static let maxCommandBytes = 1024

    func register(on router: Router<some RequestContext>) {
        router.post("/api/jobs") { request, _ in
            let (body, bytes) = try await decodeJSONBodyAndBytes(CreateJobBody.self, from: request)
            guard body.command.unicodeScalars.contains(where: { !$0.properties.isWhitespace }) else {
                throw APIError.badRequest("command must not be empty", field: "command")
            }
            guard body.command.utf8.count <= Self.maxCommandBytes else {
                throw APIError.badRequest("command is over \(Self.maxCommandBytes) bytes", field: "command")
            }
            let key = try RequestOptions.idempotencyKey(request)
            let hash = RequestFingerprint.of(method: "POST", path: "/api/jobs", body: bytes.readableBytesView)
            let jobID = JobID.make(nowMs: WallClock.nowMilliseconds())
            return JSONResponse.make(
                await node.submit(
                    .createJob(
                        jobID: jobID, command: body.command, image: body.image, idempotencyKey: key,
                        requestHash: hash)))
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
