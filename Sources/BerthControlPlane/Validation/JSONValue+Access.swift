/// Reading members of a parsed document without a type per shape: what the agent and the CLI
/// need from the API's answers. Each is nil when the value is not of that kind.
extension JSONValue {
    public subscript(key: String) -> JSONValue? {
        if case .object(let fields) = self { return fields[key] }
        return nil
    }

    public var text: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var integer: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }

    public var items: [JSONValue]? {
        if case .array(let values) = self { return values }
        return nil
    }
}
