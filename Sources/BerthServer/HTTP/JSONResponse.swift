import Foundation
import HTTPTypes
import Hummingbird

/// JSON bodies for answers built from plain dictionaries and Codable values.
enum JSONResponse {
    static func make(_ status: HTTPResponse.Status = .ok, _ object: [String: Any?], headers: HTTPFields = [:])
        -> Response
    {
        let cleaned = object.mapValues { $0 ?? NSNull() }
        let bytes =
            (try? JSONSerialization.data(withJSONObject: cleaned, options: [.sortedKeys, .withoutEscapingSlashes]))
            ?? Data("{}".utf8)
        return make(status, bytes: Array(bytes), headers: headers)
    }

    static func make(_ status: HTTPResponse.Status = .ok, encodable: some Encodable, headers: HTTPFields = [:])
        -> Response
    {
        let bytes = (try? JSONEncoder.api.encode(encodable)) ?? Data("{}".utf8)
        return make(status, bytes: Array(bytes), headers: headers)
    }

    static func make(_ status: HTTPResponse.Status, bytes: [UInt8], headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// The answer a leader (or this node) gave to a client request.
    static func make(_ answer: ClientAnswer) -> Response {
        var headers: HTTPFields = [:]
        if let retry = answer.retryAfterSeconds { headers[.retryAfter] = "\(retry)" }
        return make(.init(code: answer.status), bytes: answer.body, headers: headers)
    }
}

/// Reads a JSON request body with clear errors: 413 over `limit` bytes, 400 for anything that
/// does not decode.
func decodeJSONBody<T: Decodable>(_ type: T.Type, from request: Request, limit: Int = 1 << 20) async throws -> T {
    try await decodeJSONBodyAndBytes(type, from: request, limit: limit).value
}

/// `decodeJSONBody`, also returning the body's bytes (for the request's fingerprint).
func decodeJSONBodyAndBytes<T: Decodable>(_ type: T.Type, from request: Request, limit: Int = 1 << 20) async throws
    -> (value: T, bytes: ByteBuffer)
{
    let buffer = try await collectBody(of: request, limit: limit)
    return (try decodeJSON(type, from: buffer), buffer)
}

/// The whole request body; 413 `TOO_LARGE` over `limit` bytes.
func collectBody(of request: Request, limit: Int = 1 << 20) async throws -> ByteBuffer {
    var request = request
    do {
        return try await request.collectBody(upTo: limit)
    } catch {
        throw APIError(.contentTooLarge, code: "TOO_LARGE", message: "request body is over \(limit) bytes")
    }
}

func decodeJSON<T: Decodable>(_ type: T.Type, from buffer: ByteBuffer) throws -> T {
    do {
        return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
    } catch DecodingError.keyNotFound(let key, _) {
        throw APIError.badRequest("missing field \"\(key.stringValue)\"", field: key.stringValue)
    } catch DecodingError.typeMismatch(_, let context) {
        let field = context.codingPath.map(\.stringValue).joined(separator: ".")
        throw APIError.badRequest("field \"\(field)\" has the wrong type", field: field)
    } catch {
        throw APIError.badRequest("request body is not valid JSON for this endpoint")
    }
}
