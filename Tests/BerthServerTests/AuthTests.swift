import BerthRaft
import Foundation
import Testing

@testable import BerthServer

/// Issue 12: bearer tokens on the API (`--token-file`, `--auth-reads`).
@Suite("API tokens: the token file and which role each route needs")
struct APITokenRulesTests {
    @Test(
        "TOKEN ROLE lines with comments; short, unknown-role, duplicate and malformed lines refused without echoing the token"
    )
    func tokenFile() throws {
        let tokens = try APITokens.parse(
            """
            # operators
            admin-0123456789abcdef admin
            writer-0123456789abcdef\twrite   # the agents
            reader-0123456789abcdef read

            """)
        #expect(tokens.role(of: Array("admin-0123456789abcdef".utf8)) == .admin)
        #expect(tokens.role(of: Array("writer-0123456789abcdef".utf8)) == .write)
        #expect(tokens.role(of: Array("reader-0123456789abcdef".utf8)) == .read)
        #expect(tokens.role(of: Array("reader-0123456789abcdeX".utf8)) == nil)
        #expect(tokens.role(of: Array("reader-0123456789abcdef ".utf8)) == nil)
        #expect(tokens.role(of: Array("".utf8)) == nil)
        #expect(tokens.token(for: .admin) == "admin-0123456789abcdef")
        #expect(!"\(tokens)".contains("0123456789abcdef"), "\(tokens)")

        for (text, reason) in [
            ("short-token admin", "at least"), ("long-enough-token-123 root", "role"),
            ("long-enough-token-123", "TOKEN ROLE"),
            ("long-enough-token-123 read\nlong-enough-token-123 admin", "twice"),
            ("# nothing\n", "no tokens"),
        ] {
            do {
                _ = try APITokens.parse(text)
                Issue.record("accepted \(text)")
            } catch {
                #expect("\(error)".contains(reason), "\(error)")
                #expect(!"\(error)".contains("long-enough-token"), "the error names the token: \(error)")
            }
        }
    }

    @Test(
        "roles: probes and metrics open; admin for membership, transfer, drain, cordon; write for changes; reads only with --auth-reads"
    )
    func requiredRoles() {
        for path in ["/health/live", "/health/ready", "/metrics", "/api/health"] {
            #expect(RequiredRole.of(method: "GET", path: path, authReads: true) == nil, "\(path)")
        }
        for (method, path) in [
            ("POST", "/api/cluster/transfer-leadership"), ("POST", "/api/cluster/drain"),
            ("POST", "/api/cluster/members"), ("DELETE", "/api/cluster/members/4"),
            ("POST", "/api/v1alpha1/nodes/arm-01/cordon"), ("POST", "/api/v1alpha1/nodes/arm-01/uncordon"),
            ("POST", "/debug/fsync-delay"), ("POST", "/api/scheduler/pause"), ("POST", "/api/scheduler/resume"),
            // A backup holds the whole state: admin although it is a GET.
            ("GET", "/api/cluster/snapshot"),
        ] {
            #expect(RequiredRole.of(method: method, path: path, authReads: false) == .admin, "\(method) \(path)")
        }
        for (method, path) in [
            ("POST", "/api/jobs"), ("DELETE", "/api/jobs/j1"), ("POST", "/api/v1alpha1/launch/execute"),
            ("POST", "/api/v1alpha1/intake/envelope"), ("POST", "/api/v1alpha1/launch/l1/transitions"),
            ("POST", "/api/v1alpha1/launch/l1/terminate"), ("POST", "/api/jobs/j1/trigger"),
        ] {
            #expect(RequiredRole.of(method: method, path: path, authReads: false) == .write, "\(method) \(path)")
        }
        for (method, path) in [
            ("GET", "/api/cluster"), ("GET", "/api/jobs"), ("POST", "/api/v1alpha1/schedule/explain"),
            ("POST", "/api/v1alpha1/plan/launch"), ("GET", "/api/v1alpha1/agents/n1/actions"),
        ] {
            #expect(RequiredRole.of(method: method, path: path, authReads: false) == nil, "\(method) \(path)")
            #expect(RequiredRole.of(method: method, path: path, authReads: true) == .read, "\(method) \(path)")
        }
        #expect(APIRole.admin > .write && APIRole.write > .read)
    }

    @Test("settings: --auth-reads needs a token file; token-file and auth-reads from YAML and the environment")
    func settings() throws {
        let directory = NSTemporaryDirectory() + "berth-tokens-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = "\(directory)/tokens"
        try "admin-0123456789abcdef admin\n".write(toFile: path, atomically: true, encoding: .utf8)
        let base = ServerSettings(nodeID: 1, peers: "1=127.0.0.1:7101")
        #expect(throws: ConfigError.self) {
            _ = try ServerConfig.resolve(
                flags: ServerSettings(authReads: true), environment: [:], file: base)
        }
        let file = try ServerSettings.parse(
            yaml: "node-id: 1\npeers: 1=127.0.0.1:7101\ntoken-file: \(path)\nauth-reads: true\n")
        let config = try ServerConfig.resolve(flags: ServerSettings(), environment: [:], file: file)
        #expect(config.authReads && config.tokens?.token(for: .admin) == "admin-0123456789abcdef")
        let fromEnvironment = try ServerConfig.resolve(
            flags: ServerSettings(), environment: ["BERTH_TOKEN_FILE": path, "BERTH_AUTH_READS": "false"], file: base)
        #expect(!fromEnvironment.authReads && fromEnvironment.tokens != nil)
    }
}

extension ProcessClusterTests {
    @Suite("API tokens on a running cluster")
    struct Tokens {
        static let admin = "admin-\(UUID().uuidString)"
        static let writer = "writer-\(UUID().uuidString)"
        static let reader = "reader-\(UUID().uuidString)"

        static func tokenFile() throws -> String {
            let path = NSTemporaryDirectory() + "berth-tokens-\(UUID().uuidString.prefix(8))"
            try "# test tokens\n\(admin) admin\n\(writer) write\n\(reader) read\n"
                .write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }

        static func bearer(_ token: String) -> [String: String] { ["Authorization": "Bearer \(token)"] }

        @Test(
            "each role and each refusal: 401 without a valid token, 403 below the route's role, probes and metrics open, tokens never logged; the CLI sends --token and BERTH_TOKEN"
        )
        func roles() async throws {
            let file = try Self.tokenFile()
            defer { try? FileManager.default.removeItem(atPath: file) }
            try await withServerCluster(extraArguments: ["--token-file", file]) { cluster in
                let leader = try await cluster.waitForLeader()
                let follower = cluster.ids.first { $0 != leader.id }!
                let url = cluster.url(follower)
                for path in ["/health/live", "/health/ready", "/metrics", "/api/cluster", "/api/jobs"] {
                    let open = try await HTTPCall.get(url + path)
                    #expect(open.status == 200, "\(path): \(open)")
                }

                let job = "{\"command\":\"echo tokens\"}"
                let anonymous = try await HTTPCall.post(url + "/api/jobs", json: job)
                #expect(anonymous.status == 401 && anonymous.errorCode == "UNAUTHENTICATED", "\(anonymous)")
                #expect(anonymous.isErrorShape, "\(anonymous)")
                #expect(anonymous.header("WWW-Authenticate")?.hasPrefix("Bearer") == true, "\(anonymous)")
                let wrong = try await HTTPCall.post(
                    url + "/api/jobs", json: job, headers: Self.bearer(Self.writer + "x"))
                #expect(wrong.status == 401 && wrong.errorCode == "UNAUTHENTICATED", "\(wrong)")
                let basic = try await HTTPCall.post(
                    url + "/api/jobs", json: job, headers: ["Authorization": "Basic \(Self.writer)"])
                #expect(basic.status == 401, "\(basic)")

                let readOnly = try await HTTPCall.post(url + "/api/jobs", json: job, headers: Self.bearer(Self.reader))
                #expect(readOnly.status == 403 && readOnly.errorCode == "FORBIDDEN", "\(readOnly)")
                #expect(readOnly.isErrorShape, "\(readOnly)")
                let details = (readOnly.object?["error"] as? [String: Any])?["details"] as? [String: String]
                #expect(details == ["required_role": "write", "role": "read"], "\(readOnly)")
                for token in [Self.writer, Self.admin] {
                    let written = try await HTTPCall.post(
                        url + "/api/jobs", json: job,
                        headers: Self.bearer(token).merging(["Idempotency-Key": token]) { a, _ in a })
                    #expect(written.status == 201, "\(written)")
                }
                let lowercase = try await HTTPCall.post(
                    url + "/api/jobs", json: job, headers: ["Authorization": "bearer \(Self.writer)"])
                #expect(lowercase.status == 201, "\(lowercase)")

                // Admin routes.
                let target = cluster.ids.first { $0 != leader.id && $0 != follower }!
                let transfer = "{\"target\":\(target)}"
                let byWriter = try await HTTPCall.post(
                    url + "/api/cluster/transfer-leadership", json: transfer, headers: Self.bearer(Self.writer))
                #expect(byWriter.status == 403 && byWriter.errorCode == "FORBIDDEN", "\(byWriter)")
                let cordon = try await HTTPCall.post(
                    url + "/api/v1alpha1/nodes/arm-01/cordon", json: "{}", headers: Self.bearer(Self.writer))
                #expect(cordon.status == 403, "\(cordon)")
                let drain = try await HTTPCall.post(url + "/api/cluster/drain", json: "{}")
                #expect(drain.status == 401, "\(drain)")
                let members = try await HTTPCall.delete(url + "/api/cluster/members/\(target)")
                #expect(members.status == 401, "\(members)")
                let byAdmin = try await HTTPCall.post(
                    url + "/api/cluster/transfer-leadership", json: transfer, headers: Self.bearer(Self.admin))
                #expect(byAdmin.status == 200, "\(byAdmin)")

                // The CLI: refused without a token (exit 1, the code on stderr), then --token and BERTH_TOKEN.
                let back = leader.id
                let refused = try await BerthCLI.run([
                    "cluster", "transfer-leader", "--to", "\(back)", "--servers", url,
                ])
                #expect(refused.status == 1 && refused.stderr.contains("UNAUTHENTICATED"), "\(refused)")
                let withFlag = try await BerthCLI.run(
                    ["cluster", "transfer-leader", "--to", "\(back)", "--servers", url, "--token", Self.admin])
                #expect(withFlag.status == 0, "\(withFlag)")
                let withEnvironment = try await BerthCLI.run(
                    ["cluster", "transfer-leader", "--to", "\(target)", "--servers", url],
                    environment: ["BERTH_TOKEN": Self.admin])
                #expect(withEnvironment.status == 0, "\(withEnvironment)")

                for id in cluster.ids {
                    let log = cluster.log(id)
                    for token in [Self.admin, Self.writer, Self.reader] {
                        #expect(!log.contains(token), "node \(id)'s log holds a token")
                    }
                }
            }
        }

        @Test("a node started with --join and the cluster's token file is admitted: it asks with its own admin token")
        func joinWithTokens() async throws {
            let file = try Self.tokenFile()
            defer { try? FileManager.default.removeItem(atPath: file) }
            try await withServerCluster(extraArguments: ["--token-file", file]) { cluster in
                let leader = try await cluster.waitForLeader()
                _ = try cluster.local.addMember(id: 4, ports: freeLoopbackPort)
                let follower = cluster.ids.first { $0 != leader.id && $0 != 4 }!
                try await cluster.start(4, peers: "", extraArguments: ["--join", cluster.url(follower)])
                _ = try await eventually("node 4 to be a voter", within: 20) { () -> Bool? in
                    try await cluster.status(leader.id).node(4)?.voter == true ? true : nil
                }
                #expect(!cluster.log(4).contains(Self.admin), "node 4's log holds its token")
            }
        }

        @Test("--auth-reads: reads need a token (any role), probes stay open")
        func authReads() async throws {
            let file = try Self.tokenFile()
            defer { try? FileManager.default.removeItem(atPath: file) }
            try await withServerCluster(
                size: 1, extraArguments: ["--token-file", file, "--auth-reads"], startAll: false
            ) { cluster in
                try await cluster.start(1)
                let url = cluster.url(1)
                _ = try await eventually("node 1 to be ready", within: 15) { () -> Bool? in
                    try await HTTPCall.get(url + "/health/ready").status == 200 ? true : nil
                }
                #expect(try await HTTPCall.get(url + "/metrics").status == 200)
                let anonymous = try await HTTPCall.get(url + "/api/cluster")
                #expect(anonymous.status == 401 && anonymous.errorCode == "UNAUTHENTICATED", "\(anonymous)")
                let explain = try await HTTPCall.post(url + "/api/v1alpha1/schedule/explain", json: "{}")
                #expect(explain.status == 401, "\(explain)")
                for token in [Self.reader, Self.writer, Self.admin] {
                    let read = try await HTTPCall.send("GET", url + "/api/cluster", headers: Self.bearer(token))
                    #expect(read.status == 200, "\(read)")
                }
                let status = try await BerthCLI.run(
                    ["cluster", "status", "--servers", url], environment: ["BERTH_TOKEN": Self.reader])
                #expect(status.status == 0, "\(status)")
            }
        }
    }
}
