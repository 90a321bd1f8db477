import BerthControlPlane
import Testing

/// `GET /nodes/:id/explain`: what the node is, has free, and can run.
@Suite struct NodeExplanationTests {
    @Test("resources, telemetry, cordon and labels as placement sees them")
    func fields() throws {
        var view = Build.fleet(
            [Build.envelope("n1", observedAtMs: Build.now - 5_000, cpus: 16, memoryMiB: 32_768, labels: ["zone": "a"])],
            receivedAtMs: Build.now - 4_000)
        try view.placeLaunch(Build.launch("l1", on: "n1", vcpus: 3, memoryMiB: 1_000))
        try view.cordon("n1", atMs: Build.now - 1_000, draining: true)
        let node = try #require(view.explainNode("n1", atMs: Build.now + 70_000))
        #expect(node.nodeID == "n1")
        #expect(node.sequence == 1)
        #expect(node.observedAtMs == Build.now - 5_000)
        #expect(node.receivedAtMs == Build.now - 4_000)
        #expect(node.evaluatedAtMs == Build.now + 70_000)
        #expect(node.arch == .aarch64)
        #expect(node.health == .healthy)
        #expect(node.kernel == "6.8.0")
        #expect(node.cpus == .init(total: 16, allocatable: 16, used: 3, free: 13))
        #expect(node.memoryMiB == .init(total: 32_768, allocatable: 32_768, used: 1_000, free: 31_768))
        #expect(node.telemetry == .init(ageMs: 75_000, maxAgeMs: 60_000, stale: true))
        #expect(node.cordoned && node.draining && node.cordonedAtMs == Build.now - 1_000)
        #expect(node.labels == ["zone": "a"])
        #expect(node.kvm == KVMStatus(present: true, usable: true))
        #expect(node.activeLaunches == 1)
        #expect(view.explainNode("n1", atMs: Build.now)?.telemetry.stale == false)
        #expect(view.explainNode("nope", atMs: Build.now) == nil)
    }

    @Test("backends say whether they are supported and what the minimum is")
    func backends() {
        let old = InstalledBackend(kind: .qemu, binary: "/usr/bin/qemu", version: "6.0.0")
        let view = Build.fleet([Build.envelope("n1", backends: [old, Build.firecracker, Build.process])])
        let backends = view.explainNode("n1", atMs: Build.now)!.backends
        #expect(
            backends == [
                .init(kind: .qemu, binary: "/usr/bin/qemu", version: "6.0.0", supported: false, minimumVersion: "6.2"),
                .init(
                    kind: .firecracker, binary: "/usr/local/bin/firecracker", version: "1.7.0", supported: true,
                    minimumVersion: "1.0"),
                .init(
                    kind: .process, binary: "/usr/local/bin/berth", version: "0.1.0", supported: true,
                    minimumVersion: nil),
            ])
    }

    func capabilities(_ envelope: SchedulerEnvelope) -> [Bool] {
        let c = Build.fleet([envelope]).explainNode(envelope.nodeID, atMs: Build.now)!.capabilities
        return [
            c.canRunKVM, c.canRunQEMU, c.canRunQEMUTCG, c.canRunCloudHypervisor, c.canRunFirecracker, c.canRunProcess,
        ]
    }

    @Test("capabilities: kvm, qemu (with KVM), qemu_tcg, cloud_hypervisor, firecracker, process")
    func capabilityFlags() {
        let all = [Build.qemu, Build.cloudHypervisor, Build.firecracker, Build.process]
        #expect(capabilities(Build.envelope("n", backends: all)) == [true, true, true, true, true, true])
        // /dev/kvm present but unusable: only QEMU's emulation and processes remain.
        #expect(
            capabilities(Build.envelope("n", kvmPresent: true, kvmUsable: false, backends: all))
                == [false, false, true, false, false, true])
        #expect(capabilities(Build.envelope("n", backends: [])) == [true, false, false, false, false, false])
        let oldQEMU = InstalledBackend(kind: .qemu, binary: "/q", version: "4.2")
        #expect(capabilities(Build.envelope("n", backends: [oldQEMU])) == [true, false, false, false, false, false])
    }
}
