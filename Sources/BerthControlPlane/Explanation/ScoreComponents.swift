/// The parts of a ranked node's score, each in millipoints from 0 to 1000 and added with equal
/// weight. Integers keep the sum bit-identical on every server; the wire shows each part as a
/// number from 0 to 1 (`components: {name: number}`).
///
/// - `resource_fit`: headroom left after placing, on the tighter of CPU and memory:
///   `min((free_cpu − vcpus) / allocatable_cpu, (free_mem − mem) / allocatable_mem)`.
///   Emptier nodes score higher, which leaves room for the next large workload everywhere.
/// - `spread`: among nodes with the same label set, the share of this workload's active
///   launches (by `name`) that are on other nodes: `(group − here) / group`, 1 when the group
///   runs none. A node already running replicas scores lower than its peers.
/// - `backend_preference`: 1 when the workload would run KVM-accelerated (or as a plain
///   process), 0.25 under TCG emulation. A named backend is a hard requirement, so every
///   ranked node already runs it.
/// - `health`: 1 for healthy, 0.25 for degraded (unhealthy nodes are rejected).
public struct ScoreComponents: Equatable, Hashable, Sendable {
    public var resourceFitMilli: Int
    public var spreadMilli: Int
    public var backendPreferenceMilli: Int
    public var healthMilli: Int

    public init(resourceFitMilli: Int, spreadMilli: Int, backendPreferenceMilli: Int, healthMilli: Int) {
        self.resourceFitMilli = resourceFitMilli
        self.spreadMilli = spreadMilli
        self.backendPreferenceMilli = backendPreferenceMilli
        self.healthMilli = healthMilli
    }

    /// The score: the plain sum, 0 to 4000 millipoints.
    public var totalMilli: Int {
        resourceFitMilli + spreadMilli + backendPreferenceMilli + healthMilli
    }

    /// The component values for each acceleration and health, in millipoints.
    static let acceleratedMilli = 1000
    static let emulatedMilli = 250
    static let healthyMilli = 1000
    static let degradedMilli = 250
}

extension ScoreComponents: Codable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case resourceFit = "resource_fit"
        case spread
        case backendPreference = "backend_preference"
        case health
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        func milli(_ key: CodingKeys) throws -> Int {
            let value = try container.decode(Double.self, forKey: key)
            guard value.isFinite, (0...1).contains(value) else {
                throw DecodingError.dataCorruptedError(forKey: key, in: container, debugDescription: "must be 0...1")
            }
            return Int((value * 1000).rounded())
        }
        self.init(
            resourceFitMilli: try milli(.resourceFit), spreadMilli: try milli(.spread),
            backendPreferenceMilli: try milli(.backendPreference), healthMilli: try milli(.health))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(Double(resourceFitMilli) / 1000, forKey: .resourceFit)
        try container.encode(Double(spreadMilli) / 1000, forKey: .spread)
        try container.encode(Double(backendPreferenceMilli) / 1000, forKey: .backendPreference)
        try container.encode(Double(healthMilli) / 1000, forKey: .health)
    }
}
