import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The test guest (scripts/build-test-guest.sh), or why it cannot be built here.
enum ClusterTestGuest {
    static let built: Result<String, Observation> = {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        guard
            path.split(separator: ":").contains(where: {
                FileManager.default.isExecutableFile(atPath: "\($0)/qemu-system-x86_64")
            })
        else { return .failure(Observation("qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)")) }
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [repository + "/scripts/build-test-guest.sh"]
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        do { try process.run() } catch { return .failure(Observation("\(error)")) }
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            return .failure(Observation("the test guest cannot be built here: \(String(decoding: err, as: UTF8.self))"))
        }
        return .success(String(decoding: out, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }()

    static var available: Bool {
        if case .success = built { return true }
        return false
    }
}

extension ProcessClusterTests.AgentLaunches {
    static func vmIntent(_ name: String) -> String {
        """
        {"intent": {"name": "\(name)", "arch": "any", "vcpus": 1, "memory_mib": 128, "requires_kvm": false,
          "backend": "qemu", "labels": {"role": "agent-test"},
          "image": {"kernel": "images/vmlinuz", "initrd": "images/initrd.img", "cmdline": "console=ttyS0"}}}
        """
    }

    /// A temporary directory with the test guest under `agent-1-root/images`.
    static func directoryWithGuest() throws -> String {
        let guest = try ClusterTestGuest.built.get()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "berth-vm-\(UUID().uuidString.prefix(8))"
        ).path
        try FileManager.default.createDirectory(
            atPath: directory + "/agent-1-root/images", withIntermediateDirectories: true)
        for name in ["vmlinuz", "initrd.img"] {
            try FileManager.default.copyItem(
                atPath: "\(guest)/\(name)", toPath: "\(directory)/agent-1-root/images/\(name)")
        }
        return directory
    }

    /// The qemu processes on this host carrying the marker of the agent whose root is `root`.
    static func qemuProcesses(root: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { Int32($0) }.filter { pid in
            guard let environ = FileManager.default.contents(atPath: "/proc/\(pid)/environ"),
                let comm = try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8),
                comm.hasPrefix("qemu-system")
            else { return false }
            return environ.split(separator: 0).contains { Array($0) == Array("BERTH_AGENT_ROOT=\(root)".utf8) }
        }
    }

    /// The qemu processes on this host started for `launchID` (by Berth's marker).
    static func qemuProcesses(launchID: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { Int32($0) }.filter { pid in
            guard let environ = FileManager.default.contents(atPath: "/proc/\(pid)/environ"),
                let comm = try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8),
                comm.hasPrefix("qemu-system")
            else { return false }
            return environ.split(separator: 0).contains { Array($0) == Array("BERTH_LAUNCH_ID=\(launchID)".utf8) }
        }
    }

    @Test(
        "a real agent boots a QEMU VM: placed → preparing → starting → running (QMP), survives kill -9 of the agent with no second QEMU, and terminates by QMP",
        .enabled(if: ClusterTestGuest.available, "\(ClusterTestGuest.built)"))
    func qemuLaunch() async throws {
        let guest = try ClusterTestGuest.built.get()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "berth-vm-\(UUID().uuidString.prefix(8))"
        ).path
        try FileManager.default.createDirectory(
            atPath: directory + "/agent-1-root/images", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for name in ["vmlinuz", "initrd.img"] {
            try FileManager.default.copyItem(
                atPath: "\(guest)/\(name)", toPath: "\(directory)/agent-1-root/images/\(name)")
        }
        try await withServerCluster { cluster in
            let leader = try await cluster.waitForLeader()
            let agent = try RunningAgent(
                servers: cluster.ids.map { cluster.url($0) }, nodeID: "agent-1", directory: directory)
            defer { agent.stop() }
            do {
                let base = cluster.url(leader.id)
                // The agent reports its QEMU; placement needs it.
                let deadline = Date().addingTimeInterval(30)
                var created: HTTPAnswer?
                while Date() < deadline {
                    let answer = try await HTTPCall.post(
                        "\(base)/api/v1alpha1/launch/execute", json: Self.vmIntent("vm"))
                    if answer.status == 201 {
                        created = answer
                        break
                    }
                    try await Task.sleep(for: .milliseconds(200))
                }
                let launch = try #require(created, "the VM launch was never placed")
                let id = try #require(launch.string("launch_id"))
                let running = try await Self.waitForState(
                    id, ["running", "terminated", "failed"], via: base, within: 60)
                #expect(running.string("state") == "running", "\(running)")
                #expect(
                    Self.traceStates(running) == ["pending", "validated", "preparing", "starting", "running"],
                    "\(running)")
                let qemu = try #require(agent.recordedProcess(id))
                #expect(Self.qemuProcesses(launchID: id) == [qemu.pid])

                // kill -9 of the agent: QEMU runs on, the new agent re-attaches, no second QEMU.
                try agent.restart()
                try await Task.sleep(for: .seconds(2))
                #expect(RunningAgent.isAlive(qemu.pid, startTime: qemu.startTime))
                #expect(Self.qemuProcesses(launchID: id) == [qemu.pid], "no duplicate QEMU")
                #expect(agent.recordedProcess(id)?.pid == qemu.pid)
                let after = try await HTTPCall.get("\(base)/api/v1alpha1/launch/\(id)?consistent=true")
                #expect(after.string("state") == "running", "\(after)")

                let terminate = try await HTTPCall.post(
                    "\(cluster.url(cluster.ids[1]))/api/v1alpha1/launch/\(id)/terminate", json: "")
                #expect(terminate.status == 200, "\(terminate)")
                let stopped = try await Self.waitForState(id, ["terminated", "failed"], via: base, within: 30)
                #expect(stopped.string("state") == "terminated", "\(stopped)")
                #expect(
                    Self.traceStates(stopped) == [
                        "pending", "validated", "preparing", "starting", "running", "terminating", "terminated",
                    ], "\(stopped)")
                #expect(!RunningAgent.isAlive(qemu.pid, startTime: qemu.startTime))
                #expect(agent.log.contains("VM stopped"), "\(agent.log.suffix(2000))")
            } catch {
                throw Observation("\(error)\nagent log:\n\(agent.log.suffix(4000))")
            }
        }
    }

    @Test(
        "kill -9 of the leader during a VM execute: retried with its Idempotency-Key on the survivors, the VM is launched exactly once",
        .enabled(if: ClusterTestGuest.available, "\(ClusterTestGuest.built)"))
    func qemuLeaderKilledDuringExecute() async throws {
        let directory = try Self.directoryWithGuest()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await withServerCluster { cluster in
            let leader = try await cluster.waitForLeader()
            let agent = try RunningAgent(
                servers: cluster.ids.map { cluster.url($0) }, nodeID: "agent-1", directory: directory)
            defer { agent.stop() }
            do {
                // The agent must have reported its QEMU before the keyed execute: a refusal would
                // be remembered under the key too.
                let registered = Date().addingTimeInterval(30)
                while Date() < registered {
                    let node = try await HTTPCall.get("\(cluster.url(leader.id))/api/v1alpha1/nodes/agent-1/explain")
                    if node.status == 200 && node.body.contains("qemu-system") { break }
                    try await Task.sleep(for: .milliseconds(100))
                }
                let key = "vm-once-\(UUID().uuidString)"
                let headers = ["Idempotency-Key": key]
                let leaderURL = cluster.url(leader.id)
                let first = Task {
                    try? await HTTPCall.post(
                        "\(leaderURL)/api/v1alpha1/launch/execute", json: Self.vmIntent("once"), headers: headers,
                        timeoutSeconds: 5)
                }
                try await Task.sleep(for: .milliseconds(5))
                _ = await cluster.stop(leader.id)
                _ = await first.value
                let survivors = cluster.ids.filter { $0 != leader.id }
                var launchID: String?
                let deadline = Date().addingTimeInterval(40)
                while launchID == nil, Date() < deadline {
                    for id in survivors {
                        guard
                            let answer = try? await HTTPCall.post(
                                "\(cluster.url(id))/api/v1alpha1/launch/execute", json: Self.vmIntent("once"),
                                headers: headers, timeoutSeconds: 5),
                            answer.status == 200 || answer.status == 201
                        else { continue }
                        launchID = answer.string("launch_id")
                        break
                    }
                    if launchID == nil { try await Task.sleep(for: .milliseconds(200)) }
                }
                let id = try #require(launchID, "the execute never succeeded on the survivors")
                let base = cluster.url(survivors[0])
                let running = try await Self.waitForState(
                    id, ["running", "failed", "terminated"], via: base, within: 60)
                #expect(running.string("state") == "running", "\(running)")
                try await Task.sleep(for: .seconds(1))
                #expect(Self.qemuProcesses(root: agent.root).count == 1, "exactly one QEMU for the one launch")
                let launches = (try? FileManager.default.contentsOfDirectory(atPath: agent.root + "/launches")) ?? []
                #expect(launches == [id], "one launch taken by the agent: \(launches)")

                let terminate = try await HTTPCall.post("\(base)/api/v1alpha1/launch/\(id)/terminate", json: "")
                #expect(terminate.status == 200, "\(terminate)")
                let stopped = try await Self.waitForState(id, ["terminated", "failed"], via: base, within: 30)
                #expect(stopped.string("state") == "terminated", "\(stopped)")
            } catch {
                throw Observation("\(error)\nagent log:\n\(agent.log.suffix(4000))")
            }
        }
    }
}
