import Hummingbird
import Logging
import ServiceLifecycle

/// The HTTP router: probes, cluster and jobs APIs, every error as JSON.
public func buildRouter(node: BerthNode) -> Router<BasicRequestContext> {
    let router = Router()
    router.middlewares.add(ErrorMiddleware())
    HealthRoutes(node: node).register(on: router)
    ClusterRoutes(node: node).register(on: router)
    JobRoutes(node: node).register(on: router)
    return router
}

/// Runs a node until SIGTERM or SIGINT: the Raft node and the HTTP server are services of one
/// `ServiceGroup`. On shutdown the HTTP server stops first, then a leader hands leadership to
/// its most caught-up follower before the node stops, and the process exits 0.
public func runServer(config: ServerConfig, logger: Logger) async throws {
    let node = try BerthNode(config: config, logger: logger)
    let app = Application(
        router: buildRouter(node: node),
        configuration: .init(
            address: .hostname(config.httpListen.host, port: config.httpListen.port), serverName: "berth"),
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
