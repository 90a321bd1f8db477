import BerthControlPlane
import BerthRaft
import BerthStorage
import Foundation
import Hummingbird

/// `/api/v1alpha1/nodes/:id` (a node's state: lost, drain progress, orphans), drains, and
/// orphans — reported by agents, swept only on an operator's explicit request (spec §6).
struct NodeSafetyRoutes {
    let node: BerthNode

    /// The most orphans one report may list.
    static let maxOrphans = 4096

    func register(on router: Router<some RequestContext>) {
        router.get("/api/v1alpha1/nodes/:id") { request, context in
            try await show(try context.parameters.require("id"), request)
        }
        router.post("/api/v1alpha1/nodes/:id/drain") { request, context in
            try await drain(try context.parameters.require("id"), draining: true, request)
        }
        router.delete("/api/v1alpha1/nodes/:id/drain") { request, context in
            try await drain(try context.parameters.require("id"), draining: false, request)
        }
        router.get("/api/v1alpha1/nodes/:id/orphans") { request, context in
            try await orphans(try context.parameters.require("id"), request)
        }
        router.post("/api/v1alpha1/nodes/:id/orphans/sweep") { request, context in
            try await sweep(try context.parameters.require("id"), request)
        }
        router.put("/api/v1alpha1/agents/:node/orphans") { request, context in
            try await report(try context.parameters.require("node"), request)
        }
    }

    // MARK: Reads

    /// The node's truth, whether it is lost, its drain's progress and its orphans.
    private func show(_ nodeID: String, _ request: Request) async throws -> Response {
        try await RequestOptions.readConsistentlyIfAsked(request, node: node)
        let fleet = node.raft.state.fleet()
        guard let truth = fleet.view.truth(of: nodeID) else { throw APIError.nodeNotFound(nodeID) }
        var answer = JSONObjectWriter(capacity: 2048)
        answer.add("cordoned", truth.cordoned)
        if let drain = try drainDocument(truth) { answer.addRaw("drain", drain) } else { answer.addNull("drain") }
        answer.add("draining", truth.draining)
        answer.add("lost", truth.lost)
        if let at = truth.lostAtMs {
            answer.add("lost_at", RFC3339.string(fromMilliseconds: at))
        } else {
            answer.addNull("lost_at")
        }
        answer.add("node_id", nodeID)
        answer.addRaw("orphans", StateCommand.canonicalJSON(truth.orphans))
        answer.add("state_index", fleet.appliedIndex)
        answer.addRaw("truth", truth.jsonBytes())
        if let usage = fleet.view.usage(of: nodeID) {
            var used = JSONObjectWriter()
            used.add("active_launches", usage.activeLaunches)
            used.add("memory_mib", usage.usedMemoryMiB)
            used.add("vcpus", usage.usedCPUs)
            answer.addRaw("usage", used.finish())
        }
        return JSONResponse.make(.ok, bytes: answer.finish())
    }

    /// `{"active", "remaining", "moving", "moved", "staying", "done"}`, while the node drains or
    /// moves are still in flight on it; nil otherwise.
    private func drainDocument(_ truth: NodeTruth) throws -> [UInt8]? {
        let since = truth.cordonedAtMs ?? 0
        let launches = try node.raft.state.launchesForDrain(on: truth.nodeID, sinceMs: since)
        let progress = DrainProgress(launches: launches, nodeID: truth.nodeID, sinceMs: since)
        guard truth.draining || !progress.moving.isEmpty else { return nil }
        // A move whose replacement ended without running stays here, still running: say so.
        var blocked: [[String: Any]] = []
        for record in launches where progress.moving.contains(record.id) {
            guard let replacementID = record.replacedBy,
                let replacement = try node.raft.state.launch(id: replacementID), replacement.state.isTerminal
            else { continue }
            var entry: [String: Any] = [
                "launch_id": record.id, "replacement": replacementID, "replacement_state": replacement.state.rawValue,
            ]
            if let failure = replacement.failure { entry["replacement_failure"] = failure.code.rawValue }
            blocked.append(entry)
        }
        let document: [String: Any] = [
            "active": truth.draining, "remaining": progress.remaining, "moving": progress.moving,
            "moved": progress.moved, "staying": progress.staying, "done": progress.done, "blocked": blocked,
            "since": RFC3339.string(fromMilliseconds: since),
        ]
        return Array(try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys]))
    }

    private func orphans(_ nodeID: String, _ request: Request) async throws -> Response {
        try await RequestOptions.readConsistentlyIfAsked(request, node: node)
        let fleet = node.raft.state.fleet()
        guard let truth = fleet.view.truth(of: nodeID) else { throw APIError.nodeNotFound(nodeID) }
        var answer = JSONObjectWriter()
        answer.add("node_id", nodeID)
        answer.addRaw("orphans", StateCommand.canonicalJSON(truth.orphans))
        answer.add("state_index", fleet.appliedIndex)
        return JSONResponse.make(.ok, bytes: answer.finish())
    }

    // MARK: Writes

    /// `POST` cordons the node and drains it; `DELETE` stops the drain (the node stays cordoned:
    /// `POST …/uncordon` makes it schedulable again).
    private func drain(_ nodeID: String, draining: Bool, _ request: Request) async throws -> Response {
        let body = try await collectBody(of: request, limit: 4096)
        guard node.raft.state.fleet().view.truth(of: nodeID) != nil else { throw APIError.nodeNotFound(nodeID) }
        let key = try RequestOptions.idempotencyKey(request) ?? RequestFingerprint.internalKey()
        let hash = RequestFingerprint.of(
            method: draining ? "POST" : "DELETE", path: "/api/v1alpha1/nodes/\(nodeID)/drain",
            body: body.readableBytesView)
        return JSONResponse.make(
            await node.submit(.drainNode(nodeID: nodeID, draining: draining, idempotencyKey: key, requestHash: hash)))
    }

    /// Asks the node's agent to kill the orphans it reported (those listed now, no others).
    private func sweep(_ nodeID: String, _ request: Request) async throws -> Response {
        let body = try await collectBody(of: request, limit: 4096)
        guard let truth = node.raft.state.fleet().view.truth(of: nodeID) else {
            throw APIError.nodeNotFound(nodeID)
        }
        guard !truth.orphans.orphans.isEmpty else {
            throw APIError(
                .conflict, code: "NO_ORPHANS", message: "node \(nodeID)'s agent reports no orphans: nothing to sweep",
                details: ["node_id": nodeID])
        }
        let key = try RequestOptions.idempotencyKey(request) ?? RequestFingerprint.internalKey()
        let hash = RequestFingerprint.of(
            method: "POST", path: "/api/v1alpha1/nodes/\(nodeID)/orphans/sweep", body: body.readableBytesView)
        return JSONResponse.make(
            await node.submit(.sweepOrphans(nodeID: nodeID, idempotencyKey: key, requestHash: hash)))
    }

    /// `{"orphans": [{"launch_id", "pid", "start_time"}], "swept"?: SWEEP_ID}` from the agent.
    private func report(_ nodeID: String, _ request: Request) async throws -> Response {
        let body = try await decodeJSONBody(OrphanReport.self, from: request, limit: 1 << 20)
        guard body.orphans.count <= Self.maxOrphans,
            body.orphans.allSatisfy({ !$0.launchID.isEmpty && $0.launchID.utf8.count <= 256 && $0.pid > 0 })
        else {
            throw APIError.badRequest(
                "orphans lists at most \(Self.maxOrphans) processes, each with a launch_id and a pid > 0",
                field: "orphans")
        }
        node.agentsHeard.record(nodeID, atMs: WallClock.nowMilliseconds())
        return JSONResponse.make(
            await node.submit(.reportOrphans(nodeID: nodeID, orphans: body.orphans, swept: body.swept)))
    }
}

/// `PUT /api/v1alpha1/agents/:node/orphans`.
struct OrphanReport: Decodable {
    var orphans: [OrphanProcess]
    var swept: UInt64?
}
