import AsyncHTTPClient
import Foundation
import NIOCore

/// One HTTP answer: status, headers and body, with JSON helpers for the API's shapes.
struct HTTPAnswer: Sendable, CustomStringConvertible {
    var status: Int
    /// Header names lowercased.
    var headers: [String: String]
    var body: String

    /// The body as a JSON object, if it is one.
    var object: [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any]
    }

    /// The body as a JSON array of objects, if it is one.
    var array: [[String: Any]]? {
        (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [[String: Any]]
    }

    /// `error.code` of the API's error shape `{"error": {"code", "message", "details"}}`.
    var errorCode: String? {
        (object?["error"] as? [String: Any])?["code"] as? String
    }

    /// Whether the body has the complete error shape: a code, a message and a details object.
    var isErrorShape: Bool {
        guard let error = object?["error"] as? [String: Any] else { return false }
        return error["code"] is String && error["message"] is String && error["details"] is [String: Any]
    }

    func string(_ key: String) -> String? { object?[key] as? String }

    func integer(_ key: String) -> UInt64? { (object?[key] as? NSNumber)?.uint64Value }

    func header(_ name: String) -> String? { headers[name.lowercased()] }

    var description: String { "\(status) \(body.prefix(600))" }
}

/// Requests through `HTTPClient.shared` (`https://` ones through a client that trusts the
/// tests' CA, `TestCertificates.shared`); every call has a deadline.
enum HTTPCall {
    static func send(
        _ method: String, _ url: String, json: String? = nil, body: ByteBuffer? = nil,
        headers: [String: String] = [:], timeoutSeconds: Int64 = 10
    ) async throws -> HTTPAnswer {
        var request = HTTPClientRequest(url: url)
        request.method = .RAW(value: method)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let payload = json.map({ ByteBuffer(string: $0) }) ?? body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(payload)
        }
        let client = url.hasPrefix("https://") ? try TestCertificates.httpsClient() : HTTPClient.shared
        let response = try await client.execute(request, timeout: .seconds(timeoutSeconds))
        var fields: [String: String] = [:]
        for header in response.headers { fields[header.name.lowercased()] = header.value }
        let bytes = try await response.body.collect(upTo: 32 << 20)
        return HTTPAnswer(status: Int(response.status.code), headers: fields, body: String(buffer: bytes))
    }

    static func get(_ url: String, timeoutSeconds: Int64 = 10) async throws -> HTTPAnswer {
        try await send("GET", url, timeoutSeconds: timeoutSeconds)
    }

    static func post(
        _ url: String, json: String, headers: [String: String] = [:], timeoutSeconds: Int64 = 10
    ) async throws -> HTTPAnswer {
        try await send("POST", url, json: json, headers: headers, timeoutSeconds: timeoutSeconds)
    }

    static func delete(_ url: String, timeoutSeconds: Int64 = 10) async throws -> HTTPAnswer {
        try await send("DELETE", url, timeoutSeconds: timeoutSeconds)
    }
}

/// A JSON string literal for `text` (quotes and escapes included).
func jsonString(_ text: String) -> String {
    let data = try! JSONSerialization.data(withJSONObject: [text], options: [.withoutEscapingSlashes])
    return String(decoding: data.dropFirst().dropLast(), as: UTF8.self)
}
