/// One reason a node cannot take a workload: a code and its evidence. The message is derived
/// from them whenever it is shown and never stored, so it cannot disagree with the evidence.
public struct Rejection: Equatable, Hashable, Sendable {
    /// What is wrong.
    public var code: RejectionCode
    /// What the workload needs (see `RejectionCode` for each code's evidence).
    public var needed: Evidence
    /// What the node has.
    public var available: Evidence

    public init(code: RejectionCode, needed: Evidence, available: Evidence) {
        self.code = code
        self.needed = needed
        self.available = available
    }

    /// The reason in words, e.g. "needs 4 vCPU, node has 2 free".
    public var message: String {
        switch code {
        case .archMismatch:
            return "needs architecture \(needed.text), node is \(available.text)"
        case .insufficientCPU:
            return "needs \(needed.text) vCPU, node has \(available.text) free"
        case .insufficientMemory:
            return "needs \(needed.text) MiB of memory, node has \(available.text) MiB free"
        case .kvmMissing:
            return "needs KVM, node has no /dev/kvm"
        case .kvmUnusable:
            return "needs KVM, node has /dev/kvm but guests cannot run on it"
        case .backendMissing:
            if case .list(let kinds) = needed, kinds.count > 1 {
                return "needs one of the backends \(needed.text), node has \(available.text)"
            }
            return "needs backend \(needed.text), node has \(available.text)"
        case .backendVersionUnsupported:
            return "needs \(needed.text), node has \(available.text)"
        case .telemetryStale:
            return "telemetry is \(available.text) ms old, the limit is \(needed.text) ms"
        case .nodeUnhealthy:
            return "node reports itself \(available.text)"
        case .nodeCordoned:
            return "node is \(available.text)"
        case .labelMismatch:
            if case .none = available {
                return "needs label \(needed.text), node does not have it"
            }
            return "needs label \(needed.text), node has \(available.text)"
        }
    }
}

extension Rejection: Codable {
    enum CodingKeys: String, CodingKey {
        case code
        case message
        case needed
        case available
    }

    public init(from decoder: any Decoder) throws {
        // A decoded message is ignored: it is rebuilt from the code and evidence.
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            code: try container.decode(RejectionCode.self, forKey: .code),
            needed: try container.decodeIfPresent(Evidence.self, forKey: .needed) ?? .none,
            available: try container.decodeIfPresent(Evidence.self, forKey: .available) ?? .none)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(code, forKey: .code)
        try container.encode(message, forKey: .message)
        try container.encode(needed, forKey: .needed)
        try container.encode(available, forKey: .available)
    }
}
