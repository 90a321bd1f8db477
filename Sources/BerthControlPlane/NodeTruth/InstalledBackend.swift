/// A runtime binary the agent found on its node.
public struct InstalledBackend: Codable, Equatable, Hashable, Sendable {
    /// Which runtime it is.
    public var kind: BackendKind
    /// The absolute path of the binary (for `process`, the agent's launcher).
    public var binary: String
    /// The version the binary reports, as it reports it (see `BackendVersion` for how it is read).
    public var version: String

    public init(kind: BackendKind, binary: String, version: String) {
        self.kind = kind
        self.binary = binary
        self.version = version
    }

    /// Whether Berth can drive this binary (see `BackendSupport`).
    public var isSupported: Bool {
        BackendSupport.isSupported(kind, version: version)
    }

    /// `kind version`, as rejection evidence lists it.
    var summary: String {
        version.isEmpty ? kind.rawValue : "\(kind.rawValue) \(version)"
    }
}
