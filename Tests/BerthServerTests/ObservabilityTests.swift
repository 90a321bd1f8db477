import Foundation
import Logging
import Testing

@testable import BerthServer

/// `promtool` from Debian's `prometheus` package, if installed.
let promtoolPath: String? = ["/usr/bin/promtool", "/usr/local/bin/promtool", "/bin/promtool"].first {
    FileManager.default.isExecutableFile(atPath: $0)
}

/// Runs `promtool arguments…` with `stdin`; its exit status and combined output.
func runPromtool(_ arguments: [String], stdin: String? = nil) throws -> (status: Int32, output: String) {
    let scratch = NSTemporaryDirectory() + "berth-promtool-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: scratch) }
    try Data((stdin ?? "").utf8).write(to: URL(fileURLWithPath: "\(scratch)/in"))
    FileManager.default.createFile(atPath: "\(scratch)/out", contents: nil)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: promtoolPath!)
    process.arguments = arguments
    process.standardInput = FileHandle(forReadingAtPath: "\(scratch)/in")
    process.standardOutput = FileHandle(forWritingAtPath: "\(scratch)/out")
    process.standardError = process.standardOutput
    try process.run()
    process.waitUntilExit()
    return (process.terminationStatus, (try? String(contentsOfFile: "\(scratch)/out", encoding: .utf8)) ?? "")
}

extension DeployFilesTests {
    @Test(
        "deploy/prometheus/alerts.yaml passes promtool check rules and names every alert the runbook explains",
        .enabled(
            if: promtoolPath != nil,
            "promtool is not installed (Debian/Ubuntu: apt-get install prometheus); .ci/run installs it"))
    func alertRules() throws {
        let path = try HAProxyFront.deployFile("prometheus/alerts.yaml")
        let check = try runPromtool(["check", "rules", path])
        #expect(check.status == 0, "promtool check rules:\n\(check.output)")
        let text = try String(contentsOfFile: path, encoding: .utf8)
        for alert in [
            "BerthNoLeader", "BerthFrequentLeaderChanges", "BerthFollowerLagging", "BerthSlowFsync", "BerthPeerDown",
            "BerthNotReady",
        ] {
            #expect(text.contains("alert: \(alert)\n"), "\(alert) missing")
        }
    }
}

extension ProcessClusterTests {
    @Suite("observability")
    struct Observability {
        @Test(
            "a live /metrics scrape passes promtool check metrics, with HTTP latency by route, elections and fsync latency",
            .enabled(
                if: promtoolPath != nil,
                "promtool is not installed (Debian/Ubuntu: apt-get install prometheus); .ci/run installs it"))
        func promtoolCheckMetrics() async throws {
            try await withServerCluster { cluster in
                let leader = try await cluster.waitForLeader()
                _ = try await cluster.createJobs(10, via: cluster.ids, prefix: "metrics")
                _ = try await HTTPCall.get("\(cluster.url(leader.id))/api/jobs?page_size=1")
                let scrape = try await HTTPCall.get("\(cluster.url(leader.id))/metrics")
                #expect(scrape.status == 200)
                let check = try runPromtool(["check", "metrics"], stdin: scrape.body)
                #expect(check.status == 0, "promtool check metrics:\n\(check.output)\n\(scrape.body.prefix(2000))")
                for name in [
                    "berth_http_request_duration_seconds_bucket{", "berth_raft_elections_started_total",
                    "berth_wal_fsync_seconds_bucket{", "berth_ready 1", "berth_raft_has_leader 1",
                    "berth_peer_connected{", "berth_raft_follower_lag_entries{", "berth_launches{",
                ] {
                    #expect(scrape.body.contains(name), "\(name) missing from /metrics")
                }
                // The route label is the pattern, never the raw path.
                #expect(scrape.body.contains("route=\"/api/jobs\""), "no /api/jobs route label")
                #expect(!scrape.body.contains("page_size"))
            }
        }

        @Test("--log-format json: every line of a real node is one JSON object with node_id, and term once known")
        func jsonLogs() async throws {
            try await withServerCluster(extraArguments: ["--log-format", "json"]) { cluster in
                let leader = try await cluster.waitForLeader()
                _ = try await cluster.createJobs(3, via: cluster.ids, prefix: "logged")
                // A request with an id: what is logged while serving it carries the id.
                let drain = try await HTTPCall.post(
                    "\(cluster.url(leader.id))/api/cluster/drain", json: "{}", headers: ["X-Request-Id": "req-logs-1"])
                #expect(drain.status == 200, "\(drain)")
                #expect(drain.header("X-Request-Id") == "req-logs-1")
                let text = cluster.log(leader.id)
                let lines = text.split(separator: "\n").filter { !$0.isEmpty }
                #expect(lines.count > 3, "\(text)")
                var sawTerm = false
                for line in lines {
                    let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                    #expect(object != nil, "not a JSON object: \(line)")
                    guard let object else { continue }
                    #expect(object["node_id"] as? String == "\(leader.id)", "\(line)")
                    #expect(object["msg"] is String && object["level"] is String && object["ts"] is String, "\(line)")
                    if object["term"] != nil { sawTerm = true }
                }
                #expect(sawTerm, "no line carries the term")
                let served = lines.filter { $0.contains("\"request_id\":\"req-logs-1\"") }
                #expect(served.contains { $0.contains("draining") && $0.contains("\"term\":") }, "\(text.suffix(3000))")
            }
        }
    }
}

/// The log line formats, without a process.
@Suite("log lines")
struct LogLineTests {
    @Test("text and json: one line per event, node id, term and request id first, newlines escaped")
    func formats() throws {
        let metadata: [String: Logging.Logger.Metadata.Value] = [
            "node_id": "2", "term": "7", "request_id": "r-1", "peer": "3", "error": "two\nlines",
        ]
        let date = Date(timeIntervalSince1970: 1_800_000_000)
        let text = BerthLogHandler.render(
            format: .text, label: "berth.n2", level: .info, message: "hello\nworld", metadata: metadata, date: date)
        #expect(!text.contains("\n"))
        #expect(text.contains("info berth.n2 node_id=2 term=7 request_id=r-1: hello\\nworld"), "\(text)")
        #expect(text.contains("peer=3"))
        let json = BerthLogHandler.render(
            format: .json, label: "berth.n2", level: .warning, message: "quote \" and \\", metadata: metadata,
            date: date)
        #expect(!json.contains("\n"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(object["node_id"] as? String == "2")
        #expect(object["term"] as? String == "7")
        #expect(object["request_id"] as? String == "r-1")
        #expect(object["msg"] as? String == "quote \" and \\")
        #expect(object["error"] as? String == "two\nlines")
        #expect(object["level"] as? String == "warning")
    }
}
