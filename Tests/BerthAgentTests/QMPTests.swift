import BerthControlPlane
import Foundation
import Testing

@testable import BerthAgent

/// A QMP server on a unix socket that speaks the protocol as QEMU does (a greeting, then
/// `qmp_capabilities` before anything else, newline-delimited JSON, events between answers)
/// and records every command it gets. `onCommand` may act on one (end a fake VM on `quit`).
final class FakeQMPServer: @unchecked Sendable {
    let path: String
    private let listener: Int32
    private let lock = NSLock()
    private var received: [String] = []
    var status = "running"
    var onCommand: @Sendable (String) -> Void = { _ in }
    /// Commands answered with an error instead (after being recorded).
    var failing: Set<String> = []

    init(path: String) throws {
        self.path = path
        listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(path.utf8)
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0, listen(listener, 8) == 0 else { throw QMPError("bind \(path)") }
        let thread = Thread { [self] in self.serve() }
        thread.start()
    }

    var commands: [String] { lock.withLock { received } }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func serve() {
        while true {
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { return }
            Thread { [self] in self.converse(connection) }.start()
        }
    }

    private func converse(_ connection: Int32) {
        defer { close(connection) }
        func write(_ text: String) {
            let bytes = Array((text + "\r\n").utf8)
            _ = bytes.withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        }
        write(
            #"{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": ""}, "capabilities": []}}"#
        )
        var buffer: [UInt8] = []
        var negotiated = false
        var chunk = [UInt8](repeating: 0, count: 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return }
            buffer += chunk[..<count]
            while let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Data(buffer[..<newline])
                buffer.removeSubrange(...newline)
                guard let message = try? JSONSerialization.jsonObject(with: line) as? [String: Any],
                    let command = message["execute"] as? String
                else {
                    write(#"{"error": {"class": "GenericError", "desc": "JSON parse error"}}"#)
                    continue
                }
                lock.withLock { received.append(command) }
                if !negotiated && command != "qmp_capabilities" {
                    write(
                        #"{"error": {"class": "CommandNotFound", "desc": "Expecting capabilities negotiation with 'qmp_capabilities'"}}"#
                    )
                    continue
                }
                if failing.contains(command) {
                    write(#"{"error": {"class": "GenericError", "desc": "refused"}}"#)
                    continue
                }
                switch command {
                case "qmp_capabilities":
                    negotiated = true
                    write(#"{"return": {}}"#)
                case "query-status":
                    write(#"{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "RESUME"}"#)
                    write(
                        #"{"return": {"status": "\#(status)", "singlestep": false, "running": \#(status == "running")}}"#
                    )
                case "system_powerdown":
                    write(#"{"return": {}}"#)
                    write(#"{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "POWERDOWN"}"#)
                case "quit":
                    write(#"{"return": {}}"#)
                    onCommand(command)
                    return
                default:
                    write(
                        #"{"error": {"class": "CommandNotFound", "desc": "The command \#(command) has not been found"}}"#
                    )
                }
                onCommand(command)
            }
        }
    }
}

@Suite("QMP: the client against a fake QMP server, and the terminate sequence")
struct QMPTests {
    @Test("greeting, qmp_capabilities first, query-status through an event, errors as errors")
    func handshake() throws {
        let temporary = try TemporaryRoot()
        defer { temporary.remove() }
        let server = try FakeQMPServer(path: temporary.path + "/qmp.sock")
        defer { server.stop() }
        let client = try QMPClient(path: server.path)
        #expect(client.version == "7.2.22")
        #expect(try client.status() == "running")
        #expect(client.events == ["RESUME"], "an event between answers is kept, not taken for the answer")
        #expect(throws: QMPError.self) { try client.execute("no-such-command") }
        #expect(server.commands == ["qmp_capabilities", "query-status", "no-such-command"])

        server.status = "paused"
        #expect(try QMPClient(path: server.path).status() == "paused")
        #expect(throws: QMPError.self, "nobody listening") { try QMPClient(path: temporary.path + "/none.sock") }
    }

    @Test("readiness waits for running on QMP; a VM that never says so times out READINESS_TIMEOUT")
    func readiness() async throws {
        let temporary = try TemporaryRoot()
        defer { temporary.remove() }
        let processes = ProcessBackend(root: try AgentRoot(temporary.path))
        var backend = QEMUBackend(processes: processes)
        backend.readinessTimeout = .milliseconds(600)
        var handle = try processes.start(launchID: "fake-vm", command: WorkloadCommand(argv: ["sleep", "30"]))
        defer { killAndReap(handle) }
        handle.qmpSocketPath = temporary.path + "/qmp.sock"
        // No socket yet: it keeps trying, then the server comes up paused, then running.
        let server = try FakeQMPServer(path: temporary.path + "/qmp.sock")
        defer { server.stop() }
        server.status = "paused"
        await #expect(throws: ProcessStartFailure.self) { try await backend.waitUntilReady(handle) }
        server.status = "running"
        try await backend.waitUntilReady(handle)
    }

    @Test("terminate: system_powerdown, then quit after the grace; the process ends, stopped by QEMU's quit")
    func powerdownThenQuit() async throws {
        let temporary = try TemporaryRoot()
        defer { temporary.remove() }
        let processes = ProcessBackend(root: try AgentRoot(temporary.path))
        var backend = QEMUBackend(processes: processes)
        backend.powerdownGrace = .milliseconds(300)
        var handle = try processes.start(launchID: "fake-vm", command: WorkloadCommand(argv: ["sleep", "30"]))
        defer { killAndReap(handle) }
        let server = try FakeQMPServer(path: temporary.path + "/qmp.sock")
        defer { server.stop() }
        let pid = handle.workload.pid
        server.onCommand = { command in if command == "quit" { kill(pid, SIGTERM) } }
        handle.qmpSocketPath = server.path
        let (outcome, steps) = await backend.terminate(handle)
        #expect(steps == ["system_powerdown", "quit"], "\(steps)")
        #expect(server.commands == ["qmp_capabilities", "system_powerdown", "quit"])
        guard case .ended(let status) = outcome else {
            Issue.record("expected an ending, got \(outcome)")
            return
        }
        #expect(status.ending == .signaled(SIGTERM))
    }

    @Test("terminate: a guest that powers off ends at system_powerdown; one that ignores quit gets SIGKILL")
    func powerdownAndKill() async throws {
        let temporary = try TemporaryRoot()
        defer { temporary.remove() }
        let processes = ProcessBackend(root: try AgentRoot(temporary.path))
        var backend = QEMUBackend(processes: processes)
        backend.powerdownGrace = .milliseconds(200)
        backend.quitGrace = .milliseconds(200)

        var polite = try processes.start(launchID: "polite", command: WorkloadCommand(argv: ["sleep", "30"]))
        defer { killAndReap(polite) }
        let politeServer = try FakeQMPServer(path: temporary.path + "/polite.sock")
        defer { politeServer.stop() }
        let politePID = polite.workload.pid
        politeServer.onCommand = { command in if command == "system_powerdown" { kill(politePID, SIGTERM) } }
        polite.qmpSocketPath = politeServer.path
        let politeEnd = await backend.terminate(polite)
        #expect(politeEnd.steps == ["system_powerdown"], "\(politeEnd.steps)")

        var stubborn = try processes.start(launchID: "stubborn", command: WorkloadCommand(argv: ["sleep", "30"]))
        defer { killAndReap(stubborn) }
        let stubbornServer = try FakeQMPServer(path: temporary.path + "/stubborn.sock")
        defer { stubbornServer.stop() }
        stubborn.qmpSocketPath = stubbornServer.path
        let stubbornEnd = await backend.terminate(stubborn)
        #expect(stubbornEnd.steps == ["system_powerdown", "quit", "SIGKILL"], "\(stubbornEnd.steps)")
        guard case .ended(let status) = stubbornEnd.outcome else {
            Issue.record("expected an ending, got \(stubbornEnd.outcome)")
            return
        }
        #expect(status.ending == .signaled(SIGKILL))

        // No QMP at all: SIGTERM, then SIGKILL.
        let silent = try processes.start(launchID: "silent", command: WorkloadCommand(argv: ["sleep", "30"]))
        defer { killAndReap(silent) }
        let silentEnd = await backend.terminate(silent)
        #expect(silentEnd.steps == ["SIGTERM"], "\(silentEnd.steps)")
    }
}
