import BerthControlPlane
import Foundation

/// `--fixture FILE`: a fingerprint read from JSON instead of probed, for tests and demos (a
/// laptop can pretend to be an ARM host with KVM). The shape is an envelope's without
/// `node_id`, `sequence` and `observed_at`; `labels`, `backends`, `health` and `kernel` may be
/// left out. `kvm` may carry `evidence`.
public enum FingerprintFixture {
    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
    }

    public static func read(path: String) throws(Invalid) -> HostFingerprint {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Invalid(description: "cannot read fixture \(path)")
        }
        return try parse(data, source: path)
    }

    public static func parse(_ data: Data, source: String = "fixture") throws(Invalid) -> HostFingerprint {
        do {
            let shape = try JSONDecoder().decode(Shape.self, from: data)
            let fingerprint = HostFingerprint(
                arch: shape.arch, cpus: shape.cpus, memoryMiB: shape.memoryMiB,
                kvm: KVMStatus(present: shape.kvm.present, usable: shape.kvm.usable),
                kvmEvidence: shape.kvm.evidence ?? "from fixture \(source)", kernel: shape.kernel ?? "fixture",
                backends: shape.backends ?? [], labels: shape.labels ?? [:], health: shape.health ?? .healthy)
            // The server would refuse what its reader refuses: check here, with its messages.
            _ = try SchedulerEnvelope.parse(
                json: Array(
                    try JSONEncoder().encode(fingerprint.envelope(nodeID: "fixture", sequence: 1, observedAtMs: 0))))
            return fingerprint
        } catch {
            throw Invalid(description: "\(source): \(error)")
        }
    }

    private struct Shape: Decodable {
        struct KVM: Decodable {
            var present: Bool
            var usable: Bool
            var evidence: String?
        }
        var arch: Architecture
        var cpus: ResourceCapacity
        var memoryMiB: ResourceCapacity
        var kvm: KVM
        var kernel: String?
        var backends: [InstalledBackend]?
        var labels: [String: String]?
        var health: NodeHealth?

        enum CodingKeys: String, CodingKey {
            case arch, cpus, kvm, kernel, backends, labels, health
            case memoryMiB = "memory_mib"
        }
    }
}
