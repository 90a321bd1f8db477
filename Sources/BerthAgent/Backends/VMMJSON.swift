import Foundation

/// A JSON value as the VMM APIs take it: the bodies Berth sends are built from these, so the
/// exact request can be printed by `berth agent prepare`, compared by tests, and encoded the
/// same way every time (keys sorted).
public indirect enum VMMJSON: Codable, Equatable, Hashable, Sendable {
    case null
    case bool(Bool)
    case int(Int64)
    case string(String)
    case array([VMMJSON])
    case object([String: VMMJSON])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .int(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([String: VMMJSON].self) {
            self = .object(value)
        } else {
            self = .array(try container.decode([VMMJSON].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// A member of an object, or nil.
    public subscript(key: String) -> VMMJSON? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    /// An element of an array, or nil.
    public subscript(index: Int) -> VMMJSON? {
        if case .array(let elements) = self, elements.indices.contains(index) { return elements[index] }
        return nil
    }

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The compact encoding sent on the wire, keys sorted (`/` not escaped: paths stay readable).
    public func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? Array(encoder.encode(self))) ?? Array("null".utf8)
    }

    /// Parses `bytes`, or nil when they are not JSON.
    public static func parse(_ bytes: [UInt8]) -> VMMJSON? {
        try? JSONDecoder().decode(VMMJSON.self, from: Data(bytes))
    }
}
