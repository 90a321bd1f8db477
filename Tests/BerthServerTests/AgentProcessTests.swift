import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension ProcessClusterTests {
    /// Issue 10's first slice on real processes: a `berth agent` registers its host with a
    /// 3-node cluster, long-polls its actions, runs `process` launches, and reports every
    /// transition until the launch's record is finished, with the trace.
    @Suite("Agent")
    struct AgentLaunches {
        /// A running `berth agent`, killed (and the workloads it left, found in its records)
        /// when the test ends.
        final class RunningAgent: @unchecked Sendable {
            private(set) var process = Process()
            let arguments: [String]
            let root: String
            let logPath: String

            init(servers: [String], nodeID: String, directory: String, extra: [String] = []) throws {
                root = directory + "/\(nodeID)-root"
                logPath = directory + "/\(nodeID).log"
                _ = FileManager.default.createFile(atPath: logPath, contents: nil)
                arguments =
                    [
                        "agent", "--servers", servers.joined(separator: ","), "--node-id", nodeID, "--root", root,
                        "--labels", "role=agent-test", "--envelope-interval", "2", "--poll-wait", "5",
                        "--reserved-memory-mib", "0",
                    ] + extra
                try start()
            }

            private func start() throws {
                process = Process()
                let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
                log.seekToEndOfFile()
                process.executableURL = URL(fileURLWithPath: try BerthBinary.path())
                process.arguments = arguments
                process.standardOutput = log
                process.standardError = log
                try process.run()
            }

            /// kill -9, then a new agent on the same root.
            func restart() throws {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                try start()
            }

            /// The workload's pid and start time as the agent recorded them.
            func recordedProcess(_ launchID: String) -> (pid: Int32, startTime: UInt64)? {
                guard let data = FileManager.default.contents(atPath: "\(root)/launches/\(launchID)/launch.json"),
                    let record = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                    let process = record["process"] as? [String: Any],
                    let workload = process["workload"] as? [String: Any],
                    let pid = (workload["pid"] as? NSNumber)?.int32Value,
                    let start = (workload["start_time"] as? NSNumber)?.uint64Value
                else { return nil }
                return (pid, start)
            }

            /// Whether `pid` is still the process that started at `startTime` (field 22 of its stat).
            static func isAlive(_ pid: Int32, startTime: UInt64) -> Bool {
                guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                    let close = stat.lastIndex(of: ")")
                else { return false }
                let fields = stat[stat.index(after: close)...].split(separator: " ")
                return fields.count > 19 && fields[0] != "Z" && UInt64(fields[19]) == startTime
            }

            var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

            func stop() {
                if process.isRunning {
                    kill(process.processIdentifier, SIGKILL)
                    process.waitUntilExit()
                }
                // Workloads outlive the agent by design: end the ones this test started, if the
                // pid is still theirs.
                let launches = root + "/launches"
                for name in (try? FileManager.default.contentsOfDirectory(atPath: launches)) ?? [] {
                    if let (pid, start) = recordedProcess(name), Self.isAlive(pid, startTime: start) {
                        kill(-pid, SIGKILL)
                    }
                }
            }
        }

        static func intent(_ name: String, command: String) -> String {
            """
            {"intent": {"name": "\(name)", "arch": "any", "vcpus": 1, "memory_mib": 16, "requires_kvm": false,
              "backend": "process", "labels": {"role": "agent-test"}, "command": \(command)}}
            """
        }

        static func waitForState(
            _ id: String, _ states: Set<String>, via base: String, within seconds: Double = 20
        ) async throws -> HTTPAnswer {
            let deadline = Date().addingTimeInterval(seconds)
            var last: HTTPAnswer?
            while Date() < deadline {
                let shown = try await HTTPCall.get("\(base)/api/v1alpha1/launch/\(id)?consistent=true")
                if let state = shown.string("state"), states.contains(state) { return shown }
                last = shown
                try await Task.sleep(for: .milliseconds(50))
            }
            throw Observation("launch \(id) never reached \(states.sorted()): \(String(describing: last))")
        }

        static func traceStates(_ answer: HTTPAnswer) -> [String] {
            ((answer.object?["trace"] as? [[String: Any]]) ?? []).compactMap { $0["state"] as? String }
        }

        @Test(
            "a real agent registers, runs process launches to finished and failed, survives kill -9 without relaunching, stops one on request, and fails over when its server dies"
        )
        func processLaunches() async throws {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
                "berth-agent-test-\(UUID().uuidString)"
            ).path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            try await withServerCluster { cluster in
                let leader = try await cluster.waitForLeader()
                // A dead server first: the agent must fail over to the live ones.
                let servers = ["http://127.0.0.1:1"] + cluster.ids.map { cluster.url($0) }
                let agent = try RunningAgent(servers: servers, nodeID: "agent-1", directory: directory)
                defer { agent.stop() }
                do {
                    let base = cluster.url(leader.id)
                    var explained: HTTPAnswer?
                    let deadline = Date().addingTimeInterval(20)
                    while Date() < deadline {
                        let answer = try await HTTPCall.get("\(base)/api/v1alpha1/nodes/agent-1/explain")
                        if answer.status == 200 {
                            explained = answer
                            break
                        }
                        try await Task.sleep(for: .milliseconds(100))
                    }
                    let node = try #require(explained, "the agent never registered")
                    #expect((node.object?["labels"] as? [String: String])?["role"] == "agent-test", "\(node)")

                    // 1. Runs to the end on its own: running, then terminated (status 0).
                    let created = try await HTTPCall.post(
                        "\(cluster.url(cluster.ids[1]))/api/v1alpha1/launch/execute",
                        json: Self.intent("hello", command: #"["/bin/sh", "-c", "echo hello from berth; sleep 1"]"#))
                    #expect(created.status == 201 && created.string("node_id") == "agent-1", "\(created)")
                    let id = try #require(created.string("launch_id"))
                    let running = try await Self.waitForState(id, ["running", "terminated", "failed"], via: base)
                    #expect(running.string("state") == "running", "\(running)")
                    let finished = try await Self.waitForState(id, ["terminated", "failed"], via: base)
                    #expect(finished.string("state") == "terminated", "\(finished)")
                    #expect(
                        Self.traceStates(finished) == [
                            "pending", "validated", "preparing", "starting", "running", "terminated",
                        ], "\(finished)")
                    let stdout = try String(contentsOfFile: "\(agent.root)/launches/\(id)/stdout", encoding: .utf8)
                    #expect(stdout == "hello from berth\n")

                    // 2. A non-zero exit fails with EXITED and the status.
                    let failing = try await HTTPCall.post(
                        "\(base)/api/v1alpha1/launch/execute",
                        json: Self.intent("fails", command: #""exit 7", "shell": true"#))
                    let failingID = try #require(failing.string("launch_id"), "\(failing)")
                    let failed = try await Self.waitForState(failingID, ["terminated", "failed"], via: base)
                    let failure = failed.object?["failure"] as? [String: Any]
                    #expect(failure?["code"] as? String == "EXITED" && failure?["exit_code"] as? Int == 7, "\(failed)")

                    // 3. Stopped on request: running → terminating → terminated.
                    let long = try await HTTPCall.post(
                        "\(base)/api/v1alpha1/launch/execute",
                        json: Self.intent("sleeper", command: #"["/bin/sleep", "60"]"#))
                    let longID = try #require(long.string("launch_id"), "\(long)")
                    _ = try await Self.waitForState(longID, ["running"], via: base)
                    // kill -9 the agent while it runs: the workload lives on in its own session,
                    // and the new agent re-attaches to it instead of starting a second one.
                    let workload = try #require(agent.recordedProcess(longID))
                    try agent.restart()
                    try await Task.sleep(for: .seconds(1))
                    #expect(RunningAgent.isAlive(workload.pid, startTime: workload.startTime))
                    let afterRestart = try await HTTPCall.get("\(base)/api/v1alpha1/launch/\(longID)?consistent=true")
                    #expect(afterRestart.string("state") == "running", "\(afterRestart)")
                    #expect(agent.recordedProcess(longID)?.pid == workload.pid, "not launched again")
                    let terminate = try await HTTPCall.post(
                        "\(cluster.url(cluster.ids[2]))/api/v1alpha1/launch/\(longID)/terminate", json: "")
                    #expect(terminate.status == 200, "\(terminate)")
                    let stopped = try await Self.waitForState(longID, ["terminated", "failed"], via: base)
                    #expect(stopped.string("state") == "terminated", "\(stopped)")
                    #expect(
                        Self.traceStates(stopped) == [
                            "pending", "validated", "preparing", "starting", "running", "terminating", "terminated",
                        ], "\(stopped)")
                    #expect(!RunningAgent.isAlive(workload.pid, startTime: workload.startTime))
                    #expect(agent.log.contains("rehydrated launch"), "\(agent.log.suffix(2000))")

                    // 4. The server the agent talks to dies (the first live URL; perhaps the
                    // leader): the agent fails over to the others and the next launch still runs.
                    _ = await cluster.stop(cluster.ids[0])
                    let survivors = Array(cluster.ids.dropFirst())
                    let newLeader = try await cluster.waitForLeader(among: survivors)
                    let after = try await HTTPCall.post(
                        "\(cluster.url(newLeader.id))/api/v1alpha1/launch/execute",
                        json: Self.intent("after-failover", command: #"["/bin/echo", "still here"]"#))
                    let afterID = try #require(after.string("launch_id"), "\(after)")
                    let done = try await Self.waitForState(
                        afterID, ["terminated", "failed"], via: cluster.url(newLeader.id), within: 30)
                    #expect(done.string("state") == "terminated", "\(done)")
                } catch {
                    throw Observation("\(error)\nagent log:\n\(agent.log.suffix(4000))")
                }
            }
        }

        @Test("berth agent prepare: a LaunchPreparationResult on stdout; exit 0 when ready, 1 with typed reasons")
        func prepare() async throws {
            let files = try CLIFiles()
            defer { files.remove() }
            let fixture = try files.write(
                "host.json",
                """
                {"arch": "x86_64", "cpus": {"total": 4, "allocatable": 4},
                 "memory_mib": {"total": 8192, "allocatable": 8192},
                 "kvm": {"present": true, "usable": false, "evidence": "timed out"}}
                """)
            let root = files.directory + "/root"
            let process =
                #"{"name": "p", "node_id": "n1", "arch": "x86_64", "backend": "process", "accel": "none", "vcpus": 1, "memory_mib": 16, "command": ["/bin/echo", "hi"]}"#
            let ready = try await BerthCLI.run(
                ["agent", "prepare", "--spec", "-", "--root", root, "--fixture", fixture, "--node-id", "n1"],
                stdin: process)
            #expect(ready.status == 0 && ready.json?["status"] as? String == "ready", "\(ready)")
            #expect((ready.json?["invocation"] as? [String: Any])?["program"] as? String == "/bin/echo", "\(ready)")

            let vm =
                #"{"name": "v", "node_id": "n1", "arch": "x86_64", "backend": "qemu", "accel": "kvm", "vcpus": 1, "memory_mib": 256, "image": {"kernel": "../vmlinuz"}}"#
            let path = try files.write("vm.json", vm)
            let notReady = try await BerthCLI.run(
                ["agent", "prepare", "--spec", path, "--root", root, "--fixture", fixture])
            #expect(notReady.status == 1, "\(notReady)")
            let codes = (notReady.json?["reasons"] as? [[String: Any]])?.compactMap { $0["code"] as? String }
            #expect(
                codes == ["KVM_UNUSABLE", "BACKEND_MISSING", "PATH_OUTSIDE_ROOT"],
                "\(notReady)")

            // Cloud Hypervisor on a host without the binary, with KVM unusable: not ready, and
            // still the dry run's exact API calls.
            let micro =
                #"{"name": "m", "node_id": "n1", "arch": "x86_64", "backend": "cloud-hypervisor", "accel": "kvm", "vcpus": 2, "memory_mib": 256, "image": {"kernel": "vmlinux"}}"#
            try "k".write(toFile: root + "/vmlinux", atomically: true, encoding: .utf8)
            let dry = try await BerthCLI.run(
                ["agent", "prepare", "--spec", "-", "--root", root, "--fixture", fixture], stdin: micro)
            #expect(dry.status == 1, "\(dry)")
            let dryCodes = (dry.json?["reasons"] as? [[String: Any]])?.compactMap { $0["code"] as? String }
            #expect(dryCodes == ["KVM_UNUSABLE", "BACKEND_MISSING"], "\(dry)")
            let api = (dry.json?["invocation"] as? [String: Any])?["api"] as? [String: Any]
            let calls = (api?["boot"] as? [[String: Any]])?.map { "\($0["method"] ?? "") \($0["path"] ?? "")" }
            #expect(calls == ["PUT /api/v1/vm.create", "PUT /api/v1/vm.boot"], "\(dry)")
            let create = (api?["boot"] as? [[String: Any]])?.first?["body"] as? [String: Any]
            #expect((create?["cpus"] as? [String: Any])?["boot_vcpus"] as? Int == 2, "\(dry)")
        }

        @Test("KVM as the agents report it decides placement: unusable KVM is rejected with KVM_UNUSABLE")
        func kvmInPlacement() async throws {
            let files = try CLIFiles()
            defer { files.remove() }
            let fixture = try files.write(
                "nested.json",
                """
                {"arch": "x86_64", "cpus": {"total": 8, "allocatable": 8},
                 "memory_mib": {"total": 16384, "allocatable": 16384},
                 "kvm": {"present": true, "usable": false, "evidence": "timed out"},
                 "backends": [{"kind": "qemu", "binary": "/usr/bin/qemu-system-x86_64", "version": "8.2.2"}]}
                """)
            try await withServerCluster { cluster in
                let leader = try await cluster.waitForLeader()
                let servers = cluster.ids.map { cluster.url($0) }
                let nested = try RunningAgent(
                    servers: servers, nodeID: "nested-1", directory: files.directory, extra: ["--fixture", fixture])
                defer { nested.stop() }
                do {
                    let base = cluster.url(leader.id)
                    let deadline = Date().addingTimeInterval(20)
                    var node: HTTPAnswer?
                    while Date() < deadline {
                        let answer = try await HTTPCall.get("\(base)/api/v1alpha1/nodes/nested-1/explain")
                        if answer.status == 200 {
                            node = answer
                            break
                        }
                        try await Task.sleep(for: .milliseconds(100))
                    }
                    let explained = try #require(node, "the agent never registered")
                    #expect(
                        (explained.object?["kvm"] as? [String: Any])?["usable"] as? Bool == false, "\(explained)")
                    let explain = try await HTTPCall.post(
                        "\(base)/api/v1alpha1/schedule/explain",
                        json: """
                            {"name": "vm", "arch": "x86_64", "vcpus": 1, "memory_mib": 256, "requires_kvm": true,
                             "backend": "qemu", "labels": {}, "image": {"kernel": "vmlinuz"}}
                            """)
                    let rejected = (explain.object?["rejected_nodes"] as? [[String: Any]]) ?? []
                    let codes =
                        (rejected.first { $0["node_id"] as? String == "nested-1" }?["reasons"]
                        as? [[String: Any]])?.compactMap { $0["code"] as? String }
                    #expect(codes == ["KVM_UNUSABLE"], "\(explain)")
                } catch {
                    throw Observation("\(error)\nagent log:\n\(nested.log.suffix(4000))")
                }
            }
        }
    }
}
