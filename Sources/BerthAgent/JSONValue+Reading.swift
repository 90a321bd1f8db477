import BerthControlPlane

/// Reading the few members of the API's answers the agent acts on.
extension JSONValue {
    subscript(key: String) -> JSONValue? {
        if case .object(let fields) = self { return fields[key] }
        return nil
    }

    var text: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    var integer: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }

    var items: [JSONValue]? {
        if case .array(let values) = self { return values }
        return nil
    }
}
