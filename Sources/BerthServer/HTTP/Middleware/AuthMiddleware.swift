import HTTPTypes
import Hummingbird

/// Bearer tokens on the API (`--token-file`): 401 without a valid token, 403 when its role is
/// below what the route needs (`RequiredRole`), both in the error shape of spec §5. The token
/// is never logged or echoed: the answers name roles only.
struct AuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let tokens: APITokens
    let authReads: Bool

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard
            let required = RequiredRole.of(
                method: request.method.rawValue, path: request.uri.path, authReads: authReads)
        else { return try await next(request, context) }
        guard let header = request.headers[.authorization] else {
            throw Self.unauthenticated("this request needs a bearer token (Authorization: Bearer TOKEN)", required)
        }
        let scheme = header.prefix(7)
        guard scheme.lowercased() == "bearer ", let role = tokens.role(of: header.utf8.dropFirst(7)) else {
            throw Self.unauthenticated("the bearer token is not valid", required)
        }
        guard role >= required else {
            throw APIError(
                .forbidden, code: "FORBIDDEN",
                message: "this request needs a token with the \(required.rawValue) role; this one has \(role.rawValue)",
                details: ["required_role": required.rawValue, "role": role.rawValue])
        }
        return try await next(request, context)
    }

    static func unauthenticated(_ message: String, _ required: APIRole) -> APIError {
        var error = APIError(
            .unauthorized, code: "UNAUTHENTICATED", message: message, details: ["required_role": required.rawValue])
        error.wwwAuthenticate = true
        return error
    }
}
