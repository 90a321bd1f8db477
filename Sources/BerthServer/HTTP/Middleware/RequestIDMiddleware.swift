import HTTPTypes
import Hummingbird

/// Gives every HTTP request an id — the client's `X-Request-Id` when it sent one (1–128
/// printable ASCII characters), else a new one — echoes it in the answer's `X-Request-Id`, and
/// puts it on every log line written while the request is served (`LogContext.requestID`).
struct RequestIDMiddleware<Context: RequestContext>: RouterMiddleware {
    static var header: HTTPField.Name { HTTPField.Name("X-Request-Id")! }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let id = request.headers[Self.header].flatMap(Self.acceptable) ?? Self.newID()
        var response = try await LogContext.$requestID.withValue(id) { try await next(request, context) }
        response.headers[Self.header] = id
        return response
    }

    static func acceptable(_ text: String) -> String? {
        guard (1...128).contains(text.utf8.count), text.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            return nil
        }
        return text
    }

    static func newID() -> String {
        let value = UInt64.random(in: 0...UInt64.max)
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
