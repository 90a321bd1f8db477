import HTTPTypes
import Hummingbird

/// Refuses a request whose declared `Content-Length` is over the limit with 413 at once,
/// before a byte of the body is read: a client that waits for `100 Continue` (curl does for
/// large bodies) gets its answer immediately instead of after its own timeout. A body without
/// a length that grows past the limit is refused while it streams (`decodeJSONBody`).
struct BodyLimitMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The largest body any route accepts, in bytes.
    static var maxBodyBytes: Int { 1 << 20 }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        if let text = request.headers[.contentLength], let declared = Int(text), declared > Self.maxBodyBytes {
            throw APIError(
                .contentTooLarge, code: "TOO_LARGE",
                message: "request body is \(declared) bytes, over \(Self.maxBodyBytes)",
                details: ["limit": "\(Self.maxBodyBytes)"])
        }
        return try await next(request, context)
    }
}
