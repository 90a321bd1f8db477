import BerthRaft
import Foundation
import Hummingbird
import Logging
import Prometheus
import XCTest

@testable import BerthServer

/// `docs/openapi.yaml` documents exactly the routes the server registers: a route added without
/// its documentation, or documentation left behind for a route that is gone, fails here.
final class OpenAPIRoutesTests: XCTestCase {
    func testDocumentedPathsAreTheRegisteredRoutes() throws {
        let registered = try registeredRoutes()
        let documented = try documentedRoutes()
        XCTAssertFalse(registered.isEmpty)
        let undocumented = registered.subtracting(documented).sorted()
        let stale = documented.subtracting(registered).sorted()
        XCTAssertEqual(undocumented, [], "routes missing from docs/openapi.yaml")
        XCTAssertEqual(stale, [], "docs/openapi.yaml documents routes the server does not register")
    }

    func testEveryDocumentedOperationListsItsErrors() throws {
        // Every write documents its 4xx/5xx answers; a read at least its success.
        let text = try String(contentsOfFile: Self.openAPIPath, encoding: .utf8)
        XCTAssertTrue(text.hasPrefix("openapi: 3.1"))
        for code in [
            "NO_LEADER", "OUTCOME_UNKNOWN", "IDEMPOTENCY_KEY_REUSED", "TOO_LARGE", "QUEUE_FULL", "UNAUTHENTICATED",
            "FORBIDDEN",
        ] {
            XCTAssertTrue(text.contains(code), "\(code) is not documented")
        }
    }

    /// "METHOD /path/{param}" for every route of a node with metrics and test hooks on (the
    /// fullest set a server can register).
    private func registeredRoutes() throws -> Set<String> {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "berth-openapi-\(UUID().uuidString)"
        ).path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = ServerConfig(
            nodeID: 1, dataDir: directory, peerListen: HostPort("127.0.0.1:1")!,
            httpListen: HostPort("127.0.0.1:2")!, peers: [1: HostPort("127.0.0.1:1")!], clusterID: "openapi")
        setenv("BERTH_TEST_HOOKS", "1", 1)
        defer { unsetenv("BERTH_TEST_HOOKS") }
        let node = try BerthNode(config: config, logger: Logger(label: "openapi-test"))
        let router = buildRouter(node: node, metrics: PrometheusCollectorRegistry())
        return Set(
            router.routes.map { route in
                let path = "\(route.path)".split(separator: "/").map { component in
                    component.hasPrefix(":") ? "{\(component.dropFirst())}" : String(component)
                }
                return "\(route.method.rawValue) /" + path.joined(separator: "/")
            })
    }

    /// "METHOD /path" for every operation under `paths:` in docs/openapi.yaml. The file keeps a
    /// fixed layout (two-space indents, a path per line, a method per line under it), which is
    /// all this reads.
    private func documentedRoutes() throws -> Set<String> {
        let text = try String(contentsOfFile: Self.openAPIPath, encoding: .utf8)
        var routes: Set<String> = []
        var inPaths = false
        var path: String?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line == "paths:" {
                inPaths = true
                continue
            }
            guard inPaths else { continue }
            if !line.isEmpty, !line.hasPrefix(" ") { break }
            if line.hasPrefix("  /"), line.hasSuffix(":"), !line.hasPrefix("   ") {
                path = String(line.dropFirst(2).dropLast())
            } else if let path, line.hasPrefix("    "), !line.hasPrefix("     "), line.hasSuffix(":") {
                let method = line.trimmingCharacters(in: .whitespaces).dropLast().uppercased()
                if ["GET", "POST", "PUT", "DELETE", "PATCH"].contains(method) {
                    routes.insert("\(method) \(path)")
                }
            }
        }
        return routes
    }

    static let openAPIPath = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("docs/openapi.yaml").path
}
