import BerthControlPlane
import BerthServer
import Foundation
import Testing

extension ProcessClusterTests {
    /// `berth launch …` against a real cluster: plan, execute exactly that plan, read the record
    /// as the API gives it, list, terminate; stale plans, full fleets and bad files refused.
    @Suite("berth launch CLI")
    struct LaunchCLI {
        @Test("plan, execute with the plan's node and index, get, list, terminate; stale plans and full fleets refused")
        func lifecycle() async throws {
            try await withServerCluster { cluster in
                let leader = try await cluster.waitForLeader()
                let follower = cluster.ids.first { $0 != leader.id }!
                let files = try CLIFiles()
                defer { files.remove() }
                let fixture = Payments.directory.path
                let intent = "\(fixture)/intent.json"
                let via = ["--servers", cluster.url(follower)]

                let push = try await BerthCLI.run(
                    ["envelope", "push", "--now"]
                        + ["arm-01", "arm-02", "x86-02", "edge-01"].map {
                            "\(fixture)/\($0).json"
                        } + via)
                #expect(push.status == 0, "\(push)")

                // The plan as a table: node, spec, explanation, state_index and the prepare action.
                let table = try await BerthCLI.run(["launch", "plan", intent, "--dry-run", "--consistent"] + via)
                #expect(table.status == 0, "\(table)")
                #expect(table.row("node")?.contains("arm-01") == true, "\(table)")
                #expect(table.row("spec")?.contains("payments on arm-01") == true, "\(table)")
                #expect(table.row("spec")?.contains("kvm") == true, "\(table)")
                #expect(table.row("state_index") != nil, "\(table)")
                #expect(table.row("arm-01")?.contains("selected") == true, "\(table)")
                #expect(table.row("edge-01")?.contains("INSUFFICIENT_MEMORY") == true, "\(table)")
                #expect(table.stdout.contains("PrepareOnNode on arm-01"), "\(table)")
                #expect(table.stdout.contains("$ berth agent prepare --spec SPEC.json"), "\(table)")

                // The plan as JSON, executed with its node and index: created on arm-01.
                let plan = try await BerthCLI.run(["launch", "plan", intent, "-o", "json", "--consistent"] + via)
                #expect(plan.status == 0, "\(plan)")
                let node = try #require(plan.json?["node_id"] as? String, "\(plan)")
                let index = try #require(plan.json?["state_index"] as? Int, "\(plan)")
                #expect(node == "arm-01", "\(plan)")
                let created = try await BerthCLI.run(
                    ["launch", "execute", intent, "--node", node, "--expect-state-index", String(index), "-o", "json"]
                        + via)
                #expect(created.status == 0, "\(created)")
                #expect(created.json?["state"] as? String == "validated", "\(created)")
                #expect(created.json?["node_id"] as? String == "arm-01", "\(created)")
                let id = try #require(created.json?["launch_id"] as? String, "\(created)")

                // get: the table names the state and the node; --output json is the API's answer.
                let shown = try await BerthCLI.run(["launch", "get", id, "--consistent"] + via)
                #expect(shown.status == 0, "\(shown)")
                #expect(shown.row("state")?.contains("validated") == true, "\(shown)")
                #expect(shown.row("node")?.contains("arm-01") == true, "\(shown)")
                #expect(shown.stdout.contains("trace:"), "\(shown)")
                #expect(shown.stdout.contains("placement (as decided):"), "\(shown)")
                #expect(shown.row("arm-02")?.contains("KVM_MISSING") == true, "\(shown)")
                for server in cluster.ids {
                    let json = try await BerthCLI.run(
                        ["launch", "get", id, "-o", "json", "--consistent", "--servers", cluster.url(server)])
                    let api = try await HTTPCall.get(
                        "\(cluster.url(server))/api/v1alpha1/launch/\(id)?consistent=true")
                    #expect(api.status == 200, "\(api)")
                    #expect(json.stdout == api.body + "\n", "node \(server): CLI \(json) API \(api)")
                }

                // A second launch from a saved plan (--plan).
                let second = try await BerthCLI.run(["launch", "plan", intent, "-o", "json", "--consistent"] + via)
                let saved = try files.write("plan.json", second.stdout)
                let fromPlan = try await BerthCLI.run(["launch", "execute", intent, "--plan", saved] + via)
                #expect(fromPlan.status == 0, "\(fromPlan)")
                #expect(fromPlan.row("state")?.contains("validated") == true, "\(fromPlan)")
                #expect(fromPlan.row("node")?.contains("arm-01") == true, "\(fromPlan)")
                let secondID = try #require(fromPlan.row("launch")?.split(separator: " ").last.map(String.init))

                // list: both, newest first, a page at a time.
                let list = try await BerthCLI.run(["launch", "list", "--state", "validated", "--consistent"] + via)
                #expect(list.status == 0, "\(list)")
                for launch in [id, secondID] {
                    let row = list.row(launch)
                    #expect(row?.contains("validated") == true && row?.contains("arm-01") == true, "\(list)")
                    #expect(row?.contains("payments") == true, "\(list)")
                }
                let page = try await BerthCLI.run(
                    ["launch", "list", "--state", "validated", "--node", "arm-01", "--page-size", "1"] + via)
                #expect(page.status == 0 && page.row(secondID) != nil && page.row(id) == nil, "\(page)")
                #expect(page.stdout.contains("next page: --page-token \(secondID)"), "\(page)")
                let next = try await BerthCLI.run(["launch", "list", "--page-token", secondID, "-o", "json"] + via)
                #expect(
                    (next.jsonArray ?? []).compactMap { $0["launch_id"] as? String } == [id], "\(next)")

                // terminate.
                let terminate = try await BerthCLI.run(["launch", "terminate", id] + via)
                #expect(
                    terminate.status == 0 && terminate.stdout.contains("\(id) terminating on arm-01"), "\(terminate)")
                let after = try await BerthCLI.run(["launch", "list", "--state", "terminating", "--consistent"] + via)
                #expect(after.row(id) != nil && after.row(secondID) == nil, "\(after)")

                // A newer envelope: the saved plan is stale, refused with the explanation as now.
                var arm02 = try #require(
                    try JSONSerialization.jsonObject(
                        with: Data(contentsOf: Payments.directory.appendingPathComponent("arm-02.json")))
                        as? [String: Any])
                arm02["sequence"] = (arm02["sequence"] as? Int ?? 0) + 1
                let newer = try files.write(
                    "arm-02-newer.json",
                    String(decoding: try JSONSerialization.data(withJSONObject: arm02), as: UTF8.self))
                let pushed = try await BerthCLI.run(["envelope", "push", "--now", newer] + via)
                #expect(pushed.status == 0, "\(pushed)")
                let stale = try await BerthCLI.run(["launch", "execute", intent, "--plan", saved] + via)
                #expect(stale.status == 1, "\(stale)")
                #expect(stale.stderr.contains("PLAN_STALE"), "\(stale)")
                #expect(stale.row("arm-01")?.contains("selected") == true, "the explanation now: \(stale)")

                // Nothing fits: plan and execute refuse with every node's reasons; waiting is pending.
                let cordon = try await BerthCLI.run(["nodes", "cordon", "arm-01"] + via)
                #expect(cordon.status == 0, "\(cordon)")
                let full = try await BerthCLI.run(["launch", "plan", intent, "--consistent"] + via)
                #expect(full.status == 1 && full.stderr.contains("NO_ELIGIBLE_NODE"), "\(full)")
                #expect(full.row("arm-01")?.contains("NODE_CORDONED") == true, "\(full)")
                let refused = try await BerthCLI.run(["launch", "execute", intent] + via)
                #expect(refused.status == 1 && refused.stderr.contains("NO_ELIGIBLE_NODE"), "\(refused)")
                #expect(refused.row("arm-01")?.contains("NODE_CORDONED") == true, "\(refused)")
                let waiting = try await BerthCLI.run(
                    ["launch", "execute", intent, "--wait-for-capacity", "-o", "json"] + via)
                #expect(waiting.status == 0 && waiting.json?["state"] as? String == "pending", "\(waiting)")
                let pendingID = try #require(waiting.json?["launch_id"] as? String, "\(waiting)")
                let pending = try await BerthCLI.run(["launch", "get", pendingID, "--consistent"] + via)
                #expect(pending.row("state")?.contains("pending") == true, "\(pending)")
                #expect(pending.stdout.contains("why pending (evaluated now):"), "\(pending)")
                #expect(pending.row("arm-01")?.contains("NODE_CORDONED") == true, "\(pending)")
            }
        }

        @Test("bad files and flags: the server's INVALID_ARGUMENT exits 1, usage errors 64, unknown launches 1")
        func badInput() async throws {
            try await withServerCluster { cluster in
                _ = try await cluster.waitForLeader()
                let files = try CLIFiles()
                defer { files.remove() }
                let via = ["--servers", cluster.url(cluster.ids[0])]
                let intent = "\(Payments.directory.path)/intent.json"
                let bad = try files.write("bad.json", #"{"name":"","arch":"sparc","vcpus":0,"memory_mib":1}"#)
                for command in [["launch", "plan"], ["launch", "execute"]] {
                    let answer = try await BerthCLI.run(command + [bad] + via)
                    #expect(answer.status == 1, "\(command): \(answer)")
                    #expect(answer.stderr.contains("INVALID_ARGUMENT"), "\(command): \(answer)")
                    #expect(answer.stderr.contains("intent.arch"), "every problem, by field: \(answer)")
                }
                let unknown = try await BerthCLI.run(["launch", "get", "nope"] + via)
                #expect(unknown.status == 1 && unknown.stderr.contains("LAUNCH_NOT_FOUND"), "\(unknown)")
                let gone = try await BerthCLI.run(["launch", "terminate", "nope"] + via)
                #expect(gone.status == 1 && gone.stderr.contains("LAUNCH_NOT_FOUND"), "\(gone)")

                let notJSON = try files.write("x.json", "{")
                let noNode = try files.write("plan.json", #"{"node_id":null,"state_index":3}"#)
                for arguments in [
                    ["launch", "plan", "\(files.directory)/missing.json"],
                    ["launch", "plan", notJSON],
                    ["launch", "execute", notJSON],
                    ["launch", "execute", intent, "--expect-state-index", "3"],
                    ["launch", "execute", intent, "--plan", noNode],
                    ["launch", "execute", intent, "--plan", notJSON, "--node", "arm-01"],
                    ["launch", "list", "--state", "bogus"],
                    ["launch", "list", "--page-size", "0"],
                    ["launch", "get"],
                ] {
                    let answer = try await BerthCLI.run(arguments + via)
                    #expect(answer.status == 64, "\(arguments): \(answer)")
                    #expect(!answer.stderr.isEmpty, "\(arguments): \(answer)")
                }
            }
        }
    }
}

extension CLIRun {
    /// stdout as a JSON array of objects.
    var jsonArray: [[String: Any]]? {
        (try? JSONSerialization.jsonObject(with: Data(stdout.utf8))) as? [[String: Any]]
    }
}
