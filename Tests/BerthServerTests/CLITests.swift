import BerthControlPlane
import BerthServer
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension ProcessClusterTests {
    /// The `berth` CLI binary against real clusters: what it prints, what it sends, and how it
    /// ends (exit 0 done, 1 refused, 64 usage, 69 unreachable).
    @Suite("berth CLI")
    struct CLI {
        @Test("envelope push, schedule explain and select, nodes list, explain, cordon and uncordon")
        func placementCommands() async throws {
            try await withServerCluster { cluster in
                let leader = try await cluster.waitForLeader()
                let follower = cluster.ids.first { $0 != leader.id }!
                let files = try CLIFiles()
                defer { files.remove() }
                let nowMs = Int64(Date().timeIntervalSince1970 * 1000)
                let envelopes = try zip(
                    ["arm-01", "arm-02", "x86-02", "edge-01"], Payments.envelopes(newestAtMs: nowMs)
                )
                .map { try files.write("\($0.0).json", $0.1) }
                let intent = try files.write("intent.json", try Payments.intent())
                let via = ["--servers", cluster.url(follower)]

                // Four envelopes through a follower, one line each.
                let push = try await BerthCLI.run(["envelope", "push"] + envelopes + via)
                #expect(push.status == 0, "\(push)")
                #expect(push.lines.filter { $0.hasPrefix("accepted ") }.count == 4, "\(push)")
                #expect(push.stdout.contains("accepted arm-01 sequence 4182"), "\(push)")

                // The same envelope again: refused (exit 1), the API's code and message on stderr.
                let again = try await BerthCLI.run(["envelope", "push", envelopes[0]] + via)
                #expect(again.status == 1, "\(again)")
                #expect(again.stderr.contains("STALE_SEQUENCE"), "\(again)")

                // --output json is the API's answer, byte for byte, on every node.
                let at = RFC3339.string(fromMilliseconds: nowMs + 1000)
                for id in cluster.ids {
                    let cli = try await BerthCLI.run(
                        [
                            "schedule", "explain", intent, "--output", "json", "--consistent", "--at", at, "--servers",
                            cluster.url(id),
                        ])
                    #expect(cli.status == 0, "node \(id): \(cli)")
                    let api = try await HTTPCall.post(
                        "\(cluster.url(id))/api/v1alpha1/schedule/explain?consistent=true&at=\(at)",
                        json: try Payments.intent())
                    #expect(api.status == 200, "\(api)")
                    #expect(cli.stdout == api.body + "\n", "node \(id): CLI \(cli.stdout) API \(api.body)")
                }

                // The table: arm-01 selected, every rejection with its code and evidence.
                let table = try await BerthCLI.run(["schedule", "explain", intent, "--at", at] + via)
                #expect(table.status == 0, "\(table)")
                #expect(table.row("arm-01")?.contains("selected") == true, "\(table)")
                #expect(table.row("arm-01")?.contains("fits") == true, "\(table)")
                for (node, code) in [
                    ("arm-02", "KVM_MISSING"), ("x86-02", "TELEMETRY_STALE"), ("edge-01", "INSUFFICIENT_MEMORY"),
                ] {
                    let row = table.row(node)
                    #expect(row?.contains("rejected") == true, "\(node): \(table)")
                    #expect(row?.contains(code) == true, "\(node): \(table)")
                    #expect(row?.contains("needed ") == true && row?.contains(", has ") == true, "\(node): \(table)")
                }
                #expect(table.row("edge-01")?.contains("needed 8192 MiB, has 6144 MiB free") == true, "\(table)")
                #expect(table.stdout.contains("arm-01 selected for payments; 3 of 4 nodes rejected"), "\(table)")

                // "Why not this node", the intent from stdin, and select.
                let whyNot = try await BerthCLI.run(["schedule", "explain", intent, "--node", "arm-02"] + via)
                #expect(whyNot.status == 0 && whyNot.row("arm-02")?.contains("KVM_MISSING") == true, "\(whyNot)")
                #expect(whyNot.row("arm-01") == nil, "\(whyNot)")
                let stdin = try await BerthCLI.run(
                    ["schedule", "explain", "-", "-o", "json"] + via, stdin: try Payments.intent())
                #expect(stdin.status == 0, "\(stdin)")
                #expect(
                    (stdin.json?["ranked_nodes"] as? [[String: Any]])?.first?["node_id"] as? String == "arm-01",
                    "\(stdin)")
                let select = try await BerthCLI.run(["schedule", "select", intent, "--consistent"] + via)
                #expect(select.status == 0 && select.stdout.hasPrefix("arm-01 selected for payments"), "\(select)")

                // Node views.
                let list = try await BerthCLI.run(["nodes", "list", "--consistent"] + via)
                #expect(list.status == 0, "\(list)")
                for node in ["arm-01", "arm-02", "x86-02", "edge-01"] {
                    #expect(list.row(node) != nil, "\(node): \(list)")
                }
                #expect(list.row("x86-02")?.contains("STALE") == true, "\(list)")
                #expect(list.row("arm-02")?.contains("absent") == true, "\(list)")
                let listJSON = try await BerthCLI.run(["nodes", "list", "-o", "json", "--at", at] + via)
                let listAPI = try await HTTPCall.get("\(cluster.url(follower))/api/v1alpha1/nodes?at=\(at)")
                #expect(listJSON.stdout == listAPI.body + "\n", "CLI \(listJSON) API \(listAPI)")
                let explain = try await BerthCLI.run(["nodes", "explain", "arm-02"] + via)
                #expect(explain.status == 0, "\(explain)")
                #expect(explain.row("kvm")?.contains("absent") == true, "\(explain)")
                #expect(explain.row("cannot run")?.contains("kvm") == true, "\(explain)")

                // Cordon the only node that fits: select refuses and the table says why.
                let cordon = try await BerthCLI.run(["nodes", "cordon", "arm-01"] + via)
                #expect(cordon.status == 0 && cordon.stdout.hasPrefix("arm-01 cordoned"), "\(cordon)")
                let cordoned = try await HTTPCall.get(
                    "\(cluster.url(leader.id))/api/v1alpha1/nodes/arm-01/explain?consistent=true")
                #expect(cordoned.object?["cordoned"] as? Bool == true, "\(cordoned)")
                let none = try await BerthCLI.run(["schedule", "select", intent, "--consistent"] + via)
                #expect(none.status == 1, "\(none)")
                #expect(none.stderr.contains("NO_ELIGIBLE_NODE"), "\(none)")
                #expect(none.row("arm-01")?.contains("NODE_CORDONED") == true, "\(none)")
                let draining = try await BerthCLI.run(["nodes", "cordon", "arm-01", "--draining", "-o", "json"] + via)
                #expect(draining.status == 0 && draining.json?["draining"] as? Bool == true, "\(draining)")
                let uncordon = try await BerthCLI.run(["nodes", "uncordon", "arm-01"] + via)
                #expect(uncordon.status == 0 && uncordon.stdout.hasPrefix("arm-01 uncordoned"), "\(uncordon)")
                let back = try await BerthCLI.run(["schedule", "select", intent, "--consistent", "-o", "json"] + via)
                #expect(back.status == 0 && back.json?["node_id"] as? String == "arm-01", "\(back)")
            }
        }

        @Test("bad input: the server's code on stderr and exit 1; usage errors exit 64")
        func badInput() async throws {
            try await withServerCluster { cluster in
                _ = try await cluster.waitForLeader()
                let files = try CLIFiles()
                defer { files.remove() }
                let via = ["--servers", cluster.url(cluster.ids[0])]
                let bad = try files.write("bad.json", #"{"name":"","arch":"sparc","vcpus":0,"memory_mib":1}"#)
                for command in [["schedule", "explain"], ["schedule", "select"]] {
                    let answer = try await BerthCLI.run(command + [bad] + via)
                    #expect(answer.status == 1, "\(command): \(answer)")
                    #expect(answer.stderr.contains("INVALID_ARGUMENT"), "\(command): \(answer)")
                    #expect(
                        answer.stderr.contains("arch") && answer.stderr.contains("vcpus"), "every problem: \(answer)")
                    #expect(answer.stdout.isEmpty, "\(command): \(answer)")
                    // With --output json the error JSON also goes to stdout, for scripts.
                    let json = try await BerthCLI.run(command + [bad, "-o", "json"] + via)
                    #expect(json.status == 1 && json.stderr.contains("INVALID_ARGUMENT"), "\(json)")
                    #expect(
                        (json.json?["error"] as? [String: Any])?["code"] as? String == "INVALID_ARGUMENT", "\(json)")
                }
                let notJSON = try await BerthCLI.run(["schedule", "explain", try files.write("x.json", "{")] + via)
                #expect(notJSON.status == 1 && notJSON.stderr.contains("INVALID_ARGUMENT"), "\(notJSON)")
                let unknown = try await BerthCLI.run(["nodes", "explain", "nope"] + via)
                #expect(unknown.status == 1 && unknown.stderr.contains("NODE_NOT_FOUND"), "\(unknown)")
                let uncordon = try await BerthCLI.run(["nodes", "uncordon", "nope"] + via)
                #expect(uncordon.status == 1 && uncordon.stderr.contains("NODE_NOT_FOUND"), "\(uncordon)")

                for arguments in [
                    ["schedule", "explain", "\(files.directory)/missing.json"] + via,
                    ["nodes", "list", "--output", "yaml"] + via,
                    ["nodes", "list", "--servers", "ftp://example.com"],
                    ["nodes", "list", "--at", "yesterday"] + via,
                    ["nodes", "explain"] + via,
                ] {
                    let answer = try await BerthCLI.run(arguments)
                    #expect(answer.status == 64, "\(arguments): \(answer)")
                    #expect(!answer.stderr.isEmpty, "\(arguments): \(answer)")
                }
                for id in cluster.ids {
                    #expect(try await HTTPCall.get("\(cluster.url(id))/health/live").status == 200)
                }
            }
        }

        @Test("cluster members (table and json), cluster transfer, and a refused member change")
        func clusterCommands() async throws {
            try await withServerCluster { cluster in
                let leader = try await cluster.waitForLeader()
                let target = cluster.ids.first { $0 != leader.id }!
                let servers = ["--servers", cluster.url(target)]

                let table = try await BerthCLI.run(["cluster", "members"] + servers)
                #expect(table.status == 0, "\(table)")
                for id in cluster.ids {
                    let row = table.row("\(id)")
                    #expect(row?.contains("voter") == true, "\(table)")
                }
                let json = try await BerthCLI.run(["cluster", "members", "list", "--output", "json"] + servers)
                #expect(json.status == 0, "\(json)")
                #expect((json.json?["nodes"] as? [Any])?.count == cluster.ids.count, "\(json)")

                let transfer = try await BerthCLI.run(["cluster", "transfer", "--to", "\(target)"] + servers)
                #expect(transfer.status == 0, "\(transfer)")
                _ = try await eventually("node \(target) to lead", within: 15) { () -> Bool? in
                    try await cluster.status(target).leaderID == target ? true : nil
                }

                let refused = try await BerthCLI.run(["cluster", "members", "remove", "99"] + servers)
                #expect(refused.status == 1, "\(refused)")
                #expect(refused.stderr.contains("99") || refused.stderr.contains("NOT_FOUND"), "\(refused)")
            }
        }

        @Test("BERTH_SERVERS: a dead first server falls back to the next; none answering exits 69")
        func serverFallback() async throws {
            try await withServerCluster { cluster in
                let leader = try await cluster.waitForLeader()
                let follower = cluster.ids.first { $0 != leader.id }!
                let files = try CLIFiles()
                defer { files.remove() }
                let dead = "http://127.0.0.1:\(try freeLoopbackPort())"
                let envelope = try files.write(
                    "arm-01.json", try Payments.envelopes(newestAtMs: Int64(Date().timeIntervalSince1970 * 1000))[0])

                // A write and a read through the environment's list, the first server dead.
                let environment = ["BERTH_SERVERS": "\(dead),\(cluster.url(follower))"]
                let push = try await BerthCLI.run(["envelope", "push", envelope], environment: environment)
                #expect(push.status == 0 && push.stdout.contains("accepted arm-01"), "\(push)")
                let list = try await BerthCLI.run(["nodes", "list", "--consistent"], environment: environment)
                #expect(list.status == 0 && list.row("arm-01") != nil, "\(list)")
                // --servers wins over the environment.
                let flag = try await BerthCLI.run(
                    ["nodes", "list", "--servers", cluster.url(leader.id)], environment: ["BERTH_SERVERS": dead])
                #expect(flag.status == 0 && flag.row("arm-01") != nil, "\(flag)")

                // Nothing listening anywhere: unreachable, each attempt named.
                let nobody = try await BerthCLI.run(
                    ["nodes", "list"], environment: ["BERTH_SERVERS": "\(dead),\(dead)/"])
                #expect(nobody.status == 69, "\(nobody)")
                #expect(nobody.stderr.contains("UNREACHABLE") && nobody.stderr.contains(dead), "\(nobody)")

                // A 503 is not an answer either: two nodes down, the survivor has no leader to
                // confirm a consistent read with, and the CLI moves on past it.
                for id in cluster.ids where id != follower { await cluster.stop(id) }
                _ = try await eventually("node \(follower) to know no leader", within: 15) { () -> Bool? in
                    try await cluster.status(follower).leaderID == nil ? true : nil
                }
                let noLeader = try await BerthCLI.run(
                    ["nodes", "list", "--consistent", "--timeout", "5"],
                    environment: ["BERTH_SERVERS": "\(cluster.url(follower)),\(dead)"])
                #expect(noLeader.status == 69, "\(noLeader)")
                #expect(noLeader.stderr.contains("HTTP 503"), "\(noLeader)")
                // A read that needs no leader is still served by the survivor.
                let local = try await BerthCLI.run(["nodes", "list", "--servers", "\(dead),\(cluster.url(follower))"])
                #expect(local.status == 0 && local.row("arm-01") != nil, "\(local)")
            }
        }

        @Test("berth demo opens with the payments story and survives the leader's death with the same answer")
        func demo() async throws {
            let root = Payments.directory.deletingLastPathComponent().deletingLastPathComponent().path
            let demo = try await BerthCLI.run(["demo", "--once"], directory: root, timeoutSeconds: 150)
            #expect(demo.status == 0, "\(demo)")
            let text = demo.stdout
            for expected in [
                "The payments scenario (fixtures/payments)", "$ berth schedule explain fixtures/payments/intent.json",
                "Killing the leader", "New leader: node",
                "'s answer is identical to node", "apart from state_index",
                "restarted and caught up, answers: identical to its answer before the kill apart from state_index",
                "Nothing acknowledged was lost.",
            ] {
                #expect(text.contains(expected), "missing \(expected): \(demo)")
            }
            #expect(!text.contains("NOT identical"), "\(demo)")
            #expect(demo.lines.filter { $0.hasPrefix("arm-01 ") && $0.contains("selected  ") }.count == 2, "\(demo)")
            #expect(demo.lines.filter { $0.hasPrefix("edge-01") && $0.contains("INSUFFICIENT_MEMORY") }.count == 2)
            // The story comes first.
            let story = text.range(of: "The payments scenario")?.lowerBound
            let tour = text.range(of: "Writing three jobs")?.lowerBound
            #expect(story != nil && tour != nil && story! < tour!, "\(demo)")

            // No fixture where it is looked for: a clear error before any server starts.
            let empty = try CLIFiles()
            defer { empty.remove() }
            let missing = try await BerthCLI.run(["demo", "--once", "--fixture", empty.directory])
            #expect(missing.status != 0, "\(missing)")
            #expect(missing.stderr.contains("does not hold the payments fixture"), "\(missing)")
            #expect(missing.stdout.isEmpty, "\(missing)")
        }
    }
}

/// One run of the `berth` binary.
struct CLIRun: CustomStringConvertible {
    var status: Int32
    var stdout: String
    var stderr: String

    var lines: [String] { stdout.split(separator: "\n").map(String.init) }

    /// The first stdout line whose first column is `first` (a table row, or a label's line).
    func row(_ first: String) -> String? {
        lines.first { $0 == first || $0.hasPrefix(first + "  ") || $0.hasPrefix(first + " ") }
    }

    var json: [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(stdout.utf8))) as? [String: Any]
    }

    var description: String { "exit \(status)\n--- stdout\n\(stdout)--- stderr\n\(stderr)" }
}

enum BerthCLI {
    /// Runs `berth arguments…` to its end (killed after `timeoutSeconds`) with stdin from
    /// `stdin` and `environment` on top of this process's (without BERTH_SERVERS unless given).
    static func run(
        _ arguments: [String], environment: [String: String] = [:], stdin: String? = nil, directory: String? = nil,
        timeoutSeconds: Double = 30
    ) async throws -> CLIRun {
        let binary = try BerthBinary.path()
        let scratch = NSTemporaryDirectory() + "berth-cli-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        for name in ["out", "err", "in"] {
            _ = FileManager.default.createFile(atPath: "\(scratch)/\(name)", contents: nil)
        }
        if let stdin { try Data(stdin.utf8).write(to: URL(fileURLWithPath: "\(scratch)/in")) }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        var base = ProcessInfo.processInfo.environment
        base["BERTH_SERVERS"] = nil
        process.environment = base.merging(environment) { _, new in new }
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        process.standardOutput = FileHandle(forWritingAtPath: "\(scratch)/out")
        process.standardError = FileHandle(forWritingAtPath: "\(scratch)/err")
        process.standardInput = FileHandle(forReadingAtPath: "\(scratch)/in")
        try process.run()
        let pid = process.processIdentifier
        let status = await offPool { () -> Int32 in
            let deadline = Date().addingTimeInterval(timeoutSeconds)
            while process.isRunning && Date() < deadline { usleep(10_000) }
            if process.isRunning { kill(pid, SIGKILL) }
            process.waitUntilExit()
            return process.terminationStatus
        }
        return CLIRun(
            status: status,
            stdout: (try? String(contentsOfFile: "\(scratch)/out", encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOfFile: "\(scratch)/err", encoding: .utf8)) ?? "")
    }
}

/// A temporary directory for the files a CLI test hands the binary.
struct CLIFiles {
    let directory = NSTemporaryDirectory() + "berth-cli-files-\(UUID().uuidString.prefix(8))"

    init() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    /// Writes `text` to `name` and returns its path.
    func write(_ name: String, _ text: String) throws -> String {
        let path = "\(directory)/\(name)"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }
}
