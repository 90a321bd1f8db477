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
        var text = MessageText()
        writeMessage(into: &text)
        return text.value
    }

    /// Writes the message piece by piece, so the JSON writer can put it straight into a
    /// response without building a String per reason.
    func writeMessage(into out: inout some MessageOutput) {
        switch code {
        case .archMismatch:
            out.write("needs architecture ")
            out.write(needed)
            out.write(", node is ")
            out.write(available)
        case .insufficientCPU:
            out.write("needs ")
            out.write(needed)
            out.write(" vCPU, node has ")
            out.write(available)
            out.write(" free")
        case .insufficientMemory:
            out.write("needs ")
            out.write(needed)
            out.write(" MiB of memory, node has ")
            out.write(available)
            out.write(" MiB free")
        case .kvmMissing:
            out.write("needs KVM, node has no /dev/kvm")
        case .kvmUnusable:
            out.write("needs KVM, node has /dev/kvm but guests cannot run on it")
        case .backendMissing:
            if case .list(let kinds) = needed, kinds.count > 1 {
                out.write("needs one of the backends ")
            } else {
                out.write("needs backend ")
            }
            out.write(needed)
            out.write(", node has ")
            out.write(available)
        case .backendVersionUnsupported:
            out.write("needs ")
            out.write(needed)
            out.write(", node has ")
            out.write(available)
        case .telemetryStale:
            out.write("telemetry is ")
            out.write(available)
            out.write(" ms old, the limit is ")
            out.write(needed)
            out.write(" ms")
        case .nodeUnhealthy:
            out.write("node reports itself ")
            out.write(available)
        case .nodeCordoned:
            out.write("node is ")
            out.write(available)
        case .labelMismatch:
            out.write("needs label ")
            out.write(needed)
            if case .none = available {
                out.write(", node does not have it")
            } else {
                out.write(", node has ")
                out.write(available)
            }
        }
    }
}

/// Where a derived message goes: a String (`MessageText`) or a JSON string being written.
protocol MessageOutput {
    mutating func write(_ text: StaticString)
    mutating func write(_ text: String)
    mutating func write(_ value: Int64)
}

extension MessageOutput {
    /// Evidence as a message shows it: lists joined by ", ", booleans as yes/no, null as "none".
    mutating func write(_ evidence: Evidence) {
        switch evidence {
        case .int(let value): write(value)
        case .string(let value): write(value)
        case .bool(let value): write(value ? "yes" : "no")
        case .none: write("none")
        case .list(let values):
            if values.isEmpty { write("none") }
            for (index, value) in values.enumerated() {
                if index > 0 { write(", ") }
                write(value)
            }
        }
    }
}

/// A message built as a String.
struct MessageText: MessageOutput {
    var value = ""

    mutating func write(_ text: StaticString) {
        value += text.description
    }

    mutating func write(_ text: String) {
        value += text
    }

    mutating func write(_ number: Int64) {
        value += String(number)
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
