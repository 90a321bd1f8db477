import BerthControlPlane

/// Reading the API's answers without a type per shape: the CLI only shows them, so a missing
/// or unexpected field renders as "-" instead of failing the command.
extension JSONValue {
    var number: Double? {
        switch self {
        case .integer(let value): return Double(value)
        case .number(let value): return value
        default: return nil
        }
    }

    var boolean: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    var items: [JSONValue]? {
        if case .array(let values) = self { return values }
        return nil
    }

    var fields: [String: JSONValue]? {
        if case .object(let fields) = self { return fields }
        return nil
    }

    /// A short human rendering: strings bare, lists comma-separated, null as "none".
    var display: String {
        switch self {
        case .null: return "none"
        case .bool(let value): return value ? "yes" : "no"
        case .integer(let value): return String(value)
        case .number(let value): return Format.decimal(value)
        case .string(let value): return value
        case .array(let values): return values.isEmpty ? "none" : values.map(\.display).joined(separator: ", ")
        case .object(let fields):
            return fields.keys.sorted().map { "\($0)=\(fields[$0]!.display)" }.joined(separator: ", ")
        }
    }
}
