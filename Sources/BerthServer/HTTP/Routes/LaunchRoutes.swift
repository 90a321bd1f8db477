import BerthControlPlane
import BerthRaft
import BerthStorage
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// `/api/v1alpha1` launches (spec §5, §6): plan, execute (a replicated intent only the leader
/// places), read, terminate, and the agents' half — their action feed and their reports.
struct LaunchRoutes {
    let node: BerthNode

    /// The longest an agent's action poll waits.
    static let maxWaitSeconds = 30

    func register(on router: Router<some RequestContext>) {
        router.post("/api/v1alpha1/plan/launch") { request, _ in try await plan(request) }
        router.post("/api/v1alpha1/launch/execute") { request, _ in try await execute(request) }
        router.post("/api/v1alpha1/launch/validate") { request, _ in try await validate(request, dryRun: false) }
        router.post("/api/v1alpha1/launch/dry-run") { request, _ in try await validate(request, dryRun: true) }
        router.get("/api/v1alpha1/launch/:id") { request, context in
            try await show(try context.parameters.require("id"), request)
        }
        router.get("/api/v1alpha1/launches") { request, _ in try await list(request) }
        router.post("/api/v1alpha1/launch/:id/terminate") { request, context in
            let id = try context.parameters.require("id")
            let body = try await collectBody(of: request, limit: 4096)
            let key = try RequestOptions.idempotencyKey(request) ?? RequestFingerprint.internalKey()
            let hash = RequestFingerprint.of(
                method: "POST", path: "/api/v1alpha1/launch/\(id)/terminate", body: body.readableBytesView)
            return JSONResponse.make(
                await node.submit(.terminateLaunch(launchID: id, idempotencyKey: key, requestHash: hash)))
        }
        router.post("/api/v1alpha1/launch/:id/transitions") { request, context in
            try await report(try context.parameters.require("id"), request)
        }
        router.get("/api/v1alpha1/agents/:node/actions") { request, context in
            try await actions(try context.parameters.require("node"), request)
        }
    }

    // MARK: Plan and execute

    /// `{"intent": {…}, "dry_run": bool}` → the chosen node's hydrated LaunchSpec and every
    /// rejection, at a `state_index` that execute can send back as `expect_state_index`.
    private func plan(_ request: Request) async throws -> Response {
        let body = try await readObject(request, allowed: ["intent", "dry_run"])
        let intent = try readIntent(body["intent"])
        let dryRun = try readBool(body["dry_run"], field: "dry_run") ?? false
        try await RequestOptions.readConsistentlyIfAsked(request, node: node)
        let atMs = WallClock.nowMilliseconds()
        let fleet = node.raft.state.fleet()
        let explanation = fleet.view.evaluate(intent, atMs: atMs, policy: node.placementPolicy)
        // Written straight to bytes: the explanation is as large as the fleet, and a round trip
        // through JSONSerialization would cost more than evaluating it.
        var answer = JSONObjectWriter(capacity: 4096)
        answer.addRaw("explanation", explanation.jsonBytes())
        guard let nodeID = explanation.selectedNodeID, let truth = fleet.view.truth(of: nodeID) else {
            answer.addNull("node_id")
            answer.add("state_index", fleet.appliedIndex)
            return JSONResponse.make(.unprocessableContent, bytes: answer.finish())
        }
        let spec = try LaunchSpec.hydrate(intent, on: truth)
        answer.add("node_id", nodeID)
        if dryRun {
            var action = JSONObjectWriter()
            action.add("command", "berth agent prepare --spec SPEC.json")
            action.add("detail", "write `spec` to SPEC.json on \(nodeID) and run the command there")
            action.add("node_id", nodeID)
            action.add("type", "PrepareOnNode")
            var preparation = JSONObjectWriter()
            preparation.addRaw("actions", [UInt8(ascii: "[")] + action.finish() + [UInt8(ascii: "]")])
            preparation.add("status", "pending")
            answer.addRaw("preparation", preparation.finish())
        }
        answer.addRaw("spec", StateCommand.canonicalJSON(spec))
        answer.add("state_index", fleet.appliedIndex)
        return JSONResponse.make(.ok, bytes: answer.finish())
    }

    /// `{"intent": {…}, "node_id"?, "expect_state_index"?, "wait_for_capacity"?}`.
    private func execute(_ request: Request) async throws -> Response {
        let raw = try await collectBody(of: request, limit: PlacementRoutes.bodyLimit)
        let body = try object(of: raw, allowed: ["intent", "node_id", "expect_state_index", "wait_for_capacity"])
        let intent = try readIntent(body["intent"])
        var nodeID: String?
        if let value = body["node_id"], value != .null {
            guard case .string(let text) = value, !text.isEmpty else {
                throw APIError.badRequest("node_id must be a node id", field: "node_id")
            }
            nodeID = text
        }
        var expect: UInt64?
        if let value = body["expect_state_index"], value != .null {
            guard case .integer(let index) = value, index >= 0 else {
                throw APIError.badRequest("expect_state_index must be an index", field: "expect_state_index")
            }
            expect = UInt64(index)
        }
        if expect != nil, nodeID == nil {
            throw APIError.badRequest("expect_state_index needs the plan's node_id", field: "node_id")
        }
        let wait = try readBool(body["wait_for_capacity"], field: "wait_for_capacity") ?? false
        let key = try RequestOptions.idempotencyKey(request)
        let hash = RequestFingerprint.of(
            method: "POST", path: "/api/v1alpha1/launch/execute", body: raw.readableBytesView)
        let launchID = JobID.make(nowMs: WallClock.nowMilliseconds())
        let answer = await node.submit(
            .executeLaunch(
                launchID: launchID, intent: intent, nodeID: nodeID, expectStateIndex: expect, waitForCapacity: wait,
                idempotencyKey: key, requestHash: hash))
        return withFreshExplanation(answer, intent: intent)
    }

    /// A refusal because of the fleet (nothing fits, the plan is stale, the node no longer fits)
    /// carries the explanation as this node sees the fleet now.
    private func withFreshExplanation(_ answer: ClientAnswer, intent: WorkloadIntent) -> Response {
        guard answer.status == 409 || answer.status == 422,
            var object = (try? JSONSerialization.jsonObject(with: Data(answer.body))) as? [String: Any],
            var error = object["error"] as? [String: Any],
            let code = error["code"] as? String, ["NO_ELIGIBLE_NODE", "PLAN_STALE", "PLACEMENT_STALE"].contains(code)
        else { return JSONResponse.make(answer) }
        let fleet = node.raft.state.fleet()
        let explanation = fleet.view.evaluate(
            intent, atMs: WallClock.nowMilliseconds(), policy: node.placementPolicy)
        var details = error["details"] as? [String: Any] ?? [:]
        details["explanation"] = try? jsonObject(explanation.jsonBytes())
        details["state_index"] = fleet.appliedIndex
        error["details"] = details
        object["error"] = error
        return JSONResponse.make(.init(code: answer.status), object)
    }

    /// A LaunchSpec (as a plan hydrated it) checked against its node's truth now: every check
    /// that fails, with evidence. `dry-run` also hydrates the spec's intent on the node again
    /// and says whether that gives the same spec, and what the agent would run to prepare it.
    private func validate(_ request: Request, dryRun: Bool) async throws -> Response {
        let body = try await collectBody(of: request, limit: PlacementRoutes.bodyLimit)
        let spec: LaunchSpec
        do {
            spec = try LaunchSpec.parse(json: body.readableBytesView)
        } catch {
            throw APIError.invalid(error, what: "the launch spec")
        }
        try await RequestOptions.readConsistentlyIfAsked(request, node: node)
        let fleet = node.raft.state.fleet()
        let intent = WorkloadIntent(
            name: spec.name, arch: spec.arch == .x86_64 ? .x86_64 : .aarch64, vcpus: spec.vcpus,
            memoryMiB: spec.memoryMiB, requiresKVM: spec.accel == .kvm, backend: BackendChoice(spec.backend),
            labels: spec.labels, payload: spec.payload)
        guard
            let verdict = fleet.view.explain(
                intent, nodeID: spec.nodeID, atMs: WallClock.nowMilliseconds(), policy: node.placementPolicy)
        else {
            throw APIError.nodeNotFound(spec.nodeID)
        }
        var answer: [String: Any?] = [
            "valid": verdict.rankedNodes.isEmpty == false,
            "node_id": spec.nodeID,
            "state_index": fleet.appliedIndex,
            "verdict": try jsonObject(verdict.jsonBytes()),
        ]
        if dryRun, let truth = fleet.view.truth(of: spec.nodeID) {
            let hydrated = try? LaunchSpec.hydrate(intent, on: truth)
            answer["hydrated_spec"] = try hydrated.map { try jsonObject(StateCommand.canonicalJSON($0)) }
            answer["spec_matches"] = hydrated == spec
            answer["prepare_command"] = "berth agent prepare --spec SPEC.json"
        }
        return JSONResponse.make(.ok, answer)
    }

    // MARK: Reads

    private func show(_ id: String, _ request: Request) async throws -> Response {
        try await RequestOptions.readConsistentlyIfAsked(request, node: node)
        guard let record = try node.raft.state.launch(id: id) else {
            throw APIError(.notFound, code: "LAUNCH_NOT_FOUND", message: "launch \(id) not found", details: ["id": id])
        }
        var whyPending: Explanation?
        if record.state == .pending {
            whyPending = node.raft.state.fleet().view.evaluate(
                record.intent, atMs: WallClock.nowMilliseconds(), policy: node.placementPolicy)
        }
        let placement = try node.raft.state.launchPlacementJSON(id: id)
        return JSONResponse.make(.ok, bytes: Self.document(record, placement: placement, whyPending: whyPending))
    }

    /// A launch as JSON with its full placement explanation put back: the stored record keeps
    /// the placement without its node lists, which are stored apart as the explanation's own
    /// JSON (`LaunchRecord+Storage.swift`); re-encoding a fleet-sized explanation with
    /// JSONEncoder would cost a hundred times more than splicing it in.
    static func document(_ record: LaunchRecord, placement: [UInt8]?, whyPending: Explanation?) -> [UInt8] {
        let encoder = JSONEncoder.api
        var bytes = Array((try? encoder.encode(LaunchView(record, whyPending: whyPending))) ?? Data("{}".utf8))
        guard let placement, let light = record.placement, let lightBytes = try? encoder.encode(light),
            let range = bytes.firstRange(of: Array(lightBytes))
        else { return bytes }
        bytes.replaceSubrange(range, with: placement)
        return bytes
    }

    private func list(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        var state: LaunchState?
        if let text = query["state"], !text.isEmpty {
            guard let parsed = LaunchState(rawValue: String(text)) else {
                throw APIError.badRequest("unknown state \(text)", field: "state")
            }
            state = parsed
        }
        var limit = 100
        if let text = query["page_size"] {
            guard let value = Int(String(text)), (1...1000).contains(value) else {
                throw APIError.badRequest("page_size must be 1–1000", field: "page_size")
            }
            limit = value
        }
        let after = query["page_token"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
        try await RequestOptions.readConsistentlyIfAsked(request, node: node)
        let records = try node.raft.state.launches(
            state: state, nodeID: query["node"].map(String.init), limit: limit, after: after)
        var headers: HTTPFields = [:]
        if records.count == limit, let last = records.last {
            headers[HTTPField.Name("X-Next-Page-Token")!] = last.id
        }
        return JSONResponse.make(.ok, encodable: records.map { LaunchView($0) }, headers: headers)
    }

    // MARK: The agents' half

    /// `{"node_id", "state", "reason"?: {"code", "exit_code"?, "signal"?, "detail"?}, "note"?}`.
    private func report(_ launchID: String, _ request: Request) async throws -> Response {
        let body = try await readObject(request, allowed: ["node_id", "state", "reason", "note", "output"])
        guard case .string(let nodeID)? = body["node_id"], !nodeID.isEmpty else {
            throw APIError.badRequest("node_id is required", field: "node_id")
        }
        // `lost` is the leader's to declare, never an agent's to report.
        let reportable = LaunchState.allCases.filter { $0 != .lost }
        guard case .string(let stateText)? = body["state"], let state = LaunchState(rawValue: stateText),
            state != .lost
        else {
            throw APIError.badRequest(
                "state must be one of \(reportable.map(\.rawValue).joined(separator: ", "))", field: "state")
        }
        node.agentsHeard.record(nodeID, atMs: WallClock.nowMilliseconds())
        var reason: FailureReason?
        if let value = body["reason"], value != .null {
            reason = try readReason(value)
        }
        var note: String?
        if let value = body["note"], value != .null {
            guard case .string(let text) = value, text.utf8.count <= 1024 else {
                throw APIError.badRequest("note must be a string of at most 1024 bytes", field: "note")
            }
            note = text
        }
        var output: LaunchOutput?
        if let value = body["output"], value != .null {
            output = try readOutput(value)
        }
        return JSONResponse.make(
            await node.submit(
                .reportLaunch(
                    launchID: launchID, nodeID: nodeID, state: state, reason: reason, note: note, output: output)))
    }

    /// `{"stdout": "…", "stderr": "…", "truncated": bool}`: what a finished process printed. Each
    /// stream over `LaunchOutput.reportLimitBytes` is cut and flagged, not refused.
    private func readOutput(_ value: JSONValue) throws -> LaunchOutput {
        guard case .object(let fields) = value else {
            throw APIError.badRequest("output must be an object", field: "output")
        }
        func text(_ name: String) throws -> String {
            switch fields[name] {
            case nil, .null?: return ""
            case .string(let text)?: return text
            default: throw APIError.badRequest("output.\(name) must be a string", field: "output.\(name)")
            }
        }
        let truncated = try readBool(fields["truncated"], field: "output.truncated") ?? false
        return LaunchOutput(stdout: try text("stdout"), stderr: try text("stderr"), truncated: truncated).bounded()
    }

    /// A long poll (`?wait=SECONDS`, at most 30): the node's actions as soon as it has any. Any
    /// server answers from its applied state, so it works through a load balancer, and after a
    /// failover the actions not yet acknowledged are simply still there.
    /// The most held actions an agent may list (more than an agent runs at once).
    static let maxHeldActions = 1024

    private func actions(_ nodeID: String, _ request: Request) async throws -> Response {
        var waitSeconds = 0
        if let text = request.uri.queryParameters["wait"] {
            guard let value = Int(String(text)), (0...Self.maxWaitSeconds).contains(value) else {
                throw APIError.badRequest("wait must be 0–\(Self.maxWaitSeconds) seconds", field: "wait")
            }
            waitSeconds = value
        }
        // `held=TYPE:LAUNCH_ID,…`: actions the agent already carries out. They stay offered until
        // their first report lands, but if they ended the long poll at once the agent would have
        // nothing to wait on but a sleep of its own, which delayed the next launch by up to 300 ms.
        var held: Set<String> = []
        if let text = request.uri.queryParameters["held"], !text.isEmpty {
            let keys = text.split(separator: ",", omittingEmptySubsequences: true).map(String.init)
            guard keys.count <= Self.maxHeldActions, keys.allSatisfy({ $0.utf8.count <= 300 }) else {
                throw APIError.badRequest(
                    "held lists at most \(Self.maxHeldActions) actions of at most 300 bytes each", field: "held")
            }
            held = Set(keys)
        }
        // Heard now, not when the poll ends: an agent frozen mid-poll must not look alive.
        node.agentsHeard.record(nodeID, atMs: WallClock.nowMilliseconds())
        let deadline = NIODeadline.now() + .seconds(Int64(waitSeconds))
        var queriedAt: LogIndex?
        while true {
            // Actions only change when entries apply: a waiting agent costs a query per applied
            // change, and wakes as soon as one applies.
            let applied = node.raft.basicStatus.applied
            if applied == queriedAt, NIODeadline.now() < deadline {
                await node.raft.appliedChange(after: applied, until: deadline)
                continue
            }
            queriedAt = applied
            var actions = try node.raft.state.pendingActions(for: nodeID).map { record in
                AgentAction(type: AgentAction.type(for: record.state), record: record)
            }
            if let sweep = node.raft.state.fleet().view.truth(of: nodeID)?.orphans.pendingSweep {
                actions.append(AgentAction(type: "sweep_orphans", sweep: sweep))
            }
            // The answer lists every offered action (the agent prunes what it holds by it); only
            // one it does not hold yet ends the wait early.
            let fresh = actions.contains { !held.contains($0.heldKey) }
            if fresh || NIODeadline.now() >= deadline {
                return JSONResponse.make(
                    .ok,
                    encodable: AgentActions(
                        nodeID: nodeID, stateIndex: node.raft.state.fleet().appliedIndex, actions: actions))
            }
            await node.raft.appliedChange(after: applied, until: deadline)
        }
    }

    // MARK: Body reading

    private func readObject(_ request: Request, allowed: Set<String>) async throws -> [String: JSONValue] {
        try object(of: try await collectBody(of: request, limit: PlacementRoutes.bodyLimit), allowed: allowed)
    }

    private func object(of body: ByteBuffer, allowed: Set<String>) throws -> [String: JSONValue] {
        let value: JSONValue
        do {
            value = try JSONParser.parse(body.readableBytesView)
        } catch {
            throw APIError.badRequest("request body is not valid JSON: \(error.reason)")
        }
        guard case .object(let object) = value else { throw APIError.badRequest("request body must be an object") }
        if let unknown = object.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw APIError.badRequest("unknown field \(unknown)", field: unknown)
        }
        return object
    }

    private func readIntent(_ value: JSONValue?) throws -> WorkloadIntent {
        guard let value else { throw APIError.badRequest("intent is required", field: "intent") }
        do {
            return try WorkloadIntent.read(value)
        } catch {
            var failure = error
            failure.problems = failure.problems.map { problem in
                var problem = problem
                problem.field = problem.field.isEmpty ? "intent" : "intent.\(problem.field)"
                return problem
            }
            throw APIError.invalid(failure, what: "the workload intent")
        }
    }

    /// `{"code", "exit_code"?, "signal"?, "detail"?}`.
    private func readReason(_ value: JSONValue) throws -> FailureReason {
        let usage = "reason must be {code, exit_code?, signal?, detail?} with a known code"
        guard case .object(let fields) = value,
            Set(fields.keys).isSubset(of: ["code", "exit_code", "signal", "detail"]),
            case .string(let codeText)? = fields["code"], let code = FailureCode(rawValue: codeText)
        else { throw APIError.badRequest(usage, field: "reason") }
        func int32(_ key: String) throws -> Int32? {
            guard let field = fields[key], field != .null else { return nil }
            guard case .integer(let number) = field, let value = Int32(exactly: number) else {
                throw APIError.badRequest(usage, field: "reason.\(key)")
            }
            return value
        }
        var detail: String?
        if let field = fields["detail"], field != .null {
            guard case .string(let text) = field, text.utf8.count <= 4096 else {
                throw APIError.badRequest(usage, field: "reason.detail")
            }
            detail = text
        }
        return FailureReason(code: code, exitCode: try int32("exit_code"), signal: try int32("signal"), detail: detail)
    }

    private func readBool(_ value: JSONValue?, field: String) throws -> Bool? {
        guard let value, value != .null else { return nil }
        guard case .bool(let flag) = value else {
            throw APIError.badRequest("\(field) must be a boolean", field: field)
        }
        return flag
    }

    private func jsonObject(_ bytes: [UInt8]) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(bytes))
    }
}

/// One thing an agent must do: `launch` (prepare, start, report), `terminate`, `abandon` (the
/// launch was lost with the node, perhaps `replaced_by` another: stop the workload and report
/// how it ended) or `sweep_orphans` (kill the listed orphans; its `launch_id` is `sweep-<id>`,
/// so agents that hold actions by type and launch id need nothing new).
struct AgentAction: Encodable, Sendable {
    var type: String
    var record: LaunchRecord?
    var sweep: NodeOrphans.Sweep?

    init(type: String, record: LaunchRecord) {
        self.type = type
        self.record = record
    }

    init(type: String, sweep: NodeOrphans.Sweep) {
        self.type = type
        self.sweep = sweep
    }

    static func type(for state: LaunchState) -> String {
        switch state {
        case .terminating: return "terminate"
        case .lost: return "abandon"
        default: return "launch"
        }
    }

    var launchID: String { record?.id ?? "sweep-\(sweep?.id ?? 0)" }

    /// How the agent names it in `held=`.
    var heldKey: String { "\(type):\(launchID)" }

    enum CodingKeys: String, CodingKey {
        case type
        case launchID = "launch_id"
        case state
        case spec
        case replacedBy = "replaced_by"
        case sweepID = "sweep_id"
        case orphans
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(type, forKey: .type)
        try container.encode(launchID, forKey: .launchID)
        if let record {
            try container.encode(record.state, forKey: .state)
            try container.encodeIfPresent(record.spec, forKey: .spec)
            try container.encodeIfPresent(record.replacedBy, forKey: .replacedBy)
        }
        if let sweep {
            try container.encode(sweep.id, forKey: .sweepID)
            try container.encode(sweep.orphans, forKey: .orphans)
        }
    }
}

/// `GET /api/v1alpha1/agents/:node/actions`.
struct AgentActions: Encodable, Sendable {
    var nodeID: String
    var stateIndex: LogIndex
    var actions: [AgentAction]

    enum CodingKeys: String, CodingKey {
        case nodeID = "node_id"
        case stateIndex = "state_index"
        case actions
    }
}
