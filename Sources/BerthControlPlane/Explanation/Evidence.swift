/// One side of a rejection's evidence — what was needed, or what the node has — as a small
/// JSON value: an integer, a string, a boolean, a list of strings, or nothing (`null`).
public enum Evidence: Equatable, Hashable, Sendable {
    case int(Int64)
    case string(String)
    case bool(Bool)
    case list([String])
    /// The node has nothing to show (a label it does not carry).
    case none
}

extension Evidence {
    /// The evidence as a message shows it (`4`, `x86_64`, `qemu, firecracker`, `none`): for
    /// places that carry it as text, such as an error's `details`.
    public var text: String {
        var out = MessageText()
        out.write(self)
        return out.value
    }
}

extension Evidence: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .none
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .int(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else {
            self = .list(try container.decode([String].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .int(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .bool(let value): try container.encode(value)
        case .list(let values): try container.encode(values)
        case .none: try container.encodeNil()
        }
    }
}
