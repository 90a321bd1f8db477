/// The cluster-wide knobs of placement. Part of the replicated configuration, so every server
/// evaluates with the same values.
public struct PlacementPolicy: Codable, Equatable, Hashable, Sendable {
    /// Telemetry older than this (`telemetry_max_age_ms`, `--telemetry-max-age`) makes a node
    /// TELEMETRY_STALE. Default 60,000 ms.
    public var telemetryMaxAgeMs: Int64

    public init(telemetryMaxAgeMs: Int64 = 60_000) {
        self.telemetryMaxAgeMs = telemetryMaxAgeMs
    }

    public static let standard = PlacementPolicy()

    enum CodingKeys: String, CodingKey {
        case telemetryMaxAgeMs = "telemetry_max_age_ms"
    }
}
