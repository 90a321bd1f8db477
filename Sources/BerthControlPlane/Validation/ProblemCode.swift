/// The class of a validation problem: a stable code that clients can switch on.
public enum ProblemCode: String, Codable, CaseIterable, Equatable, Hashable, Sendable {
    /// The body is not well-formed JSON.
    case invalidJSON = "INVALID_JSON"
    /// A required field is absent (or `null`).
    case missingField = "MISSING_FIELD"
    /// A field has the wrong JSON type (a string where a number belongs, a fraction where an integer belongs).
    case invalidType = "INVALID_TYPE"
    /// A field this shape does not have (a typo would otherwise be silently ignored).
    case unknownField = "UNKNOWN_FIELD"
    /// A string that is not one of the values the field allows.
    case unknownValue = "UNKNOWN_VALUE"
    /// A number outside its allowed range.
    case outOfRange = "OUT_OF_RANGE"
    /// A string that does not have the required form (characters, timestamp syntax, emptiness).
    case invalidFormat = "INVALID_FORMAT"
    /// A string longer than its limit.
    case tooLong = "TOO_LONG"
    /// A list or map with more entries than its limit.
    case tooMany = "TOO_MANY"
    /// Fields that are valid alone but contradict each other.
    case inconsistent = "INCONSISTENT"
}
