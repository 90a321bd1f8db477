import Hummingbird
import Metrics

/// Turns every error into the API's JSON error shape, so clients never see a bare text body,
/// and counts error answers (`berth_http_errors_total{route,method,status}`).
///
/// Only errors are counted: per-request metrics for every answer (Hummingbird's
/// `MetricsMiddleware`) cost 8 % of the leader's CPU per write in the benchmark, and successful
/// writes are already counted by the Raft loop (`berth_raft_entries_applied_total`).
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let response: Response
        do {
            response = try await next(request, context)
        } catch {
            let apiError = Self.apiError(for: error, context: context)
            Self.count(apiError.status, request: request, context: context)
            throw apiError
        }
        if response.status.code >= 400 { Self.count(response.status, request: request, context: context) }
        return response
    }

    private static func apiError(for error: any Error, context: Context) -> APIError {
        switch error {
        case let error as APIError:
            return error
        case let error as HTTPError:
            let code: String
            switch error.status {
            case .notFound: code = "NOT_FOUND"
            case .methodNotAllowed: code = "METHOD_NOT_ALLOWED"
            case .contentTooLarge: code = "TOO_LARGE"
            case .badRequest: code = "INVALID_ARGUMENT"
            default: code = "HTTP_\(error.status.code)"
            }
            return APIError(error.status, code: code, message: error.body ?? error.status.reasonPhrase)
        default:
            context.logger.error("unhandled error", metadata: ["error": "\(error)"])
            return APIError(.internalServerError, code: "INTERNAL", message: "internal error")
        }
    }

    private static func count(_ status: HTTPResponse.Status, request: Request, context: Context) {
        Counter(
            label: "berth_http_errors_total",
            dimensions: [
                ("route", context.endpointPath ?? "unmatched"), ("method", request.method.rawValue),
                ("status", "\(status.code)"),
            ]
        ).increment()
    }
}
