import BerthControlPlane
import Foundation
import Logging
import Testing

@testable import BerthAgent

@Suite("Marked workloads: orphans and re-attaching by marker")
struct OrphanTests {
    static func agent(root: String) throws -> Agent {
        try Agent(
            configuration: AgentConfiguration(servers: ["http://127.0.0.1:9"], nodeID: "node-a", rootPath: root),
            logger: Logger(label: "test"))
    }

    @Test("the markers are read from a NUL-separated environment; the process group from stat")
    func parsing() {
        let environ = Data("PATH=/bin\0BERTH_LAUNCH_ID=l-1\0BERTH_AGENT_ROOT=/r\0".utf8)
        #expect(MarkedProcess.markers(in: environ)! == ("l-1", "/r"))
        #expect(MarkedProcess.markers(in: Data("BERTH_LAUNCH_ID=l-1\0".utf8)) == nil, "both markers are needed")
        #expect(MarkedProcess.processGroup(statLine: "12 (a) b) S 1 99 99 0") == 99)
    }

    @Test("a workload is found by its marker, and only by the agent of its root")
    func scan() throws {
        let temporary = try TemporaryRoot()
        defer { temporary.remove() }
        let backend = ProcessBackend(root: try AgentRoot(temporary.path))
        let handle = try backend.start(launchID: "marked", command: WorkloadCommand(argv: ["/bin/sleep", "30"]))
        defer { killAndReap(handle) }
        let found = MarkedProcess.scan(root: backend.root.path)
        #expect(found.map(\.identity) == [handle.workload], "\(found)")
        #expect(found.first?.isGroupLeader == true && found.first?.launchID == "marked")
        #expect(MarkedProcess.scan(root: backend.root.path + "-other").isEmpty)
    }

    @Test("a marked workload that no record owns is an orphan: listed and logged, never killed")
    func orphan() async throws {
        let temporary = try TemporaryRoot()
        defer { temporary.remove() }
        let agent = try Self.agent(root: temporary.path)
        let backend = ProcessBackend(root: try AgentRoot(temporary.path))
        let handle = try backend.start(launchID: "lost-record", command: WorkloadCommand(argv: ["/bin/sleep", "30"]))
        defer { killAndReap(handle) }
        await agent.rehydrate()
        let orphans = await agent.scanOrphans()
        #expect(orphans == [Orphan(launchID: "lost-record", process: handle.workload)])
        let listed = try JSONDecoder().decode(
            [Orphan].self, from: try Data(contentsOf: URL(fileURLWithPath: backend.root.path + "/orphans.json")))
        #expect(listed == orphans)
        #expect(handle.workload.isAlive())
        #expect(await agent.snapshot().isEmpty, "an orphan is not adopted as a launch")
    }

    @Test("a sweep kills exactly the listed orphans that are still those processes, once")
    func sweep() async throws {
        let temporary = try TemporaryRoot()
        defer { temporary.remove() }
        let agent = try Self.agent(root: temporary.path)
        let backend = ProcessBackend(root: try AgentRoot(temporary.path))
        let listed = try backend.start(launchID: "orphan-a", command: WorkloadCommand(argv: ["/bin/sleep", "30"]))
        defer { killAndReap(listed) }
        let unlisted = try backend.start(launchID: "orphan-b", command: WorkloadCommand(argv: ["/bin/sleep", "30"]))
        defer { killAndReap(unlisted) }
        await agent.rehydrate()
        #expect(await agent.scanOrphans().count == 2)
        // The second one is named with another start time: a pid reused since the list was made.
        let sweep: [OrphanProcess] = [
            OrphanProcess(launchID: "orphan-a", pid: listed.workload.pid, startTime: listed.workload.startTime),
            OrphanProcess(launchID: "orphan-b", pid: unlisted.workload.pid, startTime: unlisted.workload.startTime + 1),
        ]
        #expect(await agent.sweep(7, orphans: sweep))
        #expect(await !agent.sweep(7, orphans: sweep), "a sweep is carried out once")
        let deadline = ContinuousClock.now + .seconds(5)
        while listed.workload.isAlive(), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(!listed.workload.isAlive())
        #expect(unlisted.workload.isAlive(), "not the process the sweep named")
    }

    @Test("a launch recorded as starting without a pid is re-attached by its marker, not started again")
    func reattachByMarker() async throws {
        let temporary = try TemporaryRoot()
        defer { temporary.remove() }
        let backend = ProcessBackend(root: try AgentRoot(temporary.path))
        let spec = LaunchSpec(
            name: "job", nodeID: "node-a", arch: .x86_64, backend: .process, accel: .none, vcpus: 1, memoryMiB: 64,
            payload: .command(WorkloadCommand(argv: ["/bin/sleep", "30"])))
        // As if the agent died after the spawn, before it recorded the pid.
        let handle = try backend.start(launchID: "l-half", command: WorkloadCommand(argv: ["/bin/sleep", "30"]))
        defer { killAndReap(handle) }
        var record = LocalLaunch(launchID: "l-half", spec: spec)
        record.move(to: .preparing)
        record.move(to: .starting)
        try LaunchStore(backend: backend).save(record)

        let agent = try Self.agent(root: temporary.path)
        await agent.rehydrate()
        let launch = try #require(await agent.snapshot().first)
        #expect(launch.state == .running, "\(launch)")
        #expect(launch.process?.workload == handle.workload)
        #expect(launch.process?.keeper == handle.keeper)
        #expect(await agent.scanOrphans().isEmpty)
        #expect(MarkedProcess.scan(root: backend.root.path).filter(\.isGroupLeader).count == 1, "no second start")
    }
}
