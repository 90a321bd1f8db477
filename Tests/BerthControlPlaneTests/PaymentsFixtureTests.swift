import BerthControlPlane
import Foundation
import Testing

/// The Schedune README's scenario, from the files in `fixtures/payments/` (spec §5): 4 vCPU,
/// 8 GiB and KVM go to arm-01; every other node is rejected for exactly one reason.
@Suite struct PaymentsFixtureTests {
    // Symlinks resolved so the path also holds when the test sources are linked from elsewhere.
    static let directory = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fixtures/payments")

    static func bytes(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: directory.appendingPathComponent(name)))
    }

    /// The fleet with its newest report taken `now`, every envelope received `now`.
    static func fleet(now: Int64) throws -> FleetView {
        let envelopes = try ["arm-01", "arm-02", "x86-02", "edge-01"].map {
            try SchedulerEnvelope.parse(json: bytes("\($0).json"))
        }
        return Build.fleet(SchedulerEnvelope.rebased(envelopes, newestObservedAtMs: now), receivedAtMs: now)
    }

    @Test("arm-01 is selected; arm-02 KVM_MISSING, x86-02 TELEMETRY_STALE, edge-01 INSUFFICIENT_MEMORY")
    func scenario() throws {
        let intent = try WorkloadIntent.parse(json: Self.bytes("intent.json"))
        #expect(intent.vcpus == 4 && intent.memoryMiB == 8_192 && intent.requiresKVM && intent.backend == .any)
        let now = Build.now
        let view = try Self.fleet(now: now)
        let explanation = view.evaluate(intent, atMs: now + 2_000)
        #expect(explanation.selectedNodeID == "arm-01")
        #expect(explanation.rankedNodes.map(\.nodeID) == ["arm-01"])
        #expect(
            explanation.reasons(for: "arm-02") == [
                Rejection(code: .kvmMissing, needed: .bool(true), available: .bool(false))
            ])
        #expect(
            explanation.reasons(for: "x86-02") == [
                Rejection(code: .telemetryStale, needed: .int(60_000), available: .int(602_000))
            ])
        #expect(
            explanation.reasons(for: "edge-01") == [
                Rejection(code: .insufficientMemory, needed: .int(8_192), available: .int(6_144))
            ])
        #expect(explanation.rejectedNodes.map(\.nodeID) == ["arm-02", "edge-01", "x86-02"])
        #expect(view.select(intent, atMs: now + 2_000) == "arm-01")
    }

    @Test("the scenario holds at any 'now': only relative ages matter")
    func anyNow() throws {
        let intent = try WorkloadIntent.parse(json: Self.bytes("intent.json"))
        for now: Int64 in [0, 1_000_000_000_000, Build.now + 86_400_000 * 365] {
            #expect(try Self.fleet(now: now).select(intent, atMs: now) == "arm-01")
        }
    }

    @Test("the launch on arm-01 hydrates to QEMU under KVM on aarch64")
    func hydration() throws {
        let intent = try WorkloadIntent.parse(json: Self.bytes("intent.json"))
        let view = try Self.fleet(now: Build.now)
        let spec = try LaunchSpec.hydrate(intent, on: view.truth(of: "arm-01")!)
        #expect(spec.nodeID == "arm-01" && spec.arch == .aarch64 && spec.backend == .qemu && spec.accel == .kvm)
        #expect(spec.payload == intent.payload)
    }
}
