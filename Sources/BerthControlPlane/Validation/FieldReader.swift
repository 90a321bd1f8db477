/// A value found in a document, with the path that problem reports name it by.
struct Field {
    let value: JSONValue
    let path: String
}

/// The members of a JSON object, with the object's own path.
struct ObjectFields {
    let members: [String: JSONValue]
    let path: String

    /// `parent.key`, or `parent["key"]` when the key is empty or has characters a path would
    /// make ambiguous (the key is then cut short like any echoed input).
    func path(of key: String) -> String {
        if !key.isEmpty, key.utf8.allSatisfy(IdentifierCharset.labelKey.allows) {
            return path.isEmpty ? key : path + "." + key
        }
        return path + "[" + FieldReader.quoted(key) + "]"
    }
}

/// Which ASCII bytes an identifier may contain.
enum IdentifierCharset {
    /// `[A-Za-z0-9._-]`: node ids, launch ids.
    case identifier
    /// `[A-Za-z0-9._/-]`: label keys (a `/` allows `example.com/zone` prefixes).
    case labelKey

    func allows(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
            return true
        case UInt8(ascii: "/"):
            return self == .labelKey
        default:
            return false
        }
    }

    var description: String {
        self == .labelKey ? "A-Z a-z 0-9 . _ - /" : "A-Z a-z 0-9 . _ -"
    }
}

/// Walks a parsed document field by field and collects a problem for everything wrong instead of
/// stopping at the first. Every accessor takes an optional field and returns nil when the field
/// was absent or bad, so readers can chain calls and decide at the end whether anything failed.
struct FieldReader {
    private(set) var problems: [ValidationProblem] = []

    mutating func report(_ path: String, _ code: ProblemCode, _ message: String) {
        problems.append(ValidationProblem(field: path, code: code, message: message))
    }

    /// The failure to throw once reading is done: every problem, or one saying that a value could
    /// not be assembled although no field was reported (a reader bug, answered rather than trapped).
    var failure: ValidationFailure {
        if problems.isEmpty {
            return ValidationFailure(problems: [
                ValidationProblem(field: "", code: .invalidType, message: "the document could not be read")
            ])
        }
        return ValidationFailure(problems: problems)
    }

    // MARK: Structure

    mutating func object(_ field: Field?) -> ObjectFields? {
        guard let field else { return nil }
        guard case .object(let members) = field.value else {
            report(field.path, .invalidType, "must be an object, got \(field.value.typeName)")
            return nil
        }
        return ObjectFields(members: members, path: field.path)
    }

    /// The member `key`, reporting MISSING_FIELD when it is absent or null.
    mutating func required(_ object: ObjectFields?, _ key: String) -> Field? {
        guard let object else { return nil }
        guard let field = optional(object, key) else {
            report(object.path(of: key), .missingField, "is required")
            return nil
        }
        return field
    }

    /// The member `key`, or nil when it is absent or null (both mean "use the default").
    func optional(_ object: ObjectFields?, _ key: String) -> Field? {
        guard let object, let value = object.members[key], value != .null else { return nil }
        return Field(value: value, path: object.path(of: key))
    }

    /// Reports each member not in `allowed`, in key order so the answer is stable.
    mutating func rejectUnknownMembers(_ object: ObjectFields?, allowed: Set<String>) {
        guard let object else { return }
        for key in object.members.keys.sorted() where !allowed.contains(key) {
            report(object.path(of: key), .unknownField, "is not a known field")
        }
    }

    mutating func array(_ field: Field?, maxCount: Int) -> [Field]? {
        guard let field else { return nil }
        guard case .array(let elements) = field.value else {
            report(field.path, .invalidType, "must be an array, got \(field.value.typeName)")
            return nil
        }
        guard elements.count <= maxCount else {
            report(field.path, .tooMany, "must have at most \(maxCount) entries, got \(elements.count)")
            return nil
        }
        return elements.enumerated().map { Field(value: $0.element, path: "\(field.path)[\($0.offset)]") }
    }

    // MARK: Scalars

    mutating func bool(_ field: Field?) -> Bool? {
        guard let field else { return nil }
        guard case .bool(let value) = field.value else {
            report(field.path, .invalidType, "must be a boolean, got \(field.value.typeName)")
            return nil
        }
        return value
    }

    /// An integer within `range`. An integral number written with a fraction (`4.0`) counts as an
    /// integer: JSON has one number type and some encoders always write a decimal point.
    mutating func integer(_ field: Field?, in range: ClosedRange<Int64>) -> Int64? {
        guard let field else { return nil }
        let value: Int64
        switch field.value {
        case .integer(let integer):
            value = integer
        case .number(let number) where number.isFinite && number == number.rounded(.towardZero):
            guard let exact = Int64(exactly: number) else {
                report(field.path, .outOfRange, "must be between \(range.lowerBound) and \(range.upperBound)")
                return nil
            }
            value = exact
        case .number(let number) where !number.isFinite:
            report(field.path, .outOfRange, "must be between \(range.lowerBound) and \(range.upperBound)")
            return nil
        default:
            report(field.path, .invalidType, "must be an integer, got \(describe(field.value))")
            return nil
        }
        guard range.contains(value) else {
            report(field.path, .outOfRange, "must be between \(range.lowerBound) and \(range.upperBound), got \(value)")
            return nil
        }
        return value
    }

    /// A string whose UTF-8 length is within `bytes` and, when `charset` is given, made only of it.
    mutating func string(_ field: Field?, bytes: ClosedRange<Int>, charset: IdentifierCharset? = nil) -> String? {
        guard let field else { return nil }
        guard case .string(let value) = field.value else {
            report(field.path, .invalidType, "must be a string, got \(field.value.typeName)")
            return nil
        }
        return checkString(value, at: field.path, bytes: bytes, charset: charset)
    }

    mutating func checkString(_ value: String, at path: String, bytes: ClosedRange<Int>, charset: IdentifierCharset?)
        -> String?
    {
        let length = value.utf8.count
        if length < bytes.lowerBound {
            report(
                path, .invalidFormat,
                bytes.lowerBound == 1 ? "must not be empty" : "must be at least \(bytes.lowerBound) bytes")
            return nil
        }
        if length > bytes.upperBound {
            report(path, .tooLong, "must be at most \(bytes.upperBound) bytes, got \(length)")
            return nil
        }
        if let charset, !value.utf8.allSatisfy(charset.allows) {
            report(path, .invalidFormat, "may contain only \(charset.description)")
            return nil
        }
        return value
    }

    /// One of the raw values of `E`.
    mutating func choice<E: RawRepresentable & CaseIterable>(_ field: Field?, as type: E.Type) -> E?
    where E.RawValue == String {
        guard let field else { return nil }
        guard case .string(let raw) = field.value else {
            report(field.path, .invalidType, "must be a string, got \(field.value.typeName)")
            return nil
        }
        guard let value = E(rawValue: raw) else {
            let allowed = E.allCases.map(\.rawValue).joined(separator: ", ")
            report(field.path, .unknownValue, "must be one of \(allowed); got \(Self.quoted(raw))")
            return nil
        }
        return value
    }

    /// An RFC 3339 date-time, as milliseconds since the epoch.
    mutating func timestamp(_ field: Field?) -> Int64? {
        guard let field else { return nil }
        guard case .string(let text) = field.value else {
            report(field.path, .invalidType, "must be an RFC 3339 date-time string, got \(field.value.typeName)")
            return nil
        }
        guard let ms = RFC3339.milliseconds(from: text) else {
            report(
                field.path, .invalidFormat,
                "must be an RFC 3339 date-time such as 2025-01-31T12:00:00Z; got \(Self.quoted(text))")
            return nil
        }
        return ms
    }

    /// A label map: at most `labelsMax` entries, keys of `[A-Za-z0-9._/-]`, string values.
    mutating func labels(_ field: Field?) -> [String: String]? {
        guard let object = object(field) else { return nil }
        let limits = ValidationLimits.self
        guard object.members.count <= limits.labelsMax else {
            report(object.path, .tooMany, "must have at most \(limits.labelsMax) entries, got \(object.members.count)")
            return nil
        }
        var labels: [String: String] = [:]
        var valid = true
        for key in object.members.keys.sorted() {
            guard checkString(key, at: object.path(of: key), bytes: limits.labelKeyBytes, charset: .labelKey) != nil
            else {
                valid = false
                continue
            }
            let value = string(
                Field(value: object.members[key]!, path: object.path(of: key)), bytes: limits.labelValueBytes)
            if let value { labels[key] = value } else { valid = false }
        }
        return valid ? labels : nil
    }

    // MARK: Echoing input back

    /// `text` in quotes, cut at 64 bytes so a hostile value is not echoed back whole.
    static func quoted(_ text: String) -> String {
        let limit = 64
        guard text.utf8.count > limit else { return "\"\(text)\"" }
        var cut = ""
        for character in text {
            if cut.utf8.count + character.utf8.count > limit { break }
            cut.append(character)
        }
        return "\"\(cut)…\""
    }

    private func describe(_ value: JSONValue) -> String {
        if case .number(let number) = value { return "\(number)" }
        return value.typeName
    }
}
