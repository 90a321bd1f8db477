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
}
