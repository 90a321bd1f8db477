/// A JSON document as parsed, before any field is interpreted. Integers are kept apart from
/// fractions so that `"vcpus": 2.5` is reported as a problem instead of being truncated.
public enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    /// A number with an integral value that fits in 64 bits.
    case integer(Int64)
    /// Any other number: a fraction, or an integer too large for 64 bits.
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// The JSON type's name, for problem messages.
    var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .integer, .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

// Lets the validating readers also serve `Decodable`: a decoder is first turned into a
// JSONValue, and the same reader that checks API input then checks stored documents.
extension JSONValue: Decodable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([String: JSONValue].self) {
            self = .object(value)
        } else {
            self = .array(try container.decode([JSONValue].self))
        }
    }
}
