import AsyncHTTPClient
import Foundation
import NIOCore

/// The CLI's small HTTP helper over AsyncHTTPClient.
enum HTTP {
    /// Sends a request and returns the status and body text.
    static func request(
        _ method: String, _ url: String, body: String? = nil, headers: [String: String] = [:],
        timeoutSeconds: Int64 = 10
    ) async throws -> (status: Int, body: String) {
        var request = HTTPClientRequest(url: url)
        request.method = .RAW(value: method)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(timeoutSeconds))
        let bytes = try await response.body.collect(upTo: 16 << 20)
        return (Int(response.status.code), String(buffer: bytes))
    }
}
