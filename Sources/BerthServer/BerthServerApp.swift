import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import Metrics
import NIOCore
import Prometheus
import ServiceLifecycle

/// The HTTP router: probes, metrics, cluster and jobs APIs, every error as JSON.
public func buildRouter(node: BerthNode, metrics: PrometheusCollectorRegistry? = nil) -> Router<BasicRequestContext> {
    let router = Router()
    // Outermost, so it sees the status of every answer, errors included. BERTH_HTTP_METRICS=off
    // leaves it out (to measure what it costs; docs/operations.md, "Metrics").
    if ProcessInfo.processInfo.environment["BERTH_HTTP_METRICS"] != "off" {
        router.middlewares.add(HTTPMetricsMiddleware())
    }
    router.middlewares.add(RequestIDMiddleware())
    router.middlewares.add(ErrorMiddleware())
    // Before the body is read: an unauthenticated client gets nothing of the server's time.
    if let tokens = node.config.tokens {
        router.middlewares.add(AuthMiddleware(tokens: tokens, authReads: node.config.authReads))
    }
    router.middlewares.add(BodyLimitMiddleware())
    if let metrics {
        router.get("/metrics") { _, _ in
            await NodeMetrics.refreshScrapeGauges(node: node)
            var buffer: [UInt8] = []
            buffer.reserveCapacity(16 << 10)
            metrics.emit(into: &buffer)
            buffer = MetricsHelp.addHelp(to: buffer)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
        }
    }
    if node.hooks.enabled {
        // Test-only (BERTH_TEST_HOOKS=1): make every later fsync of this node slow.
        router.post("/debug/fsync-delay") { request, _ in
            let body = try await decodeJSONBody(FsyncDelayBody.self, from: request)
            guard (0...60_000).contains(body.milliseconds) else {
                throw APIError.badRequest("milliseconds must be 0–60000", field: "milliseconds")
            }
            node.hooks.fsyncDelayMilliseconds = body.milliseconds
            return JSONResponse.make(.ok, ["fsync_delay_ms": body.milliseconds])
        }
        // Test-only: block the Raft loop's thread once (a loop that cannot keep up with its peers).
        router.post("/debug/stall-raft-loop") { request, _ in
            let body = try await decodeJSONBody(FsyncDelayBody.self, from: request)
            guard (0...60_000).contains(body.milliseconds) else {
                throw APIError.badRequest("milliseconds must be 0–60000", field: "milliseconds")
            }
            node.raft.stallForTesting(milliseconds: body.milliseconds)
            return JSONResponse.make(.ok, ["stalled_ms": body.milliseconds])
        }
    }
    HealthRoutes(node: node).register(on: router)
    ClusterRoutes(node: node).register(on: router)
    JobRoutes(node: node).register(on: router)
    PlacementRoutes(node: node).register(on: router)
    LaunchRoutes(node: node).register(on: router)
    NodeSafetyRoutes(node: node).register(on: router)
    return router
}

/// `POST /debug/fsync-delay` and `POST /debug/stall-raft-loop` body.
struct FsyncDelayBody: Decodable {
    var milliseconds: Int
}

/// Runs a node until SIGTERM or SIGINT: the Raft node and the HTTP server are services of one
/// `ServiceGroup`. On shutdown the HTTP server stops first, then a leader hands leadership to
/// its most caught-up follower before the node stops, and the process exits 0.
public func runServer(config: ServerConfig, logger: Logger) async throws {
    // Metrics go to a Prometheus registry served at /metrics; bootstrapped before anything
    // creates a metric, once per process.
    let registry = PrometheusCollectorRegistry()
    var factory = PrometheusMetricsFactory(registry: registry)
    // Sub-millisecond resolution where it matters: an API answer and a WAL fsync usually take
    // well under the default histogram's first bucket (5 ms).
    let fine: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2),
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
    ]
    for label in [
        HTTPMetricsMiddleware<BasicRequestContext>.label, "berth_wal_fsync_seconds", "berth_raft_persist_seconds",
        "berth_raft_apply_seconds",
    ] {
        factory.durationHistogramBuckets[label] = fine
    }
    MetricsSystem.bootstrap(factory)
    // An idle client connection is closed (after a minute by default); past the cap on open
    // connections new ones wait in the listen backlog: neither a slow nor a greedy client
    // holds the node.
    var server = HTTPServerBuilder.http1(
        configuration: .init(idleTimeout: .seconds(Int64(config.httpIdleTimeoutSeconds))))
    if let tls = try APITLS.configuration(config.tls, environment: ProcessInfo.processInfo.environment) {
        server = try .tls(server, tlsConfiguration: tls)
    }
    let node = try BerthNode(config: config, logger: logger)
    let app = Application(
        router: buildRouter(node: node, metrics: registry),
        server: server,
        configuration: .init(
            address: .hostname(config.httpListen.host, port: config.httpListen.port), serverName: "berth",
            availableConnectionsDelegate: MaximumAvailableConnections(config.httpMaxConnections)),
        logger: logger)
    let group = ServiceGroup(
        configuration: .init(
            services: [.init(service: NodeService(node: node)), .init(service: app)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
    try await group.run()
}

/// The Raft node as a lifecycle service.
struct NodeService: Service {
    let node: BerthNode

    func run() async throws {
        try await node.start()
        try? await gracefulShutdown()
        node.logger.info("shutting down: handing off leadership if leading")
        await node.stop()
    }
}
