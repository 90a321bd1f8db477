import Dispatch
import HTTPTypes
import Hummingbird
import Metrics
import NIOConcurrencyHelpers

/// `berth_http_request_duration_seconds{route, method, code}`: how long each request took, by
/// the route pattern it matched (`/api/jobs/{id}`, never the raw path, so the label set stays
/// small) and its status code. A Prometheus histogram; the metric handles are cached, so a
/// request costs one dictionary lookup under a lock and one histogram observation.
struct HTTPMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    static var label: String { "berth_http_request_duration_seconds" }

    let cache = HTTPMetricsCache()

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let start = DispatchTime.now().uptimeNanoseconds
        do {
            let response = try await next(request, context)
            record(request, context, status: response.status.code, since: start)
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            record(request, context, status: status, since: start)
            throw error
        }
    }

    private func record(_ request: Request, _ context: Context, status: Int, since start: UInt64) {
        // A path no route matched is one label value, whatever it was.
        let route = context.endpointPath.map(Self.prometheusRoute) ?? "unmatched"
        let timer = cache.timer(route: route, method: request.method.rawValue, status: status)
        timer.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds &- start))
    }

    /// `/api/jobs/:id` → `/api/jobs/{id}`, as docs/openapi.yaml writes it.
    static func prometheusRoute(_ path: String) -> String {
        guard path.contains(":") else { return path }
        return path.split(separator: "/", omittingEmptySubsequences: false).map { part in
            part.hasPrefix(":") ? "{\(part.dropFirst())}" : String(part)
        }.joined(separator: "/")
    }
}

final class HTTPMetricsCache: Sendable {
    private struct Key: Hashable {
        var route: String
        var method: String
        var status: Int
    }
    private let timers = NIOLockedValueBox<[Key: Timer]>([:])

    func timer(route: String, method: String, status: Int) -> Timer {
        let key = Key(route: route, method: method, status: status)
        return timers.withLockedValue { timers in
            if let timer = timers[key] { return timer }
            let timer = Timer(
                label: HTTPMetricsMiddleware<BasicRequestContext>.label,
                dimensions: [("route", route), ("method", method), ("code", "\(status)")],
                preferredDisplayUnit: .seconds)
            timers[key] = timer
            return timer
        }
    }
}
