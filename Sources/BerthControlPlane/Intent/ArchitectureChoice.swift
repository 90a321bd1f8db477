/// The architecture a workload asks for: one in particular, or whatever the chosen node runs
/// (the image is then assumed to exist for both).
public enum ArchitectureChoice: String, Codable, CaseIterable, Equatable, Hashable, Sendable {
    case x86_64
    case aarch64
    case any

    /// The architecture asked for, or nil for `any`.
    public var architecture: Architecture? {
        Architecture(rawValue: rawValue)
    }
}
