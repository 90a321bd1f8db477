import BerthControlPlane
import Foundation
import Logging
import Testing

@testable import BerthAgent

@Suite("Local state and rehydration")
struct LocalStateTests {
    static func spec(_ argv: [String]) -> LaunchSpec {
        LaunchSpec(
            name: "job", nodeID: "node-a", arch: .x86_64, backend: .process, accel: .none, vcpus: 1, memoryMiB: 64,
            payload: .command(WorkloadCommand(argv: argv)))
    }

    static func agent(root: String) throws -> Agent {
        // No server is ever asked: these tests call the agent's steps directly.
        try Agent(
            configuration: AgentConfiguration(servers: ["http://127.0.0.1:9"], nodeID: "node-a", rootPath: root),
            logger: Logger(label: "test"))
    }

    @Test("the sequence keeps increasing across restarts and jumps above a stored one")
    func sequence() throws {
        let temporary = try TemporaryRoot()
        defer { temporary.remove() }
        let path = temporary.path + "/sequence"
        #expect(SequenceFile(path: path).last() == 0)
        #expect(try SequenceFile(path: path).next() == 1)
        #expect(try SequenceFile(path: path).next() == 2)
        #expect(try SequenceFile(path: path).next(atLeast: 40) == 41)
        #expect(SequenceFile(path: path).last() == 41)
        #expect(!FileManager.default.fileExists(atPath: path + ".tmp"))
    }

    @Test("a launch record round-trips through its file")
    func roundTrip() throws {
        let temporary = try TemporaryRoot()
        defer { temporary.remove() }
        let store = LaunchStore(backend: ProcessBackend(root: try AgentRoot(temporary.path)))
        var launch = LocalLaunch(launchID: "l-1", spec: Self.spec(["/bin/true"]))
        launch.move(to: .preparing)
        launch.move(to: .failed, reason: .exited(2, detail: "x"))
        launch.reported = 1
        try store.save(launch)
        let loaded = store.loadAll()
        #expect(loaded.launches == [launch])
        #expect(loaded.unreadable.isEmpty)
        try "{".write(toFile: temporary.path + "/launches/l-1/launch.json", atomically: true, encoding: .utf8)
        #expect(store.loadAll().unreadable.count == 1)
    }

    @Test("a restarted agent re-attaches to its running process, does not launch it again, and sees it end")
    func rehydrate() async throws {
        let temporary = try TemporaryRoot()
        defer { temporary.remove() }
        let first = try Self.agent(root: temporary.path)
        let spec = Self.spec(["/bin/sleep", "30"])
        let took = await first.take(AgentAction(type: "launch", launchID: "l-run", state: .validated, spec: spec))
        #expect(took)
        let started = try #require(await first.snapshot().first)
        let handle = try #require(started.process)
        defer { killAndReap(handle) }
        #expect(started.state == .running)
        #expect(started.transitions.map(\.state) == [.preparing, .starting, .running])

        // A new agent on the same root, as after kill -9.
        let second = try Self.agent(root: temporary.path)
        await second.rehydrate()
        let again = await second.take(AgentAction(type: "launch", launchID: "l-run", state: .validated, spec: spec))
        #expect(!again, "an action for a launch it already runs is not taken twice")
        let rehydrated = try #require(await second.snapshot().first)
        #expect(rehydrated.process == handle)
        await second.observeProcesses()
        #expect(await second.snapshot().first?.state == .running)
        // Only one such process exists.
        #expect(handle.workload.isAlive())

        kill(-handle.workload.pid, SIGKILL)
        let ended = await eventually(within: 10) {
            await second.observeProcesses()
            return await second.snapshot().first?.state == .failed
        }
        #expect(ended)
        let last = await second.snapshot().first?.transitions.last
        #expect(last?.reason?.code == .killed && last?.reason?.signal == 9, "\(String(describing: last))")
    }

    @Test("a terminate before the launch was taken reports terminated; a VM that cannot start fails preparing")
    func refusals() async throws {
        let temporary = try TemporaryRoot()
        defer { temporary.remove() }
        let agent = try Self.agent(root: temporary.path)
        _ = await agent.take(
            AgentAction(type: "terminate", launchID: "l-stop", state: .terminating, spec: Self.spec(["/bin/true"])))
        var vm = Self.spec(["/bin/true"])
        vm.backend = .firecracker
        vm.accel = .kvm
        vm.payload = .image(WorkloadImage(kernel: "k", initrd: nil, disk: nil, cmdline: nil))
        _ = await agent.take(AgentAction(type: "launch", launchID: "l-vm", state: .validated, spec: vm))
        // QEMU, with its kernel missing: refused while preparing, nothing started.
        vm.backend = .qemu
        vm.accel = .tcg
        _ = await agent.take(AgentAction(type: "launch", launchID: "l-vm2", state: .validated, spec: vm))
        let launches = await agent.snapshot()
        #expect(launches.map(\.launchID) == ["l-stop", "l-vm", "l-vm2"])
        #expect(launches[0].transitions.map(\.state) == [.terminated])
        // Firecracker: not on PATH (or its kernel missing): refused while preparing, nothing started.
        #expect(launches[1].transitions.map(\.state) == [.preparing, .failed])
        #expect(launches[1].process == nil)
        if VMMLaunchPlan.findProgram("firecracker", searchPath: BackendDiscovery.environmentPath) == nil {
            #expect(launches[1].transitions.last?.reason?.code == .startFailed, "\(launches[1].transitions)")
        }
        if QEMUCommandLine.findProgram(arch: .x86_64, searchPath: BackendDiscovery.environmentPath) != nil {
            #expect(launches[2].transitions.map(\.state) == [.preparing, .failed])
            #expect(launches[2].transitions.last?.reason?.code == .prepareFailed, "\(launches[2].transitions)")
            #expect(launches[2].process == nil)
        }
    }
}

@Suite("Action feed")
struct ActionFeedTests {
    @Test("an action this agent cannot read is skipped and counted; the others are kept")
    func lenient() throws {
        let json = """
            {"node_id": "n1", "state_index": 9, "actions": [
              {"type": "launch", "launch_id": "a", "state": "validated", "spec": {"name": "x", "node_id": "n1",
               "arch": "x86_64", "backend": "process", "accel": "none", "vcpus": 1, "memory_mib": 16,
               "command": ["/bin/true"], "from_the_future": 1}},
              {"type": "terminate", "launch_id": "b", "state": "terminating"}
            ]}
            """
        let feed = try JSONDecoder().decode(AgentActions.self, from: Data(json.utf8))
        #expect(feed.actions.map(\.launchID) == ["b"])
        #expect(feed.unreadable == 1)
    }
}

@Suite("QEMU launches in the agent")
struct AgentQEMULaunchTests {
    @Test(
        "a VM whose QEMU exits before QMP says running fails START_FAILED with its status, never running",
        .enabled(if: QEMUPaths.find("qemu-system-x86_64") != nil, "qemu-system-x86_64 is not installed"))
    func exitsBeforeReady() async throws {
        let temporary = try TemporaryRoot()
        defer { temporary.remove() }
        let agent = try LocalStateTests.agent(root: temporary.path)
        try "not a kernel".write(toFile: temporary.path + "/k", atomically: true, encoding: .utf8)
        var vm = LocalStateTests.spec(["/bin/true"])
        vm.backend = .qemu
        vm.accel = .tcg
        vm.payload = .image(WorkloadImage(kernel: "k"))
        _ = await agent.take(AgentAction(type: "launch", launchID: "l-bad", state: .validated, spec: vm))
        let ended = await eventually(within: 20) {
            await agent.observeProcesses()
            return await agent.snapshot().first?.state.isTerminal == true
        }
        #expect(ended)
        let launch = try #require(await agent.snapshot().first)
        #expect(launch.transitions.map(\.state) == [.preparing, .starting, .failed], "\(launch.transitions)")
        #expect(launch.transitions.last?.reason?.code == .startFailed)
        #expect(launch.transitions.last?.reason?.exitCode == 1)
        let stderr = (try? String(contentsOfFile: temporary.path + "/launches/l-bad/stderr", encoding: .utf8)) ?? ""
        #expect(stderr.contains("invalid kernel header"), "QEMU's own message is kept: \(stderr)")
    }
}
