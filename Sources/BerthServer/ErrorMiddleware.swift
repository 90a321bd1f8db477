import Hummingbird

/// Turns every error into the API's JSON error shape, so clients never see a bare text body.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            throw error
        } catch let error as HTTPError {
            let code: String
            switch error.status {
            case .notFound: code = "NOT_FOUND"
            case .methodNotAllowed: code = "METHOD_NOT_ALLOWED"
            case .contentTooLarge: code = "TOO_LARGE"
            case .badRequest: code = "INVALID_ARGUMENT"
            default: code = "HTTP_\(error.status.code)"
            }
            throw APIError(error.status, code: code, message: error.body ?? error.status.reasonPhrase)
        } catch {
            context.logger.error("unhandled error", metadata: ["error": "\(error)"])
            throw APIError(.internalServerError, code: "INTERNAL", message: "internal error")
        }
    }
}
