import BerthRaft
import Foundation
import Hummingbird

/// `/health/live` and `/health/ready`: what load balancers and orchestrators gate on (spec §7).
struct HealthRoutes {
    let node: BerthNode

    func register(on router: Router<some RequestContext>) {
        router.get("/health/live") { _, _ in
            JSONResponse.make(.ok, ["status": "ok"])
        }
        router.get("/health/ready") { request, _ in
            await ready(verbose: request.uri.queryParameters["verbose"] != nil)
        }
    }

    /// One named readiness check and its result.
    struct Check {
        var name: String
        var ok: Bool
        var detail: String
    }

    func checks() async -> (checks: [Check], status: RaftStatus?) {
        guard let status = try? await node.status() else {
            return ([Check(name: "raft_loop", ok: false, detail: "the Raft loop is not running")], nil)
        }
        let lag = status.commit - min(status.applied, status.commit)
        let bound = LogIndex(node.config.readyMaxApplyLag)
        return (
            [
                Check(
                    name: "leader_known", ok: status.leader != .none,
                    detail: status.leader == .none ? "no leader is known" : "leader is node \(status.leader)"),
                Check(
                    name: "apply_lag", ok: lag <= bound,
                    detail: "commit \(status.commit), applied \(status.applied), lag \(lag) (bound \(bound))"),
                Check(
                    name: "storage_writable", ok: access(node.config.dataDir, W_OK) == 0,
                    detail: "data dir \(node.config.dataDir)"),
                Check(
                    name: "not_draining", ok: !node.isDraining,
                    detail: node.isDraining ? "this node is draining" : "taking work"),
            ], status
        )
    }

    func ready(verbose: Bool) async -> Response {
        let (checks, status) = await checks()
        let leader: UInt64? = status.flatMap { $0.leader == .none ? nil : $0.leader }
        let failing = checks.first { !$0.ok }
        var body: [String: Any?] = ["leader_id": leader]
        if let failing {
            body["status"] = failing.name == "leader_known" ? "no_leader" : "not_ready"
            body["reason"] = failing.detail
        } else {
            body["status"] = "ok"
        }
        if verbose {
            body["checks"] = checks.map { ["name": $0.name, "ok": $0.ok, "detail": $0.detail] as [String: Any] }
        }
        return JSONResponse.make(failing == nil ? .ok : .serviceUnavailable, body)
    }
}
