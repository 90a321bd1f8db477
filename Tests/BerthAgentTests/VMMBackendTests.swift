import BerthControlPlane
import Foundation
import Logging
import Testing

@testable import BerthAgent

@Suite("HTTP/1.1 on a unix socket")
struct UnixHTTPClientTests {
    @Test("200 with JSON, 204 without a body, a 4xx as an answer; the request is well-formed HTTP/1.1")
    func exchange() throws {
        let temporary = try TemporaryRoot()
        defer { temporary.remove() }
        let server = try FakeVMMServer(path: temporary.path + "/api.sock", dialect: .cloudHypervisor)
        defer { server.stop() }
        let client = UnixHTTPClient(path: server.path, timeout: .seconds(2))
        let ping = try client.send("GET", "/api/v1/vmm.ping")
        #expect(ping.status == 200 && ping.reason == "OK")
        #expect(VMMJSON.parse(ping.body)?["version"] == .string("40.0.0"))
        let body = VMMJSON.object(["payload": .object(["kernel": .string("/k")])])
        let created = try client.send("PUT", "/api/v1/vm.create", body: body.encoded())
        #expect(created.status == 204 && created.body.isEmpty)
        let again = try client.send("PUT", "/api/v1/vm.create", body: body.encoded())
        #expect(again.status == 500 && !again.isSuccess)
        #expect(
            VMMBackend.faultMessage(again) == "Error from API: The VM could not be created: The VM is already created")
        let request = try #require(server.requests.first)
        #expect(request.headers["host"] == "localhost")
        #expect(server.requests[1].headers["content-type"] == "application/json")
        #expect(server.requests[1].headers["content-length"] == "\(body.encoded().count)")
        #expect(server.requests[1].body == body)
    }

    @Test("nobody listening, a server that never answers, chunked and malformed answers")
    func failures() throws {
        let temporary = try TemporaryRoot()
        defer { temporary.remove() }
        #expect(throws: UnixHTTPError.self) { try UnixHTTPClient(path: temporary.path + "/none.sock").send("GET", "/") }
        do {
            _ = try UnixHTTPClient(path: temporary.path + "/none.sock").send("GET", "/")
        } catch {
            guard case .connect = error else {
                Issue.record("\(error)")
                return
            }
        }
        #expect(!UnixHTTPClient.isListening(temporary.path + "/none.sock"))
        let long = temporary.path + "/" + String(repeating: "s", count: 120)
        #expect(throws: UnixHTTPError.socketPathTooLong(long)) { try UnixHTTPClient(path: long).send("GET", "/") }

        let silent = try FakeVMMServer(path: temporary.path + "/silent.sock", dialect: .firecracker)
        defer { silent.stop() }
        silent.silent = true
        do {
            _ = try UnixHTTPClient(path: silent.path, timeout: .milliseconds(200)).send("GET", "/")
            Issue.record("a server that never answers was answered")
        } catch {
            guard case .timeout = error else {
                Issue.record("\(error)")
                return
            }
        }

        let chunked = try FakeVMMServer(path: temporary.path + "/chunked.sock", dialect: .firecracker)
        defer { chunked.stop() }
        chunked.rawAnswer =
            "HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "10\r\n{\"fault_message\"\r\n9\r\n: \"nope\"}\r\n0\r\n\r\n"
        let answer = try UnixHTTPClient(path: chunked.path).send("PUT", "/actions", body: Array("{}".utf8))
        #expect(answer.status == 400)
        #expect(VMMBackend.faultMessage(answer) == "nope")

        let garbage = try FakeVMMServer(path: temporary.path + "/garbage.sock", dialect: .firecracker)
        defer { garbage.stop() }
        garbage.rawAnswer = "SSH-2.0-OpenSSH\r\n\r\n"
        #expect(throws: UnixHTTPError.self) { try UnixHTTPClient(path: garbage.path).send("GET", "/") }
        garbage.rawAnswer = "HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{\"short"
        do {
            _ = try UnixHTTPClient(path: garbage.path).send("GET", "/")
            Issue.record("a truncated body was accepted")
        } catch {
            guard case .closed = error else {
                Issue.record("\(error)")
                return
            }
        }
    }
}

@Suite("Cloud Hypervisor and Firecracker: executed against a fake VMM")
struct VMMBackendTests {
    /// A root with the boot artifacts, a stand-in binary of `kind` in `<tmp>/bin` whose API
    /// socket links to a fake server, and the backend pointed at it.
    struct Setup {
        let temporary: TemporaryRoot
        let root: AgentRoot
        let server: FakeVMMServer
        var backend: VMMBackend

        init(_ kind: BackendKind, link: Bool = true, exitAtOnce: Bool = false) throws {
            temporary = try TemporaryRoot()
            root = try AgentRoot(temporary.path + "/root")
            try VMMFixture.artifacts(in: root)
            server = try FakeVMMServer(
                path: temporary.path + "/fake.sock", dialect: kind == .cloudHypervisor ? .cloudHypervisor : .firecracker
            )
            _ = try writeStubVMM(
                named: kind.rawValue, in: temporary.path + "/bin", linkingTo: link ? server.path : nil,
                exitAtOnce: exitAtOnce)
            backend = VMMBackend(processes: ProcessBackend(root: root))
            backend.searchPath = [temporary.path + "/bin"]
            backend.socketTimeout = .seconds(5)
            backend.readinessTimeout = .seconds(5)
            backend.shutdownGrace = .seconds(2)
        }

        func remove() {
            server.stop()
            temporary.remove()
        }
    }

    @Test(
        "Cloud Hypervisor end to end: start → vm.create, vm.boot → vm.info Running → vm.shutdown, vmm.shutdown → exit 0"
    )
    func cloudHypervisor() async throws {
        let setup = try Setup(.cloudHypervisor)
        defer { setup.remove() }
        let plan = try setup.backend.plan(launchID: "ch-1", spec: VMMFixture.spec(.cloudHypervisor))
        #expect(plan.program == setup.temporary.path + "/bin/cloud-hypervisor")
        let handle = try setup.backend.start(launchID: "ch-1", plan: plan)
        defer { killAndReap(handle) }
        let pid = handle.workload.pid
        setup.server.onShutdown = { kill(pid, SIGTERM) }
        #expect(handle.apiSocketPath == plan.api.socket)
        try await setup.backend.bringUp(handle, api: plan.api)
        #expect(setup.server.lines == ["PUT /api/v1/vm.create", "PUT /api/v1/vm.boot", "GET /api/v1/vm.info"])
        let create = try #require(setup.server.requests.first?.body)
        #expect(create == plan.api.boot[0].body, "the VmConfig arrives as planned")
        #expect(create["cpus"]?["boot_vcpus"] == .int(2) && create["memory"]?["size"] == .int(256 << 20))
        #expect(create["payload"]?["kernel"] == .string(setup.root.path + "/images/vmlinux"))
        #expect(create["serial"]?["mode"] == .string("File") && create["console"]?["mode"] == .string("Off"))
        #expect(try setup.backend.state(plan.api) == "Running")

        let (outcome, steps) = await setup.backend.terminate(handle, api: plan.api)
        #expect(steps == ["PUT /api/v1/vm.shutdown", "PUT /api/v1/vmm.shutdown"], "\(steps)")
        #expect(
            Array(setup.server.lines.suffix(2)) == ["PUT /api/v1/vm.shutdown", "PUT /api/v1/vmm.shutdown"])
        guard case .ended(let status) = outcome else {
            Issue.record("\(outcome)")
            return
        }
        #expect(status.ending == .exited(0))
    }

    @Test("Firecracker end to end: start → logger … InstanceStart → GET / Running → SendCtrlAltDel → exit 0")
    func firecracker() async throws {
        let setup = try Setup(.firecracker)
        defer { setup.remove() }
        let plan = try setup.backend.plan(launchID: "fc-1", spec: VMMFixture.spec(.firecracker))
        let handle = try setup.backend.start(launchID: "fc-1", plan: plan)
        defer { killAndReap(handle) }
        let pid = handle.workload.pid
        setup.server.onShutdown = { kill(pid, SIGTERM) }
        #expect(FileManager.default.fileExists(atPath: plan.precreated[0]), "the logger's file exists before the call")
        #expect(handle.stdoutPath == setup.root.path + "/launches/fc-1/serial.log", "stdout is the serial console")
        try await setup.backend.bringUp(handle, api: plan.api)
        #expect(
            setup.server.lines == [
                "PUT /logger", "PUT /boot-source", "PUT /machine-config", "PUT /drives/rootfs", "PUT /actions", "GET /",
            ])
        #expect(setup.server.requests.dropLast().map(\.body) == plan.api.boot.map(\.body))
        let (outcome, steps) = await setup.backend.terminate(handle, api: plan.api)
        #expect(steps == ["PUT /actions"], "\(steps)")
        #expect(setup.server.requests.last?.body?["action_type"] == .string("SendCtrlAltDel"))
        guard case .ended(let status) = outcome else {
            Issue.record("\(outcome)")
            return
        }
        #expect(status.ending == .exited(0))
    }

    @Test("a fault answer stops the calls with the VMM's message; a socket that never appears times out")
    func failures() async throws {
        let setup = try Setup(.firecracker)
        defer { setup.remove() }
        setup.server.faults["PUT /machine-config"] = (400, "The memory size (MiB) is invalid.")
        let plan = try setup.backend.plan(launchID: "fc-bad", spec: VMMFixture.spec(.firecracker))
        let handle = try setup.backend.start(launchID: "fc-bad", plan: plan)
        defer { killAndReap(handle) }
        do {
            try await setup.backend.bringUp(handle, api: plan.api)
            Issue.record("a refused machine-config was taken for a booted VM")
        } catch {
            #expect(
                error
                    == .fault(request: "PUT /machine-config", status: 400, message: "The memory size (MiB) is invalid.")
            )
            #expect(error.failureCode == .startFailed)
            #expect(error.failure.detail == "PUT /machine-config answered 400: The memory size (MiB) is invalid.")
        }
        #expect(setup.server.lines == ["PUT /logger", "PUT /boot-source", "PUT /machine-config"], "nothing after it")

        var silent = try Setup(.cloudHypervisor, link: false)
        defer { silent.remove() }
        silent.backend.socketTimeout = .milliseconds(300)
        let quiet = try silent.backend.plan(launchID: "ch-quiet", spec: VMMFixture.spec(.cloudHypervisor))
        let quietHandle = try silent.backend.start(launchID: "ch-quiet", plan: quiet)
        defer { killAndReap(quietHandle) }
        do {
            try await silent.backend.bringUp(quietHandle, api: quiet.api)
            Issue.record("no socket, yet up")
        } catch {
            #expect(error == .socketTimeout(path: quiet.api.socket, after: .milliseconds(300)))
            #expect(error.failureCode == .readinessTimeout)
        }
        // Without an API, terminate falls back to SIGTERM.
        let (_, steps) = await silent.backend.terminate(quietHandle, api: quiet.api)
        #expect(steps == ["SIGTERM"], "\(steps)")

        // A VMM that exits at once (no /dev/kvm, say) is not waited for.
        let dying = try Setup(.cloudHypervisor, link: false, exitAtOnce: true)
        defer { dying.remove() }
        let dead = try dying.backend.plan(launchID: "ch-dead", spec: VMMFixture.spec(.cloudHypervisor))
        let deadHandle = try dying.backend.start(launchID: "ch-dead", plan: dead)
        defer { killAndReap(deadHandle) }
        do {
            try await dying.backend.bringUp(deadHandle, api: dead.api)
            Issue.record("a dead VMM came up")
        } catch {
            guard case .exited = error else {
                Issue.record("\(error)")
                return
            }
        }
    }

    @Test("a VM whose API never says Running times out READINESS_TIMEOUT")
    func neverRunning() async throws {
        var setup = try Setup(.cloudHypervisor)
        defer { setup.remove() }
        setup.server.runningState = "Paused"
        setup.backend.readinessTimeout = .milliseconds(300)
        let plan = try setup.backend.plan(launchID: "ch-paused", spec: VMMFixture.spec(.cloudHypervisor))
        let handle = try setup.backend.start(launchID: "ch-paused", plan: plan)
        defer { killAndReap(handle) }
        do {
            try await setup.backend.bringUp(handle, api: plan.api)
            Issue.record("a paused VM was taken for running")
        } catch {
            #expect(error == .notReady(after: .milliseconds(300), last: "state Paused"))
            #expect(error.failureCode == .readinessTimeout)
        }
    }
}

@Suite("The agent runs Cloud Hypervisor and Firecracker launches")
struct AgentVMMLaunchTests {
    static func agent(root: String, bin: String) throws -> Agent {
        var configuration = AgentConfiguration(servers: ["http://127.0.0.1:9"], nodeID: "node-a", rootPath: root)
        configuration.vmmSearchPath = [bin]
        configuration.vmmSocketTimeout = .seconds(5)
        configuration.vmReadinessTimeout = .seconds(5)
        configuration.vmPowerdownGrace = .seconds(2)
        return try Agent(configuration: configuration, logger: Logger(label: "test"))
    }

    @Test(
        "Cloud Hypervisor: preparing → starting → running (vm.info); re-attached after a restart; terminated through the API"
    )
    func lifecycle() async throws {
        let temporary = try TemporaryRoot()
        defer { temporary.remove() }
        let root = try AgentRoot(temporary.path + "/root")
        try VMMFixture.artifacts(in: root)
        let server = try FakeVMMServer(path: temporary.path + "/fake.sock", dialect: .cloudHypervisor)
        defer { server.stop() }
        _ = try writeStubVMM(named: "cloud-hypervisor", in: temporary.path + "/bin", linkingTo: server.path)
        let agent = try Self.agent(root: root.path, bin: temporary.path + "/bin")
        let spec = VMMFixture.spec(.cloudHypervisor)
        #expect(await agent.take(AgentAction(type: "launch", launchID: "ch-1", state: .validated, spec: spec)))
        let running = await eventually(within: 10) { await agent.snapshot().first?.state == .running }
        let launch = try #require(await agent.snapshot().first)
        let handle = try #require(launch.process)
        defer { killAndReap(handle) }
        #expect(running, "\(launch.transitions)")
        #expect(launch.transitions.map(\.state) == [.preparing, .starting, .running])
        #expect(launch.transitions[1].note?.contains("--api-socket") == true)
        #expect(launch.transitions[2].note?.hasPrefix("GET /api/v1/vm.info: state Running") == true)
        let pid = handle.workload.pid
        server.onShutdown = { kill(pid, SIGTERM) }

        // A new agent on the same root, as after kill -9: the VM is re-attached, not started again,
        // and its terminate still goes through the API.
        let second = try Self.agent(root: root.path, bin: temporary.path + "/bin")
        await second.rehydrate()
        let again = await second.take(AgentAction(type: "launch", launchID: "ch-1", state: .validated, spec: spec))
        #expect(!again)
        #expect(await second.snapshot().first?.process == handle)
        #expect(server.lines.filter { $0 == "PUT /api/v1/vm.create" }.count == 1)
        #expect(await second.take(AgentAction(type: "terminate", launchID: "ch-1", state: .terminating, spec: spec)))
        let ended = await eventually(within: 10) {
            await second.observeProcesses()
            return await second.snapshot().first?.state == .terminated
        }
        let final = await second.snapshot().first
        #expect(ended, "\(String(describing: final?.transitions))")
        #expect(final?.transitions.map(\.state) == [.preparing, .starting, .running, .terminated])
        #expect(Array(server.lines.suffix(2)) == ["PUT /api/v1/vm.shutdown", "PUT /api/v1/vmm.shutdown"])
    }

    @Test("Firecracker refusing a call: the launch fails START_FAILED with the fault message in its trace")
    func faultInTrace() async throws {
        let temporary = try TemporaryRoot()
        defer { temporary.remove() }
        let root = try AgentRoot(temporary.path + "/root")
        try VMMFixture.artifacts(in: root)
        let server = try FakeVMMServer(path: temporary.path + "/fake.sock", dialect: .firecracker)
        defer { server.stop() }
        server.faults["PUT /drives/rootfs"] = (400, "Unable to create the block device: No such file or directory")
        _ = try writeStubVMM(named: "firecracker", in: temporary.path + "/bin", linkingTo: server.path)
        let agent = try Self.agent(root: root.path, bin: temporary.path + "/bin")
        #expect(
            await agent.take(
                AgentAction(type: "launch", launchID: "fc-1", state: .validated, spec: VMMFixture.spec(.firecracker))))
        let failed = await eventually(within: 10) { await agent.snapshot().first?.state == .failed }
        let launch = try #require(await agent.snapshot().first)
        if let handle = launch.process { killAndReap(handle) }
        #expect(failed, "\(launch.transitions)")
        #expect(launch.transitions.map(\.state) == [.preparing, .starting, .failed])
        let reason = try #require(launch.transitions.last?.reason)
        #expect(reason.code == .startFailed)
        #expect(
            reason.detail
                == "PUT /drives/rootfs answered 400: Unable to create the block device: No such file or directory")
        #expect(!server.lines.contains("PUT /actions"), "not started after a refused call")
        // The VMM was killed; the watch loop does not turn the kill into another ending.
        let gone = await eventually(within: 5) { !(launch.process?.workload.isAlive() ?? false) }
        #expect(gone)
        await agent.observeProcesses()
        #expect(await agent.snapshot().first?.transitions.count == 3)

        // No binary on the search path: refused while preparing, nothing started.
        try FileManager.default.removeItem(atPath: temporary.path + "/bin/firecracker")
        _ = await agent.take(
            AgentAction(type: "launch", launchID: "fc-2", state: .validated, spec: VMMFixture.spec(.firecracker)))
        let missing = try #require(await agent.snapshot().last)
        #expect(missing.transitions.map(\.state) == [.preparing, .failed])
        #expect(missing.transitions.last?.reason?.code == .startFailed && missing.process == nil)
    }

    @Test("an agent restarted while its VM is starting waits for Running again and sends no boot call twice")
    func restartWhileStarting() async throws {
        let temporary = try TemporaryRoot()
        defer { temporary.remove() }
        let root = try AgentRoot(temporary.path + "/root")
        try VMMFixture.artifacts(in: root)
        let server = try FakeVMMServer(path: temporary.path + "/fake.sock", dialect: .firecracker)
        defer { server.stop() }
        server.runningState = "Paused"
        _ = try writeStubVMM(named: "firecracker", in: temporary.path + "/bin", linkingTo: server.path)
        let spec = VMMFixture.spec(.firecracker)
        let first = try Self.agent(root: root.path, bin: temporary.path + "/bin")
        #expect(await first.take(AgentAction(type: "launch", launchID: "fc-1", state: .validated, spec: spec)))
        let booted = await eventually(within: 10) { server.lines.contains("GET /") }
        #expect(booted, "\(server.lines)")
        let started = try #require(await first.snapshot().first)
        let handle = try #require(started.process)
        defer { killAndReap(handle) }
        #expect(started.state == .starting)

        // As after kill -9 of the first agent: a new one on the same root.
        let second = try Self.agent(root: root.path, bin: temporary.path + "/bin")
        await second.rehydrate()
        #expect(await second.snapshot().first?.state == .starting)
        #expect(await second.snapshot().first?.process == handle)
        server.runningState = "Running"
        let running = await eventually(within: 10) { await second.snapshot().first?.state == .running }
        let now = await second.snapshot().first
        #expect(running, "\(String(describing: now?.transitions))")
        #expect(now?.transitions.map(\.state) == [.preparing, .starting, .running])
        #expect(server.lines.filter { $0 == "PUT /actions" }.count == 1, "InstanceStart was sent once: \(server.lines)")
        #expect(server.lines.filter { $0 == "PUT /boot-source" }.count == 1)
        #expect(handle.workload.isAlive(), "the same VMM, not another one")
    }
}
