import BerthControlPlane
import BerthRaft
import BerthStorage
import Foundation
import Hummingbird

/// `/api/v1alpha1`: node truth in, explainable placement out (spec §5, the Schedune seed).
/// Envelopes and cordons are writes (through Raft, forwarded to the leader, which stamps its
/// clock into them); explain, select and the node views are reads that any node answers from
/// its own fleet view, each with the `state_index` it was computed at.
struct PlacementRoutes {
    let node: BerthNode

    /// Envelopes and intents are small; a fleet's worth of labels still fits.
    static let bodyLimit = 256 << 10

    func register(on router: Router<some RequestContext>) {
        router.post("/api/v1alpha1/intake/envelope") { request, _ in try await intake(request) }
        router.get("/api/v1alpha1/nodes") { request, _ in try await listNodes(request) }
        router.get("/api/v1alpha1/nodes/:id/explain") { request, context in
            try await explainNode(try context.parameters.require("id"), request)
        }
        router.post("/api/v1alpha1/nodes/:id/cordon") { request, context in
            try await cordon(try context.parameters.require("id"), cordoned: true, request)
        }
        router.post("/api/v1alpha1/nodes/:id/uncordon") { request, context in
            try await cordon(try context.parameters.require("id"), cordoned: false, request)
        }
        router.post("/api/v1alpha1/schedule/explain") { request, _ in try await scheduleExplain(request) }
        router.post("/api/v1alpha1/schedule/select") { request, _ in try await scheduleSelect(request) }
    }

    private var policy: PlacementPolicy {
        PlacementPolicy(telemetryMaxAgeMs: Int64(node.config.telemetryMaxAgeSeconds) * 1000)
    }

    // MARK: Writes

    private func intake(_ request: Request) async throws -> Response {
        let body = try await collectBody(of: request, limit: Self.bodyLimit)
        let envelope: SchedulerEnvelope
        do {
            envelope = try SchedulerEnvelope.parse(json: body.readableBytesView)
        } catch {
            throw APIError.invalid(error, what: "the envelope")
        }
        let key = try RequestOptions.idempotencyKey(request) ?? RequestFingerprint.internalKey()
        let hash = RequestFingerprint.of(
            method: "POST", path: "/api/v1alpha1/intake/envelope", body: body.readableBytesView)
        return JSONResponse.make(
            await node.submit(.recordEnvelope(envelope: envelope, idempotencyKey: key, requestHash: hash)))
    }

    private func cordon(_ nodeID: String, cordoned: Bool, _ request: Request) async throws -> Response {
        let body = try await collectBody(of: request, limit: 4096)
        var draining = false
        if cordoned, body.readableBytes > 0 {
            draining = try decodeJSON(CordonBody.self, from: body).draining ?? false
        }
        let key = try RequestOptions.idempotencyKey(request) ?? RequestFingerprint.internalKey()
        let path = "/api/v1alpha1/nodes/\(nodeID)/\(cordoned ? "cordon" : "uncordon")"
        let hash = RequestFingerprint.of(method: "POST", path: path, body: body.readableBytesView)
        return JSONResponse.make(
            await node.submit(
                .cordonNode(
                    nodeID: nodeID, cordoned: cordoned, draining: draining, idempotencyKey: key, requestHash: hash)))
    }

    // MARK: Reads

    private func listNodes(_ request: Request) async throws -> Response {
        try await RequestOptions.readConsistentlyIfAsked(request, node: node)
        let atMs = try RequestOptions.evaluationTime(request)
        let fleet = node.raft.state.fleet()
        let nodes = fleet.view.nodeIDs.compactMap { fleet.view.explainNode($0, atMs: atMs, policy: policy) }
        return JSONResponse.make(
            .ok, encodable: NodeList(stateIndex: fleet.appliedIndex, evaluatedAtMs: atMs, nodes: nodes))
    }

    private func explainNode(_ nodeID: String, _ request: Request) async throws -> Response {
        try await RequestOptions.readConsistentlyIfAsked(request, node: node)
        let atMs = try RequestOptions.evaluationTime(request)
        let fleet = node.raft.state.fleet()
        guard let explanation = fleet.view.explainNode(nodeID, atMs: atMs, policy: policy) else {
            throw APIError.nodeNotFound(nodeID)
        }
        return JSONResponse.make(.ok, encodable: AtStateIndex(fleet.appliedIndex, explanation))
    }

    /// All nodes ranked and rejected for an intent, or with `?node=ID` the verdict for that node.
    private func scheduleExplain(_ request: Request) async throws -> Response {
        let intent = try await readIntent(request)
        try await RequestOptions.readConsistentlyIfAsked(request, node: node)
        let atMs = try RequestOptions.evaluationTime(request)
        let fleet = node.raft.state.fleet()
        if let nodeID = request.uri.queryParameters["node"].map(String.init) {
            guard let explanation = fleet.view.explain(intent, nodeID: nodeID, atMs: atMs, policy: policy) else {
                throw APIError.nodeNotFound(nodeID)
            }
            return Self.explanationResponse(explanation, stateIndex: fleet.appliedIndex)
        }
        if let top = try RequestOptions.summaryTop(request) {
            let summary = fleet.view.summarize(intent, atMs: atMs, policy: policy, top: top)
            return Self.withStateIndex(summary.jsonBytes(), fleet.appliedIndex)
        }
        let explanation = fleet.view.evaluate(intent, atMs: atMs, policy: policy)
        return Self.explanationResponse(explanation, stateIndex: fleet.appliedIndex)
    }

    /// The explanation's own direct JSON writer (JSONEncoder took 90–160 ms over 10,000 nodes;
    /// this takes a few), with `state_index` added as the first key.
    static func explanationResponse(_ explanation: Explanation, stateIndex: LogIndex) -> Response {
        withStateIndex(explanation.jsonBytes(), stateIndex)
    }

    /// A 200 answer: the JSON object `bytes` with `state_index` put in as its first key.
    static func withStateIndex(_ object: [UInt8], _ stateIndex: LogIndex) -> Response {
        var bytes = object
        precondition(bytes.first == UInt8(ascii: "{"), "an explanation is a JSON object")
        bytes.replaceSubrange(0..<1, with: Array("{\"state_index\":\(stateIndex),".utf8))
        return JSONResponse.make(.ok, bytes: bytes)
    }

    /// The node a launch of the intent would go to; 422 `NO_ELIGIBLE_NODE`, with the whole
    /// explanation, when none fits.
    private func scheduleSelect(_ request: Request) async throws -> Response {
        let intent = try await readIntent(request)
        try await RequestOptions.readConsistentlyIfAsked(request, node: node)
        let atMs = try RequestOptions.evaluationTime(request)
        let fleet = node.raft.state.fleet()
        let explanation = fleet.view.evaluate(intent, atMs: atMs, policy: policy)
        guard let best = explanation.rankedNodes.first else {
            var error = APIError(
                .unprocessableContent, code: "NO_ELIGIBLE_NODE",
                message: "no node can run \(intent.name): \(explanation.rejectedNodes.count) rejected",
                details: ["state_index": "\(fleet.appliedIndex)"])
            error.structuredDetails["explanation"] = AnyEncodable(explanation)
            throw error
        }
        return JSONResponse.make(
            .ok,
            encodable: Selection(
                nodeID: best.nodeID, score: best, stateIndex: fleet.appliedIndex, evaluatedAtMs: atMs))
    }

    private func readIntent(_ request: Request) async throws -> WorkloadIntent {
        let body = try await collectBody(of: request, limit: Self.bodyLimit)
        do {
            return try WorkloadIntent.parse(json: body.readableBytesView)
        } catch {
            throw APIError.invalid(error, what: "the workload intent")
        }
    }
}

/// `POST /api/v1alpha1/nodes/:id/cordon` body (optional).
struct CordonBody: Decodable {
    var draining: Bool?
}

/// A read answer with the applied index it was computed at, beside the value's own fields.
struct AtStateIndex<Value: Encodable & Sendable>: Encodable, Sendable {
    var stateIndex: LogIndex
    var value: Value

    init(_ stateIndex: LogIndex, _ value: Value) {
        self.stateIndex = stateIndex
        self.value = value
    }

    enum CodingKeys: String, CodingKey {
        case stateIndex = "state_index"
    }

    func encode(to encoder: any Encoder) throws {
        try value.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(stateIndex, forKey: .stateIndex)
    }
}

/// `GET /api/v1alpha1/nodes`.
struct NodeList: Encodable, Sendable {
    var stateIndex: LogIndex
    var evaluatedAtMs: Int64
    var nodes: [NodeExplanation]

    enum CodingKeys: String, CodingKey {
        case stateIndex = "state_index"
        case evaluatedAt = "evaluated_at"
        case nodes
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(stateIndex, forKey: .stateIndex)
        try container.encode(RFC3339.string(fromMilliseconds: evaluatedAtMs), forKey: .evaluatedAt)
        try container.encode(nodes, forKey: .nodes)
    }
}

/// `POST /api/v1alpha1/schedule/select`: the chosen node and why it ranked first.
struct Selection: Encodable, Sendable {
    var nodeID: String
    var score: RankedNode
    var stateIndex: LogIndex
    var evaluatedAtMs: Int64

    enum CodingKeys: String, CodingKey {
        case nodeID = "node_id"
        case ranked = "ranked"
        case stateIndex = "state_index"
        case evaluatedAt = "evaluated_at"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(nodeID, forKey: .nodeID)
        try container.encode(score, forKey: .ranked)
        try container.encode(stateIndex, forKey: .stateIndex)
        try container.encode(RFC3339.string(fromMilliseconds: evaluatedAtMs), forKey: .evaluatedAt)
    }
}
