import Foundation

/// Validating entry points shared by every document type that the API accepts.
public protocol ValidatedDocument {
    /// Builds the value from a parsed document, or reports every problem with it.
    static func read(_ value: JSONValue) throws(ValidationFailure) -> Self
}

extension ValidatedDocument {
    /// Parses and validates a JSON body. Never traps: malformed JSON is one INVALID_JSON problem.
    public static func parse(json bytes: some Collection<UInt8>) throws(ValidationFailure) -> Self {
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes)
        } catch {
            throw ValidationFailure(problems: [
                ValidationProblem(
                    field: "", code: .invalidJSON, message: "not valid JSON at byte \(error.offset): \(error.reason)")
            ])
        }
        return try read(value)
    }

    /// The problems this value has (empty when valid). Values built in code, not parsed, can break
    /// the limits; checking them by re-reading their own encoding keeps one set of rules.
    public func validationProblems() -> [ValidationProblem] where Self: Encodable {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let data = try? encoder.encode(self) else {
            return [ValidationProblem(field: "", code: .invalidType, message: "the value cannot be encoded")]
        }
        do {
            _ = try Self.parse(json: data)
            return []
        } catch {
            return error.problems
        }
    }
}

/// `Decodable` through the validating reader: the decoder's content becomes a JSONValue first.
func decodeValidated<T>(from decoder: any Decoder, _ read: (JSONValue) throws(ValidationFailure) -> T) throws -> T {
    let value = try JSONValue(from: decoder)
    do {
        return try read(value)
    } catch {
        throw DecodingError.dataCorrupted(
            DecodingError.Context(
                codingPath: decoder.codingPath, debugDescription: error.summary, underlyingError: error))
    }
}
