import BerthControlPlane
import Foundation
import Testing

@testable import BerthAgent

@Suite("process backend")
struct ProcessBackendTests {
    static func ended(_ backend: ProcessBackend, _ handle: ProcessHandle) async -> ExitStatusFile? {
        var result: ExitStatusFile?
        _ = await eventually(within: 10) {
            if case .ended(let status) = backend.outcome(of: handle) { result = status }
            return result != nil
        }
        return result
    }

    @Test("argv without a shell: the output is captured under the root and status 0 recorded")
    func echo() async throws {
        let temporary = try TemporaryRoot()
        defer { temporary.remove() }
        let backend = ProcessBackend(root: try AgentRoot(temporary.path))
        let handle = try backend.start(
            launchID: "echo-1", command: WorkloadCommand(argv: ["/bin/echo", "hello", "$HOME", "a  b"]))
        let status = try #require(await Self.ended(backend, handle))
        #expect(status.ending == .exited(0))
        #expect(!status.truncated)
        #expect(try String(contentsOfFile: handle.stdoutPath, encoding: .utf8) == "hello $HOME a  b\n")
        #expect(handle.stdoutPath.hasPrefix(backend.root.path + "/launches/echo-1/"))
    }

    @Test("a shell command when asked; its exit code and stderr are kept")
    func shell() async throws {
        let temporary = try TemporaryRoot()
        defer { temporary.remove() }
        let backend = ProcessBackend(root: try AgentRoot(temporary.path))
        let handle = try backend.start(
            launchID: "sh-1",
            command: WorkloadCommand(string: "echo oops >&2; echo $BERTH_LAUNCH_ID; exit 3", shell: true))
        let status = try #require(await Self.ended(backend, handle))
        #expect(status.ending == .exited(3))
        #expect(try String(contentsOfFile: handle.stderrPath, encoding: .utf8) == "oops\n")
        #expect(try String(contentsOfFile: handle.stdoutPath, encoding: .utf8) == "sh-1\n", "the marker is set")
    }

    @Test("output beyond the limit is dropped and counted")
    func bounded() async throws {
        let temporary = try TemporaryRoot()
        defer { temporary.remove() }
        let backend = ProcessBackend(root: try AgentRoot(temporary.path), outputLimit: 1000)
        let handle = try backend.start(
            launchID: "big", command: WorkloadCommand(string: "head -c 100000 /dev/zero", shell: true))
        let status = try #require(await Self.ended(backend, handle))
        #expect(status.ending == .exited(0))
        #expect(status.truncated && status.stdoutDropped == 99_000)
        let size = try FileManager.default.attributesOfItem(atPath: handle.stdoutPath)[.size] as? Int
        #expect(size == 1000)
    }

    @Test("it runs in its own session and process group, not the caller's")
    func session() async throws {
        let temporary = try TemporaryRoot()
        defer { temporary.remove() }
        let backend = ProcessBackend(root: try AgentRoot(temporary.path))
        let handle = try backend.start(launchID: "sleeper", command: WorkloadCommand(argv: ["/bin/sleep", "30"]))
        defer { killAndReap(handle) }
        #expect(handle.workload.isAlive())
        #expect(backend.outcome(of: handle) == .running)
        #expect(getsid(handle.workload.pid) != getsid(0))
        #expect(getpgid(handle.workload.pid) == handle.workload.pid)
        // Not our child: the keeper is its parent, and init (or a subreaper) is the keeper's.
        let stat = try String(contentsOfFile: "/proc/\(handle.workload.pid)/stat", encoding: .utf8)
        let parent = stat[stat.index(after: stat.lastIndex(of: ")")!)...].split(separator: " ")[1]
        #expect(Int32(parent) == handle.keeper?.pid)
        #expect(handle.keeper.map { $0.pid != getpid() } == true)
    }

    @Test("terminate: SIGTERM to the group, recorded as a signal; a reused pid is never signalled")
    func terminate() async throws {
        let temporary = try TemporaryRoot()
        defer { temporary.remove() }
        let backend = ProcessBackend(root: try AgentRoot(temporary.path))
        let handle = try backend.start(launchID: "stop-me", command: WorkloadCommand(argv: ["/bin/sleep", "30"]))
        var stale = handle
        stale.workload.startTime += 1
        // A handle whose start time does not match is not ours: nothing is signalled.
        _ = await backend.terminate(
            ProcessHandle(
                workload: stale.workload, keeper: nil, stdoutPath: handle.stdoutPath, stderrPath: handle.stderrPath,
                statusPath: handle.statusPath))
        #expect(handle.workload.isAlive())
        let outcome = await backend.terminate(handle)
        #expect(outcome == .ended(ExitStatusFile(parsing: "signal 15\n")!), "\(outcome)")
        #expect(!handle.workload.isAlive())
    }

    @Test("a missing program fails to start with START_FAILED; a relative one may not climb out of the root")
    func startFailures() throws {
        let temporary = try TemporaryRoot()
        defer { temporary.remove() }
        let backend = ProcessBackend(root: try AgentRoot(temporary.path))
        #expect(throws: ProcessStartFailure.self) {
            try backend.start(launchID: "x", command: WorkloadCommand(argv: ["no-such-program-berth"]))
        }
        do {
            _ = try backend.start(launchID: "y", command: WorkloadCommand(argv: ["/nonexistent/bin"]))
            Issue.record("started a missing program")
        } catch {
            #expect(error.code == .startFailed)
        }
        do {
            _ = try backend.start(launchID: "z", command: WorkloadCommand(argv: ["../../bin/echo"]))
            Issue.record("started a program outside the root")
        } catch {
            #expect(error.code == .validationFailed, "\(error)")
        }
        #expect(throws: ProcessStartFailure.self) {
            try backend.start(launchID: "../evil", command: WorkloadCommand(argv: ["/bin/echo"]))
        }
    }

    @Test("an exec that fails after the fork is reported, not left running")
    func execFailure() throws {
        let temporary = try TemporaryRoot()
        defer { temporary.remove() }
        let script = temporary.path + "/not-executable-format"
        try "garbage".write(toFile: script, atomically: true, encoding: .utf8)
        chmod(script, 0o755)
        let backend = ProcessBackend(root: try AgentRoot(temporary.path + "/root"))
        do {
            _ = try backend.start(launchID: "bad-exec", command: WorkloadCommand(argv: [script]))
            Issue.record("exec of a non-executable format succeeded")
        } catch {
            #expect(error.code == .startFailed && error.detail.contains("exec"), "\(error)")
        }
    }
}
