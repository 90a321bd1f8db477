import BerthControlPlane
import Foundation
import Testing

/// The JSON shapes of spec §5: exact snake_case names, timestamps as RFC 3339, and round trips
/// that give back equal values.
@Suite struct WireFormatTests {
    @Test("SchedulerEnvelope: the spec's field names, observed_at as RFC 3339, round trip")
    func envelope() throws {
        let envelope = Build.envelope("n1", sequence: 42, observedAtMs: 1_748_856_600_250, labels: ["zone": "a"])
        let json = JSON.object(envelope)
        #expect(
            Set(json.keys) == [
                "node_id", "sequence", "observed_at", "arch", "cpus", "memory_mib", "kvm", "kernel", "backends",
                "labels",
                "health",
            ])
        #expect(json["observed_at"] as? String == "2025-06-02T09:30:00.250Z")
        #expect(Set((json["cpus"] as! [String: Any]).keys) == ["total", "allocatable"])
        #expect(Set((json["memory_mib"] as! [String: Any]).keys) == ["total", "allocatable"])
        #expect(Set((json["kvm"] as! [String: Any]).keys) == ["present", "usable"])
        #expect(Set((json["backends"] as! [[String: Any]])[0].keys) == ["kind", "binary", "version"])
        #expect(try JSON.roundTrip(envelope) == envelope)
        #expect(try SchedulerEnvelope.parse(json: JSONEncoder().encode(envelope)) == envelope)
        let cloud = InstalledBackend(kind: .cloudHypervisor, binary: "/ch", version: "41.0")
        #expect(JSON.object(cloud)["kind"] as? String == "cloud-hypervisor")
    }

    @Test("NodeTruth: received_at and cordoned_at as RFC 3339, round trip")
    func nodeTruth() throws {
        var truth = NodeTruth(envelope: Build.envelope("n1"), receivedAtMs: Build.now)
        #expect(JSON.keys(truth) == ["envelope", "received_at", "cordoned", "draining"])
        truth.cordon(atMs: Build.now + 1, draining: true)
        #expect(JSON.keys(truth) == ["envelope", "received_at", "cordoned", "draining", "cordoned_at"])
        #expect(JSON.object(truth)["cordoned_at"] as? String == "2025-06-15T00:26:40.001Z")
        #expect(try JSON.roundTrip(truth) == truth)
    }

    @Test("WorkloadIntent: field names, and each command form round trips")
    func intent() throws {
        let vm = Build.vm(requiresKVM: true, backend: .cloudHypervisor, labels: ["zone": "a"])
        #expect(
            JSON.keys(vm) == ["name", "arch", "vcpus", "memory_mib", "requires_kvm", "backend", "labels", "image"])
        #expect(Set((JSON.object(vm)["image"] as! [String: Any]).keys) == ["kernel", "disk"])
        #expect(try JSON.roundTrip(vm) == vm)
        let argv = Build.process()
        #expect(JSON.object(argv)["command"] as? [String] == ["/bin/echo", "hi"])
        #expect(try JSON.roundTrip(argv) == argv)
        var shell = Build.process()
        shell.payload = .command(WorkloadCommand(string: "echo $HOME | wc", shell: true))
        #expect(JSON.object(shell)["command"] as? String == "echo $HOME | wc")
        #expect(JSON.object(shell)["shell"] as? Bool == true)
        #expect(try JSON.roundTrip(shell) == shell)
        #expect(try WorkloadIntent.parse(json: JSONEncoder().encode(shell)) == shell)
    }

    @Test("explanation: evaluated_at, ranked_nodes and rejected_nodes with the spec's members; round trip")
    func explanation() throws {
        var view = Build.fleet([
            Build.envelope("good"), Build.envelope("tcg", kvmPresent: true, kvmUsable: false, health: .degraded),
            Build.envelope("bad", cpus: 1),
        ])
        try view.placeLaunch(Build.launch("l1", on: "good", name: "other", vcpus: 3, memoryMiB: 1_000))
        let explanation = view.evaluate(Build.vm(vcpus: 2), atMs: Build.now)
        let json = JSON.object(explanation)
        #expect(Set(json.keys) == ["evaluated_at", "ranked_nodes", "rejected_nodes"])
        #expect(json["evaluated_at"] as? String == "2025-06-15T00:26:40Z")
        let ranked = json["ranked_nodes"] as! [[String: Any]]
        #expect(Set(ranked[0].keys) == ["node_id", "score", "components"])
        #expect(ranked[0]["node_id"] as? String == "good")
        #expect(ranked[0]["score"] as? Double == 3.687)
        let components = ranked[0]["components"] as! [String: Double]
        #expect(components == ["resource_fit": 0.687, "spread": 1, "backend_preference": 1, "health": 1])
        let rejected = json["rejected_nodes"] as! [[String: Any]]
        #expect(Set(rejected[0].keys) == ["node_id", "reasons"])
        let reason = (rejected[0]["reasons"] as! [[String: Any]])[0]
        #expect(Set(reason.keys) == ["code", "message", "needed", "available"])
        #expect(reason["code"] as? String == "INSUFFICIENT_CPU")
        #expect(reason["message"] as? String == "needs 2 vCPU, node has 1 free")
        #expect(reason["needed"] as? Int == 2)
        #expect(try JSON.roundTrip(explanation) == explanation)
    }

    @Test("evidence of every kind round trips; absent evidence is null")
    func evidence() throws {
        for evidence: Evidence in [.int(-3), .string("x"), .bool(false), .list(["a", "b"]), .list([]), .none] {
            let rejection = Rejection(code: .labelMismatch, needed: evidence, available: evidence)
            #expect(try JSON.roundTrip(rejection) == rejection)
        }
        let json = JSON.object(Rejection(code: .labelMismatch, needed: .string("a=b"), available: .none))
        #expect(json["available"] is NSNull)
        // A decoded message is ignored: it is derived again from the code and evidence.
        let forged = #"{"code":"KVM_MISSING","message":"all fine","needed":true,"available":false}"#
        let decoded = try JSONDecoder().decode(Rejection.self, from: Data(forged.utf8))
        #expect(decoded.message == "needs KVM, node has no /dev/kvm")
    }

    @Test("LaunchSpec and LaunchRecord: field names and round trips")
    func launch() throws {
        let spec = try LaunchSpec.hydrate(Build.vm(), on: NodeTruth(envelope: Build.envelope("n1"), receivedAtMs: 0))
        #expect(
            JSON.keys(spec) == [
                "name", "node_id", "arch", "backend", "accel", "vcpus", "memory_mib", "image", "labels",
            ])
        #expect(try JSON.roundTrip(spec) == spec)
        var record = LaunchRecord(id: "l1", intent: Build.vm(), createdAtMs: 1)
        try record.place(
            spec: spec, placement: Build.fleet([Build.envelope("n1")]).evaluate(Build.vm(), atMs: 2), atMs: 2)
        try record.transition(to: .preparing, atMs: 3, note: "agent took it")
        try record.transition(to: .failed, atMs: 4, reason: .exited(2, detail: "bad config"))
        #expect(
            JSON.keys(record) == [
                "id", "intent", "spec", "node_id", "placement", "state", "failure", "trace", "created_at_ms",
                "updated_at_ms",
            ])
        let failure = JSON.object(record)["failure"] as! [String: Any]
        #expect(Set(failure.keys) == ["code", "exit_code", "detail", "message"])
        #expect(failure["message"] as? String == "exited with status 2: bad config")
        let trace = JSON.object(record)["trace"] as! [[String: Any]]
        #expect(Set(trace[2].keys) == ["at_ms", "state", "note"])
        #expect(Set(trace[3].keys) == ["at_ms", "state", "reason"])
        #expect(try JSON.roundTrip(record) == record)
    }

    @Test("NodeExplanation: field names, capabilities, round trip")
    func nodeExplanation() throws {
        var view = Build.fleet([Build.envelope("n1")])
        try view.cordon("n1", atMs: Build.now)
        let node = view.explainNode("n1", atMs: Build.now)!
        #expect(
            JSON.keys(node) == [
                "node_id", "sequence", "observed_at", "received_at", "evaluated_at", "arch", "health", "kernel", "cpus",
                "memory_mib", "telemetry", "cordoned", "draining", "cordoned_at", "labels", "kvm", "backends",
                "capabilities",
                "active_launches",
            ])
        let json = JSON.object(node)
        #expect(Set((json["cpus"] as! [String: Any]).keys) == ["total", "allocatable", "used", "free"])
        #expect(Set((json["telemetry"] as! [String: Any]).keys) == ["age_ms", "max_age_ms", "stale"])
        #expect(
            Set((json["capabilities"] as! [String: Any]).keys) == [
                "can_run_kvm", "can_run_qemu", "can_run_qemu_tcg", "can_run_cloud_hypervisor", "can_run_firecracker",
                "can_run_process",
            ])
        #expect(
            Set((json["backends"] as! [[String: Any]])[0].keys) == [
                "kind", "binary", "version", "supported", "minimum_version",
            ])
        #expect(try JSON.roundTrip(node) == node)
    }

    @Test("PlacedLaunch, NodeUsage and PlacementPolicy field names")
    func smallShapes() throws {
        #expect(
            JSON.keys(Build.launch("l", on: "n")) == ["launch_id", "workload_name", "node_id", "vcpus", "memory_mib"])
        #expect(JSON.keys(NodeUsage()) == ["used_cpus", "used_memory_mib", "active_launches"])
        #expect(JSON.keys(PlacementPolicy()) == ["telemetry_max_age_ms"])
        #expect(JSON.keys(ValidationProblem(field: "a", code: .tooLong, message: "m")) == ["field", "code", "message"])
        #expect(
            JSON.object(ValidationProblem(field: "a", code: .tooLong, message: "m"))["code"] as? String == "TOO_LONG")
    }
}
