/// One thing wrong with a submitted document. Validation reports every problem it finds, so a
/// client fixes its input in one round trip instead of one field at a time.
public struct ValidationProblem: Codable, Equatable, Hashable, Sendable {
    /// Where the problem is, JSON-path-like: `cpus.allocatable`, `backends[1].kind`, `labels.zone`
    /// (empty for the document itself).
    public var field: String
    /// What kind of problem it is.
    public var code: ProblemCode
    /// A human sentence built from the code and the limits involved.
    public var message: String

    public init(field: String, code: ProblemCode, message: String) {
        self.field = field
        self.code = code
        self.message = message
    }
}

/// Validation refused a document; `problems` lists everything wrong with it, in document order.
public struct ValidationFailure: Error, Codable, Equatable, Hashable, Sendable {
    public var problems: [ValidationProblem]

    public init(problems: [ValidationProblem]) {
        self.problems = problems
    }

    /// The stable code of the whole answer (HTTP 400).
    public static let code = "INVALID_ARGUMENT"

    /// One line naming every problem, for logs and `DecodingError` descriptions.
    public var summary: String {
        problems.map { $0.field.isEmpty ? $0.message : "\($0.field): \($0.message)" }.joined(separator: "; ")
    }
}
